"""Cascade's pipeline as an Apache Airflow DAG: one Airflow task per TFX node.

The DAG is built from the same `create_pipeline` as a local run and compiled
into TFX's intermediate representation (IR). Each task runs one node of that
IR with TFX's portable launcher, exactly as `LocalDagRunner` runs it: the same
drivers, cache keys and MLMD records, so `cascade lineage`, `history` and
`inventory` read scheduled runs as they read local ones. (TFX's own
`AirflowDagRunner` runs components through the older component launcher,
which records runs under other MLMD context types and does not run Cascade's
resolvers and gate as the local runner does.)

What a scheduled run adds:
  * its MLMD run id is Airflow's run id and the DAG run's number in Airflow's
    database (`scheduled__2026-12-05T03:00:00+00:00#7`): a retried or cleared
    task joins its run, so it reads the outputs its upstream tasks made; a
    run Airflow creates again for the same date is a new MLMD run (see
    `mlmd_run_id`);
  * with sources spanned by date (`{YYYY}{MM}{DD}`), the logical date's span
    is read (a missing span fails CsvExampleGen, and the retries wait for it);
  * the last task, and a task that fails, record the run's config, results
    and verdict on its MLMD context, as `cascade run` does when its run ends:
    until then `cascade lineage runs` shows the run UNFINISHED.
The MySQL password is read when a task runs (from `CASCADE_MYSQL_PASSWORD`
or the password file), never written into the DAG, and redacted from task logs.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import logging
from typing import Any, Optional

from ml_metadata.proto import metadata_store_pb2

from core import spans
from core.environment import RedactSecrets, prepare_tensorflow
from core.errors import CascadeError
from pipeline.config import PipelineConfig
from pipeline.runners import DataflowOptions
from services.pipeline_run import record_run
from services.store import StoreOptions

# The runtime parameter CsvExampleGen's RangeConfig is read from.
SPAN_RANGE_PARAMETER = "span_range"
# The states of a node's execution that ran or was served from cache.
_SUCCEEDED = (metadata_store_pb2.Execution.COMPLETE, metadata_store_pb2.Execution.CACHED)
EXTRA_HINT = "pip install -c requirements.lock '.[airflow]'  (or: make airflow)"


@dataclasses.dataclass(frozen=True)
class DagRequest:
    """A scheduled pipeline.

    Attributes:
      config: The validated config; its `schedule` says when Airflow runs it
        (without one, the DAG runs only when triggered).
      store: The metadata store every task records in.
      profile: The Beam runner profile of the Beam steps.
      dataflow: Dataflow's options with the `dataflow` profile, else None.
    """

    config: PipelineConfig
    store: StoreOptions
    profile: str = "local"
    dataflow: Optional[DataflowOptions] = None


def prepared(request: DagRequest) -> DagRequest:
    """The request as its runs will run: with Dataflow, the artifacts on GCS.

    The same rule as `cascade run --runner dataflow` (`services.pipeline_run.prepare`).

    Raises:
      CascadeError: Dataflow is asked for with data that is not on GCS.
    """
    from services import pipeline_run

    run = pipeline_run.prepare(
        pipeline_run.RunRequest(
            config=request.config,
            store=request.store,
            profile=request.profile,
            dataflow=request.dataflow,
        )
    )
    return dataclasses.replace(request, config=run.config)


def check_airflow_installed() -> None:
    """Fails unless Airflow can be imported, without importing it.

    Importing Airflow writes `$AIRFLOW_HOME/airflow.cfg` (`~/airflow` by
    default) when there is none, so a command that only writes a DAG file
    looks for the package instead.

    Raises:
      CascadeError: Airflow is not installed (naming the extra to install).
    """
    import importlib.util

    try:
        found = importlib.util.find_spec("airflow") is not None
    except ValueError:  # `sys.modules["airflow"]` is None: blocked from importing
        found = False
    if not found:
        raise CascadeError(f"Apache Airflow is not installed: {EXTRA_HINT}")


def import_airflow() -> Any:
    """Imports Airflow's DAG module.

    Raises:
      CascadeError: Airflow is not installed (naming the extra to install).
    """
    try:
        from airflow.models import dag
    except ImportError:
        raise CascadeError(f"Apache Airflow is not installed: {EXTRA_HINT}") from None
    return dag


def spanned_by_date(config: PipelineConfig) -> bool:
    """Whether the sources' spans are named by date, so a logical date names one."""
    return config.spanned and spans.DATE_SPECS[0] in config.sources[0].path


def span_rule(config: PipelineConfig) -> str:
    """What each scheduled run ingests, in words."""
    if not config.spanned:
        return "reads every file of every source (the sources are not spanned)"
    if spanned_by_date(config):
        window = config.spans.window
        return "reads the span of its logical date" + (
            f" and the {window - 1} before it" if window > 1 else ""
        )
    return "reads the newest numbered span (a date names no {SPAN} number)"


