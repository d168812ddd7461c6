"""Fixtures for end-to-end runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e import mlmd_queries
from tests.e2e.helpers import DEMO_DATA, SLICE_ROWS, copy_rows, demo_config_in, run_cascade


@pytest.fixture(scope="session")
def demo_slice(tmp_path_factory) -> Path:
    """A config over the first rows of each demo source, quick to train on."""
    root = tmp_path_factory.mktemp("demo_slice")
    for source, rows in SLICE_ROWS.items():
        copy_rows(DEMO_DATA / source / "users.csv", root / "data" / source / "users.csv", rows)
    config = root / "demo_slice.yaml"
    config.write_text(demo_config_in(root, train_steps=300, min_auc=0.55))
    return config


@pytest.fixture(scope="session")
def two_runs(demo_slice, tmp_path_factory):
    """Runs the pipeline twice into one output root; returns (root, first, second)."""
    output_root = tmp_path_factory.mktemp("e2e_out")
    first = run_cascade(["--config", str(demo_slice), "--output-root", str(output_root)])
    assert first.returncode == 0, first.stderr[-3000:] + first.stdout[-3000:]
    second = run_cascade(["--config", str(demo_slice), "--output-root", str(output_root)])
    assert second.returncode == 0, second.stderr[-3000:] + second.stdout[-3000:]
    return output_root, first, second


@pytest.fixture(scope="session")
def store(two_runs):
    """The runs' metadata store."""
    output_root, _, _ = two_runs
    return mlmd_queries.open_store(str(output_root / "metadata.sqlite"))
