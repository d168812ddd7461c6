"""Code versions: a fingerprint of exactly the code each custom step runs.

TFX's cache key covers a step's inputs and parameters, not the code that runs:
Transform and Trainer load their functions by module path, and custom
components run whatever executor is installed. Each step therefore gets a
`code_version` parameter: a sha256 over the source files it runs, which are
the modules it starts from plus every project module they import, directly or
not (found by reading their `import` statements, never by importing them).
Editing StratifiedSplit's code re-runs StratifiedSplit and what follows it, but
not CleanExamples; editing a command's help text re-runs nothing. MLMD records
the version with every execution, so an artifact says which code made it.
"""

from __future__ import annotations

import ast
import hashlib
import os
from typing import Iterable, Sequence

# The project's top-level packages; imports of anything else (TFX, Beam, the
# standard library) are versioned by the pinned dependency set instead.
PROJECT_PACKAGES = (
    "cli",
    "components",
    "core",
    "metadata",
    "models",
    "pipeline",
    "scheduling",
    "serving",
    "services",
    "transforms",
    "validation",
)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def module_file(module: str, root: str = ROOT) -> str | None:
    """The source file of a project module (`a.b` -> a/b.py or a/b/__init__.py)."""
    base = os.path.join(root, *module.split("."))
    for candidate in (base + ".py", os.path.join(base, "__init__.py")):
        if os.path.isfile(candidate):
            return candidate
    return None


def imported_modules(path: str) -> set[str]:
    """Project modules a source file imports anywhere in it (lazy imports too).

    `from a.b import c` names module `a.b.c` when that is a module, else the
    name `c` of module `a.b`; both are returned and unknown ones are dropped.
    """
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), filename=path)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {m for m in found if m.split(".")[0] in PROJECT_PACKAGES}


def _with_packages(module: str) -> list[str]:
    """A module and the packages whose `__init__` importing it runs: a.b.c -> a, a.b, a.b.c."""
    parts = module.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def source_files(modules: Iterable[str], root: str = ROOT) -> list[str]:
    """The files `modules` run: their own, their packages' and every project import's.

    Args:
      modules: Dotted module names to start from, e.g. ["transforms.preprocessing"].
      root: The folder holding the project's packages.

    Returns:
      Paths relative to `root`, sorted, `/`-separated.

    Raises:
      ValueError: A starting module is not a project module.
    """
    pending = []
    for module in modules:
        if module_file(module, root) is None:
            raise ValueError(f"{module} is not a module of this project (under {root})")
        pending.extend(_with_packages(module))
    seen: dict[str, str] = {}
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        path = module_file(module, root)
        if path is None:  # a name imported from a module, not a module
            continue
        seen[module] = path
        for imported in imported_modules(path):
            pending.extend(_with_packages(imported))
    return sorted(os.path.relpath(p, root).replace(os.sep, "/") for p in set(seen.values()))


def package_modules(package: str, root: str = ROOT) -> list[str]:
    """Every module in a package's folder (a component's folder), sorted."""
    folder = os.path.join(root, *package.split("."))
    modules = []
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py"):
            stem = name[: -len(".py")]
            modules.append(package if stem == "__init__" else f"{package}.{stem}")
    return modules


def code_version(modules: Sequence[str], root: str = ROOT) -> str:
    """The sha256 over the path and bytes of every file `modules` run.

    Args:
      modules: Dotted module names to start from.
      root: The folder holding the project's packages.

    Returns:
      A hex digest that changes when any of those files is added, removed,
      renamed or edited, and only then.
    """
    digest = hashlib.sha256()
    for relative in source_files(modules, root):
        digest.update(relative.encode() + b"\0")
        with open(os.path.join(root, relative), "rb") as f:
            digest.update(hashlib.sha256(f.read()).digest())
    return digest.hexdigest()


def component_version(package: str, root: str = ROOT) -> str:
    """The code version of a custom component: its folder plus what it imports."""
    return code_version(package_modules(package, root), root)
