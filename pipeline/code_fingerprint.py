"""A fingerprint of the project's own code: components, preprocessing, model.

TFX's cache key covers a step's inputs and parameters, not the code that runs:
Transform and Trainer load their functions by module path, and custom
components run whatever executor is installed. Passing this hash as a parameter
makes a code change invalidate the cache and records which code produced an
artifact in MLMD.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from typing import Sequence


def fingerprint_packages(package_names: Sequence[str]) -> str:
    """Returns a sha256 over the .py files of the named importable packages.

    Args:
      package_names: Top-level packages of this project, e.g. ["transforms"].

    Returns:
      A hex digest that changes when any file's path or content changes.
    """
    digest = hashlib.sha256()
    for name in package_names:
        package_dir = os.path.dirname(importlib.import_module(name).__file__ or "")
        for root, dirs, files in os.walk(package_dir):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for file_name in sorted(f for f in files if f.endswith(".py")):
                path = os.path.join(root, file_name)
                digest.update(os.path.relpath(path, os.path.dirname(package_dir)).encode())
                with open(path, "rb") as f:
                    digest.update(f.read())
    return digest.hexdigest()
