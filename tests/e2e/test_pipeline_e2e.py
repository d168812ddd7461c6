"""The whole pipeline on a slice of the demo data, run twice (the second from cache)."""

from __future__ import annotations

import csv
import glob
import json
import os
import re
import shlex
import subprocess

import pytest
import tensorflow as tf
import yaml
from ml_metadata.proto import metadata_store_pb2

from tests.e2e import mlmd_queries
from tests.e2e.helpers import (
    newest_pushed,
    AGAIN_ON_SECOND_RUN,
    COMPONENTS,
    DEMO_DATA,
    RESOLVERS,
    ROOT,
    SLICE_ROWS,
    cascade_script,
)

PIPELINE = "cascade-demo"
# (consumer, input key) <- (producer, output key): the events that must link them.
LINKS = [
    (("CleanExamples", "examples"), ("CsvExampleGen", "examples")),
    (("CleanExamples", "spam_list"), ("SpamListGen", "examples")),
    (("CleanExamples", "id_map"), ("IdMapGen", "examples")),
    (("StratifiedSplit", "examples"), ("CleanExamples", "cleaned_examples")),
    (("StatisticsGen", "examples"), ("StratifiedSplit", "split_examples")),
    (("SchemaGen", "statistics"), ("StatisticsGen", "statistics")),
    (("ExampleValidator", "schema"), ("SchemaGen", "schema")),
    (("Transform", "examples"), ("StratifiedSplit", "split_examples")),
    (("Transform", "schema"), ("SchemaGen", "schema")),
    (("Trainer", "examples"), ("Transform", "transformed_examples")),
    (("Trainer", "transform_graph"), ("Transform", "transform_graph")),
    (("Evaluator", "model"), ("Trainer", "model")),
    (("Evaluator", "examples"), ("StratifiedSplit", "split_examples")),
    (("Pusher", "model"), ("Trainer", "model")),
    (("Pusher", "model_blessing"), ("Evaluator", "blessing")),
]

pytestmark = pytest.mark.e2e


def test_every_component_completed_in_the_first_run(store):
    first_run = mlmd_queries.runs(store)[0]
    executions = mlmd_queries.executions_by_component(store, first_run, PIPELINE)
    assert sorted(executions) == sorted(COMPONENTS)
    for component, execution in executions.items():
        assert execution.last_known_state == metadata_store_pb2.Execution.COMPLETE, component


def test_every_output_artifact_exists_on_disk(store):
    first_run = mlmd_queries.runs(store)[0]
    for component, execution in mlmd_queries.executions_by_component(
        store, first_run, PIPELINE
    ).items():
        ids = [i for ids in mlmd_queries.outputs(store, execution.id).values() for i in ids]
        # A resolver's outputs are what it found: before any model, nothing.
        assert ids or component in RESOLVERS, f"{component} recorded no output artifact"
        for artifact in store.get_artifacts_by_id(ids):
            assert os.path.exists(artifact.uri), f"{component}: {artifact.uri}"
            assert artifact.state == metadata_store_pb2.Artifact.LIVE


def test_events_link_each_component_to_its_producers(store):
    first_run = mlmd_queries.runs(store)[0]
    executions = mlmd_queries.executions_by_component(store, first_run, PIPELINE)
    for (consumer, in_key), (producer, out_key) in LINKS:
        consumed = mlmd_queries.inputs(store, executions[consumer].id)[in_key]
        produced = mlmd_queries.outputs(store, executions[producer].id)[out_key]
        assert consumed == produced, f"{consumer}.{in_key} is not {producer}.{out_key}"


def _output_artifact(store, component, key):
    first_run = mlmd_queries.runs(store)[0]
    execution = mlmd_queries.executions_by_component(store, first_run, PIPELINE)[component]
    [artifact_id] = mlmd_queries.outputs(store, execution.id)[key]
    [artifact] = store.get_artifacts_by_id([artifact_id])
    return artifact


def _read_examples(uri: str, split: str) -> list[tf.train.Example]:
    files = sorted(glob.glob(os.path.join(uri, f"Split-{split}", "*")))
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP")
    return [tf.train.Example.FromString(record.numpy()) for record in dataset]


def _text_values(example: tf.train.Example, name: str) -> list[str]:
    return [v.decode() for v in example.features.feature[name].bytes_list.value]


