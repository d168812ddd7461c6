"""HashSplit's executor: `Do()` on a two-source Examples artifact built in a temp dir.

The input mimics CsvExampleGen: `Split-web/` (300 examples in two gzipped shards) and
`Split-mobile/` (200 examples), each example with a unique `id`, a numeric `x` and a 0/1
`label`. Every output file is read back and checked against the input.
"""

from __future__ import annotations

import glob
import json
import os
import re
from collections import Counter

import pytest
import tensorflow as tf
from tfx.types import artifact_utils, standard_artifacts

from components.hash_split import split
from components.hash_split.executor import Executor

SOURCE_SIZES = {"web": 300, "mobile": 200}
NAMES = ["train", "dev", "test"]
RATIOS = [0.6, 0.2, 0.2]
PAYLOAD = "FORMAT_TF_EXAMPLE"


def make_example(source: str, i: int) -> tf.train.Example:
    example = tf.train.Example()
    features = example.features.feature
    features["id"].bytes_list.value.append(f"{source}-{i:04d}".encode())
    features["x"].float_list.value.append(i * 0.25)
    features["label"].int64_list.value.append(i % 2)
    return example


def write_examples_artifact(root: str, shards: dict[str, list[list[tf.train.Example]]]):
    """Writes `Split-<name>/data_tfrecord-0000k-of-0000n.gz` files and returns the artifact."""
    for name, files in shards.items():
        os.makedirs(os.path.join(root, f"Split-{name}"))
        for k, examples in enumerate(files):
            file_name = f"data_tfrecord-{k:05d}-of-{len(files):05d}.gz"
            path = os.path.join(root, f"Split-{name}", file_name)
            with tf.io.TFRecordWriter(path, options="GZIP") as writer:
                for example in examples:
                    writer.write(example.SerializeToString())
    examples = standard_artifacts.Examples()
    examples.uri = root
    examples.split_names = artifact_utils.encode_split_names(list(shards))
    examples.set_string_custom_property("payload_format", PAYLOAD)
    return examples


def exec_properties(seed: int = 7, ratios: str = "0.6,0.2,0.2", splits: str = "train,dev,test"):
    return {"splits": splits, "ratios": ratios, "seed": seed, "source_feature": "source"}


def run_do(examples, out_dir: str, **props):
    output = standard_artifacts.Examples()
    output.uri = out_dir
    Executor().Do({"examples": [examples]}, {"split_examples": [output]}, exec_properties(**props))
    return output


def read_split(uri: str, name: str) -> list[bytes]:
    files = sorted(glob.glob(os.path.join(uri, f"Split-{name}", "*")))
    assert files, f"no files in Split-{name}"
    for path in files:
        assert re.fullmatch(r"data_tfrecord-\d{5}-of-\d{5}\.gz", os.path.basename(path)), path
    return [r.numpy() for r in tf.data.TFRecordDataset(files, compression_type="GZIP")]


def membership(uri: str) -> dict[bytes, str]:
    """Maps each output example's id to the split it landed in (ids must be unique)."""
    placed: dict[bytes, str] = {}
    for name in NAMES:
        for record in read_split(uri, name):
            key = tf.train.Example.FromString(record).features.feature["id"].bytes_list.value[0]
            assert key not in placed, f"{key!r} written twice"
            placed[key] = name
    return placed


@pytest.fixture(scope="module")
def originals() -> dict[bytes, tuple[str, tf.train.Example]]:
    """id -> (source, example) for every input example."""
    examples = [(s, make_example(s, i)) for s, n in SOURCE_SIZES.items() for i in range(n)]
    return {e.features.feature["id"].bytes_list.value[0]: (s, e) for s, e in examples}


@pytest.fixture(scope="module")
def input_examples(tmp_path_factory):
    web = [make_example("web", i) for i in range(SOURCE_SIZES["web"])]
    mobile = [make_example("mobile", i) for i in range(SOURCE_SIZES["mobile"])]
    root = str(tmp_path_factory.mktemp("input"))
    return write_examples_artifact(root, {"web": [web[:150], web[150:]], "mobile": [mobile]})


@pytest.fixture(scope="module")
def seed7(input_examples, tmp_path_factory):
    return run_do(input_examples, str(tmp_path_factory.mktemp("seed7")), seed=7)


