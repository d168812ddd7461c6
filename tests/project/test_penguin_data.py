"""The committed penguin data is what its generator writes, byte for byte."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PENGUIN_DIR = Path(__file__).resolve().parents[2] / "data" / "penguins"


def test_committed_files_match_generator(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(PENGUIN_DIR / "generate.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "torgersen: 121 rows (Adelie 120, Chinstrap 1)" in result.stdout
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.csv"))
    committed = sorted(str(p.relative_to(PENGUIN_DIR)) for p in PENGUIN_DIR.rglob("*.csv"))
    assert written == committed
    for relative in committed:
        assert (tmp_path / relative).read_bytes() == (PENGUIN_DIR / relative).read_bytes(), relative
