"""Test-wide setup: TensorFlow must see TF_USE_LEGACY_KERAS before it is imported.

TF 2.16 defaults to Keras 3, but tf.Transform's layer is a tf-keras layer; mixing
them fails, so every entry point (and the tests) select tf-keras first.
"""

import os
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402

from tests import loopback_only  # noqa: E402

loopback_only.install()


@pytest.fixture(autouse=True)
def _reaches_loopback_only():
    """Fails a test that tried to resolve a host other than a loopback one."""
    loopback_only.take_refused()
    yield
    refused = loopback_only.take_refused()
    if refused:
        pytest.fail(
            f"the test tried to reach {', '.join(sorted(set(refused)))}; "
            "tests reach loopback addresses only"
        )


def _mounted_tmpfs(mount: Path, options: str, what: str):
    """Mounts a 64 KiB tmpfs with `options` at `mount` (made here), yields it,
    and unmounts it; skips the test where mounting is not possible.

    A Beam job that failed on a full disk can hold a file there for a moment
    after it returns, so the unmount is tried again, then made lazy (the
    filesystem goes once the file is released).
    """
    import subprocess
    import time

    if os.geteuid() != 0:
        pytest.skip(f"mounting {what} needs root")
    mount.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"{options},size=64k", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount {what} here: {mounted.stderr.strip()}")
    try:
        yield mount
    finally:
        for _ in range(20):
            if subprocess.run(["umount", str(mount)], capture_output=True).returncode == 0:
                break
            time.sleep(0.25)
        else:
            subprocess.run(["umount", "--lazy", str(mount)], check=True)


@pytest.fixture
def tiny_filesystem(tmp_path):
    """A real 64 KiB filesystem (tmpfs), so writes hit "No space left on device"."""
    yield from _mounted_tmpfs(tmp_path / "tiny", "rw", "a small tmpfs")


@pytest.fixture
def read_only_folder(tmp_path):
    """A real read-only filesystem (a tmpfs mounted `ro`): writes fail with
    "Read-only file system", for root too, as permission bits would not."""
    yield from _mounted_tmpfs(tmp_path / "read_only", "ro", "a read-only tmpfs")


# The session-scoped pipeline runs several e2e modules share (tests/e2e/conftest.py).
SHARED_RUNS = "two_runs"
TESTS = Path(__file__).resolve().parent


def _modules_sharing_runs() -> set[str]:
    """The test files (as pytest names them, from the project root) that use the
    session's shared runs."""
    return {
        str(path.relative_to(TESTS.parent))
        for path in TESTS.glob("e2e/test_*.py")
        if SHARED_RUNS in path.read_text(encoding="utf-8")
    }


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Under pytest-xdist, each test file runs on one worker, and the files that
    share the session's runs run together on one worker.

    A module-scoped fixture (a pipeline run, a MariaDB server) is then built
    once, and so are the shared runs. (xdist's own `--dist loadgroup` cannot be
    used: it renames test ids, which pytest 9 no longer lets a plugin do.)
    """
    from xdist.scheduler import LoadScopeScheduling

    shared = _modules_sharing_runs()

    class ByFile(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return SHARED_RUNS if path in shared else path

    return ByFile(config, log)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Runs the longest test files first: the files sharing the session's runs,
    then the other end-to-end files (minutes each), then the unit tests.

    On two xdist workers (`make test`), work is handed out in this order, so the
    short tests fill in around the long ones. The sort is stable: each file
    keeps its own test order.
    """
    shared = _modules_sharing_runs()

    def weight(item) -> int:
        path = str(Path(str(item.path)).relative_to(TESTS.parent))
        if path in shared:
            return 0
        return 1 if item.get_closest_marker("e2e") else 2

    items.sort(key=weight)
