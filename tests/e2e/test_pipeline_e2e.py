"""The whole pipeline on a slice of the demo data, run twice (the second from cache)."""

from __future__ import annotations

import csv
import glob
import json
import os

import pytest
import tensorflow as tf
import yaml
from ml_metadata.proto import metadata_store_pb2

from tests.e2e import mlmd_queries
from tests.e2e.helpers import DEMO_DATA, run_cascade

PIPELINE = "cascade-demo"
COMPONENTS = [
    "CsvExampleGen",
    "StratifiedSplit",
    "StatisticsGen",
    "SchemaGen",
    "ExampleValidator",
    "Transform",
    "Trainer",
    "Evaluator",
    "Pusher",
]
# (consumer, input key) <- (producer, output key): the events that must link them.
LINKS = [
    (("StratifiedSplit", "examples"), ("CsvExampleGen", "examples")),
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


@pytest.fixture(scope="module")
def two_runs(demo_slice, tmp_path_factory):
    """Runs the pipeline twice into one output root; returns (root, first, second)."""
    output_root = tmp_path_factory.mktemp("e2e_out")
    first = run_cascade(["--config", str(demo_slice), "--output-root", str(output_root)])
    assert first.returncode == 0, first.stderr[-3000:] + first.stdout[-3000:]
    second = run_cascade(["--config", str(demo_slice), "--output-root", str(output_root)])
    assert second.returncode == 0, second.stderr[-3000:] + second.stdout[-3000:]
    return output_root, first, second


@pytest.fixture(scope="module")
def store(two_runs):
    output_root, _, _ = two_runs
    return mlmd_queries.open_store(str(output_root / "metadata.sqlite"))


def test_every_component_completed_in_the_first_run(store):
    first_run = mlmd_queries.runs(store)[0]
    executions = mlmd_queries.executions_by_component(store, first_run, PIPELINE)
    assert sorted(executions) == sorted(COMPONENTS)
    for component, execution in executions.items():
        assert execution.last_known_state == metadata_store_pb2.Execution.COMPLETE, component


def test_every_output_artifact_exists_on_disk(store):
    first_run = mlmd_queries.runs(store)[0]
    for component, execution in mlmd_queries.executions_by_component(store, first_run, PIPELINE).items():
        ids = [i for ids in mlmd_queries.outputs(store, execution.id).values() for i in ids]
        assert ids, f"{component} recorded no output artifact"
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


def _demo_slice_strata(config_path) -> dict[str, int]:
    """Counts (label, source) strata in the slice's CSV files."""
    strata: dict[str, int] = {}
    for source in ("web", "mobile", "partner"):
        with open(config_path.parent / "data" / source / "users.csv", newline="") as f:
            for row in csv.DictReader(f):
                key = f"label={row['looking_for_job']}|source={source}"
                strata[key] = strata.get(key, 0) + 1
    return strata


def test_split_is_exact_per_label_and_source_and_recorded_in_mlmd(store, demo_slice):
    first_run = mlmd_queries.runs(store)[0]
    split = mlmd_queries.executions_by_component(store, first_run, PIPELINE)["StratifiedSplit"]
    [artifact_id] = mlmd_queries.outputs(store, split.id)["split_examples"]
    [artifact] = store.get_artifacts_by_id([artifact_id])
    props = artifact.custom_properties
    counts = json.loads(props["split_counts"].string_value)
    strata = _demo_slice_strata(demo_slice)

    assert list(counts) == ["train", "dev", "test"]
    assert json.loads(props["stratum_counts"].string_value) == strata
    for stratum, n in strata.items():
        # Largest remainder of n * (0.6, 0.2, 0.2); ties go to the earlier split.
        train, dev, test = (counts[s].get(stratum, 0) for s in ("train", "dev", "test"))
        assert train + dev + test == n
        assert abs(train - 0.6 * n) < 1 and abs(dev - 0.2 * n) < 1 and abs(test - 0.2 * n) < 1
    assert props["seed"].string_value == "42"
    assert json.loads(props["ratios"].string_value) == {"train": 0.6, "dev": 0.2, "test": 0.2}
    assert props["payload_format"].string_value == "FORMAT_TF_EXAMPLE"


def test_second_run_reuses_every_step_from_cache(store):
    first_run, second_run = mlmd_queries.runs(store)
    first = mlmd_queries.executions_by_component(store, first_run, PIPELINE)
    second = mlmd_queries.executions_by_component(store, second_run, PIPELINE)
    assert sorted(second) == sorted(COMPONENTS)
    for component, execution in second.items():
        assert execution.last_known_state == metadata_store_pb2.Execution.CACHED, component
        assert mlmd_queries.outputs(store, execution.id) == mlmd_queries.outputs(
            store, first[component].id
        ), f"{component} did not reuse the first run's outputs"


def test_summary_names_components_outputs_and_pushed_model(two_runs):
    output_root, first, second = two_runs
    for component in COMPONENTS:
        assert f"  {component} " in first.stdout
    assert first.stdout.count("COMPLETE") == len(COMPONENTS)
    assert second.stdout.count("CACHED") == len(COMPONENTS)
    assert f"metadata store: {output_root / 'metadata.sqlite'}" in first.stdout
    assert f"pushed model:   {output_root / 'serving_model'}" in first.stdout
    assert "Next:" in first.stdout
    # TF and Beam logs go to the log file, not the console.
    assert "INFO:" not in first.stdout + first.stderr
    assert os.path.getsize(output_root / "run.log") > 0


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
    [pushed] = glob.glob(str(output_root / "serving_model" / "*"))
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
