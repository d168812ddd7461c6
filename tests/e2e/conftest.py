"""Fixtures for end-to-end runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.e2e.helpers import DEMO_DATA, ROOT, SLICE_ROWS, copy_rows


@pytest.fixture(scope="session")
def demo_slice(tmp_path_factory) -> Path:
    """A config over the first rows of each demo source, quick to train on."""
    root = tmp_path_factory.mktemp("demo_slice")
    for source, rows in SLICE_ROWS.items():
        copy_rows(DEMO_DATA / source / "users.csv", root / "data" / source / "users.csv", rows)
    for reference in ("spam_accounts/spam_accounts.csv", "id_map/id_map.csv"):
        (root / "data" / reference).parent.mkdir(parents=True)
        shutil.copy(DEMO_DATA / reference, root / "data" / reference)
    text = (ROOT / "configs" / "demo.yaml").read_text()
    text = text.replace("../data/demo/", "data/").replace("../outputs/demo", "outputs")
    text = text.replace("train_steps: 1500", "train_steps: 300").replace(
        "min_auc: 0.7", "min_auc: 0.55"
    )
    config = root / "demo_slice.yaml"
    config.write_text(text)
    return config