def _csv_column(path, column) -> list[str]:
    with open(path, newline="") as f:
        return [row[column] for row in csv.DictReader(f)]


def test_split_is_exact_per_label_and_source_and_recorded_in_mlmd(store):
    artifact = _output_artifact(store, "StratifiedSplit", "split_examples")
    props = artifact.custom_properties
    counts = json.loads(props["split_counts"].string_value)
    strata = json.loads(props["stratum_counts"].string_value)
    cleaned = _output_artifact(store, "CleanExamples", "cleaned_examples")

    assert list(counts) == ["train", "dev", "test"]
    assert sum(strata.values()) == cleaned.custom_properties["kept"].int_value
    assert {s.split("|")[1] for s in strata} == {"source=web", "source=mobile", "source=partner"}
    for stratum, n in strata.items():
        # Largest remainder of n * (0.6, 0.2, 0.2): each size within 1 of its quota.
        sizes = [counts[split].get(stratum, 0) for split in ("train", "dev", "test")]
        assert sum(sizes) == n
        assert all(abs(size - ratio * n) < 1 for size, ratio in zip(sizes, (0.6, 0.2, 0.2)))
    assert props["seed"].string_value == "42"
    assert json.loads(props["ratios"].string_value) == {"train": 0.6, "dev": 0.2, "test": 0.2}
    assert props["payload_format"].string_value == "FORMAT_TF_EXAMPLE"


def test_cleaning_accounts_for_every_row_of_every_source(store):
    cleaned = _output_artifact(store, "CleanExamples", "cleaned_examples")
    rejected = _output_artifact(store, "CleanExamples", "rejected_examples")
    accounting = json.loads(cleaned.custom_properties["accounting"].string_value)
    rejected_rows = _read_examples(rejected.uri, "rejected")

    assert accounting["rows_in_per_source"] == SLICE_ROWS
    assert accounting["rows_in"] == accounting["kept"] + len(rejected_rows)
    for source, rows in SLICE_ROWS.items():
        outcomes = accounting["outcomes_per_source"][source]
        assert sum(outcomes.values()) == rows
        assert outcomes["kept"] == len(_read_examples_from_source(store, source))
    reasons = {_text_values(e, "reject_reason")[0] for e in rejected_rows}
    assert reasons == {"spam", "duplicate_merged"}
    assert accounting["removed_per_reason"]["spam"] == sum(
        _text_values(e, "reject_reason") == ["spam"] for e in rejected_rows
    )


def _read_examples_from_source(store, source):
    cleaned = _output_artifact(store, "CleanExamples", "cleaned_examples")
    return [
        e for e in _read_examples(cleaned.uri, "cleaned") if _text_values(e, "source") == [source]
    ]


def test_no_spam_account_reaches_any_split_and_each_person_appears_once(store, demo_slice):
    data = demo_slice.parent / "data"
    aliases = dict(
        zip(
            _csv_column(data / "id_map" / "id_map.csv", "alias_id"),
            _csv_column(data / "id_map" / "id_map.csv", "canonical_id"),
        )
    )
    spam = {
        aliases.get(i, i)
        for i in _csv_column(data / "spam_accounts" / "spam_accounts.csv", "user_id")
    }
    split = _output_artifact(store, "StratifiedSplit", "split_examples")
    people = [
        _text_values(example, "canonical_id")[0]
        for name in ("train", "dev", "test")
        for example in _read_examples(split.uri, name)
    ]
    raw_ids: set[str] = set()
    for source in SLICE_ROWS:
        raw_ids |= set(_csv_column(data / source / "users.csv", "user_id"))
    in_slice = {aliases.get(i, i) for i in raw_ids}
    planted_spam_in_slice = spam & in_slice

    assert planted_spam_in_slice, "the slice should contain planted spam accounts"
    assert not planted_spam_in_slice & set(people)
    assert len(people) == len(set(people)), "a person appears in more than one row"
    two_source_people = {c for a, c in aliases.items() if a in raw_ids and c in raw_ids} - spam
    assert two_source_people, "the slice should contain people present in two sources"
    assert two_source_people <= set(people)


