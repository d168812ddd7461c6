"""Serving with the pipeline's own outputs: batch scoring in MLMD, and no skew.

Uses the session's pipeline runs on the demo slice (see conftest): the pushed
model, the Transform component's graph and materialized features, and the store.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Sequence

import pytest
import tensorflow as tf
import tensorflow_transform as tft
import yaml
from ml_metadata.proto import metadata_store_pb2
from openlineage.client.serde import Serde

from core.hashing import combined_sha256
from metadata import names
from metadata.openlineage_events import run_id
from tests.e2e import mlmd_queries
from tests.e2e.helpers import DEMO_DATA, run_cascade, start_cascade, newest_pushed
from tests.metadata.openlineage_reader import read_event
from tests.transformed_rows import assert_same_rows, read_examples
from models import raw_features

pytestmark = pytest.mark.e2e

PIPELINE = "cascade-demo"
SCORED_ROWS = 60


def _cascade(args: Sequence[str]) -> subprocess.CompletedProcess:
    """Runs `cascade args...` in a fresh process from the project root, as a user would."""
    return run_cascade(args, timeout=600)


def _serving_csv(path: Path, label: str, rows: int = SCORED_ROWS, edit=None) -> Path:
    """Writes the first demo partner rows without the label (optionally edited)."""
    with open(DEMO_DATA / "partner" / "users.csv", newline="") as f:
        reader = csv.DictReader(f)
        records = [row for _, row in zip(range(rows), reader)]
    for row in records:
        del row[label]
        if edit:
            edit(row)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(records[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    return path


def _single_execution(store, type_name: str) -> metadata_store_pb2.Execution:
    [execution] = store.get_executions_by_type(type_name)
    return execution


def test_predict_scores_a_new_csv_and_lineage_reaches_the_predictions(
    two_runs, demo_slice, store, tmp_path
):
    output_root, _, _ = two_runs
    label = yaml.safe_load(demo_slice.read_text())["label"]
    source = _serving_csv(tmp_path / "new_users.csv", label)
    common = ["--config", str(demo_slice), "--output-root", str(output_root)]
    scored = _cascade(["predict", *common, "--input", str(source), "--keep", "user_id"])
    assert scored.returncode == 0, scored.stderr[-3000:]
    assert f"scored {SCORED_ROWS} rows of {source}" in scored.stdout
    [predictions] = [
        Path(line.split("predictions: ", 1)[1])
        for line in scored.stdout.splitlines()
        if "predictions: " in line
    ]
    assert predictions.parent == output_root / "predictions"
    assert predictions.name.startswith("new_users-") and predictions.suffix == ".csv"
    with open(predictions, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == SCORED_ROWS
    assert [r["line"] for r in rows] == [str(i) for i in range(2, SCORED_ROWS + 2)]
    assert all(0.0 <= float(r["score"]) <= 1.0 for r in rows)

    execution = _single_execution(store, "cascade.BatchPredict")
    inputs = mlmd_queries.inputs(store, execution.id)
    [model] = store.get_artifacts_by_id(inputs["model"])
    [data] = store.get_artifacts_by_id(inputs["serving_data"])
    [output] = store.get_artifacts_by_id(mlmd_queries.outputs(store, execution.id)["predictions"])
    pushed = newest_pushed(output_root)
    assert model.type == "PushedModel"
    assert model.custom_properties["pushed_destination"].string_value == pushed
    assert (data.type, data.uri) == ("cascade.ServingData", str(source))
    assert data.custom_properties["rows"].int_value == SCORED_ROWS
    assert (output.type, output.uri) == ("cascade.Predictions", str(predictions))

    spam_list = demo_slice.parent / "data" / "spam_accounts"
    lineage = _cascade(
        [
            "lineage",
            "downstream",
            str(spam_list),
            "--type",
            "cascade.Predictions",
            "--format",
            "json",
            "--metadata",
            str(output_root / "metadata.sqlite"),
        ]
    )
    assert lineage.returncode == 0, lineage.stderr[-3000:]
    found = json.loads(lineage.stdout)["artifacts"]
    assert [a["uri"] for a in found if a["type"] == "cascade.Predictions"] == [str(predictions)]


def test_predict_names_the_missing_column_or_the_bad_cell(two_runs, demo_slice, tmp_path):
    output_root, _, _ = two_runs
    label = yaml.safe_load(demo_slice.read_text())["label"]
    pushed = newest_pushed(output_root)
    columns = raw_features.columns_from_json(
        Path(pushed, raw_features.RAW_FEATURES_FILE).read_text()
    )
    required = next(c.name for c in columns if c.required)
    integer = next(c.name for c in columns if c.dtype == raw_features.INT64)
    common = ["--config", str(demo_slice), "--output-root", str(output_root), "--no-record"]

    no_column = _serving_csv(tmp_path / "no_column.csv", label, edit=lambda r: r.pop(required))
    result = _cascade(["predict", *common, "--input", str(no_column)])
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {no_column}: missing required column '{required}' "
        "(the model needs a value in every row)"
    ]

    def spoil_third_row(row, seen=[]):  # noqa: B006 - counts calls across rows
        seen.append(row)
        if len(seen) == 3:
            row[integer] = "many"

    bad_cell = _serving_csv(tmp_path / "bad_cell.csv", label, edit=spoil_third_row)
    result = _cascade(["predict", *common, "--input", str(bad_cell)])
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {bad_cell}, line 4, column '{integer}': 'many' is not an integer"
    ]


def test_training_serving_and_batch_transform_features_are_identical(
    two_runs, demo_slice, tmp_path, catalog
):
    """Also: the transform is recorded in MLMD, lineage reaches its output, and its
    OpenLineage events go to the config's endpoint and into an export."""
    output_root, _, _ = two_runs
    [transform_dir] = glob.glob(
        str(output_root / "pipeline" / "Transform" / "transform_graph" / "*")
    )
    [materialized_dir] = glob.glob(
        str(output_root / "pipeline" / "Transform" / "transformed_examples" / "*")
    )
    [split_dir] = glob.glob(
        str(output_root / "pipeline" / "StratifiedSplit" / "split_examples" / "*")
    )
    raw_train = sorted(glob.glob(os.path.join(split_dir, "Split-train", "*")))
    spec = tft.TFTransformOutput(transform_dir).transformed_feature_spec()
    label = yaml.safe_load(demo_slice.read_text())["label"] + "_xf"
    del spec[label]
    exact = sorted(n for n, s in spec.items() if s.dtype != tf.float32)
    floats = sorted(n for n, s in spec.items() if s.dtype == tf.float32)

    training = read_examples(
        sorted(glob.glob(os.path.join(materialized_dir, "Split-train", "*"))), spec
    )

    pushed = newest_pushed(output_root)
    transform = tf.saved_model.load(pushed).signatures["transform_features"]
    records = list(tf.data.TFRecordDataset(raw_train, compression_type="GZIP").as_numpy_iterator())
    serving = {k: v.numpy() for k, v in transform(examples=tf.constant(records)).items()}

    # Recorded in a copy of the runs' store, with the config naming a catalog's endpoint.
    metadata = tmp_path / "metadata.sqlite"
    shutil.copy(output_root / "metadata.sqlite", metadata)
    config = tmp_path / "with_catalog.yaml"
    config.write_text(
        demo_slice.read_text().replace("data/", f"{demo_slice.parent}/data/")
        + f"\nlineage:\n  openlineage:\n    url: http://127.0.0.1:{catalog.server_port}\n"
    )
    batch_out = tmp_path / "batch"
    pattern = os.path.join(split_dir, "Split-train", "*")
    result = _cascade(
        ["transform", "--config", str(config), "--metadata", str(metadata),
         "--input", pattern, "--output", str(batch_out)]
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "OpenLineage" not in result.stderr
    assert f"transformed {len(records):,} rows" in result.stdout
    assert transform_dir in result.stdout  # the graph came from MLMD
    batch = read_examples(sorted(glob.glob(str(batch_out / "transformed_examples*"))), spec)

    assert len(records) > 500
    assert_same_rows(training, serving, exact, floats)
    assert_same_rows(training, batch, exact, floats)

    store = mlmd_queries.open_store(str(metadata))
    execution = _single_execution(store, "cascade.BatchTransform")
    assert f"recorded in ML Metadata: execution {execution.id}, " in result.stdout
    _assert_recorded(store, execution, pattern, raw_train, transform_dir, batch_out, len(records))
    _assert_in_lineage(demo_slice, metadata, batch_out)
    posted = [json.loads(body) for _, _, body in catalog.received]
    _assert_events(posted, pattern, transform_dir, batch_out, len(records))
    events_file = tmp_path / "events.jsonl"
    exporting = _cascade(
        ["lineage", "export", "--openlineage", "--output", str(events_file),
         "--config", str(demo_slice), "--metadata", str(metadata)]
    )  # fmt: skip
    assert exporting.returncode == 0, exporting.stderr[-3000:]
    exported = [read_event(line) for line in events_file.read_text().splitlines()]
    pipeline = names.pipeline_context(store, PIPELINE)
    ours = [e for e in exported if e.run.runId == run_id(pipeline, "execution", str(execution.id))]
    assert [json.loads(Serde.to_json(e)) for e in ours] == posted


def _assert_recorded(store, execution, pattern, raw_train, transform_dir, batch_out, rows):
    """The BatchTransform execution: data and graph in, transformed examples out, counts."""
    inputs = mlmd_queries.inputs(store, execution.id)
    [data] = store.get_artifacts_by_id(inputs["serving_data"])
    [graph] = store.get_artifacts_by_id(inputs["transform_graph"])
    [output] = store.get_artifacts_by_id(
        mlmd_queries.outputs(store, execution.id)["transformed_examples"]
    )
    digests = [(p, hashlib.sha256(Path(p).read_bytes()).hexdigest()) for p in raw_train]
    assert (data.type, data.uri) == ("cascade.ServingData", pattern)
    assert data.custom_properties["sha256"].string_value == combined_sha256(digests)
    assert data.custom_properties["rows"].int_value == rows
    assert data.custom_properties["files"].int_value == len(raw_train)
    assert (graph.type, graph.uri) == ("TransformGraph", transform_dir)
    assert (output.type, output.uri) == ("cascade.TransformedExamples", str(batch_out))
    assert output.custom_properties["rows"].int_value == rows
    assert execution.custom_properties["rows"].int_value == rows
    [context] = store.get_contexts_by_execution(execution.id)
    assert (context.type, context.name) == ("pipeline", PIPELINE)


def _assert_in_lineage(demo_slice, metadata, batch_out):
    """`lineage downstream` of the spam list reaches the transformed examples."""
    spam_list = demo_slice.parent / "data" / "spam_accounts"
    answer = _cascade(
        ["lineage", "downstream", str(spam_list), "--type", "cascade.TransformedExamples",
         "--format", "json", "--metadata", str(metadata)]
    )  # fmt: skip
    assert answer.returncode == 0, answer.stderr[-3000:]
    found = json.loads(answer.stdout)
    assert [a["uri"] for a in found["artifacts"] if a["type"] == "cascade.TransformedExamples"] == [
        str(batch_out)
    ]
    assert "BatchTransform" in [e["component"] for e in found["executions"]]


def _assert_events(posted, pattern, transform_dir, batch_out, rows):
    """What the endpoint received when the transform ended: its START and COMPLETE."""
    assert [(e["job"]["name"], e["eventType"]) for e in posted] == [
        (f"{PIPELINE}.BatchTransform", "START"),
        (f"{PIPELINE}.BatchTransform", "COMPLETE"),
    ]
    complete = posted[1]
    assert {(d["namespace"], d["name"]) for d in complete["inputs"]} == {
        ("file", pattern),
        ("file", transform_dir),
    }
    [written] = complete["outputs"]
    assert (written["namespace"], written["name"]) == ("file", str(batch_out))
    assert written["outputFacets"]["outputStatistics"]["rowCount"] == rows


def _wait_for(pattern: str, process: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not glob.glob(pattern):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"nothing matched {pattern}"
        time.sleep(0.05)


@pytest.mark.parametrize("profile", [None, "local", "local-parallel"])
def test_scoring_stopped_by_sigterm_leaves_no_output_and_no_record(
    two_runs, demo_slice, tmp_path, profile
):
    output_root, _, _ = two_runs
    store_copy = tmp_path / "metadata.sqlite"
    shutil.copy(output_root / "metadata.sqlite", store_copy)
    lines = (DEMO_DATA / "serving" / "new_users.csv").read_text().splitlines()
    source = tmp_path / "many.csv"
    # 600,000 rows: scoring takes far longer than the second before the signal.
    source.write_text("\n".join([lines[0], *lines[1:] * 300]) + "\n")
    executions = [e.id for e in mlmd_queries.open_store(str(store_copy)).get_executions()]
    output = tmp_path / "predictions.csv"
    command = ["predict", "--config", str(demo_slice)]
    command += ["--metadata", str(store_copy), "--input", str(source), "--output", str(output)]
    command += ["--profile", profile] if profile else []
    process = start_cascade(command)
    _wait_for(f"{output}.staging-*", process)
    time.sleep(1.0)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 128 + signal.SIGTERM, stderr[-2000:]
    assert stderr.strip().splitlines() == [
        "error: interrupted by SIGTERM; its staged output was removed and nothing was recorded"
    ]
    # Nothing but the input and the store (and the store's lock file, which
    # stays: removing it could race with a writer that has just opened it).
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "many.csv",
        "metadata.sqlite",
        "metadata.sqlite.lock",
    ]
    after = mlmd_queries.open_store(str(store_copy)).get_executions()
    assert [e.id for e in after] == executions, "the interrupted scoring recorded an execution"


def test_batch_transform_stopped_by_sigterm_leaves_no_output_and_no_record(
    two_runs, demo_slice, tmp_path
):
    output_root, _, _ = two_runs
    store_copy = tmp_path / "metadata.sqlite"
    shutil.copy(output_root / "metadata.sqlite", store_copy)
    lines = (DEMO_DATA / "serving" / "new_users.csv").read_text().splitlines()
    source = tmp_path / "many.csv"
    source.write_text("\n".join([lines[0], *lines[1:] * 300]) + "\n")  # 600,000 rows
    output = tmp_path / "transformed"
    command = ["transform", "--config", str(demo_slice)]
    command += ["--metadata", str(store_copy)]
    command += ["--input", str(source), "--output", str(output)]
    process = start_cascade(command)
    _wait_for(f"{output}.staging-*/*", process)  # the job has started writing
    time.sleep(1.0)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 128 + signal.SIGTERM, stderr[-2000:]
    assert stderr.strip().splitlines()[-1].startswith("error: interrupted by SIGTERM")
    # The job wrote only into its staging folder, which went with it.
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["many.csv", "metadata.sqlite", "metadata.sqlite.lock"], (
        "partial output was left"
    )
    store = mlmd_queries.open_store(str(store_copy))
    assert store.get_executions_by_type("cascade.BatchTransform") == []
