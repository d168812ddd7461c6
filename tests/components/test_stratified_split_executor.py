"""StratifiedSplit's executor and component, tfx-addons style: `Do()` on small fixtures.

Input Examples artifacts are written in `tmp_path` the way ExampleGen lays them
out (gzipped TFRecords in `Split-<name>/`, encoded split names, payload_format);
outputs are read back from the files the executor wrote.
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
import tensorflow as tf
from tfx import v1 as tfx
from tfx.dsl.components.base import base_beam_executor
from tfx.types import artifact_utils, standard_artifacts

from components.stratified_split import spec
from components.stratified_split.allocation import exact_ratios, largest_remainder
from components.stratified_split.component import StratifiedSplit
from components.stratified_split.executor import Executor, SplitInputError
from components.stratified_split.options import SplitOptions
from metadata import run_summary
from tests import local_beam

PAYLOAD_FORMAT = "FORMAT_TF_EXAMPLE"
SPLITS = (("train", 0.6), ("dev", 0.2), ("test", 0.2))
NAMES = ["train", "dev", "test"]
MULTI_PROCESSING = [
    "--runner=FnApiRunner",
    "--direct_running_mode=multi_processing",
    "--direct_num_workers=2",
]


# --- fixtures: writing inputs, running Do(), reading outputs ------------------------------


def make_record(**features) -> bytes:
    """A serialized tf.Example; ints, floats and bytes/str values by their Python type."""
    example = tf.train.Example()
    for name, value in features.items():
        if value is None:
            continue
        feature = example.features.feature[name]
        if isinstance(value, bytes):
            feature.bytes_list.value.append(value)
        elif isinstance(value, str):
            feature.bytes_list.value.append(value.encode())
        elif isinstance(value, float):
            feature.float_list.value.append(value)
        else:
            feature.int64_list.value.append(value)
    return example.SerializeToString(deterministic=True)


def labelled_records(n: int, positives: int, start: int = 0, **extra) -> list[bytes]:
    """`n` examples with ids start.., the first `positives` of them label 1, the rest 0."""
    return [
        make_record(id=start + i, x=float(i % 7), label=1 if i < positives else 0, **extra)
        for i in range(n)
    ]


def write_examples(
    root: Path, splits: Mapping[str, Sequence[Sequence[bytes]]], name: str = "examples"
) -> standard_artifacts.Examples:
    """An Examples artifact: per split, a list of files, each a list of records."""
    examples = standard_artifacts.Examples()
    examples.uri = str(root / name)
    examples.split_names = artifact_utils.encode_split_names(list(splits))
    examples.set_string_custom_property("payload_format", PAYLOAD_FORMAT)
    for split, files in splits.items():
        folder = root / name / f"Split-{split}"
        folder.mkdir(parents=True)
        for index, records in enumerate(files):
            path = folder / f"data_tfrecord-{index:05d}-of-{len(files):05d}.gz"
            with tf.io.TFRecordWriter(str(path), options="GZIP") as writer:
                for record in records:
                    writer.write(record)
    return examples


def run_split(
    root: Path,
    examples: standard_artifacts.Examples,
    exec_properties: Mapping,
    beam_args: list[str] | None = None,
    name: str = "split_examples",
) -> standard_artifacts.Examples:
    output = standard_artifacts.Examples()
    output.uri = str(root / name)
    context = (
        base_beam_executor.BaseBeamExecutor.Context(beam_pipeline_args=beam_args)
        if beam_args
        else local_beam.executor_context(str(root / "beam_tmp"))
    )
    Executor(context).Do(
        {spec.EXAMPLES_KEY: [examples]},
        {spec.SPLIT_EXAMPLES_KEY: [output]},
        dict(exec_properties),
    )
    return output


def options(**overrides) -> dict:
    kwargs = {"ratios": SPLITS, "label": "label", "seed": 7, **overrides}
    return SplitOptions(**kwargs).to_exec_properties()


def read_membership(output: standard_artifacts.Examples) -> dict[str, list[bytes]]:
    """{split: sorted records} from the files under each `Split-<name>/`."""
    membership = {}
    for split in artifact_utils.decode_split_names(output.split_names):
        folder = Path(artifact_utils.get_split_uri([output], split))
        records = []
        for path in sorted(folder.glob("*")):
            dataset = tf.data.TFRecordDataset(str(path), compression_type="GZIP")
            records.extend(r.numpy() for r in dataset)
        membership[split] = sorted(records)
    return membership


def feature(record: bytes, name: str):
    """The single value of a feature, or None; bytes values are decoded."""
    values = tf.train.Example.FromString(record).features.feature[name]
    kind = values.WhichOneof("kind")
    if kind is None or not getattr(values, kind).value:
        return None
    value = getattr(values, kind).value[0]
    return value.decode() if isinstance(value, bytes) else value


def label_counts(records: Sequence[bytes]) -> dict:
    return dict(Counter(feature(r, "label") for r in records))


def properties(output: standard_artifacts.Examples) -> dict[str, str]:
    return {
        name: output.get_string_custom_property(name)
        for name in output.mlmd_artifact.custom_properties
    }


def fail_if_beam_starts(monkeypatch) -> None:
    def no_beam(self):
        raise AssertionError("the Beam job was started")

    monkeypatch.setattr(Executor, "_make_beam_pipeline", no_beam)


# --- the issue's example: 100 rows, 30 positives, 60/20/20 --------------------------------


@pytest.fixture(scope="module")
def hundred_thirty(tmp_path_factory):
    root = tmp_path_factory.mktemp("hundred_thirty")
    records = labelled_records(100, positives=30)
    examples = write_examples(root, {"train": [records]})
    return records, run_split(root, examples, options())


def test_issue_example_is_split_exactly(hundred_thirty):
    records, output = hundred_thirty
    membership = read_membership(output)
    assert {split: label_counts(rs) for split, rs in membership.items()} == {
        "train": {1: 18, 0: 42},
        "dev": {1: 6, 0: 14},
        "test": {1: 6, 0: 14},
    }
    # Nothing lost or duplicated: the outputs together are the input, record for record.
    assert sorted(r for rs in membership.values() for r in rs) == sorted(records)


def test_output_is_a_drop_in_examples_artifact(hundred_thirty):
    _, output = hundred_thirty
    assert artifact_utils.decode_split_names(output.split_names) == NAMES
    assert output.get_string_custom_property("payload_format") == PAYLOAD_FORMAT
    assert sorted(p.name for p in Path(output.uri).iterdir() if p.is_dir()) == [
        "Split-dev",
        "Split-test",
        "Split-train",
    ]
    for split in NAMES:
        files = sorted(Path(output.uri, f"Split-{split}").iterdir())
        # One file set per placement branch (see beam_split.place_units_branches).
        assert {f.name.split("-")[0] for f in files} == {"placed_tfrecord", "ranked_tfrecord"}
        assert all(f.suffix == ".gz" and f.read_bytes()[:2] == b"\x1f\x8b" for f in files)


def test_custom_properties_record_options_and_counts(hundred_thirty):
    _, output = hundred_thirty
    recorded = properties(output)
    assert json.loads(recorded.pop("split_counts")) == {
        "train": {"label=0": 42, "label=1": 18},
        "dev": {"label=0": 14, "label=1": 6},
        "test": {"label=0": 14, "label=1": 6},
    }
    assert list(json.loads(output.get_string_custom_property("split_counts"))) == NAMES
    assert json.loads(recorded.pop("class_counts")) == {
        "train": {"0": 42, "1": 18},
        "dev": {"0": 14, "1": 6},
        "test": {"0": 14, "1": 6},
    }
    assert recorded == {
        "payload_format": PAYLOAD_FORMAT,
        "seed": "7",
        "ratios": '{"train": 0.6, "dev": 0.2, "test": 0.2}',
        "label": "label",
        "stratify_by": "[]",
        "group_by": "",
        "stratum_counts": '{"label=0": 70, "label=1": 30}',
        "input_examples": "100",
        "max_ratio_deviation": "0.000000",
    }


# --- determinism ----------------------------------------------------------------------------


def determinism_records() -> list[bytes]:
    rng = random.Random(12)
    return [
        make_record(id=i, x=rng.random(), label=rng.choices([0, 1, 2], weights=[5, 3, 2])[0])
        for i in range(240)
    ]


@pytest.fixture(scope="module")
def determinism_runs(tmp_path_factory):
    """The same examples as one file, and shuffled across three files; seed 7 and seed 8."""
    root = tmp_path_factory.mktemp("determinism")
    records = determinism_records()
    shuffled = list(records)
    random.Random(3).shuffle(shuffled)
    one_file = write_examples(root, {"train": [records]}, "one_file")
    three_files = write_examples(
        root, {"train": [shuffled[:50], shuffled[50:170], shuffled[170:]]}, "three_files"
    )
    return {
        "records": records,
        "one_file": one_file,
        "first": read_membership(run_split(root, one_file, options(), name="first")),
        "second": read_membership(run_split(root, one_file, options(), name="second")),
        "resharded": read_membership(run_split(root, three_files, options(), name="resharded")),
        "other_seed": read_membership(run_split(root, one_file, options(seed=8), name="seed8")),
        "root": root,
    }


def test_membership_is_identical_across_runs_and_input_order(determinism_runs):
    first = determinism_runs["first"]
    assert sum(map(len, first.values())) == 240
    assert determinism_runs["second"] == first
    assert determinism_runs["resharded"] == first


def test_another_seed_gives_another_membership_with_the_same_counts(determinism_runs):
    first, other = determinism_runs["first"], determinism_runs["other_seed"]
    assert {s: label_counts(r) for s, r in other.items()} == {
        s: label_counts(r) for s, r in first.items()
    }
    moved = len(set(first["train"]) - set(other["train"]))
    assert moved > 20  # ~40% of train would move under an independent order


def test_multi_processing_runner_gives_identical_membership(determinism_runs, monkeypatch):
    # With beam_pipeline_args, BaseBeamExecutor packages TFX as an sdist for remote
    # workers (49 MB left in /tmp per run); local subprocess workers do not need it.
    monkeypatch.setattr(
        base_beam_executor.dependency_utils, "make_beam_dependency_flags", lambda args: args
    )
    output = run_split(
        determinism_runs["root"],
        determinism_runs["one_file"],
        options(),
        beam_args=MULTI_PROCESSING,
        name="multi_processing",
    )
    # Two workers write two shards per split; the records in them are the same.
    assert len(list(Path(output.uri, "Split-train").iterdir())) == 2
    assert read_membership(output) == determinism_runs["first"]


# --- strata across input splits -------------------------------------------------------------


def test_every_input_split_is_read_and_stratified_by_source(tmp_path):
    # Each example carries its `source`, as CleanExamples tags it.
    web = labelled_records(60, positives=20, start=0, source="web")
    mobile = labelled_records(40, positives=12, start=1000, source="mobile")
    examples = write_examples(tmp_path, {"web": [web], "mobile": [mobile]})
    component = StratifiedSplit(
        examples=tfx.dsl.Channel(type=standard_artifacts.Examples),
        label="label",
        ratios=dict(SPLITS),
        stratify_by=["source"],
        seed=7,
    )
    output = run_split(tmp_path, examples, component.exec_properties)
    # 40/20 web and 28/12 mobile examples; e.g. 28 * 0.6/0.2/0.2 = 16.8/5.6/5.6 -> 17/6/5.
    assert json.loads(output.get_string_custom_property("split_counts")) == {
        "train": {
            "label=0|source=mobile": 17,
            "label=0|source=web": 24,
            "label=1|source=mobile": 7,
            "label=1|source=web": 12,
        },
        "dev": {
            "label=0|source=mobile": 6,
            "label=0|source=web": 8,
            "label=1|source=mobile": 3,
            "label=1|source=web": 4,
        },
        "test": {
            "label=0|source=mobile": 5,
            "label=0|source=web": 8,
            "label=1|source=mobile": 2,
            "label=1|source=web": 4,
        },
    }
    membership = read_membership(output)
    assert sorted(r for rs in membership.values() for r in rs) == sorted(web + mobile)
    # The files agree with the recorded counts, stratum by stratum.
    from_files = {
        split: dict(
            Counter(f"label={feature(r, 'label')}|source={feature(r, 'source')}" for r in records)
        )
        for split, records in membership.items()
    }
    assert from_files == json.loads(output.get_string_custom_property("split_counts"))
    assert json.loads(output.get_string_custom_property("stratum_counts")) == {
        "label=0|source=mobile": 28,
        "label=0|source=web": 40,
        "label=1|source=mobile": 12,
        "label=1|source=web": 20,
    }
    assert output.get_string_custom_property("stratify_by") == '["source"]'


# --- group mode ---------------------------------------------------------------------------


def grouped_records() -> tuple[list[bytes], dict[bytes, str]]:
    """160 users with 1-6 examples each; all of a user's examples share one label."""
    rng = random.Random(21)
    records, user_of = [], {}
    for user in range(160):
        label = rng.choices([0, 1], weights=[7, 3])[0]
        for _ in range(rng.randint(1, 6)):
            record = make_record(id=len(records), user=f"u{user:03d}", label=label)
            records.append(record)
            user_of[record] = f"u{user:03d}"
    return records, user_of


