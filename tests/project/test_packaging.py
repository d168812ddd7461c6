"""What Dataflow workers install: the package built from setup.py, checked offline.

With `--setup_file`, Beam builds this project's sdist and every worker installs
it; a module missing from it fails on the worker with ModuleNotFoundError, far
from the laptop. These tests build the sdist and the wheel in a temp folder and
check both ship every module the Beam steps import, and that setup.py's
dependencies agree with the pinned set the pipeline is tested with.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_PACKAGES = ("pipeline", "components", "transforms", "models")
NOT_SHIPPED = ("tests/", "benchmarks/", "data/", "configs/")


def _expected_modules() -> set[str]:
    return {
        str(path.relative_to(ROOT))
        for package in SHIPPED_PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "__pycache__" not in path.parts
    }


def _build(tmp_path: Path, *command: str) -> Path:
    """Builds from a copy of the tree, so no build/ folder is left in the checkout."""
    source = tmp_path / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "outputs", "build", "dist", "*.egg-info", "__pycache__", ".*cache"
        ),
    )
    out = tmp_path / "dist"
    subprocess.run(
        [sys.executable, *command, str(out)],
        cwd=source,
        check=True,
        capture_output=True,
        timeout=300,
    )
    [built] = out.iterdir()
    return built


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    return _build(tmp, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", ".", "-w")


@pytest.fixture(scope="module")
def wheel_files(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


@pytest.fixture(scope="module")
def sdist_files(tmp_path_factory) -> set[str]:
    # The command Beam's stager runs for --setup_file when `build` is absent.
    tmp = tmp_path_factory.mktemp("sdist")
    sdist = _build(tmp, "setup.py", "-q", "sdist", "--dist-dir")
    with tarfile.open(sdist) as archive:
        return {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}


def test_wheel_ships_every_module_the_beam_steps_import(wheel_files):
    assert _expected_modules() <= wheel_files
    assert not [f for f in wheel_files if f.startswith(NOT_SHIPPED)]


def test_the_wheel_installs_one_command_cascade_with_every_module_it_runs(wheel, wheel_files):
    from pipeline.code_versions import PROJECT_PACKAGES

    with zipfile.ZipFile(wheel) as archive:
        [entry_points] = [
            n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")
        ]
        text = archive.read(entry_points).decode()
    assert text.split() == ["[console_scripts]", "cascade", "=", "cli.main:main"]
    every_module = {
        str(path.relative_to(ROOT))
        for package in PROJECT_PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert {"cli/main.py", "services/scoring.py"} <= every_module
    assert sorted(every_module - wheel_files) == []


def test_setup_py_declares_the_one_console_script():
    assert _setup_keyword("entry_points") == {"console_scripts": ["cascade=cli.main:main"]}


def test_argcomplete_is_pinned_in_setup_py_and_the_lock_alike():
    """`cascade` imports argcomplete at start-up: a direct dependency, pinned like the rest."""
    [wanted] = [r for r in _install_requires() if r.name == "argcomplete"]
    locked = [
        line.strip()
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if line.lower().startswith("argcomplete==")
    ]
    assert str(wanted.specifier).startswith("==")
    assert locked == [f"argcomplete{wanted.specifier}"]


def test_sdist_for_dataflow_workers_ships_every_module(sdist_files):
    assert _expected_modules() <= sdist_files
    assert "setup.py" in sdist_files


def test_install_requires_pin_what_the_lock_pins():
    """Workers resolve setup.py's dependencies themselves: each must be the tested version."""
    locked = _locked()
    requirements = _install_requires()
    assert len(requirements) >= 5
    for requirement in requirements:
        name = requirement.name.lower().replace("_", "-")
        assert name in locked, f"{requirement} is not pinned in requirements.lock"
        assert str(requirement.specifier) == f"=={locked[name]}", (
            f"setup.py wants {requirement}, requirements.lock pins {name}=={locked[name]}"
        )


def _locked() -> dict[str, str]:
    """requirements.lock's pins, by normalized name (the lock spells names as uv does)."""
    locked = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            locked[name.strip().lower().replace("_", "-")] = version.strip()
    return locked


def _setup_keyword(name: str) -> Any:
    """The literal value of a setup() keyword, read without running setuptools.setup()."""
    tree = ast.parse((ROOT / "setup.py").read_text())
    [value] = [
        node.value for node in ast.walk(tree) if isinstance(node, ast.keyword) and node.arg == name
    ]
    return ast.literal_eval(value)


def _install_requires() -> list[Requirement]:
    """setup.py's install_requires."""
    return [Requirement(r) for r in _setup_keyword("install_requires")]


def test_the_extras_pin_what_the_lock_pins():
    """`pip install .[airflow]` without the lock must still get the tested versions."""
    locked = _locked()
    extras = _setup_keyword("extras_require")
    assert sorted(extras) == ["airflow", "vertex"]
    for requirement in (Requirement(r) for pins in extras.values() for r in pins):
        name = requirement.name.lower().replace("_", "-")
        assert str(requirement.specifier) == f"=={locked[name]}", requirement
