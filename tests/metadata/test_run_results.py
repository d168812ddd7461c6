"""Training rows per source, read from real TFDV statistics (as StatisticsGen writes them)."""

from __future__ import annotations

import json

import pytest

from metadata import run_results
from tests.metadata.conftest import PENGUINS
from tests.metadata.tfma_evaluations import SAME_SLICES
from tests import local_beam


def _statistics_folder(tmp_path, counts: dict[str, int]) -> str:
    """Runs TFDV on a CSV with `counts` rows per source; returns the artifact-like folder."""
    import tensorflow_data_validation as tfdv

    data = tmp_path / "train.csv"
    lines = ["source,x"] + [f"{s},1" for s, n in counts.items() for _ in range(n)]
    data.write_text("\n".join(lines) + "\n")
    statistics = tfdv.generate_statistics_from_csv(
        str(data), output_path=str(tmp_path / "s.pb"), pipeline_options=local_beam.options()
    )
    split = tmp_path / "statistics" / "Split-train"
    split.mkdir(parents=True)
    (split / "FeatureStats.pb").write_bytes(statistics.SerializeToString())
    return str(tmp_path / "statistics")


@pytest.mark.parametrize("sources", [3, 25])
def test_rows_per_source_are_exact_even_beyond_tfdv_top_20(tmp_path, sources):
    counts = {f"s{i:02d}": i + 1 for i in range(sources)}
    assert run_results.read_rows_per_source(_statistics_folder(tmp_path, counts)) == counts


def test_a_split_without_a_source_feature_has_no_rows_per_source(tmp_path):
    import tensorflow_data_validation as tfdv

    data = tmp_path / "train.csv"
    data.write_text("x\n1\n2\n")
    statistics = tfdv.generate_statistics_from_csv(
        str(data), output_path=str(tmp_path / "s.pb"), pipeline_options=local_beam.options()
    )
    split = tmp_path / "statistics" / "Split-train"
    split.mkdir(parents=True)
    (split / "FeatureStats.pb").write_bytes(statistics.SerializeToString())
    assert run_results.read_rows_per_source(str(tmp_path / "statistics")) == {}


# --- the Evaluator's metrics, read from real TFMA output (tests/metadata/conftest.py) ---------

PER_SLICE = {
    "example_count": 15.0,
    "accuracy": 0.8,
    "macro_auc": 0.85,
    **{
        f"{m}:{c}": v
        for c in PENGUINS
        for m, v in (("auc", 0.85), ("precision", 0.8), ("recall", 0.8))
    },
}


# Overall first, then the sources, then the labelling methods.
SLICES_IN_ORDER = [
    "overall",
    "source=partner",
    "source=web",
    "labelling_method=crowd",
    "labelling_method=in_house",
]


def test_three_classes_record_accuracy_macro_auc_and_per_class_metrics(penguins_not_blessed):
    evaluation = run_results.read_evaluation(penguins_not_blessed, PENGUINS, SAME_SLICES)

    assert list(evaluation) == SLICES_IN_ORDER
    assert evaluation["overall"] == pytest.approx({**PER_SLICE, "example_count": 30.0})
    for name in list(evaluation)[1:]:
        assert evaluation[name] == pytest.approx(PER_SLICE), name


def test_without_the_classes_a_class_is_named_by_its_number(penguins_first):
    overall = run_results.read_evaluation(penguins_first)["overall"]
    assert {"auc:0", "precision:1", "recall:2", "macro_auc", "accuracy"} <= set(overall)


def test_the_confusion_matrix_names_actual_and_predicted_classes(penguins_not_blessed):
    matrices = run_results.read_confusion_matrices(penguins_not_blessed, PENGUINS, SAME_SLICES)
    assert list(matrices) == SLICES_IN_ORDER
    # Rows are actual classes; each takes the next class for 2 of its 10 rows.
    assert matrices["overall"] == {
        "Adelie": {"Adelie": 8, "Chinstrap": 2, "Gentoo": 0},
        "Chinstrap": {"Adelie": 0, "Chinstrap": 8, "Gentoo": 2},
        "Gentoo": {"Adelie": 2, "Chinstrap": 0, "Gentoo": 8},
    }
    assert matrices["source=web"]["Gentoo"] == {"Adelie": 1, "Chinstrap": 0, "Gentoo": 4}
    assert matrices["labelling_method=in_house"] == matrices["source=web"]


def test_the_evaluator_computes_each_partition_once(penguins_not_blessed):
    """The demo's labelling methods are one per source: TFMA computes the source
    slices only, and the labelling-method slices are read as theirs."""
    computed = run_results.read_evaluation(penguins_not_blessed, PENGUINS)
    assert list(computed) == ["overall", "source=partner", "source=web"]
    named = run_results.read_evaluation(penguins_not_blessed, PENGUINS, SAME_SLICES)
    assert named["labelling_method=crowd"] == computed["source=partner"]
    assert named["labelling_method=in_house"] == computed["source=web"]


def test_two_classes_keep_their_metric_names_and_have_no_confusion_matrix(binary_not_blessed):
    evaluation = run_results.read_evaluation(binary_not_blessed, ("0", "1"))
    assert evaluation["overall"] == pytest.approx(
        {"example_count": 20.0, "auc": 0.9, "binary_accuracy": 0.9, "precision": 0.9, "recall": 0.9}
    )
    assert set(evaluation["source=web"]) == set(run_results.METRICS)
    assert run_results.read_confusion_matrices(binary_not_blessed) == {}


@pytest.mark.parametrize(
    "name, recorded",
    [
        ("auc", True),
        ("binary_accuracy", True),
        ("macro_auc", True),
        ("accuracy", True),
        ("recall:Adelie", True),
        ("auc:Chinstrap Penguin", True),
        ("auc:", False),
        ("accuracy:Adelie", False),
        ("loss", False),
    ],
)
def test_metric_names(name, recorded):
    assert run_results.is_metric(name) is recorded


def test_metric_titles():
    assert [
        run_results.metric_title(m)
        for m in ("auc", "binary_accuracy", "macro_auc", "accuracy", "recall:Adelie")
    ] == ["AUC", "accuracy", "macro AUC", "accuracy", "recall of Adelie"]


def test_the_classes_come_from_the_models_label_file(tmp_path):
    serving = tmp_path / "model" / "Format-Serving"
    (serving / "assets.extra").mkdir(parents=True)
    assert run_results.label_classes(str(tmp_path / "model")) == ()
    (serving / "assets.extra" / "label.json").write_text(
        json.dumps({"name": "species", "classes": list(PENGUINS), "positive": None})
    )
    assert run_results.label_classes(str(tmp_path / "model")) == PENGUINS


def test_confusion_matrices_are_recorded_on_the_run_and_read_back():
    from ml_metadata import metadata_store
    from ml_metadata.proto import metadata_store_pb2 as pb

    from metadata import names

    config = pb.ConnectionConfig()
    config.fake_database.SetInParent()
    store = metadata_store.MetadataStore(config)
    run_type = store.put_context_type(pb.ContextType(name=names.RUN_CONTEXT))
    store.put_contexts([pb.Context(type_id=run_type, name="r1")])
    matrix = {"overall": {"Adelie": {"Adelie": 8, "Gentoo": 2}, "Gentoo": {"Gentoo": 10}}}
    results = run_results.RunResults(
        {"web": 20}, {"overall": {"macro_auc": 0.85}}, confusion_matrices=matrix
    )
    run_results.record(store, "r1", results)
    assert run_results.recorded(names.run_context(store, "r1")) == results
