"""Shared component helpers: fingerprints, counts, record files, features."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import apache_beam as beam
import numpy as np
import pytest
import tensorflow as tf
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from hypothesis import example, given, settings
from hypothesis import strategies as st
from tfx.types import artifact_utils, standard_artifacts

from components.common import counts, examples_io, tfrecord_format
from components.common.example_features import has_value, one_string_feature, string_features
from components.common.fingerprint import fingerprint64, fingerprints64
from tests import local_beam

KEYS = [f"record-{i:05d}".encode() for i in range(10_000)]
ROOT = Path(__file__).resolve().parents[2]
# The first 500 KEYS' fingerprints under seed 3, computed in a process of its own.
FINGERPRINTS_IN_ANOTHER_PROCESS = """
import json
from components.common.fingerprint import fingerprint64
keys = [f"record-{i:05d}".encode() for i in range(500)]
print(json.dumps([fingerprint64(3, key) for key in keys]))
"""


def make_example(**features: list) -> tf.train.Example:
    """Builds a tf.Example from {name: values}; the type is taken from the first value."""
    example = tf.train.Example()
    for name, values in features.items():
        feature = example.features.feature[name]
        if values and isinstance(values[0], bytes):
            feature.bytes_list.value.extend(values)
        elif values and isinstance(values[0], float):
            feature.float_list.value.extend(values)
        else:
            feature.int64_list.value.extend(values)
    return example


# --- fingerprint64 -----------------------------------------------------------------------


def test_fingerprint64_is_pinned_blake2b_value():
    # Changing the function reassigns every example of every pipeline; this pins it.
    assert fingerprint64(7, b"cascade") == 4910247302784482746
    digest = bytes.fromhex("bafdc901e8b32444")  # blake2b-64 of b"cascade", salt = seed 7
    assert fingerprint64(7, b"cascade") == int.from_bytes(digest, "little")


def test_fingerprint64_is_the_same_in_processes_with_other_hash_salts():
    # Python's own hash() changes with PYTHONHASHSEED; a fingerprint must not.
    ours = [fingerprint64(3, key) for key in KEYS[:500]]
    for hash_seed in ("1", "2"):
        child = subprocess.run(
            [sys.executable, "-c", FINGERPRINTS_IN_ANOTHER_PROCESS],
            env={**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)},
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        assert json.loads(child.stdout) == ours
    # And pinned: the sha256 of the 500 fingerprints as 8-byte little-endian integers.
    packed = b"".join(value.to_bytes(8, "little") for value in ours)
    assert hashlib.sha256(packed).hexdigest() == (
        "343ad0268034c6b0af56ebb2ef45c6ab8c379e61872d56fd93fdcfcca65183da"
    )
    # Distinct keys give distinct fingerprints (a collision in 500 draws of 2**64 is ~1e-14).
    assert len(set(ours)) == 500


@pytest.mark.parametrize("seed", [0, 3, 2**127 + 5])
def test_fingerprints64_of_many_keys_are_fingerprint64_of_each(seed):
    many = fingerprints64(seed, KEYS[:1000])
    assert many.dtype == np.uint64
    assert many.tolist() == [fingerprint64(seed, key) for key in KEYS[:1000]]
    assert len(fingerprints64(seed, [])) == 0


def test_fingerprint64_differs_by_seed():
    pairs = [(fingerprint64(0, key), fingerprint64(1, key)) for key in KEYS[:500]]
    assert all(a != b for a, b in pairs)
    assert fingerprint64(8, b"cascade") == 7853725113034995396


def test_fingerprint64_spans_zero_to_two_to_the_64():
    values = [fingerprint64(11, key) for key in KEYS]
    assert all(0 <= v < 2**64 for v in values)
    # All 64 bits are used: about half the values have the top bit set, some are tiny.
    top_bit = sum(v >= 2**63 for v in values)
    assert 4_800 <= top_bit <= 5_200
    assert min(values) < 2**56


# --- counts.nest / read_counts -------------------------------------------------------------


def test_nest_groups_by_split_then_source():
    flat = {"train/web": 3, "train/mobile": 2, "dev/web": 1, "test/mobile": 4}
    assert counts.nest(flat) == {
        "train": {"web": 3, "mobile": 2},
        "dev": {"web": 1},
        "test": {"mobile": 4},
    }


def test_nest_keeps_flat_keys_and_splits_only_on_the_first_slash():
    assert counts.nest({"total": 9, "a/b/c": 2}) == {"total": 9, "a": {"b/c": 2}}
    assert counts.nest({}) == {}


def test_read_counts_of_a_missing_file_is_empty(tmp_path):
    assert counts.read_counts(str(tmp_path / "absent.json")) == {}
    assert counts.counts_path("/out/uri", "split_counts") == "/out/uri/split_counts.json"


# --- BundleCounter -----------------------------------------------------------------------


class _CountBySource(beam.DoFn):
    """Counts each element's first letter with a BundleCounter, passing elements on."""

    def start_bundle(self):
        self._counter = counts.BundleCounter()

    def process(self, element):
        self._counter.add((element[0],))
        yield element

    def finish_bundle(self):
        yield from self._counter.emit()