def test_spam_list_artifact_is_an_input_of_the_cleaning_execution(store):
    first_run = mlmd_queries.runs(store)[0]
    executions = mlmd_queries.executions_by_component(store, first_run, PIPELINE)
    [spam_artifact] = mlmd_queries.outputs(store, executions["SpamListGen"].id)["examples"]
    input_events = [
        e
        for e in store.get_events_by_execution_ids([executions["CleanExamples"].id])
        if e.type == metadata_store_pb2.Event.INPUT
    ]
    assert spam_artifact in {e.artifact_id for e in input_events}
    [event] = [e for e in input_events if e.artifact_id == spam_artifact]
    assert event.path.steps[0].key == "spam_list"


def test_second_run_reuses_every_step_from_cache_up_to_the_gate(store):
    first_run, second_run = mlmd_queries.runs(store)
    first = mlmd_queries.executions_by_component(store, first_run, PIPELINE)
    second = mlmd_queries.executions_by_component(store, second_run, PIPELINE)
    assert sorted(second) == sorted(COMPONENTS)
    for component, execution in second.items():
        if component in AGAIN_ON_SECOND_RUN:
            assert execution.last_known_state == metadata_store_pb2.Execution.COMPLETE, component
            continue
        assert execution.last_known_state == metadata_store_pb2.Execution.CACHED, component
        assert mlmd_queries.outputs(store, execution.id) == mlmd_queries.outputs(
            store, first[component].id
        ), f"{component} did not reuse the first run's outputs"


def test_summary_names_components_outputs_and_pushed_model(two_runs, demo_slice, tmp_path):
    output_root, first, second = two_runs
    for component in COMPONENTS:
        assert f"  {component} " in first.stdout
    assert first.stdout.count("COMPLETE") == len(COMPONENTS)
    assert second.stdout.count("CACHED") == len(COMPONENTS) - len(AGAIN_ON_SECOND_RUN)
    assert f"metadata store: {output_root / 'metadata.sqlite'}" in first.stdout
    assert f"pushed model:   {output_root / 'serving_model'}" in first.stdout
    assert "Next:" in first.stdout
    _the_suggested_commands_work(first.stdout, demo_slice, output_root, tmp_path)
    # TF and Beam logs go to the log file, not the console.
    assert "INFO:" not in first.stdout + first.stderr
    assert os.path.getsize(output_root / "run.log") > 0


def _progress_lines(stdout: str) -> list[tuple[int, str, str]]:
    """(number, component, what) per progress line; what is "..." at the start."""
    found = []
    for line in stdout.splitlines():
        started = re.fullmatch(r"  \[\s*(\d+)/(\d+)\] (\S+) \.\.\.", line)
        finished = re.fullmatch(
            r"  \[\s*(\d+)/(\d+)\] (\S+) (ran|cached) in \d+\.\ds \(run \d+s\)", line
        )
        match = started or finished
        if match:
            assert int(match.group(2)) == len(COMPONENTS), line
            found.append(
                (int(match.group(1)), match.group(3), "..." if started else finished.group(4))
            )
    return found


def test_progress_shows_each_component_start_and_finish_in_order(two_runs):
    _, first, second = two_runs
    for run, cached in ((first, ()), (second, set(COMPONENTS) - set(AGAIN_ON_SECOND_RUN))):
        lines = _progress_lines(run.stdout)
        # LocalDagRunner runs one component at a time: each start is followed by its finish.
        starts, finishes = lines[0::2], lines[1::2]
        assert [n for n, _, _ in starts] == list(range(1, len(COMPONENTS) + 1))
        assert [(n, c) for n, c, _ in starts] == [(n, c) for n, c, _ in finishes]
        assert {what for _, _, what in starts} == {"..."}
        assert {c: what for _, c, what in finishes} == {
            c: "cached" if c in cached else "ran" for c in COMPONENTS
        }
        assert sorted(c for _, c, _ in starts) == sorted(COMPONENTS)
    # The order is the pipeline's: ingestion first, Pusher last.
    order = [c for _, c, _ in _progress_lines(first.stdout)[0::2]]
    assert order.index("CsvExampleGen") < order.index("CleanExamples") < order.index("Transform")
    assert order[-1] == "Pusher"