def span_range_json(config: PipelineConfig, logical_date: datetime.date) -> str:
    """The RangeConfig (JSON) of the span a run of `logical_date` reads.

    Returns:
      The logical date's span when the sources are spanned by date; "" (the
      newest span, or every file) for numbered spans and unspanned sources,
      which a date does not name.
    """
    if not spanned_by_date(config):
        return ""
    from google.protobuf import json_format
    from tfx import v1 as tfx

    span = spans.date_to_span(logical_date.year, logical_date.month, logical_date.day)
    range_config = tfx.proto.RangeConfig(
        static_range=tfx.proto.StaticRange(start_span_number=span, end_span_number=span)
    )
    return json_format.MessageToJson(range_config, indent=None)


def build_dag(request: DagRequest) -> Any:
    """The Airflow DAG of the config's pipeline.

    Args:
      request: The pipeline, its store and its Beam profile.

    Returns:
      An `airflow.models.DAG` whose id is the pipeline's name, with one
      PythonOperator per TFX node, wired as the pipeline's nodes are.

    Raises:
      CascadeError: Airflow is not installed, or the pipeline cannot be built.
    """
    dag_module = import_airflow()
    prepare_tensorflow()
    import pendulum
    from airflow.operators.python import PythonOperator

    request = prepared(request)
    config = request.config
    ir = compile_pipeline(request)
    schedule = config.schedule
    default_args: dict[str, Any] = {"owner": "cascade"}
    if schedule is not None:
        default_args["retries"] = schedule.retries
        default_args["retry_delay"] = datetime.timedelta(seconds=schedule.retry_delay_seconds)
    start = schedule.start_date if schedule else datetime.date(2024, 1, 1)
    dag = dag_module.DAG(
        dag_id=config.name,
        description=f"Cascade pipeline {config.name!r} from {config.config_path}",
        schedule=schedule.cron if schedule else None,
        start_date=pendulum.datetime(start.year, start.month, start.day, tz="UTC"),
        catchup=schedule.catchup if schedule else False,
        # Runs of one pipeline share its cache and baseline: one at a time.
        max_active_runs=1,
        default_args=default_args,
        tags=["cascade", "tfx"],
        doc_md=_doc(config),
    )
    tasks: dict[str, Any] = {}
    serialized = ir.SerializeToString()
    for node in ir.nodes:
        pipeline_node = node.pipeline_node
        node_id = pipeline_node.node_info.id
        tasks[node_id] = PythonOperator(
            task_id=node_id,
            python_callable=functools.partial(
                run_node, serialized_ir=serialized, node_id=node_id, request=request
            ),
            dag=dag,
        )
        for upstream in pipeline_node.upstream_nodes:
            tasks[upstream] >> tasks[node_id]
    return dag


def compile_pipeline(request: DagRequest) -> Any:
    """The pipeline's IR (`tfx.proto.orchestration.pipeline_pb2.Pipeline`).

    The metadata connection is left out: a task builds it when it runs, so
    no password is part of the DAG.
    """
    import os

    from pipeline import runners
    from pipeline.pipeline import create_pipeline

    # The compiler is what LocalDagRunner.run calls; tfx.v1 exports no way to
    # get the IR, which is what each task runs one node of.
    from tfx.dsl.compiler import compiler
    from tfx import v1 as tfx

    config = request.config
    pipeline = create_pipeline(
        config,
        metadata_connection_config=None,
        beam_pipeline_args=runners.beam_pipeline_args(
            request.profile, os.path.join(config.output.root, "tmp"), request.dataflow
        ),
        enable_cache=True,
        span_range=tfx.dsl.experimental.RuntimeParameter(
            name=SPAN_RANGE_PARAMETER, ptype=str, default=""
        ),
    )
    return compiler.Compiler().compile(pipeline)


