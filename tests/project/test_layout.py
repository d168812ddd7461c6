"""The project's rooms and the one direction their imports run.

    core          errors and process setup; imports nothing of ours
    transforms    what the Transform component loads
    models        what the Trainer loads (it serves through the Transform layer)
    validation    TFDV statistics of raw columns, the skew distance and its
                  calibration: shared by SkewCalibration and every scoring
    components    the custom components TFX runs
    pipeline      config, factory, runner profiles, preflight, code versions
    metadata      everything that reads or writes the store
    serving       scoring and batch transform (reads record files with the
                  components' reader)
    services      the use cases the commands run: typed requests in, results out
    cli           the commands: the only room that parses flags and prints

Each room imports only rooms listed above it (the ones ALLOWED names), so
nothing TFX runs depends on the store or the commands, and nothing but the
commands depends on flags.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.code_versions import PROJECT_PACKAGES, ROOT, imported_modules, module_file

ALLOWED = {
    "core": set(),
    "transforms": {"core"},
    "models": {"core", "transforms"},
    "validation": {"core", "models"},
    "components": {"core", "models", "validation"},
    "pipeline": {"core", "components", "transforms", "models", "validation"},
    "metadata": {"core", "components", "transforms", "models", "pipeline"},
    "serving": {"core", "components", "transforms", "models", "validation"},
    "services": {
        "core", "components", "transforms", "models", "validation", "pipeline", "metadata",
        "serving",
    },
    "scheduling": {
        "core", "components", "transforms", "models", "validation", "pipeline", "metadata",
        "serving", "services",
    },
    "cli": {
        "core", "components", "transforms", "models", "validation", "pipeline", "metadata",
        "serving", "services", "scheduling",
    },
}  # fmt: skip


def _modules() -> dict[str, str]:
    """Every project module -> its file."""
    found = {}
    for package in PROJECT_PACKAGES:
        for folder, dirs, files in os.walk(Path(ROOT) / package):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for name in files:
                if name.endswith(".py"):
                    relative = os.path.relpath(os.path.join(folder, name), ROOT)[: -len(".py")]
                    module = relative.replace(os.sep, ".").removesuffix(".__init__")
                    found[module] = os.path.join(folder, name)
    return found


def _imports(path: str) -> set[str]:
    """The project modules a file imports (names imported from a module count as it)."""
    return {
        m if module_file(m) else m.rsplit(".", 1)[0]
        for m in imported_modules(path)
        if module_file(m) or module_file(m.rsplit(".", 1)[0])
    }


def test_every_room_is_known():
    assert set(ALLOWED) == set(PROJECT_PACKAGES)


@pytest.mark.parametrize("room", sorted(ALLOWED))
def test_imports_run_one_way(room: str):
    wrong = sorted(
        f"{module} imports {imported}"
        for module, path in _modules().items()
        if module.split(".")[0] == room
        for imported in _imports(path)
        if imported.split(".")[0] not in ALLOWED[room] | {room}
    )
    assert wrong == []


def test_no_module_imports_itself_back():
    graph = {module: _imports(path) - {module} for module, path in _modules().items()}
    cycles = []

    def visit(module: str, trail: list[str]) -> None:
        for imported in sorted(graph.get(module, ())):
            if imported in trail:
                cycles.append(" -> ".join(trail[trail.index(imported) :] + [imported]))
            elif len(trail) < 30:
                visit(imported, trail + [imported])

    for module in sorted(graph):
        visit(module, [module])
    # A package's __init__ is imported by its modules by definition; not a cycle of ours.
    cycles = [c for c in cycles if not all(part.count(".") == 0 for part in c.split(" -> "))]
    assert sorted(set(cycles)) == []


def test_the_readme_layout_names_every_room_and_module():
    readme = (Path(ROOT) / "README.md").read_text()
    layout = readme[readme.index("## Layout") :]
    missing = [
        path
        for module, path in _modules().items()
        if not path.endswith("__init__.py")
        and os.path.relpath(path, ROOT).split(os.sep)[-1] not in layout
    ]
    assert missing == []