def _the_suggested_commands_work(stdout: str, demo_slice, output_root, scratch) -> None:
    """Runs every command the summary suggests with the installed `cascade` console
    script: each finds this run's store (and the predict and skew hints the demo's
    serving CSV beside the sources)."""
    commands = []
    for line in stdout.split("Next:", 1)[1].splitlines():
        if not line.strip():
            continue
        # "  question?  cascade COMMAND ...": the command after the two spaces.
        invocation, *command = shlex.split(line.strip().split("  ", 1)[1])
        assert invocation == "cascade" or os.path.samefile(
            os.path.join(ROOT, invocation), cascade_script()
        ), line
        commands.append(command)
    names = [c[0] if c[0] != "lineage" else f"lineage {c[1]}" for c in commands]
    assert names == [
        "inventory",
        "history",
        "lineage downstream",
        "lineage upstream",
        "predict",
        "skew",
    ]
    serving = demo_slice.parent / "data" / "serving" / "new_users.csv"
    expected = {
        "inventory": "Data inventory of cascade-demo",
        "history": "(2 runs plotted)",  # both runs of the fixture, the second cached
        "lineage downstream": "Trainer (execution",
        "lineage upstream": "Trainer (execution",
        "predict": "scored 2,000 rows of ",
        "skew": "read 2,000 rows of ",
    }
    for name, command in zip(names, commands):
        flags = [(flag, command[i + 1]) for i, flag in enumerate(command) if flag.startswith("--")]
        assert ("--config", str(demo_slice)) in flags, command
        assert ("--output-root", str(output_root)) in flags, command
        if name in ("predict", "skew"):
            assert ("--input", str(serving)) in flags, command
            # Into a scratch folder and not recorded: the shared store stays the runs'.
            command = [*command, "--no-record", "--output", str(scratch / name)]
        result = subprocess.run(
            [cascade_script(), *command],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        assert result.returncode == 0, shlex.join(command) + "\n" + result.stderr[-2000:]
        assert expected[name] in result.stdout, shlex.join(command) + "\n" + result.stdout


def _raw_example(row: dict[str, str], int_columns: set[str]) -> bytes:
    """A raw tf.Example as CsvExampleGen would write it (empty fields left out)."""
    feature = {}
    for name, value in row.items():
        if value == "":
            continue
        if name in int_columns:
            feature[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))
        else:
            feature[name] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[value.encode()]))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def test_pushed_model_scores_raw_demo_examples(two_runs, demo_slice):
    output_root, _, _ = two_runs
    pushed = newest_pushed(output_root)
    config = yaml.safe_load(demo_slice.read_text())
    int_columns = {"signup_ts", "age", "years_experience", "profile_views_30d", "applications_30d"}
    with open(DEMO_DATA / "partner" / "users.csv", newline="") as f:
        rows = [row for _, row in zip(range(50), csv.DictReader(f))]
    for row in rows:
        del row[config["label"]]
    model = tf.saved_model.load(pushed)
    serve = model.signatures["serving_default"]
    scores = serve(examples=tf.constant([_raw_example(r, int_columns) for r in rows]))["outputs"]
    assert scores.shape == (50, 1)
    assert float(tf.reduce_min(scores)) >= 0.0 and float(tf.reduce_max(scores)) <= 1.0
    # A trained model separates users: scores are not all the same.
    assert float(tf.math.reduce_std(scores)) > 0.01


def test_the_second_run_pushes_the_same_model_again(two_runs):
    output_root, _, _ = two_runs
    versions = sorted((output_root / "serving_model").iterdir(), key=lambda p: int(p.name))
    assert len(versions) == 2
    first, second = ((v / "saved_model.pb").read_bytes() for v in versions)
    assert first == second


def test_a_0_1_label_keeps_the_binary_metrics_and_score_column(store, two_runs):
    output_root, _, _ = two_runs
    first_run = mlmd_queries.runs(store)[0]
    evaluation = json.loads(first_run.custom_properties["evaluation"].string_value)
    # The classes of a 0/1 label are found as 0 and 1, with 1 the positive class:
    # the same metrics as a binary model always had, overall and per slice.
    assert set(evaluation) >= {"overall", "source=web", "labelling_method=crowd"}
    for metrics in evaluation.values():
        assert sorted(metrics) == sorted(
            ["example_count", "auc", "binary_accuracy", "precision", "recall"]
        )
    pushed_versions = glob.glob(str(output_root / "serving_model" / "*"))
    assert pushed_versions
    for pushed in pushed_versions:
        with open(os.path.join(pushed, "assets.extra", "label.json")) as f:
            label = json.load(f)
        assert label == {"name": "looking_for_job", "classes": ["0", "1"], "positive": None}