def test_bundle_counter_totals_are_exact(tmp_path):
    elements = [f"{letter}{i}" for letter in "abc" for i in range(500)]
    path = str(tmp_path / "counts.json")
    with TestPipeline(options=local_beam.options()) as pipeline:
        outputs = (
            pipeline
            | beam.Create(elements, reshuffle=True)
            | beam.ParDo(_CountBySource()).with_outputs(counts.COUNTS, main="rows")
        )
        _ = outputs[counts.COUNTS] | counts.WriteCounted(path)
        assert_that(outputs.rows | beam.combiners.Count.Globally(), equal_to([1500]))
    assert counts.read_counts(path) == {"a": 500, "b": 500, "c": 500}


# --- reading record files ------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".gz", ""])
def test_read_record_file_returns_every_record_in_order(tmp_path, suffix):
    records = [f"record {i}".encode() * (i % 7 + 1) for i in range(2000)]
    prefix = str(tmp_path / "data")
    with TestPipeline(options=local_beam.options()) as pipeline:
        _ = (
            pipeline
            | beam.Create(records)
            | beam.io.WriteToTFRecord(prefix, file_name_suffix=suffix, num_shards=1)
        )
    [path] = glob.glob(prefix + "*")
    assert list(examples_io.read_record_file(path)) == records


def test_read_record_file_names_the_file_when_it_is_corrupt(tmp_path):
    path = tmp_path / "broken_tfrecord"
    path.write_bytes(b"this is not a TFRecord file at all")
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*not a valid TFRecord file"):
        list(examples_io.read_record_file(str(path)))


def _written_by_beam(tmp_path, records: list[bytes]) -> str:
    prefix = str(tmp_path / "data")
    with TestPipeline(options=local_beam.options()) as pipeline:
        _ = pipeline | beam.Create(records) | beam.io.WriteToTFRecord(prefix, num_shards=1)
    [path] = glob.glob(prefix + "*")
    return path


@pytest.mark.parametrize(
    "flip, complaint",
    [
        (3, "the length checksum of the record at byte 0 "),
        (20, "the data checksum of the record at byte 0 "),
    ],
)
def test_read_record_file_checks_both_checksums(tmp_path, flip, complaint):
    path = _written_by_beam(tmp_path, [b"x" * 40, b"y" * 40])
    data = bytearray(open(path, "rb").read())
    data[flip] ^= 0x01
    open(path, "wb").write(bytes(data))
    with pytest.raises(ValueError, match=re.escape(complaint)):
        list(examples_io.read_record_file(path))


def test_read_record_file_names_where_a_truncated_file_ends(tmp_path):
    path = _written_by_beam(tmp_path, [b"x" * 40, b"y" * 40])
    data = open(path, "rb").read()
    open(path, "wb").write(data[:-10])
    with pytest.raises(ValueError, match="ends inside the record at byte 56 .46 bytes of it"):
        list(examples_io.read_record_file(path))


def test_read_record_batches_cuts_each_file_into_batches_in_order(tmp_path, monkeypatch):
    # Small chunks make records straddle chunk boundaries.
    monkeypatch.setattr(tfrecord_format, "CHUNK_BYTES", 37)
    records = [f"record {i}".encode() * (i % 7 + 1) for i in range(1001)]
    path = _written_by_beam(tmp_path, records)
    batches = list(examples_io.read_record_batches(path, 300))
    assert [len(b) for b in batches] == [300, 300, 300, 101]
    assert [r for b in batches for r in b] == records


def test_write_split_batches_writes_what_tensorflow_and_read_split_read(tmp_path):
    records = [f"row {i}".encode() * (i % 5) for i in range(2500)]
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "out")
    examples.split_names = artifact_utils.encode_split_names(["train"])
    with TestPipeline(options=local_beam.options()) as pipeline:
        batches = pipeline | beam.Create([records[:1000], [], records[1000:]])
        examples_io.write_split_batches(batches, examples, "train", "kept_tfrecord")
    files = sorted(glob.glob(str(tmp_path / "out" / "Split-train" / "*")))
    assert files and all(re.search(r"kept_tfrecord-\d{5}-of-\d{5}\.gz$", f) for f in files)
    by_tensorflow = [r.numpy() for r in tf.data.TFRecordDataset(files, compression_type="GZIP")]
    assert sorted(by_tensorflow) == sorted(records)
    with TestPipeline(options=local_beam.options()) as pipeline:
        read = examples_io.read_split_batches(pipeline, examples, "train", batch_records=700)
        assert_that(
            read | beam.Map(len) | beam.combiners.ToList() | beam.Map(lambda n: (max(n), sum(n))),
            equal_to([(700, 2500)]),
        )


# --- example features -----------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=200), st.text(max_size=300), max_size=4))
def test_string_features_equals_deterministic_protobuf_serialization(values):
    example = tf.train.Example()
    for name, value in values.items():
        example.features.feature[name].bytes_list.value.append(value.encode("utf-8"))
    assert string_features(values) == example.SerializeToString(deterministic=True)


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=200), st.text(max_size=300))
@example("n", "v" * 127)
@example("n", "v" * 128)
@example("n" * 128, "v" * 16_383)
@example("n", "v" * 16_384)
def test_one_string_feature_is_string_features_of_one(name, value):
    assert one_string_feature(name, value) == string_features({name: value})


def test_has_value_needs_at_least_one_value():
    features = make_example(full=[b"x"], empty_bytes=[], number=[0], real=[0.0]).features.feature
    features["kindless"].SetInParent()
    assert has_value(features, "full")
    assert has_value(features, "number")
    assert has_value(features, "real")
    assert not has_value(features, "empty_bytes")
    assert not has_value(features, "kindless")
    assert not has_value(features, "absent")