def test_group_mode_keeps_groups_whole_and_reports_deviation(tmp_path):
    records, user_of = grouped_records()
    random.Random(5).shuffle(records)
    examples = write_examples(tmp_path, {"train": [records[:300], records[300:]]})
    output = run_split(tmp_path, examples, options(group_by="user"))
    membership = read_membership(output)
    assert sorted(r for rs in membership.values() for r in rs) == sorted(records)

    split_of_user = defaultdict(set)
    for split, split_records in membership.items():
        for record in split_records:
            split_of_user[user_of[record]].add(split)
    assert len(split_of_user) == 160
    assert all(len(splits) == 1 for splits in split_of_user.values())

    # Groups (the units) are split exactly per stratum: largest remainder of the group counts.
    groups = json.loads(output.get_string_custom_property("group_counts"))
    users_in_files = {
        split: {user_of[r]: feature(r, "label") for r in split_records}
        for split, split_records in membership.items()
    }
    assert groups == {
        split: dict(Counter(f"label={label}" for label in users.values()))
        for split, users in users_in_files.items()
    }
    users_per_label = Counter({user_of[r]: feature(r, "label") for r in records}.values())
    for label, n in users_per_label.items():
        placed = [groups[s].get(f"label={label}", 0) for s in NAMES]
        assert placed == largest_remainder(n, exact_ratios([r for _, r in SPLITS]))

    # Example proportions per class are close to the ratios, and the reported
    # deviation is the largest gap found in the files.
    gaps = []
    for label in (0, 1):
        total = sum(label_counts(rs).get(label, 0) for rs in membership.values())
        for split, ratio in SPLITS:
            gaps.append(abs(label_counts(membership[split]).get(label, 0) / total - ratio))
    assert output.get_string_custom_property("max_ratio_deviation") == f"{max(gaps):.6f}"
    assert 0 < max(gaps) < 0.06
    assert output.get_string_custom_property("group_by") == "user"


