"""The `history` report's logic on crafted runs, and its command-line errors."""

from __future__ import annotations

import json

import pytest
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from cli.history import format_history
from cli.main import execute
from metadata import history, run_results
from core.errors import CascadeError


def _point(run: str, rows: int | None, metric: float | None = 0.8, growth=None) -> history.RunPoint:
    per_source = {"web": rows} if rows is not None else {}
    return history.RunPoint(run, 0, per_source, metric, growth)


@pytest.mark.parametrize(
    "growth, warns", [(3.0, False), (10.0, False), (10.01, True), (40.0, True)]
)
def test_growth_warning_fires_only_above_10x(growth, warns):
    points = [_point("a", 100), _point("b", int(100 * growth), growth=growth)]
    warnings = history.growth_warnings(points)
    assert bool(warnings) is warns
    if warns:
        assert warnings[0].startswith(
            f"warning: run b grew the training data {growth:.1f}x over run a"
        )


def test_a_run_without_results_is_skipped_when_comparing():
    points = [_point("a", 100), _point("failed", None, None), _point("c", 2000, growth=20.0)]
    [warning] = history.growth_warnings(points)
    assert "over run a (100 -> 2,000 rows)" in warning


def test_table_shows_missing_values_as_dashes():
    text = format_history("p", [_point("a", 100), _point("failed", None, None)], "auc")
    last = text.splitlines()[-1].split()
    assert last == ["2", "failed", "-", "-", "-", "-"]


def _store(tmp_path) -> metadata_store.MetadataStore:
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(tmp_path / "metadata.sqlite")
    return metadata_store.MetadataStore(config)


def _add_run(
    store, pipeline: str, run: str, rows: dict, auc: float, overall: dict | None = None
) -> None:
    """A pipeline and run context shaped as TFX writes them, with recorded results
    (the overall test metrics `overall`, by default {"auc": auc})."""
    types = {}
    for name in ("pipeline", "pipeline_run"):
        types[name] = store.put_context_type(metadata_store_pb2.ContextType(name=name))
    parent = store.get_context_by_type_and_name("pipeline", pipeline)
    if parent is None:
        [parent_id] = store.put_contexts(
            [metadata_store_pb2.Context(type_id=types["pipeline"], name=pipeline)]
        )
    else:
        parent_id = parent.id
    [run_id] = store.put_contexts(
        [metadata_store_pb2.Context(type_id=types["pipeline_run"], name=run)]
    )
    store.put_parent_contexts(
        [metadata_store_pb2.ParentContext(child_id=run_id, parent_id=parent_id)]
    )
    evaluation = {"overall": overall if overall is not None else {"auc": auc}}
    run_results.record(store, run, run_results.RunResults(rows, evaluation))


def test_history_reads_recorded_results_from_the_store(tmp_path):
    store = _store(tmp_path)
    _add_run(store, "p", "r1", {"web": 10, "mobile": 5}, 0.7)
    _add_run(store, "p", "r2", {"web": 20, "mobile": 25}, 0.75)
    _add_run(store, "p", "r3", {}, 0.0)  # stopped before its results
    _add_run(store, "p", "r4", {"web": 500, "mobile": 40}, 0.8)
    name, points = history.runs_history(store, None)
    assert name == "p"
    assert [(p.run, p.training_rows, p.growth, p.metric) for p in points] == [
        ("r1", 15, None, 0.7),
        ("r2", 45, 3.0, 0.75),
        ("r3", None, None, 0.0),
        ("r4", 540, 12.0, 0.8),
    ]
    [warning] = history.growth_warnings(points)
    assert "run r4 grew the training data 12.0x over run r2 (45 -> 540 rows)" in warning


