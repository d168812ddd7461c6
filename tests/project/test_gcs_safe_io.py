"""Artifact files are touched only through fileio or Beam IO, so `gs://` URIs work.

Python's own file functions (`open`, `os.path.exists`, `os.listdir`, `glob`,
`shutil`, `pathlib`) only see the local disk: on Dataflow, with artifacts on
GCS, they fail or silently find nothing. This test reads the code of the Beam
steps and fails on any such call.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Code that runs inside TFX components and Beam jobs, on artifact URIs.
CHECKED_PACKAGES = ("components", "transforms", "models")
LOCAL_ONLY_CALLS = {
    "open",
    "os.path.exists",
    "os.path.isfile",
    "os.path.isdir",
    "os.path.getsize",
    "os.path.getmtime",
    "os.listdir",
    "os.makedirs",
    "os.mkdir",
    "os.remove",
    "os.rename",
    "os.replace",
    "os.walk",
    "os.stat",
    "os.scandir",
    "glob.glob",
    "glob.iglob",
    "shutil.copy",
    "shutil.copyfile",
    "shutil.copytree",
    "shutil.move",
    "shutil.rmtree",
    "Path",
    "pathlib.Path",
    "io.open",
}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def local_file_calls(source: str) -> list[tuple[int, str]]:
    """(line, call) of every call to a local-only file function in `source`."""
    return [
        (node.lineno, _dotted(node.func))
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and _dotted(node.func) in LOCAL_ONLY_CALLS
    ]


def test_the_check_finds_local_file_calls():
    source = "import os\nopen('a')\nos.path.exists(u)\nfileio.open(u)\nos.path.join(u, 'x')\n"
    assert local_file_calls(source) == [(2, "open"), (3, "os.path.exists")]


# Commands whose inputs and outputs may be gs:// paths.
CHECKED_MODULES = (
    "serving/scoring.py",
    "serving/model.py",
    "metadata/scoring_records.py",
    "metadata/execution_records.py",
    "metadata/transform_records.py",
)


@pytest.mark.parametrize(
    "path",
    sorted(p for package in CHECKED_PACKAGES for p in (ROOT / package).rglob("*.py"))
    + [ROOT / m for m in CHECKED_MODULES],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_beam_step_code_uses_fileio_or_beam_io_only(path):
    found = local_file_calls(path.read_text())
    assert not found, f"{path.relative_to(ROOT)}: local-only file calls {found}; use fileio"