def test_group_mode_counts_each_example_under_its_own_label(tmp_path):
    # 60 users with 4 examples each: 1 positive and 3 negatives. Every group's
    # majority stratum is label=0, but the counts must show the 60 positives.
    records = [
        make_record(id=u * 10 + k, user=f"user{u}", label=1 if k == 0 else 0)
        for u in range(60)
        for k in range(4)
    ]
    examples = write_examples(tmp_path, {"train": [records]})
    output = run_split(tmp_path, examples, options(group_by="user"))
    membership = read_membership(output)

    counted = json.loads(output.get_string_custom_property("split_counts"))
    in_files = {
        split: {f"label={label}": n for label, n in sorted(label_counts(rs).items())}
        for split, rs in membership.items()
    }
    assert counted == in_files
    assert json.loads(output.get_string_custom_property("stratum_counts")) == {
        "label=0": 180,
        "label=1": 60,
    }
    # Groups are the units: 60 label=0 groups cut 36/12/12.
    groups = json.loads(output.get_string_custom_property("group_counts"))
    assert [groups[s]["label=0"] for s in NAMES] == [36, 12, 12]
    assert output.get_string_custom_property("max_ratio_deviation") == "0.000000"


# --- unlabeled examples -----------------------------------------------------------------------


def with_unlabeled() -> tuple[list[bytes], list[bytes]]:
    labelled = labelled_records(47, positives=17)
    unlabeled = [make_record(id=900 + i, x=1.0) for i in range(3)]
    return labelled, unlabeled


