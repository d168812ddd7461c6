"""The pipeline under `local-parallel` gives the `local` run's splits and features.

DirectRunner's multi_processing mode spreads every Beam step over worker
processes, so bundles, ordering and combiner merges differ from the in-memory
run, as they would on Dataflow. Split membership must not change at all, and
the transformed features must stay the same.
"""

from __future__ import annotations

import glob
import os
import re
from collections import Counter

import pytest
import tensorflow as tf
import tensorflow_transform as tft

from tests.e2e.helpers import run_cascade
from tests.transformed_rows import assert_same_rows, read_examples

pytestmark = pytest.mark.e2e

SPLITS = ("train", "dev", "test")


@pytest.fixture(scope="module")
def parallel_root(demo_slice, tmp_path_factory):
    """One run of the demo slice with the local-parallel profile, up to Transform."""
    root = tmp_path_factory.mktemp("parallel_out")
    result = run_cascade(
        ["--config", str(demo_slice), "--output-root", str(root), "--profile", "local-parallel"]
        + ["--until", "Transform"]
    )
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    return root, result


def test_until_runs_the_component_and_what_it_needs_only(parallel_root):
    _, result = parallel_root
    ran = re.findall(r"^  \[\s*\d+/(\d+)\] (\S+) ran in ", result.stdout, re.MULTILINE)
    needed = {"CsvExampleGen", "SpamListGen", "IdMapGen", "CleanExamples", "StratifiedSplit"}
    needed |= {"StatisticsGen", "SchemaGen", "Transform"}
    assert {total for total, _ in ran} == {str(len(needed))}
    assert sorted(name for _, name in ran) == sorted(needed)
    assert [name for _, name in ran][-1] == "Transform"


def _only(pattern: str) -> str:
    [path] = glob.glob(pattern)
    return path


def _records(folder: str) -> Counter:
    """A split's examples, each as its bytes in feature name order.

    Each run's ExampleGen serializes in its own processes, and protobuf may write
    map entries in another order there; the examples must be the same, byte for
    byte, once their features are in one order.
    """
    files = sorted(glob.glob(os.path.join(folder, "*")))
    return Counter(
        tf.train.Example.FromString(record).SerializeToString(deterministic=True)
        for record in tf.data.TFRecordDataset(files, compression_type="GZIP").as_numpy_iterator()
    )


def test_split_membership_is_byte_identical(two_runs, parallel_root):
    local_root, _, _ = two_runs
    parallel_root, _ = parallel_root
    pattern = "pipeline/StratifiedSplit/split_examples/*"
    local = _only(str(local_root / pattern))
    parallel = _only(str(parallel_root / pattern))
    for split in SPLITS:
        expected = _records(os.path.join(local, f"Split-{split}"))
        assert expected, split
        assert _records(os.path.join(parallel, f"Split-{split}")) == expected, split


def test_transformed_features_are_identical(two_runs, parallel_root):
    local_root, _, _ = two_runs
    parallel_root, _ = parallel_root
    graph = _only(str(local_root / "pipeline/Transform/transform_graph/*"))
    spec = tft.TFTransformOutput(graph).transformed_feature_spec()
    exact = sorted(n for n, s in spec.items() if s.dtype != tf.float32)
    floats = sorted(n for n, s in spec.items() if s.dtype == tf.float32)
    pattern = "pipeline/Transform/transformed_examples/*"
    for split in SPLITS:
        local = read_examples(
            sorted(
                glob.glob(os.path.join(_only(str(local_root / pattern)), f"Split-{split}", "*"))
            ),
            spec,
        )
        parallel = read_examples(
            sorted(
                glob.glob(os.path.join(_only(str(parallel_root / pattern)), f"Split-{split}", "*"))
            ),
            spec,
        )
        assert_same_rows(local, parallel, exact, floats)
