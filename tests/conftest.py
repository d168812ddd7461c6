"""Test-wide setup: TensorFlow must see TF_USE_LEGACY_KERAS before it is imported.

TF 2.16 defaults to Keras 3, but tf.Transform's layer is a tf-keras layer; mixing
them fails, so every entry point (and the tests) select tf-keras first.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def pytest_collection_modifyitems(config, items):
    """Keeps expensive fixtures built once when pytest-xdist runs tests on two workers.

    `make test` runs with `-n 2 --dist loadgroup`: each group runs on one
    worker. A module is a group, so its module fixtures (a trained model, a
    pipeline run) are built once; every test that uses the demo slice's two
    pipeline runs (the `two_runs` session fixture, directly or through `store`)
    is one group, so those runs are made once.
    """
    import pytest

    for item in items:
        group = "demo-slice-runs" if "two_runs" in item.fixturenames else item.module.__name__
        item.add_marker(pytest.mark.xdist_group(group))