def test_unlabeled_examples_fail_with_their_count_by_default(tmp_path):
    labelled, unlabeled = with_unlabeled()
    examples = write_examples(tmp_path, {"train": [labelled[:20] + unlabeled + labelled[20:]]})
    with pytest.raises(
        SplitInputError,
        match=r"3 of 50 examples have no value for label 'label'; fix the data$",
    ):
        run_split(tmp_path, examples, options())


def test_unlabeled_examples_in_group_mode_fail_with_their_count(tmp_path):
    # Two unlabeled examples share a user with labelled ones; one has a user of its own.
    records = [
        make_record(id=i, x=1.0, label=1 if i < 17 else 0, user=f"u{i % 5}") for i in range(47)
    ] + [make_record(id=900 + i, x=1.0, user=user) for i, user in enumerate(["u1", "u1", "u9"])]
    examples = write_examples(tmp_path, {"train": [records]})
    with pytest.raises(
        SplitInputError,
        match=r"3 of 50 examples have no value for label 'label'; fix the data$",
    ):
        run_split(tmp_path, examples, options(group_by="user"))


# --- bad input fails before the Beam job ------------------------------------------------------


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            {"label": "target"},
            (
                r"label 'target' is not a feature of input split 'train' "
                r"\(features: id, label, source, x\)"
            ),
        ),
        (
            {"stratify_by": ("country",)},
            (
                r"stratify_by 'country' is not a feature of input split 'train' "
                r"\(features: id, label, source, x\)"
            ),
        ),
        (
            {"group_by": "user"},
            (
                r"group_by 'user' is not a feature of input split 'train' "
                r"\(features: id, label, source, x\)"
            ),
        ),
    ],
    ids=["label", "stratify", "group"],
)
def test_missing_feature_is_named_before_beam(tmp_path, monkeypatch, overrides, message):
    examples = write_examples(tmp_path, {"train": [labelled_records(20, 5, source="web")]})
    fail_if_beam_starts(monkeypatch)
    with pytest.raises(SplitInputError, match=message):
        run_split(tmp_path, examples, options(**overrides))


