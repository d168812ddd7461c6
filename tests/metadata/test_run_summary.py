"""metadata.run_summary: a run is found from the executions its process registered."""

from __future__ import annotations

import json

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

from cli import run_report
from metadata import names, run_summary


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


def _store_with_a_split(stratum_counts: dict[str, int], split_counts: dict) -> tuple:
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
    ):
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
