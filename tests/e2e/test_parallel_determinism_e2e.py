"""The pipeline under `local-parallel` makes the `local` run's data, record for record.

DirectRunner's multi_processing mode spreads every Beam step over worker
processes, so bundles, batches, ordering and combiner merges differ from the
in-memory run, as they would on Dataflow. Every artifact up to Transform must
still hold the same records (as multisets: files may hold them in another
order), floats bit for bit, and the Transform graph must have learned the same
constants and vocabularies, bit for bit.
"""

from __future__ import annotations

import glob
import json
import os
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tests.e2e.helpers import run_cascade
from tests.transform_constants import learned_constants, vocabulary_files

pytestmark = pytest.mark.e2e

# Every Examples artifact up to Transform: (component, output key, its splits).
EXAMPLE_ARTIFACTS = [
    ("CsvExampleGen", "examples", ["mobile", "partner", "web"]),
    ("SpamListGen", "examples", ["all"]),
    ("IdMapGen", "examples", ["all"]),
    ("CleanExamples", "cleaned_examples", ["cleaned"]),
    ("CleanExamples", "rejected_examples", ["rejected"]),
    ("StratifiedSplit", "split_examples", ["dev", "test", "train"]),
    ("Transform", "transformed_examples", ["dev", "test", "train"]),
]


@pytest.fixture(scope="module")
def parallel_root(demo_slice, tmp_path_factory):
    """One run of the demo slice with the local-parallel profile, up to Transform."""
    root = tmp_path_factory.mktemp("parallel_out")
    result = run_cascade(
        [
            "run",
            "--config",
            str(demo_slice),
            "--output-root",
            str(root),
            "--profile",
            "local-parallel",
        ]
        + ["--until", "Transform"]
    )
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    return root, result


@pytest.fixture(scope="module")
def roots(two_runs, parallel_root) -> tuple[Path, Path]:
    """(the `local` run's output root, the `local-parallel` run's)."""
    return two_runs[0], parallel_root[0]


def test_until_runs_the_component_and_what_it_needs_only(parallel_root):
    _, result = parallel_root
    ran = re.findall(r"^  \[\s*\d+/(\d+)\] (\S+) ran in ", result.stdout, re.MULTILINE)
    needed = {"CsvExampleGen", "SpamListGen", "IdMapGen", "CleanExamples", "StratifiedSplit"}
    needed |= {"StatisticsGen", "SchemaGen", "Transform"}
    # Transform waits for DataGate, which reads ExampleValidator's anomalies,
    # SkewCalibration's thresholds and the served model's statistics.
    needed |= {"ExampleValidator", "SkewCalibration", "ServedStatistics", "DataGate"}
    assert {total for total, _ in ran} == {str(len(needed))}
    assert sorted(name for _, name in ran) == sorted(needed)
    assert [name for _, name in ran][-1] == "Transform"


def _artifact(root: Path, component: str, output: str) -> str:
    """The one artifact folder of `component`'s `output` under an output root."""
    [path] = glob.glob(str(root / "pipeline" / component / output / "*"))
    return path


def _records(split_folder: str) -> Counter:
    """A split's examples as a multiset, each as its bytes in feature name order.

    Protobuf may write an example's map entries in another order in another
    process, and CleanExamples appends its tags to the bytes it read; parsed and
    written again deterministically, equal examples are equal bytes, their
    floats bit for bit.
    """
    files = sorted(glob.glob(os.path.join(split_folder, "*")))
    assert files, f"no files in {split_folder}"
    found: Counter = Counter()
    for path in files:
        compression = "GZIP" if path.endswith(".gz") else ""
        for record in tf.data.TFRecordDataset(path, compression).as_numpy_iterator():
            found[tf.train.Example.FromString(record).SerializeToString(deterministic=True)] += 1
    return found


def _difference(expected: Counter, actual: Counter) -> str:
    """A short account of how two multisets of records differ."""
    return (
        f"{sum(expected.values())} records against {sum(actual.values())}; "
        f"{sum((expected - actual).values())} of the local run's are not in the parallel run's, "
        f"{sum((actual - expected).values())} the other way"
    )


@pytest.mark.parametrize(
    "component, output, splits",
    EXAMPLE_ARTIFACTS,
    ids=[f"{component}.{output}" for component, output, _ in EXAMPLE_ARTIFACTS],
)
def test_every_artifact_up_to_transform_holds_the_same_records(roots, component, output, splits):
    local, parallel = (_artifact(root, component, output) for root in roots)
    for folder in (local, parallel):
        assert sorted(glob.glob(os.path.join(folder, "Split-*"))) == [
            os.path.join(folder, f"Split-{split}") for split in splits
        ]
    for split in splits:
        expected = _records(os.path.join(local, f"Split-{split}"))
        actual = _records(os.path.join(parallel, f"Split-{split}"))
        assert expected, f"{component}.{output} split {split} is empty"
        assert actual == expected, f"{component}.{output} split {split}: " + _difference(
            expected, actual
        )


@pytest.mark.parametrize(
    "component, output",
    [("CsvExampleGen", "examples"), ("CleanExamples", "cleaned_examples")],
)
def test_the_counts_written_beside_the_examples_are_the_same(roots, component, output):
    local, parallel = (_artifact(root, component, output) for root in roots)
    names = sorted(os.path.basename(p) for p in glob.glob(os.path.join(local, "*.json")))
    assert names
    assert sorted(os.path.basename(p) for p in glob.glob(os.path.join(parallel, "*.json"))) == names
    for name in names:
        with open(os.path.join(local, name)) as a, open(os.path.join(parallel, name)) as b:
            assert json.load(b) == json.load(a), name


def _transform_fn(root: Path) -> str:
    return os.path.join(_artifact(root, "Transform", "transform_graph"), "transform_fn")


def test_transform_learns_bit_identical_constants(roots):
    local, parallel = (learned_constants(_transform_fn(root)) for root in roots)
    # One [mean, variance] pair per numeric feature (the demo has 4), and the
    # vocabulary sizes.
    moments = [c for c in local if c.dtype == np.float64]
    assert len(moments) == 4 and all(c.shape == (2,) for c in moments)
    assert [(c.dtype, c.shape) for c in parallel] == [(c.dtype, c.shape) for c in local]
    for index, (a, b) in enumerate(zip(local, parallel)):
        assert a.tobytes() == b.tobytes(), f"constant {index}: {a!r} against {b!r}"


def test_transform_writes_byte_identical_vocabularies(roots):
    local, parallel = (vocabulary_files(_transform_fn(root)) for root in roots)
    assert sorted(local) == [
        "country_vocab",
        "education_vocab",
        "employment_status_vocab",
        "industry_vocab",
    ]
    assert parallel == local