def test_empty_input_is_a_clear_error_before_beam(tmp_path, monkeypatch):
    examples = write_examples(tmp_path, {"train": [[]], "eval": []})  # an empty file, no file
    fail_if_beam_starts(monkeypatch)
    with pytest.raises(
        SplitInputError,
        match=r"the input examples are empty \(splits train, eval of .*examples hold no records\)",
    ):
        run_split(tmp_path, examples, options())


# --- small strata ------------------------------------------------------------------------------


def test_stratum_smaller_than_the_number_of_splits_is_allowed_and_counted(tmp_path, caplog):
    records = (
        labelled_records(100, positives=30)
        + [make_record(id=200 + i, x=0.5, label=2) for i in range(2)]
        + [make_record(id=300, x=0.5, label=3)]
    )
    examples = write_examples(tmp_path, {"train": [records]})
    with caplog.at_level("WARNING"):
        output = run_split(tmp_path, examples, options())
    # 2 examples at 60/20/20 -> 1.2/.4/.4 -> 1/1/0 (the tie goes to the earlier split);
    # 1 example -> .6/.2/.2 -> 1/0/0.
    counts = json.loads(output.get_string_custom_property("split_counts"))
    assert [counts[s].get("label=2", 0) for s in NAMES] == [1, 1, 0]
    assert [counts[s].get("label=3", 0) for s in NAMES] == [1, 0, 0]
    assert json.loads(output.get_string_custom_property("stratum_counts")) == {
        "label=0": 70,
        "label=1": 30,
        "label=2": 2,
        "label=3": 1,
    }
    assert output.get_string_custom_property("input_examples") == "103"
    membership = read_membership(output)
    assert {s: label_counts(rs).get(2, 0) for s, rs in membership.items()} == {
        "train": 1,
        "dev": 1,
        "test": 0,
    }
    assert sum(map(len, membership.values())) == 103
    assert "stratum label=2 has 2 examples, fewer than the 3 splits" in caplog.text
    assert "stratum label=3 has 1 examples, fewer than the 3 splits" in caplog.text
    # The run summary lists the same strata from what the step records.
    assert run_summary.small_strata(
        counts, json.loads(output.get_string_custom_property("stratum_counts")), len(NAMES)
    ) == {
        "label=2": {"train": 1, "dev": 1, "test": 0},
        "label=3": {"train": 1, "dev": 0, "test": 0},
    }
    # label=2: |1/2 - 0.6| = 0.1, |1/2 - 0.2| = 0.3, |0 - 0.2| = 0.2;
    # label=3: |1 - 0.6| = 0.4, |0 - 0.2| = 0.2 twice.
    assert output.get_string_custom_property("max_ratio_deviation") == "0.400000"


