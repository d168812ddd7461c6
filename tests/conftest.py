"""Test-wide setup: TensorFlow must see TF_USE_LEGACY_KERAS before it is imported.

TF 2.16 defaults to Keras 3, but tf.Transform's layer is a tf-keras layer; mixing
them fails, so every entry point (and the tests) select tf-keras first.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402


@pytest.fixture
def tiny_filesystem(tmp_path):
    """A real 64 KiB filesystem (tmpfs), so writes hit "No space left on device"."""
    import subprocess

    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount = tmp_path / "tiny"
    mount.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


# The session-scoped pipeline runs several e2e modules share (tests/e2e/conftest.py).
SHARED_RUNS = "two_runs"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Keeps each module's tests together and runs the longest modules first.

    `make test` runs the suite on two pytest-xdist workers with
    `--dist loadgroup`. Each module becomes one group, so a module-scoped
    fixture (a pipeline run, a MariaDB server) is built once, on one worker;
    the modules that read the session's shared runs form a single group, so
    those runs happen once. Groups are handed out in collection order, so the
    end-to-end modules (minutes each) go first and the short unit tests fill
    in around them. Without xdist the marks are ignored and only the order
    changes (modules keep their own test order).
    """
    modules: dict[str, list] = {}
    for item in items:
        modules.setdefault(item.module.__name__, []).append(item)
    for module, module_items in modules.items():
        shared = any(SHARED_RUNS in item.fixturenames for item in module_items)
        for item in module_items:
            if item.get_closest_marker("xdist_group") is None:
                item.add_marker(pytest.mark.xdist_group(SHARED_RUNS if shared else module))

    def weight(item) -> int:
        group = item.get_closest_marker("xdist_group").args[0]
        if group == SHARED_RUNS:
            return 0
        return 1 if item.get_closest_marker("e2e") else 2

    items.sort(key=weight)  # stable: modules and tests keep their order otherwise