def test_several_pipelines_need_pipeline_flag(tmp_path):
    store = _store(tmp_path)
    _add_run(store, "p", "r1", {"web": 10}, 0.7)
    _add_run(store, "q", "r2", {"web": 10}, 0.7)
    with pytest.raises(CascadeError, match="several pipelines; pick one with --pipeline: p, q"):
        history.runs_history(store, None)
    with pytest.raises(CascadeError, match="no pipeline 'x' in the metadata store"):
        history.runs_history(store, "x")
    assert [p.run for p in history.runs_history(store, "q")[1]] == ["r2"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["history", "--plot", "out.jpg"], "--plot out.jpg: the plot is a PNG"),
        (["inventory", "--run", "nope"], "no run 'nope' of pipeline 'p'"),
        (["lineage", "downstream", "--where", "crowd"], "--where 'crowd': expected FIELD=VALUE"),
        (["lineage", "downstream", "1", "--where", "source=web"], "give either REF or --where"),
        (["lineage", "downstream", "--where", "colour=red"], "--where: unknown field 'colour'"),
        (
            ["lineage", "downstream", "--where", "source=web", "--where", "source=app"],
            "source is already required to be 'web'",
        ),
        (
            ["history", "--plot", "no/such/folder/h.png"],
            "--plot no/such/folder/h.png: folder ",
        ),
    ],
)
def test_command_errors_name_the_flag(tmp_path, args, message):
    store = _store(tmp_path)
    _add_run(store, "p", "r1", {"web": 10}, 0.7)
    del store
    with pytest.raises(CascadeError, match=message):
        execute([*args, "--metadata", str(tmp_path / "metadata.sqlite")])


def test_inventory_of_a_run_that_ingested_nothing_says_so(tmp_path):
    store = _store(tmp_path)
    _add_run(store, "p", "r1", {}, 0.7)
    with pytest.raises(CascadeError, match="run r1 of p has no ingested examples"):
        execute(["inventory", "--metadata", str(tmp_path / "metadata.sqlite")])


def test_slice_names():
    assert run_results.slice_name(()) == "overall"
    assert run_results.slice_name((("source", b"web"),)) == "source=web"
    assert run_results.slice_name((("source", b"web"), ("age", 3))) == "source=web & age=3"


PENGUIN_METRICS = {"accuracy": 0.9, "macro_auc": 0.95, "recall:Adelie": 0.97, "auc:Gentoo": 0.99}


def test_three_classes_show_the_macro_auc_unless_asked_for_another(tmp_path):
    store = _store(tmp_path)
    _add_run(store, "p", "r1", {"web": 10}, 0.0, overall=PENGUIN_METRICS)
    _add_run(store, "p", "r2", {}, 0.0, overall={})  # stopped before its results
    assert history.default_metric(store, None) == "macro_auc"
    del store
    metadata = ["--metadata", str(tmp_path / "metadata.sqlite")]

    table = execute(["history", *metadata]).splitlines()
    assert table[0] == "Training data and test macro_auc of p, run by run"
    assert table[2].split()[-2:] == ["test", "macro_auc"]
    assert table[3].split()[-1] == "0.950"
    assert table[4].split()[-1] == "-"
    recall = execute(["history", "--metric", "recall:Adelie", "--format", "json", *metadata])
    assert [run["metric"] for run in json.loads(recall)["runs"]] == [0.97, None]


def test_the_auc_stays_the_default_where_it_was_recorded(tmp_path):
    store = _store(tmp_path)
    _add_run(store, "p", "r1", {"web": 10}, 0.0, overall=PENGUIN_METRICS)
    _add_run(store, "p", "r2", {"web": 10}, 0.8)
    assert history.default_metric(store, None) == "auc"
    _add_run(store, "q", "r3", {"web": 10}, 0.0, overall={})
    assert history.default_metric(store, "q") == "auc"


@pytest.mark.parametrize("metric", ["loss", "auc:", "example_count", "accuracy:Adelie"])
def test_metric_flag_names_the_choices(tmp_path, capsys, metric):
    with pytest.raises(SystemExit):
        execute(["history", "--metric", metric, "--metadata", str(tmp_path / "m.sqlite")])
    assert (
        f"argument --metric: {metric!r} is not a recorded metric; choose one of auc, "
        "binary_accuracy, precision, recall, accuracy, macro_auc, or per class auc:CLASS, "
        "precision:CLASS, recall:CLASS (e.g. recall:Adelie)"
    ) in capsys.readouterr().err
