"""metadata.run_summary: a run is found from the executions its process registered."""

from __future__ import annotations

import json

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

from cli import run_report
from metadata import names, run_summary
from metadata.run_verdict import RunVerdict


def _store_with_two_runs() -> tuple[metadata_store.MetadataStore, dict[str, int]]:
    """Two runs of one pipeline, each with one execution; the second is newer."""
    config = pb.ConnectionConfig()
    config.fake_database.SetInParent()
    store = metadata_store.MetadataStore(config)
    run_type = store.put_context_type(pb.ContextType(name=names.RUN_CONTEXT))
    step_type = store.put_execution_type(pb.ExecutionType(name="Step"))
    executions = {}
    for run_id in ("run-a", "run-b"):
        [context_id] = store.put_contexts([pb.Context(type_id=run_type, name=run_id)])
        [execution_id] = store.put_executions([pb.Execution(type_id=step_type)])
        store.put_attributions_and_associations(
            [], [pb.Association(context_id=context_id, execution_id=execution_id)]
        )
        executions[run_id] = execution_id
    return store, executions


def test_the_run_is_the_one_its_executions_are_in_not_the_newest() -> None:
    store, executions = _store_with_two_runs()
    assert run_summary.run_id_of_executions(store, [executions["run-a"]]) == "run-a"
    assert run_summary.run_id_of_executions(store, [executions["run-b"]]) == "run-b"


def test_no_executions_means_no_run_of_ours() -> None:
    store, _ = _store_with_two_runs()
    assert run_summary.run_id_of_executions(store, []) is None


def test_a_run_without_executions_of_its_own_is_the_newest_one_since_it_started() -> None:
    store, _ = _store_with_two_runs()
    pipeline_type = store.put_context_type(pb.ContextType(name=names.PIPELINE_CONTEXT))
    [pipeline_id] = store.put_contexts([pb.Context(type_id=pipeline_type, name="demo")])
    runs = store.get_contexts_by_type(names.RUN_CONTEXT)
    store.put_parent_contexts(
        [pb.ParentContext(child_id=r.id, parent_id=pipeline_id) for r in runs]
    )
    newest = max(r.create_time_since_epoch for r in runs)
    assert run_summary.newest_run_since(store, "demo", 0) == "run-b"
    assert run_summary.newest_run_since(store, "demo", newest + 1) is None


def _store_with_a_split(
    stratum_counts: dict[str, int], split_counts: dict, class_counts: dict | None = None
) -> tuple:
    """One run whose StratifiedSplit execution wrote the counts it records."""
    store, executions = _store_with_two_runs()
    split_type = store.put_execution_type(pb.ExecutionType(name="StratifiedSplit"))
    examples_type = store.put_artifact_type(pb.ArtifactType(name="Examples"))
    [context] = [c for c in store.get_contexts_by_type(names.RUN_CONTEXT) if c.name == "run-a"]
    [execution_id] = store.put_executions(
        [pb.Execution(type_id=split_type, last_known_state=pb.Execution.COMPLETE)]
    )
    output = pb.Artifact(type_id=examples_type, uri="/out/split")
    for name, value in (
        ("ratios", {"train": 0.6, "dev": 0.2, "test": 0.2}),
        ("split_counts", split_counts),
        ("stratum_counts", stratum_counts),
        ("class_counts", class_counts),
    ):
        if value is not None:
            output.custom_properties[name].string_value = json.dumps(value)
    [artifact_id] = store.put_artifacts([output])
    store.put_events(
        [pb.Event(artifact_id=artifact_id, execution_id=execution_id, type=pb.Event.OUTPUT)]
    )
    store.put_attributions_and_associations(
        [], [pb.Association(context_id=context.id, execution_id=execution_id)]
    )
    return store, "run-a"


def test_strata_smaller_than_the_number_of_splits_are_in_the_summary() -> None:
    # As StratifiedSplit records them: 60/20/20 of 2 rows is 1/1/0, of 1 row 1/0/0.
    split_counts = {
        "dev": {"label=0": 14, "label=1": 6, "label=2|source=web": 1},
        "test": {"label=0": 14, "label=1": 6},
        "train": {"label=0": 42, "label=1": 18, "label=2|source=web": 1, "label=3": 1},
    }
    strata = {"label=0": 70, "label=1": 30, "label=2|source=web": 2, "label=3": 1}
    store, run_id = _store_with_a_split(strata, split_counts)

    summary = run_summary.summarize_run(store, run_id)

    assert list(summary.split_counts) == ["train", "dev", "test"]
    assert summary.small_strata == {
        "label=2|source=web": {"train": 1, "dev": 1, "test": 0},
        "label=3": {"train": 1, "dev": 0, "test": 0},
    }
    text = run_report.format_summary(summary, "/out", "metadata.sqlite (SQLite)")
    assert (
        "  small strata (fewer rows than there are splits, so some splits get none):\n"
        "    label=2|source=web   2 rows: train 1, dev 1, test 0\n"
        "    label=3              1 row: train 1, dev 0, test 0\n"
    ) in text


def test_without_small_strata_the_summary_has_no_such_lines() -> None:
    split_counts = {"train": {"label=0": 3}, "dev": {"label=0": 1}, "test": {"label=0": 1}}
    store, run_id = _store_with_a_split({"label=0": 5}, split_counts)
    summary = run_summary.summarize_run(store, run_id)
    assert summary.small_strata == {}
    assert "small strata" not in run_report.format_summary(summary, "/out", "store")


