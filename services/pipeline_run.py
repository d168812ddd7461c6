"""A pipeline run: check the inputs, run every component, record the run in MLMD.

The Beam steps run on Beam's FnApiRunner, the DirectRunner's batch engine
(profile `local`, the default, or `local-parallel`), or on Google Cloud
Dataflow; either way the orchestration, the metadata store and the Trainer
run on this machine under TFX's LocalDagRunner.

Files go under the config's `output.root`; with Dataflow the artifacts go to
`<bucket>/cascade/<name>/pipeline` instead. After the run, its config and
its headline results are recorded in the store (`metadata.run_summary`,
`metadata.run_results`), so `history` and `upstream` can show them.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from typing import Any, Callable, Optional

from core.environment import RedactSecrets
from core.errors import CascadeError
from core.source_folders import FolderFiles
from metadata.run_summary import RunSummary
from metadata.run_verdict import RunVerdict
from pipeline import config as config_lib
from pipeline import preflight, split_preview
from pipeline.cleaning_preview import CleaningPreview
from pipeline.runners import DataflowOptions
from services.store import StoreOptions


@dataclasses.dataclass(frozen=True)
class RunRequest:
    """One pipeline run.

    Attributes:
      config: The validated pipeline config (it knows its file, recorded with the run).
      store: The metadata store to record in.
      profile: The Beam runner profile (`pipeline.runners.PROFILES`).
      dataflow: Dataflow's options with profile `dataflow`, else None.
      use_cache: Reuse the outputs of unchanged steps.
      until: Run only this component and the ones whose outputs it reads.
      verbose: Echo TFX's and Beam's logs to stderr as well as the log file.
    """

    config: config_lib.PipelineConfig
    store: StoreOptions
    profile: str = "local"
    dataflow: Optional[DataflowOptions] = None
    use_cache: bool = True
    until: Optional[str] = None
    verbose: bool = False


@dataclasses.dataclass(frozen=True)
class CheckedInputs:
    """What the preflight found.

    Attributes:
      request: The run to run: its config's label classes are known, as
        listed or as found in the sources.
      sources: Per source: files, rows and rows per label class.
      reference_rows: Rows per reference dataset, e.g. {"spam_list": 156}.
      not_read: Each folder the run reads that holds other files or
        subfolders, which it does not read (`core.source_folders`).
    """

    request: RunRequest
    sources: list[preflight.SourceSummary]
    reference_rows: dict[str, int]
    not_read: list[FolderFiles] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class RunResult:
    """A finished (or failed) run.

    Attributes:
      summary: The run as MLMD holds it, or None if no execution was recorded.
      seconds: Wall time of the orchestration.
      failure: Why the run failed, in one line with secrets redacted, or None.
      log_path: The run's log file.
      verdict: What became of the model: gated, not pushed (and why), pushed.
      lineage_warning: Why the run's OpenLineage events were not all delivered
        to the config's endpoint (one line), or None.
    """

    summary: Optional[RunSummary]
    seconds: float
    failure: Optional[str]
    log_path: str
    verdict: Optional[RunVerdict] = None
    lineage_warning: Optional[str] = None


def prepare(request: RunRequest) -> RunRequest:
    """The request as it will run: on Dataflow, artifacts under the bucket.

    Raises:
      CascadeError: `until` names no component, or Dataflow is asked for with
        data that is not on GCS (checked before any network call: the workers
        read the data and write the artifacts).
    """
    if request.until and request.until not in config_lib.COMPONENT_IDS:
        raise CascadeError(
            f"--until {request.until}: no such component "
            f"(one of: {', '.join(config_lib.COMPONENT_IDS)})"
        )
    if request.dataflow is None:
        return request
    from pipeline import runners

    config = request.config
    runners.check_on_gcs(config.data_paths())
    output = dataclasses.replace(
        config.output, artifact_root=request.dataflow.artifact_root(config.name)
    )
    return dataclasses.replace(request, config=dataclasses.replace(config, output=output))


def check_inputs(request: RunRequest, say: Callable[[str], None]) -> CheckedInputs:
    """Checks every source and reference dataset, and that outputs cannot overwrite them.

    Label classes the config does not list are taken from what the check saw,
    so building the pipeline reads no file again.

    Args:
      request: The run (after `prepare`).
      say: Takes progress lines while large files are checked.

    Returns:
      The request to run (its label classes known), what the check counted,
      and the folders' entries the run will not read.

    Raises:
      CascadeError: A MySQL store's server is not reached, or does not answer,
        in time; a source, the spam list, the id map or the curated schema
        is unusable (`pipeline.schema_file`), the sources hold fewer than two
        label classes or not the configured positive one, CleanExamples would
        remove every row (`pipeline.cleaning_preview`), a split ratio would
        give its split no row (`pipeline.split_preview`), or the output root
        would hold or overwrite input data (naming the file).
    """
    from pipeline.output_space import check_output_root

    # A MySQL server that does not answer is named before the preflight's
    # minutes on large data (the run opens the store after them).
    request.store.check_reachable()
    config = request.config
    if config.schema is not None:
        from pipeline.schema_file import check_schema

        check_schema(config)
    # The spam list and id map first: the sources' rows are then counted as
    # CleanExamples will clean them (`pipeline.cleaning_preview`).
    cleaning = CleaningPreview(config)
    reference = preflight.check_reference_data(config, cleaning)
    sources = preflight.check_sources(config, report=say, on_row=cleaning.add_row)
    config = config.with_label_classes(preflight.found_label_classes(sources))
    id_key = config.id_key
    cleaning.check_rows_left({s.name: s.types.of(id_key)[0] for s in sources} if id_key else {})
    split_preview.check_no_split_empty(config, sources)
    check_output_root(config.output.root, [f for s in sources for f in s.files])
    return CheckedInputs(
        dataclasses.replace(request, config=config),
        sources,
        reference,
        preflight.folders_not_read(config, sources),
    )


def run_pipeline(request: RunRequest, say: Callable[[str], None]) -> RunResult:
    """Runs the pipeline under the store's write lock and records the run.

    Args:
      request: The run, as `check_inputs` returns it.
      say: Takes the lines a person watching the run wants: other pipelines
        sharing the store, the start, one line per component start and finish.

    Returns:
      The run's summary and outcome; a failed component is a result
      (`failure`), not an exception, so the summary of what ran is kept.

    Raises:
      CascadeError: The store is in use for too long or cannot be opened.
    """
    config = request.config
    with request.store.writing(
        f"cascade run, pipeline {config.name!r}",
        advice="run again when it has finished, or use another --output-root",
    ):
        return _run_locked(request, say)


def _run_locked(request: RunRequest, say: Callable[[str], None]) -> RunResult:
    """`run_pipeline` once the store is held."""
    from core.environment import send_logs_to_file, stderr_to_file

    config = request.config
    secrets = request.store.secrets()
    send_logs_to_file(config.output.log_path, request.verbose, secrets=secrets)
    # Heavy imports only once the inputs are known to be good.
    from tfx import v1 as tfx

    from metadata import run_results, run_summary, runs
    from pipeline import runners
    from pipeline.pipeline import create_pipeline
    from services import openlineage_export
    from services.run_progress import ComponentProgress

    connection = request.store.connection_config()
    pipeline = create_pipeline(
        config,
        metadata_connection_config=connection,
        beam_pipeline_args=runners.beam_pipeline_args(
            request.profile, os.path.join(config.output.root, "tmp"), request.dataflow
        ),
        enable_cache=request.use_cache,
        until=request.until,
    )
    store = request.store.open(read_only=False, create=True)  # fails fast on a bad server
    others = [p for p in runs.pipelines(store) if p != config.name]
    if others and request.store.mysql is None:
        say(
            f"note: the metadata store {config.output.metadata_path} also holds pipeline "
            f"{', '.join(repr(p) for p in others)}; lineage commands pick one with --pipeline"
        )
    say(f"Running {len(pipeline.components)} components (logs: {config.output.log_path}) ...")
    started = time.monotonic()
    started_ms = int(time.time() * 1000)
    failure: Optional[str] = None
    progress = ComponentProgress(len(pipeline.components), say)
    logging.getLogger().addHandler(progress)
    try:
        with stderr_to_file(config.output.log_path):
            tfx.orchestration.LocalDagRunner().run(pipeline)
    except Exception as e:  # noqa: BLE001 - a failed component is part of the result
        failure = failure_reason(e, RedactSecrets(secrets))
    finally:
        logging.getLogger().removeHandler(progress)
    seconds = time.monotonic() - started

    run_id = run_summary.run_id_of_executions(
        store, progress.execution_ids
    ) or run_summary.newest_run_since(store, config.name, started_ms)
    summary = verdict = lineage_warning = None
    if run_id is not None:
        results, verdict = record_run(store, run_id, config)
        summary = dataclasses.replace(
            run_summary.summarize_run(store, run_id),
            evaluation=results.evaluation,
            confusion_matrix=results.confusion_matrices.get(run_results.OVERALL, {}),
        )
        lineage_warning = openlineage_export.emit_after_run(store, config, run_id)
    return RunResult(summary, seconds, failure, config.output.log_path, verdict, lineage_warning)


def record_run(
    store: Any, run_id: str, config: config_lib.PipelineConfig
) -> tuple[Any, RunVerdict]:
    """Records on a run's MLMD context its config, headline results and verdict.

    Safe to call again as the run goes on (a scheduler calls it after every
    task): each call rewrites the same properties from what MLMD holds.

    Args:
      store: The metadata store (an ml_metadata MetadataStore).
      run_id: The run (its `pipeline_run` context name).
      config: The config the run was built from.

    Returns:
      (the run's `metadata.run_results.RunResults`, its verdict).
    """
    from metadata import run_results, run_summary, run_verdict

    run_summary.record_run_config(store, run_id, config)
    results = run_results.collect(store, run_id)
    run_results.record(store, run_id, results)
    verdict = run_verdict.collect(store, run_id)
    run_verdict.record(store, run_id, verdict)
    return results, verdict


def failure_reason(failure: BaseException, redact: RedactSecrets) -> str:
    """Why a run failed, in one line, with secrets redacted.

    A failed connection's exception can quote the metadata connection config,
    MySQL password included; the log filter redacts it in the log, and this
    everywhere else.
    """
    return redact.redact(f"{type(failure).__name__}: {failure}")