def test_every_input_example_is_written_exactly_once_and_unchanged(seed7, originals):
    written = Counter()
    for name in NAMES:
        for record in read_split(seed7.uri, name):
            example = tf.train.Example.FromString(record)
            key = example.features.feature["id"].bytes_list.value[0]
            source, original = originals[key]
            assert list(example.features.feature["source"].bytes_list.value) == [source.encode()]
            del example.features.feature["source"]
            assert example == original
            written[key] += 1
    assert written == Counter({key: 1 for key in originals})
    assert sum(written.values()) == 500


def test_each_example_lands_where_its_fingerprint_says(seed7):
    bounds = split.cumulative_bounds(RATIOS)
    sizes = {}
    for index, name in enumerate(NAMES):
        records = read_split(seed7.uri, name)
        sizes[name] = len(records)
        assert [split.split_index(7, r, bounds) for r in records] == [index] * len(records)
    for name, ratio in zip(NAMES, RATIOS):
        assert abs(sizes[name] / 500 - ratio) < 0.1, sizes


def test_output_properties(seed7):
    assert artifact_utils.decode_split_names(seed7.split_names) == NAMES
    assert seed7.get_string_custom_property("payload_format") == PAYLOAD
    assert seed7.get_string_custom_property("seed") == "7"
    assert json.loads(seed7.get_string_custom_property("ratios")) == dict(zip(NAMES, RATIOS))


def test_split_counts_match_the_written_files(seed7):
    from_files: dict[str, dict[str, int]] = {}
    for name in NAMES:
        sources = Counter(
            tf.train.Example.FromString(r).features.feature["source"].bytes_list.value[0].decode()
            for r in read_split(seed7.uri, name)
        )
        from_files[name] = dict(sources)
    recorded = json.loads(seed7.get_string_custom_property("split_counts"))
    assert recorded == from_files
    assert sum(recorded[n].get("web", 0) for n in NAMES) == 300
    assert sum(recorded[n].get("mobile", 0) for n in NAMES) == 200


def test_same_seed_gives_same_membership_other_seed_differs(seed7, input_examples, tmp_path):
    again = run_do(input_examples, str(tmp_path / "seed7-again"), seed=7)
    other = run_do(input_examples, str(tmp_path / "seed8"), seed=8)
    first = membership(seed7.uri)
    assert membership(again.uri) == first
    second = membership(other.uri)
    assert set(second) == set(first)
    moved = sum(first[key] != second[key] for key in first)
    # Independent draws: P(same split) = .6**2 + .2**2 + .2**2 = 0.44, so ~280 of 500 move.
    assert 200 <= moved <= 360, moved


@pytest.mark.parametrize(
    "ratios, message",
    [
        ("0.6,0.4", r"needs >= 2 splits with one ratio each"),
        ("0.6,0.2,0.1", r"ratios must be > 0 and sum to 1"),
        ("0.8,-0.2,0.4", r"ratios must be > 0 and sum to 1"),
        ("0.5,nan,0.5", r"ratios must be > 0 and sum to 1"),
        ("0.6,0.2,lots", r"could not convert string to float: 'lots'"),
    ],
)
def test_bad_ratios_raise_before_writing_anything(input_examples, tmp_path, ratios, message):
    with pytest.raises(ValueError, match=message):
        run_do(input_examples, str(tmp_path / "out"), ratios=ratios)
    assert not os.path.exists(tmp_path / "out")


def test_single_split_is_rejected(input_examples, tmp_path):
    with pytest.raises(ValueError, match=r"needs >= 2 splits .*\['all'\] \[1\.0\]"):
        run_do(input_examples, str(tmp_path / "out"), splits="all", ratios="1.0")


def test_input_with_a_conflicting_source_column_fails(tmp_path):
    tagged = make_example("web", 0)
    tagged.features.feature["source"].bytes_list.value.append(b"crm")
    examples = write_examples_artifact(
        str(tmp_path / "in"), {"web": [[tagged]], "mobile": [[make_example("mobile", 0)]]}
    )
    with pytest.raises(ValueError, match=r"already has a 'source' feature \(\[b'crm'\]\)"):
        run_do(examples, str(tmp_path / "out"))
