"""Editing a component's code re-runs it and what follows it, and nothing else.

Runs a copy of the project tree once, then edits StratifiedSplit (and code no
step runs) in the copy and runs again into the same output root. (The copy needs its own first run:
Beam steps' cache keys include their Beam args, which name the tree's setup.py
and the output root's temp folder.) Both runs stop at StatisticsGen, the first
step that reads the split: every later step reads a new artifact of the split
or of a step after it, so it re-runs for the same reason StatisticsGen does.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ml_metadata.proto import metadata_store_pb2

from pipeline.code_versions import PROJECT_PACKAGES
from tests.e2e import mlmd_queries
from tests.e2e.helpers import COMPONENTS, ROOT, run_cascade

pytestmark = pytest.mark.e2e

PIPELINE = "cascade-demo"
UNTIL = "StatisticsGen"
# Steps before StratifiedSplit, and StratifiedSplit with the step after it that
# both runs run.
UPSTREAM_OF_SPLIT = COMPONENTS[: COMPONENTS.index("StratifiedSplit")]
FROM_SPLIT_ON = ["StratifiedSplit", UNTIL]
CACHED = metadata_store_pb2.Execution.CACHED
COMPLETE = metadata_store_pb2.Execution.COMPLETE


def _copy_tree(target: Path) -> Path:
    for package in PROJECT_PACKAGES:
        shutil.copytree(
            ROOT / package, target / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    for name in ("run_local.py", "setup.py"):
        shutil.copy(ROOT / name, target / name)
    shutil.copytree(ROOT / "configs", target / "configs")
    return target


def _edit(tree: Path, relative: str) -> None:
    with open(tree / relative, "a", encoding="utf-8") as f:
        f.write("\n# edited to test the cache keys\n")


def _latest_states(output_root: Path) -> dict[str, int]:
    store = mlmd_queries.open_store(str(output_root / "metadata.sqlite"))
    latest = mlmd_queries.runs(store)[-1]
    executions = mlmd_queries.executions_by_component(store, latest, PIPELINE)
    return {component: e.last_known_state for component, e in executions.items()}


@pytest.fixture(scope="module")
def copied(demo_slice, tmp_path_factory):
    """(tree copy, output root of one complete run of it)."""
    work = tmp_path_factory.mktemp("code_versions")
    tree = _copy_tree(work / "tree")
    out = work / "out"
    _run(tree, out, demo_slice)
    return tree, out


def _run(tree: Path, out: Path, demo_slice: Path) -> None:
    result = run_cascade(
        ["run", "--config", str(demo_slice), "--output-root", str(out), "--until", UNTIL],
        root=tree,
    )
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]


def test_editing_the_split_reruns_it_and_its_downstream_only(copied, demo_slice):
    tree, out = copied
    _edit(tree, "components/stratified_split/allocation.py")
    # Code no step runs: that it changes no code version is tested file by
    # file in tests/pipeline/test_code_versions.py; here it rides along unnoticed.
    _edit(tree, "cli/predict.py")
    _edit(tree, "metadata/lineage.py")
    _run(tree, out, demo_slice)
    states = _latest_states(out)
    assert {c: states[c] for c in UPSTREAM_OF_SPLIT} == {c: CACHED for c in UPSTREAM_OF_SPLIT}
    assert {c: states[c] for c in FROM_SPLIT_ON} == {c: COMPLETE for c in FROM_SPLIT_ON}
    assert set(states) == set(UPSTREAM_OF_SPLIT) | set(FROM_SPLIT_ON)
