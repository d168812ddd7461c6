"""metadata.run_summary: a run is found from the executions its process registered."""

from __future__ import annotations

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

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
