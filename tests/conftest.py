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