def test_a_stratum_as_small_as_the_splits_are_many_is_not_small() -> None:
    assert run_summary.small_strata({"a": {"s": 1}, "b": {"s": 1}}, {"s": 2, "t": 1}, 2) == {
        "t": {"a": 0, "b": 0}
    }


def test_the_summary_shows_rows_per_class_beside_the_other_strata_keys() -> None:
    # As StratifiedSplit records 50/30/20 penguins from two sources at 60/20/20.
    split_counts = {
        "train": {"label=Adelie|source=web": 30, "label=Chinstrap|source=web": 18,
                  "label=Gentoo|source=partner": 12},
        "dev": {"label=Adelie|source=web": 10, "label=Chinstrap|source=web": 6,
                "label=Gentoo|source=partner": 4},
        "test": {"label=Adelie|source=web": 10, "label=Chinstrap|source=web": 6,
                 "label=Gentoo|source=partner": 4},
    }  # fmt: skip
    class_counts = {
        "train": {"Adelie": 30, "Chinstrap": 18, "Gentoo": 12},
        "dev": {"Adelie": 10, "Chinstrap": 6, "Gentoo": 4},
        "test": {"Adelie": 10, "Chinstrap": 6, "Gentoo": 4},
    }
    strata = {"label=Adelie|source=web": 50, "label=Chinstrap|source=web": 30,
              "label=Gentoo|source=partner": 20}  # fmt: skip
    store, run_id = _store_with_a_split(strata, split_counts, class_counts)

    summary = run_summary.summarize_run(store, run_id)

    assert summary.class_counts == class_counts
    text = run_report.format_summary(summary, "/out", "store")
    assert (
        "  rows per split:\n"
        "    train       60  source partner: 12, web: 48\n"
        "    dev         20  source partner: 4, web: 16\n"
        "    test        20  source partner: 4, web: 16\n"
        "\n"
        "  rows per class:\n"
        "    class        train      dev     test      all  share\n"
        "    Adelie          30       10       10       50    50%\n"
        "    Chinstrap       18        6        6       30    30%\n"
        "    Gentoo          12        4        4       20    20%\n"
    ) in text


def _penguin_metrics(count: int) -> dict[str, float]:
    per_class = {
        f"{metric}:{c}": value
        for c, value in (("Adelie", 0.99), ("Chinstrap", 0.875), ("Gentoo", 0.9))
        for metric in ("auc", "precision", "recall")
    }
    return {"example_count": count, "accuracy": 0.9, "macro_auc": 0.9217, **per_class}


def test_three_classes_show_accuracy_macro_auc_per_class_metrics_and_the_matrix() -> None:
    summary = run_summary.RunSummary(
        "run-a",
        [],
        "/out/serving_model/1",
        {},
        evaluation={"overall": _penguin_metrics(20), "source=web": _penguin_metrics(12)},
        confusion_matrix={
            "Adelie": {"Adelie": 10, "Chinstrap": 0, "Gentoo": 0},
            "Chinstrap": {"Adelie": 1, "Chinstrap": 5, "Gentoo": 0},
            "Gentoo": {"Adelie": 0, "Chinstrap": 1, "Gentoo": 3},
        },
    )
    verdict = RunVerdict(
        "PUSHED",
        "",
        comparison="nothing: no model was blessed before this one",
        blessing="test macro AUC 0.922 >= 0.700 (min_auc, overall and on every slice)",
    )
    text = run_report.format_summary(summary, "/out", "store", verdict)
    assert (
        "  test metrics by slice (Evaluator):\n"
        "    slice       examples   accuracy  macro AUC\n"
        "    overall           20      0.900      0.922\n"
        "    source=web        12      0.900      0.922\n"
        "\n"
        "  test metrics by class (overall, each class against the rest):\n"
        "    class              AUC  precision     recall\n"
        "    Adelie           0.990      0.990      0.990\n"
        "    Chinstrap        0.875      0.875      0.875\n"
        "    Gentoo           0.900      0.900      0.900\n"
        "\n"
        "  test confusion matrix (overall; rows: actual class, columns: predicted class):\n"
        "    actual \\ predicted  Adelie  Chinstrap  Gentoo\n"
        "    Adelie                  10          0       0\n"
        "    Chinstrap                1          5       0\n"
        "    Gentoo                   0          1       3\n"
    ) in text
    assert text.endswith(
        "  pushed model:   /out/serving_model/1\n"
        "  blessing:       test macro AUC 0.922 >= 0.700 (min_auc, overall and on every slice)\n"
        "  compared with:  nothing: no model was blessed before this one"
    )


def test_two_classes_keep_their_metric_table() -> None:
    metrics = {"example_count": 921, "auc": 0.832, "binary_accuracy": 0.827,
               "precision": 0.728, "recall": 0.649}  # fmt: skip
    summary = run_summary.RunSummary("run-a", [], None, {}, evaluation={"overall": metrics})
    text = run_report.format_summary(summary, "/out", "store")
    assert (
        "  test metrics by slice (Evaluator):\n"
        "    slice    examples        AUC   accuracy  precision     recall\n"
        "    overall       921      0.832      0.827      0.728      0.649\n"
    ) in text
    assert "confusion" not in text and "by class" not in text