def mlmd_run_id(store: Any, pipeline_name: str, node_id: str, context: dict[str, Any]) -> str:
    """The MLMD run a task of an Airflow DAG run records in.

    It is Airflow's run id and the DAG run's number in Airflow's database
    (`scheduled__2026-12-05T03:00:00+00:00#7`), so every try of every task of
    a DAG run joins one MLMD run: TFX's launcher then runs a retried node
    again in place of its failed try, and a cleared node that succeeded
    already exits without running. A DAG run that Airflow creates anew for
    the same date (`airflow dags test` again; a SQLite Airflow database may
    give it the same number) is a new incarnation: its first try of a node
    that already succeeded in the run starts the next MLMD run, `...#7.2`,
    which its other tasks join.

    Args:
      store: The metadata store.
      pipeline_name: The pipeline's name (its node contexts are `<name>.<node>`).
      node_id: The task's node.
      context: Airflow's task context (`dag_run`, `ti`).

    Returns:
      The MLMD run id.
    """
    from metadata import names

    base = f"{context['dag_run'].run_id}#{context['dag_run'].id}"
    incarnation = 1
    while store.get_context_by_type_and_name(names.RUN_CONTEXT, f"{base}.{incarnation + 1}"):
        incarnation += 1
    run_id = base if incarnation == 1 else f"{base}.{incarnation}"
    run = store.get_context_by_type_and_name(names.RUN_CONTEXT, run_id)
    if run is None or context["ti"].try_number > 1:
        return run_id
    node = store.get_context_by_type_and_name(names.NODE_CONTEXT, f"{pipeline_name}.{node_id}")
    if node is None:
        return run_id
    in_run = {e.id for e in store.get_executions_by_context(run.id)}
    succeeded = [
        e
        for e in store.get_executions_by_context(node.id)
        if e.id in in_run and e.last_known_state in _SUCCEEDED
    ]
    return f"{base}.{incarnation + 1}" if succeeded else run_id


def run_node(serialized_ir: bytes, node_id: str, request: DagRequest, **context: Any) -> None:
    """Runs one TFX node of the pipeline for an Airflow task, then records the run.

    Args:
      serialized_ir: The compiled pipeline.
      node_id: The node this task runs.
      request: The pipeline, store and Beam profile.
      **context: Airflow's task context (`dag_run`, `logical_date`, ...).

    Raises:
      CascadeError: The store cannot be opened (naming where, never the
        password) or stays locked by another writer.
      Exception: The node's own failure, as TFX raises it (Airflow retries).
    """
    prepare_tensorflow()
    from tfx.dsl.compiler import constants
    from tfx.orchestration import metadata
    from tfx.orchestration.local import runner_utils
    from tfx.orchestration.portable import launcher, runtime_parameter_utils
    from tfx.proto.orchestration import pipeline_pb2

    # Portable-launcher internals, as LocalDagRunner.run_with_ir uses them:
    # tfx.v1 has no public API for running a single node.
    redact = RedactSecrets(request.store.secrets())
    handlers = _task_log_handlers()
    for handler in handlers:
        handler.addFilter(redact)
    try:
        ir = pipeline_pb2.Pipeline.FromString(serialized_ir)
        with request.store.writing(f"Airflow task {request.config.name}.{node_id}"):
            # Fails fast, naming the server, when the store cannot be reached.
            store = request.store.open(read_only=False, create=True)
            run_id = mlmd_run_id(store, request.config.name, node_id, context)
            logging.info(
                "Cascade: node %s, MLMD run %s, store %s",
                node_id,
                run_id,
                request.store.describe(),
            )
            runtime_parameter_utils.substitute_runtime_parameter(
                ir,
                {
                    constants.PIPELINE_RUN_ID_PARAMETER_NAME: run_id,
                    SPAN_RANGE_PARAMETER: span_range_json(
                        request.config, context["logical_date"].date()
                    ),
                },
            )
            [node] = [n for n in ir.nodes if n.pipeline_node.node_info.id == node_id]
            deployment = runner_utils.extract_local_deployment_config(ir)
            last = not node.pipeline_node.downstream_nodes
            try:
                launcher.Launcher(
                    pipeline_node=node.pipeline_node,
                    mlmd_connection=metadata.Metadata(request.store.connection_config()),
                    pipeline_info=ir.pipeline_info,
                    pipeline_runtime_spec=ir.runtime_spec,
                    executor_spec=runner_utils.extract_executor_spec(deployment, node_id),
                    custom_driver_spec=runner_utils.extract_custom_driver_spec(deployment, node_id),
                ).launch()
            except Exception:
                # The run may end here: say so in MLMD (a retry that succeeds
                # goes on, and the last task records the run again).
                record_run(store, run_id, request.config)
                raise
            if last:
                record_run(store, run_id, request.config)
    finally:
        for handler in handlers:
            handler.removeFilter(redact)


def _task_log_handlers() -> list[logging.Handler]:
    """The handlers a task's log lines pass through (Airflow's and the root's)."""
    handlers = list(logging.getLogger().handlers)
    handlers += [h for h in logging.getLogger("airflow.task").handlers if h not in handlers]
    return handlers


def _doc(config: PipelineConfig) -> str:
    """The DAG's description in Airflow's UI (Markdown)."""
    return "\n".join(
        [
            f"**Cascade pipeline `{config.name}`**, built from `{config.config_path}`.",
            "",
            "One task per TFX component; a task's MLMD records are those of a local "
            "`cascade run`: `cascade lineage runs` lists this DAG's runs.",
            f"Each run {span_rule(config)}.",
        ]
    )
