"""CleanExamples' executor and component, tfx-addons style: `Do()` on small fixtures.

Input Examples artifacts are written in `tmp_path` the way ExampleGen lays them
out (gzipped TFRecords in `Split-<name>/`, encoded split names, payload_format).
The raw data has three sources (web, mobile, partner) and plants every problem
CleanExamples handles; each row has a name, so the outputs are checked row by row.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
import tensorflow as tf
from tfx import v1 as tfx
from tfx.types import artifact_utils, standard_artifacts

from components.clean_examples import executor as executor_module
from components.clean_examples import fact_files
from components.clean_examples import spec
from components.clean_examples.component import CleanExamples
from components.clean_examples.executor import CleaningInputError, Executor
from components.clean_examples.options import CleanOptions
from components.common import examples_io
from components.common.example_features import feature_values
from tests.components.example_bytes import reversed_feature_order
from tests import local_beam

PAYLOAD_FORMAT = "FORMAT_TF_EXAMPLE"
SOURCES = ("web", "mobile", "partner")
PRIORITY = ("web", "mobile", "partner")

# --- the raw data: every row named; each comment says what should happen to it ---------------

RAW: dict[str, dict[str, dict]] = {
    "web": {
        # u1 is also in mobile as alias m-u1, more recently: mobile's row wins.
        "w1": dict(user_id="u1", email="u1@x", ts=100, label=0),
        # u2 is also in partner as alias p-u2, more recently, with another label.
        "w2": dict(user_id="u2", email="u2@x", ts=50, label=1),
        # s1 is on the spam list under its own id.
        "w3": dict(user_id="s1", email="s1@x", ts=70, label=0),
        # a -> b -> c; partner has c with the same timestamp: web wins on priority.
        "w4": dict(user_id="a", email="c@x", ts=10, label=1),
        "w5": dict(email="anon@x", ts=5, label=0),  # no id
        # u5 twice, byte for byte: one row kept, the other merged.
        "w6": dict(user_id="u5", email="u5@x", ts=20, label=1),
        "w8": dict(user_id="u6", ts=30, label=0),  # no email (a required column)
    },
    "mobile": {
        "m1": dict(user_id="m-u1", email="u1@m", ts=200, label=0),
        # m-s2 -> s2, which the spam list names by its canonical id.
        "m2": dict(user_id="m-s2", email="s2@m", ts=1, label=1),
        # u7 without a timestamp (oldest) loses to partner's, despite priority.
        "m3": dict(user_id="u7", email="u7@m", label=0),
        "m4": dict(ts=3, label=1),  # no id and no email: missing_id comes first
        # 42 as an int64 here and as text in partner: one person; tie -> mobile.
        "m5": dict(user_id=42, email="42@m", ts=5),
    },
    "partner": {
        "p1": dict(user_id="p-u2", email="u2@p", ts=80, label=0),
        "p2": dict(user_id="c", email="c@p", ts=10, label=1),
        "p3": dict(user_id="u7", email="u7@p", ts=1, label=0),
        # s3, which the spam list names by its alias alias-s3.
        "p4": dict(user_id="s3", email="s3@p", ts=9, label=1),
        "p5": dict(user_id="42", email="42@p", ts=5, label=1),
        "p6": dict(user_id="u9", email="u9@p"),
    },
}
# Rows in file order per source; w6 is written twice (the exact duplicate).
ORDER = {
    "web": ["w1", "w2", "w3", "w4", "w5", "w6", "w6", "w8"],
    "mobile": ["m1", "m2", "m3", "m4", "m5"],
    "partner": ["p1", "p2", "p3", "p4", "p5", "p6"],
}
SPAM_IDS = ["s1", "s2", "alias-s3", "ghost"]  # ghost is in no source
ID_MAP = [
    ("m-u1", "u1"),
    ("p-u2", "u2"),
    ("a", "b"),
    ("b", "c"),
    ("m-s2", "s2"),
    ("alias-s3", "s3"),
]


def make_record(**features) -> bytes:
    """A serialized tf.Example; ints, floats and str/bytes values by their Python type."""
    example = tf.train.Example()
    for name, value in features.items():
        feature = example.features.feature[name]
        if isinstance(value, list):  # several string values
            feature.bytes_list.value.extend(v.encode() for v in value)
        elif isinstance(value, bytes):
            feature.bytes_list.value.append(value)
        elif isinstance(value, str):
            feature.bytes_list.value.append(value.encode())
        elif isinstance(value, float):
            feature.float_list.value.append(value)
        else:
            feature.int64_list.value.append(value)
    return example.SerializeToString(deterministic=True)


RECORDS = {name: make_record(**f) for rows in RAW.values() for name, f in rows.items()}
NAME_OF = {record: name for name, record in RECORDS.items()}
assert len(NAME_OF) == len(RECORDS), "fixture rows must differ"


def write_examples(
    root: Path, splits: Mapping[str, Sequence[bytes]], name: str
) -> standard_artifacts.Examples:
    """An Examples artifact with one gzipped TFRecord file per split (maybe empty)."""
    examples = standard_artifacts.Examples()
    examples.uri = str(root / name)
    examples.split_names = artifact_utils.encode_split_names(list(splits))
    examples.set_string_custom_property("payload_format", PAYLOAD_FORMAT)
    for split, records in splits.items():
        folder = root / name / f"Split-{split}"
        folder.mkdir(parents=True)
        with tf.io.TFRecordWriter(str(folder / "data_tfrecord-00000-of-00001.gz"), "GZIP") as w:
            for record in records:
                w.write(record)
    return examples


def raw_examples(
    root: Path, order: Mapping[str, Sequence[str]] = ORDER
) -> standard_artifacts.Examples:
    return write_examples(
        root, {s: [RECORDS[n] for n in names] for s, names in order.items()}, "raw"
    )


def spam_examples(root: Path, ids: Sequence[str] = SPAM_IDS, column: str = "spam_id"):
    return write_examples(root, {"train": [make_record(**{column: i}) for i in ids]}, "spam")


def id_map_examples(root: Path, pairs: Sequence[tuple] = ID_MAP, columns=("alias", "canonical")):
    records = [make_record(**{columns[0]: a, columns[1]: c}) for a, c in pairs]
    return write_examples(root, {"train": records}, "id_map")


def options(**overrides) -> CleanOptions:
    kwargs = dict(
        id_key="user_id",
        required_columns=("email",),
        keep_latest_by="ts",
        source_priority=PRIORITY,
        label="label",
        spam_id_column="spam_id",
        alias_column="alias",
        canonical_column="canonical",
        has_spam_list=True,
        has_id_map=True,
    )
    kwargs.update(overrides)
    return CleanOptions(**kwargs)


def run_clean(
    root: Path,
    examples: standard_artifacts.Examples,
    clean_options: CleanOptions,
    spam_list: standard_artifacts.Examples | None = None,
    id_map: standard_artifacts.Examples | None = None,
    outputs: tuple[standard_artifacts.Examples, standard_artifacts.Examples] | None = None,
) -> tuple[standard_artifacts.Examples, standard_artifacts.Examples]:
    """Runs the executor; `outputs` (cleaned, rejected) are made here unless given."""
    cleaned, rejected = outputs or (standard_artifacts.Examples(), standard_artifacts.Examples())
    cleaned.uri = str(root / "cleaned")
    rejected.uri = str(root / "rejected")
    inputs = {spec.EXAMPLES_KEY: [examples]}
    if spam_list is not None:
        inputs[spec.SPAM_LIST_KEY] = [spam_list]
    if id_map is not None:
        inputs[spec.ID_MAP_KEY] = [id_map]
    Executor(local_beam.executor_context(str(root / "beam_tmp"))).Do(
        inputs,
        {spec.CLEANED_KEY: [cleaned], spec.REJECTED_KEY: [rejected]},
        clean_options.to_exec_properties(),
    )
    return cleaned, rejected


def read_split(output: standard_artifacts.Examples, split: str) -> list[tf.train.Example]:
    folder = Path(artifact_utils.get_split_uri([output], split))
    examples = []
    for path in sorted(folder.glob("*")):
        dataset = tf.data.TFRecordDataset(str(path), compression_type="GZIP")
        examples.extend(tf.train.Example.FromString(r.numpy()) for r in dataset)
    return examples


def untag(example: tf.train.Example, *tags: str) -> tuple[str, ...]:
    """Pops the added features and returns (row name, tag values...); '-' for an absent tag."""
    values = []
    for tag in tags:
        found = feature_values(example, tag)
        values.append(found[0] if found else "-")
        if tag in example.features.feature:
            del example.features.feature[tag]
    return (NAME_OF[example.SerializeToString(deterministic=True)], *values)


def cleaned_rows(cleaned) -> list[tuple[str, str, str, str]]:
    """Sorted (row name, source, canonical_id, reject_reason) of the cleaned output."""
    return sorted(
        untag(e, "source", "canonical_id", "reject_reason") for e in read_split(cleaned, "cleaned")
    )


def rejected_rows(rejected) -> list[tuple[str, str, str, str]]:
    """Sorted (row name, source, reject_reason, canonical_id) of the rejected output."""
    return sorted(
        untag(e, "source", "reject_reason", "canonical_id")
        for e in read_split(rejected, "rejected")
    )


def accounting(output) -> dict:
    return json.loads(output.get_string_custom_property("accounting"))


def assert_balanced(cleaned, rejected, total_rows: Mapping[str, int]) -> None:
    """rows in == kept + rejected, per source, in the files and in the accounting."""
    record = accounting(cleaned)
    assert record["rows_in_per_source"] == dict(total_rows)
    for source, n in total_rows.items():
        kept = sum(1 for r in cleaned_rows(cleaned) if r[1] == source)
        removed = sum(1 for r in rejected_rows(rejected) if r[1] == source)
        assert kept + removed == n
        assert record["kept_per_source"][source] == kept
        outcomes = record["outcomes_per_source"][source]
        assert n - outcomes.get("kept", 0) == removed
        assert sum(outcomes.values()) == n
    assert record["rows_in"] == sum(total_rows.values())
    assert record["rows_in"] == record["kept"] + sum(record["removed_per_reason"].values())


ROWS_IN = {"web": 8, "mobile": 5, "partner": 6}


# --- the full configuration: spam list + id map, run once -----------------------------------


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("full")
    cleaned, rejected = run_clean(
        root, raw_examples(root), options(), spam_examples(root), id_map_examples(root)
    )
    return cleaned, rejected


FULL_CLEANED = [
    ("m1", "mobile", "u1", "-"),  # newer than web's u1
    ("m5", "mobile", "42", "-"),  # ties partner's "42"; mobile before partner
    ("p1", "partner", "u2", "-"),  # alias p-u2, newer than web's u2
    ("p3", "partner", "u7", "-"),  # mobile's u7 has no timestamp
    ("p6", "partner", "u9", "-"),  # nobody else, no timestamp
    ("w4", "web", "c", "-"),  # a -> b -> c; ties partner's c; web first
    ("w6", "web", "u5", "-"),  # one of two identical rows
]
FULL_REJECTED = [
    ("m2", "mobile", "spam", "-"),  # m-s2 -> s2 on the list
    ("m3", "mobile", "duplicate_merged", "-"),
    ("m4", "mobile", "missing_id", "-"),
    ("p2", "partner", "duplicate_merged", "-"),
    ("p4", "partner", "spam", "-"),  # listed as alias-s3
    ("p5", "partner", "duplicate_merged", "-"),
    ("w1", "web", "duplicate_merged", "-"),
    ("w2", "web", "duplicate_merged", "-"),
    ("w3", "web", "spam", "-"),
    ("w5", "web", "missing_id", "-"),
    ("w6", "web", "duplicate_merged", "-"),
    ("w8", "web", "missing_required:email", "-"),
]


def test_full_run_keeps_exactly_the_expected_rows_with_source_and_canonical_id(
    full_run,
):
    cleaned, _ = full_run
    assert cleaned_rows(cleaned) == FULL_CLEANED


def test_full_run_rejects_every_other_row_with_its_reason(full_run):
    _, rejected = full_run
    assert rejected_rows(rejected) == FULL_REJECTED


def test_people_spread_over_many_shards_get_the_same_decisions(tmp_path, monkeypatch, full_run):
    # One shard per stored byte: every person of the fixture lands in a shard
    # of its own or shares it with few, so the decisions meet across segments.
    monkeypatch.setattr(executor_module, "SHARD_BYTES", 1)
    examples = raw_examples(tmp_path)
    assert executor_module.people_shards(
        examples_io.total_bytes(examples, examples_io.split_names(examples))
    ) > len(FULL_CLEANED) + len(FULL_REJECTED)
    cleaned, rejected = run_clean(
        tmp_path, examples, options(), spam_examples(tmp_path), id_map_examples(tmp_path)
    )
    assert cleaned_rows(cleaned) == FULL_CLEANED
    assert rejected_rows(rejected) == FULL_REJECTED
    assert accounting(cleaned) == accounting(full_run[0])


def test_facts_written_one_per_file_give_the_same_decisions_and_leave_no_files(
    tmp_path, monkeypatch, full_run
):
    # Every shard of every batch flushes its own file, and people spread over
    # many shards, so one person's facts meet from several files.
    monkeypatch.setattr(fact_files, "FLUSH_FACTS", 1)
    monkeypatch.setattr(executor_module, "SHARD_BYTES", 1)
    written = []
    original = fact_files.write_segments

    def counting(folder, packets):
        segments = original(folder, packets)
        written.append(segments[0][1].path)
        return segments

    monkeypatch.setattr(fact_files, "write_segments", counting)
    cleaned, rejected = run_clean(
        tmp_path,
        raw_examples(tmp_path),
        options(),
        spam_examples(tmp_path),
        id_map_examples(tmp_path),
    )
    assert len(set(written)) > len(SOURCES)
    assert cleaned_rows(cleaned) == FULL_CLEANED
    assert rejected_rows(rejected) == FULL_REJECTED
    assert accounting(cleaned) == accounting(full_run[0])
    assert not [p for p in (tmp_path / "beam_tmp").rglob("*") if "clean_facts" in str(p)]


def test_full_run_tagged_rows_keep_every_original_feature(full_run):
    cleaned, _ = full_run
    by_canonical = {feature_values(e, "canonical_id")[0]: e for e in read_split(cleaned, "cleaned")}
    m1 = by_canonical["u1"]
    assert sorted(m1.features.feature) == [
        "canonical_id",
        "email",
        "label",
        "source",
        "ts",
        "user_id",
    ]
    # The raw id stays as it was; the canonical id sits beside it.
    assert feature_values(m1, "user_id") == ["m-u1"]
    assert feature_values(m1, "ts") == ["200"]
    assert list(by_canonical["42"].features.feature["user_id"].int64_list.value) == [42]


def test_full_run_accounting_is_exact(full_run):
    cleaned, rejected = full_run
    expected = {
        "rows_in": 19,
        "rows_in_per_source": {"web": 8, "mobile": 5, "partner": 6},
        "kept": 7,
        "kept_per_source": {"web": 2, "mobile": 2, "partner": 3},
        "removed_per_reason": {
            "duplicate_merged": 6,
            "missing_id": 2,
            "missing_required:email": 1,
            "spam": 3,
        },
        "outcomes_per_source": {
            "web": {
                "kept": 2,
                "duplicate_merged": 3,
                "spam": 1,
                "missing_id": 1,
                "missing_required:email": 1,
            },
            "mobile": {"kept": 2, "spam": 1, "duplicate_merged": 1, "missing_id": 1},
            "partner": {"kept": 3, "duplicate_merged": 2, "spam": 1},
        },
        "label_conflicts": 1,  # u2: label 1 on web, 0 on partner
        "spam_ids": 4,
        "spam_ids_not_in_data": 1,  # ghost
        "id_map_aliases": 6,
    }
    assert accounting(cleaned) == expected
    assert accounting(rejected) == expected
    assert cleaned.get_int_custom_property("rows_in") == 19
    assert cleaned.get_int_custom_property("kept") == 7
    assert cleaned.get_int_custom_property("rejected") == 12
    assert cleaned.get_int_custom_property("label_conflicts") == 1
    assert rejected.get_int_custom_property("rejected") == 12
    assert CleanOptions.from_json(cleaned.get_string_custom_property("options")) == options()


def test_full_run_balances_rows_per_source(full_run):
    cleaned, rejected = full_run
    assert_balanced(cleaned, rejected, ROWS_IN)
    for source, n in ROWS_IN.items():
        kept = [r for r in cleaned_rows(cleaned) if r[1] == source]
        removed = [r for r in rejected_rows(rejected) if r[1] == source]
        assert len(kept) + len(removed) == n
        assert sorted(r[0] for r in kept + removed) == sorted(ORDER[source])


def test_full_run_output_splits_and_payload_format(full_run):
    cleaned, rejected = full_run
    assert artifact_utils.decode_split_names(cleaned.split_names) == ["cleaned"]
    assert artifact_utils.decode_split_names(rejected.split_names) == ["rejected"]
    for output in (cleaned, rejected):
        assert output.get_string_custom_property("payload_format") == PAYLOAD_FORMAT
        split = Path(output.uri)
        files = sorted(p.name for p in split.glob("Split-*/*"))
        # One file set per written branch: each source, shared exact copies, settled ties.
        assert {f.split("-")[0] for f in files} == {
            "web_tfrecord",
            "mobile_tfrecord",
            "partner_tfrecord",
            "copies_tfrecord",
            "ties_tfrecord",
        }
        assert all(f.endswith(".gz") for f in files)


def test_cleaned_output_reads_with_tf_parse_example(full_run):
    cleaned, _ = full_run
    folder = Path(artifact_utils.get_split_uri([cleaned], "cleaned"))
    records = [
        r.numpy()
        for path in sorted(folder.glob("*"))
        for r in tf.data.TFRecordDataset(str(path), compression_type="GZIP")
    ]
    parsed = tf.io.parse_example(
        records,
        {
            "source": tf.io.FixedLenFeature([], tf.string),
            "canonical_id": tf.io.FixedLenFeature([], tf.string),
        },
    )
    pairs = sorted(zip(parsed["canonical_id"].numpy().tolist(), parsed["source"].numpy().tolist()))
    assert pairs == sorted((c.encode(), s.encode()) for _, s, c, _ in FULL_CLEANED)


# --- other configurations -------------------------------------------------------------------


def test_without_spam_list_or_id_map_only_exact_ids_merge(tmp_path):
    cleaned, rejected = run_clean(
        tmp_path,
        raw_examples(tmp_path),
        options(
            has_spam_list=False,
            has_id_map=False,
            spam_id_column=None,
            alias_column=None,
            canonical_column=None,
        ),
    )
    assert cleaned_rows(cleaned) == [
        ("m1", "mobile", "m-u1", "-"),
        ("m2", "mobile", "m-s2", "-"),
        ("m5", "mobile", "42", "-"),
        ("p1", "partner", "p-u2", "-"),
        ("p2", "partner", "c", "-"),
        ("p3", "partner", "u7", "-"),
        ("p4", "partner", "s3", "-"),
        ("p6", "partner", "u9", "-"),
        ("w1", "web", "u1", "-"),
        ("w2", "web", "u2", "-"),
        ("w3", "web", "s1", "-"),
        ("w4", "web", "a", "-"),
        ("w6", "web", "u5", "-"),
    ]
    assert rejected_rows(rejected) == [
        ("m3", "mobile", "duplicate_merged", "-"),
        ("m4", "mobile", "missing_id", "-"),
        ("p5", "partner", "duplicate_merged", "-"),
        ("w5", "web", "missing_id", "-"),
        ("w6", "web", "duplicate_merged", "-"),
        ("w8", "web", "missing_required:email", "-"),
    ]
    record = accounting(cleaned)
    assert (
        record["spam_ids"],
        record["spam_ids_not_in_data"],
        record["id_map_aliases"],
    ) == (None, None, None)
    assert record["label_conflicts"] == 0
    assert record["removed_per_reason"] == {
        "duplicate_merged": 3,
        "missing_id": 2,
        "missing_required:email": 1,
    }
    assert_balanced(cleaned, rejected, ROWS_IN)


def test_spam_list_without_id_map_matches_raw_ids_only(tmp_path):
    cleaned, rejected = run_clean(
        tmp_path,
        raw_examples(tmp_path),
        options(has_id_map=False, alias_column=None, canonical_column=None),
        spam_list=spam_examples(tmp_path),
    )
    # Only s1 is on the list under the id it has in the data.
    assert [r for r in rejected_rows(rejected) if r[2] == "spam"] == [("w3", "web", "spam", "-")]
    kept_ids = {r[2] for r in cleaned_rows(cleaned)}
    assert {"m-s2", "s3"} <= kept_ids and "s1" not in kept_ids
    record = accounting(cleaned)
    assert record["spam_ids"] == 4
    assert record["spam_ids_not_in_data"] == 3  # s2, alias-s3, ghost
    assert record["id_map_aliases"] is None
    assert record["kept"] == 12
    assert_balanced(cleaned, rejected, ROWS_IN)


def test_id_map_without_spam_list_keeps_spam_accounts(tmp_path):
    cleaned, rejected = run_clean(
        tmp_path,
        raw_examples(tmp_path),
        options(has_spam_list=False, spam_id_column=None),
        id_map=id_map_examples(tmp_path),
    )
    spam_people = [
        ("m2", "mobile", "s2", "-"),
        ("p4", "partner", "s3", "-"),
        ("w3", "web", "s1", "-"),
    ]
    assert cleaned_rows(cleaned) == sorted(FULL_CLEANED + spam_people)
    assert rejected_rows(rejected) == [r for r in FULL_REJECTED if r[2] != "spam"]
    record = accounting(cleaned)
    assert (record["spam_ids"], record["spam_ids_not_in_data"]) == (None, None)
    assert record["id_map_aliases"] == 6
    assert record["label_conflicts"] == 1
    assert_balanced(cleaned, rejected, ROWS_IN)


def test_without_id_key_every_valid_row_is_kept_and_only_quarantine_applies(tmp_path):
    cleaned, rejected = run_clean(
        tmp_path,
        raw_examples(tmp_path),
        CleanOptions(required_columns=("email",), source_priority=PRIORITY),
    )
    # No id: w5 is valid; m4 lacks email. No merging: both copies of w6 stay.
    expected_kept = sorted(
        (name, source, "-", "-")
        for source, names in ORDER.items()
        for name in names
        if name not in ("w8", "m4")
    )
    assert cleaned_rows(cleaned) == expected_kept
    assert len(expected_kept) == 17
    assert rejected_rows(rejected) == [
        ("m4", "mobile", "missing_required:email", "-"),
        ("w8", "web", "missing_required:email", "-"),
    ]
    record = accounting(cleaned)
    assert record["kept_per_source"] == {"web": 7, "mobile": 4, "partner": 6}
    assert record["removed_per_reason"] == {"missing_required:email": 2}
    assert record["label_conflicts"] == 0
    assert_balanced(cleaned, rejected, ROWS_IN)


def test_empty_spam_list_removes_nothing_as_spam_and_warns(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        cleaned, rejected = run_clean(
            tmp_path,
            raw_examples(tmp_path),
            options(),
            spam_list=spam_examples(tmp_path, ids=[]),
            id_map=id_map_examples(tmp_path),
        )
    assert "CleanExamples: the spam list is empty (0 ids); no row removed as spam" in caplog.text
    record = accounting(cleaned)
    assert (record["spam_ids"], record["spam_ids_not_in_data"]) == (0, 0)
    assert "spam" not in record["removed_per_reason"]
    spam_people = [
        ("m2", "mobile", "s2", "-"),
        ("p4", "partner", "s3", "-"),
        ("w3", "web", "s1", "-"),
    ]
    assert cleaned_rows(cleaned) == sorted(FULL_CLEANED + spam_people)
    assert rejected_rows(rejected) == [r for r in FULL_REJECTED if r[2] != "spam"]
    assert_balanced(cleaned, rejected, ROWS_IN)


def test_every_row_removed_fails_the_step_naming_the_reasons_with_their_counts(tmp_path):
    # Without it, StratifiedSplit failed next, saying only "the input examples are empty".
    order = {"web": ["w3", "w5"], "mobile": ["m4", "m2"], "partner": ["p4"]}
    cleaned, rejected = standard_artifacts.Examples(), standard_artifacts.Examples()
    with pytest.raises(CleaningInputError) as raised:
        run_clean(
            tmp_path,
            raw_examples(tmp_path, order),
            options(),
            spam_examples(tmp_path),
            id_map_examples(tmp_path),
            outputs=(cleaned, rejected),
        )
    assert str(raised.value) == (
        "CleanExamples removed all 5 rows: spam 3, missing_id 2; nothing is left to split or "
        "train on"
    )
    # What was removed, and why, is written and accounted for all the same.
    assert cleaned_rows(cleaned) == []
    assert rejected_rows(rejected) == [
        ("m2", "mobile", "spam", "-"),
        ("m4", "mobile", "missing_id", "-"),
        ("p4", "partner", "spam", "-"),
        ("w3", "web", "spam", "-"),
        ("w5", "web", "missing_id", "-"),
    ]
    record = accounting(cleaned)
    assert record["kept"] == 0
    assert record["kept_per_source"] == {"web": 0, "mobile": 0, "partner": 0}
    assert record["spam_ids_not_in_data"] == 1  # ghost
    assert_balanced(cleaned, rejected, {"web": 2, "mobile": 2, "partner": 1})


def test_the_all_removed_message_lists_the_biggest_reason_first():
    assert executor_module.all_removed_message(
        1300, {"spam": 1250, "missing_required:age": 38, "duplicate_merged": 12}
    ) == (
        "CleanExamples removed all 1,300 rows: spam 1,250, missing_required:age 38, "
        "duplicate_merged 12; nothing is left to split or train on"
    )


def test_repeated_list_entries_count_once_and_an_empty_source_reports_zeros(tmp_path):
    order = {"web": ORDER["web"], "mobile": ORDER["mobile"], "partner": []}
    # s1 and ghost twice, s2 under both its ids, one id-map row repeated.
    spam = ["s1", "s1", "s2", "m-s2", "alias-s3", "ghost", "ghost"]
    cleaned, rejected = run_clean(
        tmp_path,
        raw_examples(tmp_path, order),
        options(),
        spam_examples(tmp_path, ids=spam),
        id_map_examples(tmp_path, ID_MAP + [("m-u1", "u1")]),
    )
    assert cleaned_rows(cleaned) == [
        ("m1", "mobile", "u1", "-"),
        ("m3", "mobile", "u7", "-"),  # partner's newer u7 is absent
        ("m5", "mobile", "42", "-"),
        ("w2", "web", "u2", "-"),
        ("w4", "web", "c", "-"),
        ("w6", "web", "u5", "-"),
    ]
    assert [r[:3] for r in rejected_rows(rejected) if r[2] == "spam"] == [
        ("m2", "mobile", "spam"),
        ("w3", "web", "spam"),
    ]
    record = accounting(cleaned)
    assert record["spam_ids"] == 4  # s1, s2, s3, ghost
    assert record["spam_ids_not_in_data"] == 2  # s3 (partner is empty), ghost
    assert record["id_map_aliases"] == 6
    assert record["rows_in_per_source"] == {"web": 8, "mobile": 5, "partner": 0}
    assert record["kept_per_source"] == {"web": 3, "mobile": 3, "partner": 0}
    assert record["outcomes_per_source"]["partner"] == {}
    assert record["removed_per_reason"] == {
        "duplicate_merged": 2,
        "missing_id": 2,
        "missing_required:email": 1,
        "spam": 2,
    }
    assert_balanced(cleaned, rejected, {"web": 8, "mobile": 5, "partner": 0})


# --- bad input: errors name the ids, the column and the dataset -----------------------------


def test_id_map_cycle_fails_naming_the_loop(tmp_path):
    pairs = [("x", "y"), ("y", "x"), ("t", "x"), ("m-u1", "u1")]
    with pytest.raises(CleaningInputError) as raised:
        run_clean(
            tmp_path,
            raw_examples(tmp_path),
            options(),
            spam_examples(tmp_path),
            id_map_examples(tmp_path, pairs),
        )
    assert str(raised.value) == "CleanExamples: id map has a cycle: x -> y -> x"
    assert isinstance(raised.value, ValueError)


def test_alias_with_two_canonical_ids_fails_naming_them(tmp_path):
    pairs = ID_MAP + [("m-u1", "u9"), ("m-u1", "u1")]
    with pytest.raises(CleaningInputError) as raised:
        run_clean(
            tmp_path,
            raw_examples(tmp_path),
            options(),
            spam_examples(tmp_path),
            id_map_examples(tmp_path, pairs),
        )
    assert str(raised.value) == (
        "CleanExamples: id map maps alias 'm-u1' to 2 canonical ids: 'u1', 'u9'"
    )


def test_many_id_map_problems_show_five_and_count_the_rest(tmp_path):
    pairs = [(f"a{i}", f"c{i}") for i in range(7)] + [(f"a{i}", f"d{i}") for i in range(7)]
    with pytest.raises(CleaningInputError) as raised:
        run_clean(
            tmp_path,
            raw_examples(tmp_path),
            options(),
            spam_examples(tmp_path),
            id_map_examples(tmp_path, pairs),
        )
    shown = "; ".join(
        f"id map maps alias 'a{i}' to 2 canonical ids: 'c{i}', 'd{i}'" for i in range(5)
    )
    assert str(raised.value) == f"CleanExamples: {shown} (and 2 more)"


def test_an_id_map_row_with_two_aliases_fails_naming_the_file_and_row(tmp_path):
    records = [
        make_record(alias="m-u1", canonical="u1"),
        make_record(alias=["a", "b"], canonical="u2"),
    ]
    id_map = write_examples(tmp_path, {"train": records}, "id_map")
    with pytest.raises(CleaningInputError) as raised:
        run_clean(tmp_path, raw_examples(tmp_path), options(), spam_examples(tmp_path), id_map)
    path = tmp_path / "id_map" / "Split-train" / "data_tfrecord-00000-of-00001.gz"
    assert str(raised.value) == (
        f"CleanExamples: id map row 2 of {path} has 2 values in 'alias'; expected one"
    )


def test_spam_list_without_its_id_column_fails_naming_it(tmp_path):
    with pytest.raises(CleaningInputError) as raised:
        run_clean(
            tmp_path,
            raw_examples(tmp_path),
            options(),
            spam_examples(tmp_path, column="account"),
            id_map_examples(tmp_path),
        )
    assert str(raised.value) == (
        "CleanExamples: spam_id_column 'spam_id' is not a column of the spam list (columns: account)"
    )


@pytest.mark.parametrize(
    "columns, missing, option",
    [
        (("from", "canonical"), "alias", "alias_column"),
        (("alias", "to"), "canonical", "canonical_column"),
    ],
)
def test_id_map_without_its_columns_fails_naming_them(tmp_path, columns, missing, option):
    with pytest.raises(CleaningInputError) as raised:
        run_clean(
            tmp_path,
            raw_examples(tmp_path),
            options(),
            spam_examples(tmp_path),
            id_map_examples(tmp_path, columns=columns),
        )
    assert str(raised.value) == (
        f"CleanExamples: {option} {missing!r} is not a column of the id map "
        f"(columns: {', '.join(sorted(columns))})"
    )


def test_id_key_missing_from_a_source_fails_naming_source_and_column(tmp_path):
    splits = {
        "web": [RECORDS["w1"]],
        "mobile": [make_record(uid="m1", email="e", ts=1)],
    }
    with pytest.raises(CleaningInputError) as raised:
        run_clean(
            tmp_path,
            write_examples(tmp_path, splits, "raw"),
            options(has_spam_list=False, has_id_map=False),
        )
    assert str(raised.value) == (
        "CleanExamples: id_key 'user_id' is not a column of the source 'mobile' "
        "(columns: email, ts, uid)"
    )


def test_required_column_missing_from_a_source_fails_naming_it(tmp_path):
    splits = {"web": [RECORDS["w1"]], "partner": [make_record(user_id="p", ts=1)]}
    with pytest.raises(CleaningInputError) as raised:
        run_clean(
            tmp_path,
            write_examples(tmp_path, splits, "raw"),
            options(has_spam_list=False, has_id_map=False),
        )
    assert str(raised.value) == (
        "CleanExamples: required column 'email' is not a column of the source 'partner' "
        "(columns: ts, user_id)"
    )


@pytest.mark.parametrize("reserved", ["source", "canonical_id", "reject_reason"])
def test_raw_data_with_an_added_column_fails(tmp_path, reserved):
    splits = {"web": [make_record(user_id="u", email="e", **{reserved: "x"})]}
    with pytest.raises(CleaningInputError) as raised:
        run_clean(
            tmp_path,
            write_examples(tmp_path, splits, "raw"),
            CleanOptions(id_key="user_id"),
        )
    assert str(raised.value) == (
        f"CleanExamples: the source 'web' already has a column {reserved!r}, which "
        "CleanExamples adds; rename it"
    )


METHODS = {"web": "in_house", "mobile": "crowd", "partner": "outsourced"}


def test_source_tags_reach_every_kept_and_rejected_row(tmp_path):
    tags = {source: {"labelling_method": method} for source, method in METHODS.items()}
    cleaned, rejected = run_clean(
        tmp_path,
        raw_examples(tmp_path),
        options(source_tags=tags),
        spam_examples(tmp_path),
        id_map_examples(tmp_path),
    )
    # Every path that writes rows (routed, exact copies shared out, ties
    # settled) adds the tag; the rows are otherwise those of the full run.
    added = ("labelling_method", "source", "canonical_id", "reject_reason")
    kept = [untag(e, *added) for e in read_split(cleaned, "cleaned")]
    removed = [untag(e, *added) for e in read_split(rejected, "rejected")]
    for name, method, source, *_ in kept + removed:
        assert method == METHODS[source], name
    assert len(kept) == len(FULL_CLEANED) and len(removed) == len(FULL_REJECTED)


def test_raw_data_with_a_source_tag_column_fails(tmp_path):
    splits = {"web": [make_record(user_id="u", email="e", labelling_method="crowd")]}
    with pytest.raises(CleaningInputError, match="already has a column 'labelling_method'"):
        run_clean(
            tmp_path,
            write_examples(tmp_path, splits, "raw"),
            CleanOptions(id_key="user_id", source_tags={"web": {"labelling_method": "crowd"}}),
        )


def test_empty_input_fails(tmp_path):
    examples = write_examples(tmp_path, {"web": [], "mobile": []}, "raw")
    with pytest.raises(CleaningInputError) as raised:
        run_clean(tmp_path, examples, CleanOptions(id_key="user_id"))
    assert str(raised.value) == f"CleanExamples: the input examples are empty ({examples.uri})"


# --- the component ----------------------------------------------------------------------------


def examples_channel() -> tfx.dsl.Channel:
    return tfx.dsl.Channel(type=standard_artifacts.Examples)


def test_component_records_options_and_wires_inputs_and_outputs():
    spam, id_map = examples_channel(), examples_channel()
    component = CleanExamples(
        examples=examples_channel(),
        id_key="user_id",
        spam_list=spam,
        spam_id_column="spam_id",
        id_map=id_map,
        alias_column="alias",
        canonical_column="canonical",
        keep_latest_by="ts",
        source_priority=["web", "mobile", "partner"],
        required_columns=["email"],
        label="label",
    )
    recorded = CleanOptions.from_exec_properties(
        component.exec_properties, has_spam_list=True, has_id_map=True
    )
    assert recorded == options()
    assert component.exec_properties[spec.KEEP_LATEST_BY_KEY] == "ts"
    assert json.loads(component.exec_properties[spec.SOURCE_PRIORITY_KEY]) == [
        "web",
        "mobile",
        "partner",
    ]
    assert component.inputs[spec.SPAM_LIST_KEY] is spam
    assert component.inputs[spec.ID_MAP_KEY] is id_map
    assert sorted(component.outputs) == ["cleaned_examples", "rejected_examples"]
    for key in (spec.CLEANED_KEY, spec.REJECTED_KEY):
        assert component.outputs[key].type_name == standard_artifacts.Examples.TYPE_NAME


def test_component_without_optional_inputs_records_their_absence():
    component = CleanExamples(examples=examples_channel(), id_key="user_id")
    assert component.exec_properties[spec.SPAM_ID_COLUMN_KEY] is None
    assert spec.SPAM_LIST_KEY not in component.inputs
    assert spec.ID_MAP_KEY not in component.inputs


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(spam_list="ch", spam_id_column="s"),
            "CleanExamples: a spam list or id map needs id_key",
        ),
        (
            dict(id_map="ch", alias_column="a", canonical_column="c"),
            "CleanExamples: a spam list or id map needs id_key",
        ),
        (
            dict(id_key="u", spam_list="ch"),
            "CleanExamples: spam_id_column (the spam list's id column) is required",
        ),
        (
            dict(id_key="u", id_map="ch", alias_column="a"),
            "CleanExamples: alias_column and canonical_column (the id map's columns) are required",
        ),
        (
            dict(id_key="source"),
            (
                "CleanExamples: column 'source' clashes with a feature CleanExamples adds "
                "(source, canonical_id, reject_reason)"
            ),
        ),
        (
            dict(id_key="u", required_columns=["email", "reject_reason"]),
            (
                "CleanExamples: column 'reject_reason' clashes with a feature CleanExamples adds "
                "(source, canonical_id, reject_reason)"
            ),
        ),
        (
            dict(id_key="u", source_priority=["web", "web"]),
            "CleanExamples: source_priority repeats a source: ('web', 'web')",
        ),
    ],
)
def test_component_construction_rejects_inconsistent_options(kwargs, message):
    kwargs = {k: examples_channel() if v == "ch" else v for k, v in kwargs.items()}
    with pytest.raises(ValueError) as raised:
        CleanExamples(examples=examples_channel(), **kwargs)
    assert str(raised.value) == message


def test_multiple_ids_and_late_reserved_columns_are_quarantined_not_lost(tmp_path):
    # The input check samples the first rows; these problems hide after them.
    ordinary = [make_record(user_id=f"u{i}", email=f"{i}@x", ts=i, label=i % 2) for i in range(120)]
    two_ids = make_record(user_id=["a1", "a2"], email="a@x", ts=1, label=0)
    late_source = make_record(user_id="u999", email="z@x", ts=1, label=0, source="crm")
    examples = write_examples(tmp_path, {"web": ordinary + [two_ids, late_source]}, "raw")

    cleaned, rejected = run_clean(
        tmp_path, examples, options(has_spam_list=False, has_id_map=False)
    )

    reasons = {
        tuple(feature_values(e, "user_id")): feature_values(e, "reject_reason")[0]
        for e in read_split(rejected, "rejected")
    }
    assert reasons == {("a1", "a2"): "multiple_ids", ("u999",): "reserved_column:source"}
    record = accounting(cleaned)
    assert record["kept"] == 120
    assert record["removed_per_reason"] == {"multiple_ids": 1, "reserved_column:source": 1}
    assert record["rows_in"] == 122


def test_the_kept_row_does_not_depend_on_how_its_bytes_are_ordered(tmp_path):
    # Each person has two rows that tie on time and source; only content breaks the tie.
    rows = [
        make_record(user_id=f"u{p}", email=f"{p}-{n}@x", ts=5, label=0, note=f"{p}-{n}")
        for p in range(20)
        for n in ("alpha", "beta")
    ]

    kept_notes = []
    for variant, transform in (("plain", lambda r: r), ("reordered", reversed_feature_order)):
        root = tmp_path / variant
        raw = write_examples(root, {"web": [transform(r) for r in rows]}, "raw")
        no_lists = options(
            has_spam_list=False,
            has_id_map=False,
            spam_id_column=None,
            alias_column=None,
            canonical_column=None,
        )
        cleaned, _ = run_clean(root, raw, no_lists)
        kept = read_split(cleaned, "cleaned")
        assert len(kept) == 20
        kept_notes.append(sorted(feature_values(e, "note")[0] for e in kept))
    assert kept_notes[0] == kept_notes[1]


# --- text labels --------------------------------------------------------------------------------

PENGUINS = {
    "web": [
        # One person, two labels: one conflict (label texts compared).
        dict(user_id="p1", email="1@x", ts=1, species="Adelie"),
        dict(user_id="p2", email="2@x", ts=1, species="Gentoo"),
        dict(user_id="p3", email="3@x", ts=1, species="Chinstrap"),
        # Not a class of the label: quarantined when the classes are given.
        dict(user_id="p4", email="4@x", ts=1, species="Emperor"),
        # No label: the split reports unlabeled rows, cleaning keeps them.
        dict(user_id="p5", email="5@x", ts=1),
    ],
    "partner": [
        dict(user_id="p1", email="1@p", ts=2, species="Gentoo"),
        # Stripped, " Adelie" is the class Adelie.
        dict(user_id="p6", email="6@p", ts=1, species=" Adelie"),
    ],
}
CLASSES = ("Adelie", "Chinstrap", "Gentoo")


def _penguin_run(root: Path, **overrides) -> tuple:
    examples = write_examples(
        root, {s: [make_record(**row) for row in rows] for s, rows in PENGUINS.items()}, "raw"
    )
    penguins = options(
        label="species",
        has_spam_list=False,
        has_id_map=False,
        spam_id_column=None,
        alias_column=None,
        canonical_column=None,
        **overrides,
    )
    return run_clean(root, examples, penguins)


def _ids_and_reasons(rejected) -> list[tuple[str, str]]:
    return sorted(
        (feature_values(e, "user_id")[0], feature_values(e, "reject_reason")[0])
        for e in read_split(rejected, "rejected")
    )


def test_two_text_labels_of_one_person_are_one_conflict(tmp_path):
    cleaned, rejected = _penguin_run(tmp_path)

    # Without the classes every label is kept; p1's Adelie (web) and Gentoo (partner) conflict.
    assert _ids_and_reasons(rejected) == [("p1", "duplicate_merged")]
    record = accounting(cleaned)
    assert record["label_conflicts"] == 1
    assert record["kept"] == 6
    assert cleaned.get_int_custom_property("label_conflicts") == 1


def test_a_label_that_is_not_a_class_is_quarantined_with_its_reason(tmp_path):
    cleaned, rejected = _penguin_run(tmp_path, label_classes=CLASSES)

    assert _ids_and_reasons(rejected) == [("p1", "duplicate_merged"), ("p4", "label_not_a_class")]
    kept = sorted(
        (feature_values(e, "user_id")[0], feature_values(e, "species"))
        for e in read_split(cleaned, "cleaned")
    )
    assert kept == [
        ("p1", ["Gentoo"]),
        ("p2", ["Gentoo"]),
        ("p3", ["Chinstrap"]),
        ("p5", []),
        ("p6", [" Adelie"]),
    ]
    record = accounting(cleaned)
    assert record["removed_per_reason"] == {"duplicate_merged": 1, "label_not_a_class": 1}
    assert record["outcomes_per_source"] == {
        "web": {"kept": 3, "duplicate_merged": 1, "label_not_a_class": 1},
        "partner": {"kept": 2},
    }
    assert (record["rows_in"], record["kept"]) == (7, 5)
    assert record["label_conflicts"] == 1


def test_the_component_records_the_label_classes():
    component = CleanExamples(examples=examples_channel(), label="species", label_classes=CLASSES)
    assert json.loads(component.exec_properties[spec.LABEL_CLASSES_KEY]) == list(CLASSES)
    recorded = CleanOptions.from_exec_properties(
        component.exec_properties, has_spam_list=False, has_id_map=False
    )
    assert recorded.label_classes == CLASSES
    assert (
        CleanExamples(examples=examples_channel()).exec_properties[spec.LABEL_CLASSES_KEY] is None
    )