def test_a_ratio_too_small_for_every_stratum_fails_naming_the_empty_split(tmp_path):
    # 70 and 30 examples at 0.989/0.001/0.01: dev's shares are 0.07 and 0.03, and
    # the left-over examples go to larger remainders (70 -> 69/0/1, 30 -> 30/0/0).
    examples = write_examples(tmp_path, {"train": [labelled_records(100, positives=30)]})
    ratios = (("train", 0.989), ("dev", 0.001), ("test", 0.01))
    with pytest.raises(SplitInputError) as raised:
        run_split(tmp_path, examples, options(ratios=ratios))
    assert str(raised.value) == (
        "StratifiedSplit: the dev split got none of the 100 examples: each of the 2 strata is "
        "cut exactly, and at ratio 0.001 not even the largest (label=0, 70 examples) gives it "
        "one; raise its ratio"
    )


# --- a three-class text label ---------------------------------------------------------------


def species_records(counts: Mapping[str, int], start: int = 0, **extra) -> list[bytes]:
    """`counts[species]` examples of each species, ids from `start`."""
    records = []
    for species, n in counts.items():
        for _ in range(n):
            records.append(make_record(id=start + len(records), x=0.5, species=species, **extra))
    return records


def species_options(**overrides) -> dict:
    return options(label="species", **overrides)


@pytest.fixture(scope="module")
def penguins(tmp_path_factory):
    root = tmp_path_factory.mktemp("penguins")
    records = species_records({"Adelie": 50, "Chinstrap": 30, "Gentoo": 20})
    examples = write_examples(root, {"train": [records]})
    return records, run_split(root, examples, species_options())


def test_each_class_is_split_exactly_and_counted_per_split(penguins):
    records, output = penguins
    membership = read_membership(output)
    from_files = {
        split: dict(Counter(feature(r, "species") for r in rs)) for split, rs in membership.items()
    }
    # 50, 30 and 20 rows at 60/20/20: 30/10/10, 18/6/6 and 12/4/4.
    expected = {
        "train": {"Adelie": 30, "Chinstrap": 18, "Gentoo": 12},
        "dev": {"Adelie": 10, "Chinstrap": 6, "Gentoo": 4},
        "test": {"Adelie": 10, "Chinstrap": 6, "Gentoo": 4},
    }
    assert from_files == expected
    assert json.loads(output.get_string_custom_property("class_counts")) == expected
    assert json.loads(output.get_string_custom_property("split_counts")) == {
        split: {f"label={c}": n for c, n in by_class.items()}
        for split, by_class in expected.items()
    }
    assert sorted(r for rs in membership.values() for r in rs) == sorted(records)


def test_a_class_of_one_row_in_a_stratum_is_allowed_and_counted(tmp_path):
    web = species_records({"Adelie": 20, "Chinstrap": 10, "Gentoo": 10}, source="web")
    # The partner source's only Chinstrap: a stratum of one row, all of it in train.
    partner = species_records({"Adelie": 5, "Chinstrap": 1}, start=1000, source="partner")
    examples = write_examples(tmp_path, {"web": [web], "partner": [partner]})
    output = run_split(tmp_path, examples, species_options(stratify_by=("source",)))

    counts = json.loads(output.get_string_custom_property("split_counts"))
    assert [counts[s].get("label=Chinstrap|source=partner", 0) for s in NAMES] == [1, 0, 0]
    # web: 20 -> 12/4/4, 10 -> 6/2/2; partner: 5 -> 3/1/1, 1 -> 1/0/0.
    assert json.loads(output.get_string_custom_property("class_counts")) == {
        "train": {"Adelie": 15, "Chinstrap": 7, "Gentoo": 6},
        "dev": {"Adelie": 5, "Chinstrap": 2, "Gentoo": 2},
        "test": {"Adelie": 5, "Chinstrap": 2, "Gentoo": 2},
    }
    assert run_summary.small_strata(
        counts, json.loads(output.get_string_custom_property("stratum_counts")), len(NAMES)
    ) == {"label=Chinstrap|source=partner": {"train": 1, "dev": 0, "test": 0}}


def test_one_class_in_the_train_split_fails_naming_the_label_and_the_class(tmp_path):
    examples = write_examples(tmp_path, {"train": [species_records({"Adelie": 20})]})
    with pytest.raises(SplitInputError) as raised:
        run_split(tmp_path, examples, species_options())
    assert str(raised.value) == (
        "StratifiedSplit: label 'species' has only the class 'Adelie' in the train split; "
        "a model needs two or more"
    )


