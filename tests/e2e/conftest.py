"""Fixtures for end-to-end runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Sequence

import pytest

from tests.e2e import mlmd_queries
from tests.e2e.catalog import running_catalog
from tests.e2e.helpers import (
    DEMO_DATA,
    ROOT,
    SLICE_ROWS,
    copy_rows,
    demo_config_in,
    run_cascade,
)


@pytest.fixture(scope="session")
def demo_slice(tmp_path_factory) -> Path:
    """A config over the first rows of each demo source, quick to train on."""
    root = tmp_path_factory.mktemp("demo_slice")
    for source, rows in SLICE_ROWS.items():
        copy_rows(DEMO_DATA / source / "users.csv", root / "data" / source / "users.csv", rows)
    # A serving CSV where the demo keeps one (`data/serving/` beside the sources'
    # folders), so the run's "Next:" hints name it for `cascade predict` and `skew`.
    (root / "data" / "serving").mkdir()
    shutil.copy(DEMO_DATA / "serving" / "new_users.csv", root / "data" / "serving")
    config = root / "demo_slice.yaml"
    config.write_text(demo_config_in(root, train_steps=300, min_auc=0.55))
    return config


def _run_local(args: Sequence[str], timeout: int = 900) -> subprocess.CompletedProcess:
    """Runs `python run_local.py args...` from the project root, the thin entry point."""
    return subprocess.run(
        [sys.executable, str(ROOT / "run_local.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(ROOT)},
    )


@pytest.fixture(scope="session")
def two_runs(demo_slice, tmp_path_factory):
    """Runs the pipeline twice into one output root; returns (root, first, second).

    The first run goes through `run_local.py`, the second through `cascade run`:
    both entry points run the same pipeline (the second reuses the first's steps).
    """
    output_root = tmp_path_factory.mktemp("e2e_out")
    first = _run_local(["--config", str(demo_slice), "--output-root", str(output_root)])
    assert first.returncode == 0, first.stderr[-3000:] + first.stdout[-3000:]
    second = run_cascade(["run", "--config", str(demo_slice), "--output-root", str(output_root)])
    assert second.returncode == 0, second.stderr[-3000:] + second.stdout[-3000:]
    return output_root, first, second


@pytest.fixture(scope="session")
def store(two_runs):
    """The runs' metadata store."""
    output_root, _, _ = two_runs
    return mlmd_queries.open_store(str(output_root / "metadata.sqlite"))


@pytest.fixture
def catalog():
    """A real HTTP server on a free loopback port, standing in for a catalog's
    OpenLineage endpoint; `.received` holds the requests (see tests/e2e/catalog.py)."""
    with running_catalog() as server:
        yield server
