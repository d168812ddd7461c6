"""Data inventory and label provenance on the demo slice's two runs (see conftest):
inventory and measured facts in MLMD, the `inventory` command, slices by
labelling method in the evaluation output and in the run summary."""

from __future__ import annotations

import csv
import json

import pytest
import tensorflow_model_analysis as tfma
import yaml

from cli.main import execute
from core.errors import CascadeError
from metadata import inventory_report, run_results
from tests.e2e import mlmd_queries
from tests.e2e.helpers import SLICE_ROWS

pytestmark = pytest.mark.e2e
PIPELINE = "cascade-demo"


def _declared(demo_slice) -> dict:
    return yaml.safe_load(demo_slice.read_text())["inventory"]


def _ingested(store):
    first = mlmd_queries.runs(store)[0]
    [artifact] = inventory_report.ingested_artifacts(store, first.name)
    return artifact


def _csv_facts(path) -> tuple[int, int]:
    with open(path, newline="") as f:
        labels = [row["looking_for_job"] for row in csv.DictReader(f)]
    return len(labels), sum(1 for v in labels if v == "1")


def test_inventory_and_measured_facts_are_custom_properties_in_mlmd(store, demo_slice):
    artifact = _ingested(store)
    declared = json.loads(artifact.custom_properties["source_inventory"].string_value)
    expected = {
        name: {**entry, "currency": "USD", "collected_on": str(entry["collected_on"])}
        for name, entry in _declared(demo_slice).items()
    }
    assert declared == expected
    measured = json.loads(artifact.custom_properties["source_facts"].string_value)
    for source, rows in SLICE_ROWS.items():
        n, positives = _csv_facts(demo_slice.parent / "data" / source / "users.csv")
        assert measured[source]["rows"] == n == rows
        assert measured[source]["positive_rate"] == round(positives / n, 6)
        assert len(measured[source]["sha256"]) == 64


def test_inventory_command_prints_declared_beside_measured(two_runs, demo_slice):
    output_root, _, _ = two_runs
    store_flag = ["--metadata", str(output_root / "metadata.sqlite")]
    shown = json.loads(execute(["inventory", "--format", "json", *store_flag]))
    declared = _declared(demo_slice)
    assert [s["source"] for s in shown["sources"]] == list(SLICE_ROWS)
    for row in shown["sources"]:
        cost = declared[row["source"]]["collection_cost"]
        assert row["cost_per_labelled_example"] == pytest.approx(cost / row["measured"]["labelled"])
    text = execute(["inventory", *store_flag])
    partner = next(line for line in text.splitlines() if line.strip().startswith("partner "))
    assert "crowd" in partner and f"{SLICE_ROWS['partner']:,}" in partner
    assert "total" in text


def test_evaluator_computes_the_source_slices_once_and_names_the_labelling_methods(store):
    first = mlmd_queries.runs(store)[0]
    [evaluation] = [
        a
        for a in run_results.outputs_by_component(store, first.name)["Evaluator"]
        if a.type == "ModelEvaluation"
    ]
    computed = {
        run_results.slice_name(tfma.slicer.deserialize_slice_key(m.slice_key))
        for m in tfma.load_metrics(evaluation.uri)
    }
    # One labelling method per source: the same partition, computed once.
    assert computed == {"source=web", "source=mobile", "source=partner", "overall"}
    assert run_results.same_slices(evaluation) == {
        "labelling_method=in_house": "source=web",
        "labelling_method=outsourced": "source=mobile",
        "labelling_method=crowd": "source=partner",
    }
    recorded = run_results.recorded(first).evaluation
    assert recorded["labelling_method=crowd"] == recorded["source=partner"]


def test_run_context_records_training_rows_and_sliced_metrics(store):
    for run in mlmd_queries.runs(store):
        results = run_results.recorded(run)
        assert set(results.training_rows_per_source) == set(SLICE_ROWS)
        assert "labelling_method=crowd" in results.evaluation
        assert 0.0 <= results.evaluation["overall"]["auc"] <= 1.0


def test_run_summary_shows_the_per_source_metric_table(two_runs):
    _, first, _ = two_runs
    lines = first.stdout.splitlines()
    start = lines.index("  test metrics by slice (Evaluator):")
    table = lines[start + 1 : start + 9]
    assert table[0].split() == ["slice", "examples", "AUC", "accuracy", "precision", "recall"]
    names = [line.split()[0] for line in table[1:]]
    assert names[:4] == ["overall", "source=mobile", "source=partner", "source=web"]
    assert set(names[4:]) == {
        "labelling_method=crowd",
        "labelling_method=in_house",
        "labelling_method=outsourced",
    }


def test_lineage_lists_models_trained_on_crowd_labelled_sources(two_runs, store):
    output_root, _, _ = two_runs
    args = ["lineage", "downstream", "--metadata", str(output_root / "metadata.sqlite")]
    crowd = json.loads(
        execute([*args, "--where", "labelling_method=crowd", "--type", "Model", "--format", "json"])
    )
    models = [a for a in crowd["artifacts"] if a["type"] == "Model"]
    assert len(models) == 1  # the second run reused the first run's model
    assert crowd["roots"] == [_ingested(store).id]
    # Conditions combine: no source is both crowd-labelled and from the web.
    with pytest.raises(CascadeError, match="no ingested source has"):
        execute([*args, "--where", "labelling_method=crowd", "--where", "source=web"])
