"""pipeline.code_versions: each step's version covers exactly the code it runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline import code_versions
from pipeline.code_versions import PROJECT_PACKAGES, code_version, component_version

ROOT = Path(code_versions.ROOT)
COMPONENTS = {
    "CsvExampleGen": "components.source_example_gen",
    "CleanExamples": "components.clean_examples",
    "StratifiedSplit": "components.stratified_split",
    "SkewCalibration": "components.skew_calibration",
}


def _versions(root: Path) -> dict[str, str]:
    """Every custom step's code version for the tree at `root`."""
    found = {node: component_version(package, str(root)) for node, package in COMPONENTS.items()}
    found["Transform"] = code_version(["transforms.preprocessing"], str(root))
    found["Trainer"] = code_version(["models.model"], str(root))
    return found


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    """A copy of the project's packages, safe to edit."""
    for package in PROJECT_PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    return tmp_path


def test_a_component_covers_its_folder_and_the_shared_modules_it_imports():
    files = code_versions.source_files(code_versions.package_modules("components.clean_examples"))
    assert "components/clean_examples/rules.py" in files
    assert "components/common/fingerprint.py" in files  # imported by beam_clean
    assert "components/__init__.py" in files  # runs when the package is imported
    assert not any(
        f.startswith(("components/stratified_split/", "cli/", "services/", "metadata/"))
        for f in files
    )


def test_transform_and_trainer_cover_only_the_modules_they_load():
    assert code_versions.source_files(["transforms.preprocessing"]) == [
        "core/__init__.py",
        "core/labels.py",
        "transforms/__init__.py",
        "transforms/exact_moments.py",
        "transforms/features.py",
        "transforms/label_target.py",
        "transforms/preprocessing.py",
        "transforms/tensors.py",
    ]
    trainer = code_versions.source_files(["models.model"])
    assert "models/raw_features.py" in trainer and "transforms/features.py" in trainer
    # The model's transform_label signature maps the label as the Transform does.
    assert "transforms/label_target.py" in trainer
    assert "transforms/preprocessing.py" not in trainer
    assert not any(f.startswith(("serving/", "cli/", "services/", "pipeline/")) for f in trainer)


def test_a_copy_of_the_tree_has_the_same_versions(tree: Path):
    assert _versions(tree) == _versions(ROOT)


@pytest.mark.parametrize(
    "edited, changed",
    [
        ("components/stratified_split/allocation.py", {"StratifiedSplit"}),
        ("components/clean_examples/rules.py", {"CleanExamples"}),
        ("components/source_example_gen/facts.py", {"CsvExampleGen"}),
        # Shared by all three custom components.
        ("components/common/counts.py", {"CsvExampleGen", "CleanExamples", "StratifiedSplit"}),
        ("transforms/preprocessing.py", {"Transform"}),
        ("transforms/exact_moments.py", {"Transform"}),
        ("transforms/features.py", {"Transform", "Trainer"}),
        ("models/model.py", {"Trainer"}),
        # Neither loads the commands, the services, the metadata room, serving or the factory.
        ("cli/main.py", set()),
        ("cli/predict.py", set()),
        ("cli/batch_transform.py", set()),
        ("services/scoring.py", set()),
        ("services/skew_check.py", set()),
        ("services/pipeline_run.py", set()),
        ("metadata/lineage.py", set()),
        ("serving/scoring.py", set()),
        ("pipeline/pipeline.py", set()),
    ],
)
def test_editing_a_file_changes_exactly_the_versions_of_the_steps_that_run_it(
    tree: Path, edited: str, changed: set[str]
):
    before = _versions(tree)
    with open(tree / edited, "a", encoding="utf-8") as f:
        f.write("\n# an edit\n")
    after = _versions(tree)
    assert {step for step in before if before[step] != after[step]} == changed


def test_a_new_module_a_component_imports_changes_its_version(tree: Path):
    before = _versions(tree)
    (tree / "components" / "common" / "extra.py").write_text("VALUE = 1\n")
    assert _versions(tree) == before  # nothing imports it yet
    with open(tree / "components" / "stratified_split" / "units.py", "a") as f:
        f.write("\nfrom components.common import extra  # noqa: E402,F401\n")
    after = _versions(tree)
    assert {s for s in before if before[s] != after[s]} == {"StratifiedSplit"}


def test_an_unknown_module_is_an_error():
    with pytest.raises(ValueError, match="nope.module is not a module of this project"):
        code_versions.source_files(["nope.module"])