def test_a_class_that_misses_the_train_split_leaves_it_with_one(tmp_path):
    # One Gentoo row at 20/40/40 goes to dev (0.2/0.4/0.4: dev and test tie, dev is first).
    records = species_records({"Adelie": 10, "Gentoo": 1})
    examples = write_examples(tmp_path, {"train": [records]})
    ratios = (("train", 0.2), ("dev", 0.4), ("test", 0.4))
    with pytest.raises(
        SplitInputError,
        match=r"^StratifiedSplit: label 'species' has only the class 'Adelie' in the train split",
    ):
        run_split(tmp_path, examples, species_options(ratios=ratios))


# --- the component: options are checked when the pipeline is built --------------------------


def examples_channel():
    return tfx.dsl.Channel(type=standard_artifacts.Examples)


def test_component_exec_properties():
    component = StratifiedSplit(
        examples=examples_channel(),
        label="label",
        ratios=[("train", 0.8), ("eval", 0.2)],
        stratify_by=("source",),
        group_by="user",
        seed=11,
        code_version="abc123",
    )
    assert component.exec_properties == {
        "ratios": '[["train", 0.8], ["eval", 0.2]]',
        "label": "label",
        "stratify_by": '["source"]',
        "group_by": "user",
        "seed": 11,
        "code_version": "abc123",
    }
    assert component.outputs[spec.SPLIT_EXAMPLES_KEY].type == standard_artifacts.Examples
    restored = SplitOptions.from_exec_properties(component.exec_properties)
    assert restored == SplitOptions(
        ratios=(("train", 0.8), ("eval", 0.2)),
        label="label",
        stratify_by=("source",),
        group_by="user",
        seed=11,
    )
    assert restored.split_names == ["train", "eval"]
    assert restored.feature_keys == ["label", "source", "user"]


def test_component_defaults():
    component = StratifiedSplit(examples=examples_channel(), label="label")
    assert component.exec_properties == {
        "ratios": '[["train", 0.6], ["dev", 0.2], ["test", 0.2]]',
        "label": "label",
        "stratify_by": "[]",
        "group_by": None,
        "seed": 0,
        "code_version": None,
    }


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"ratios": {"train": 0.6, "dev": 0.3}}, r"split ratios must sum to 1, they sum to 0.9$"),
        ({"ratios": {"train": 0.7, "dev": 0.2, "test": 0.2}}, r"they sum to 1.1$"),
        ({"ratios": {"train": 1.0, "dev": 0.0}}, r"ratio of split 'dev' must be > 0, got 0.0"),
        ({"ratios": {"train": 1.2, "dev": -0.2}}, r"ratio of split 'dev' must be > 0, got -0.2"),
        ({"ratios": {"train": 0.5, "dev": float("nan")}}, r"ratio of split 'dev' must be > 0"),
        ({"ratios": {"train": 1.0}}, r"needs at least two splits, got \['train'\]"),
        (
            {"ratios": [("train", 0.5), ("train", 0.5)]},
            r"split name 'train' is used more than once",
        ),
        (
            {"ratios": [("train", 0.5), ("Train", 0.5)]},
            r"split name 'train' is used more than once",
        ),
        ({"ratios": [("train", 0.5), ("dev/1", 0.5)]}, r"invalid split name 'dev/1'"),
        ({"ratios": [("train", 0.5), ("", 0.5)]}, r"invalid split name ''"),
        ({"seed": -1}, r"seed must be an integer in \[0, 2\*\*63\), got -1"),
        ({"seed": 2**63}, r"seed must be an integer in \[0, 2\*\*63\), got 9223372036854775808"),
        ({"seed": 1.5}, r"seed must be an integer in \[0, 2\*\*63\), got 1.5"),
        ({"seed": True}, r"seed must be an integer in \[0, 2\*\*63\), got True"),
        ({"label": ""}, r"label is required"),
        ({"stratify_by": ["label"]}, r"stratify_by repeat the label or each other"),
        (
            {"group_by": "source", "stratify_by": ["source"]},
            r"group_by 'source' is also a stratum key",
        ),
    ],
)
def test_component_rejects_bad_options_when_built(kwargs, message):
    arguments = {"examples": examples_channel(), "label": "label", **kwargs}
    with pytest.raises(ValueError, match=r"StratifiedSplit.*" + message):
        StratifiedSplit(**arguments)
