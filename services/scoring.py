"""A batch scoring: raw data -> the model's serving signature -> predictions, checked and recorded.

One process scores one CSV file (`serving.scoring`); with a runner profile a
Beam job scores CSV or TFRecord files with RunInference
(`serving.beam_scoring`); the scores are the same. The model is the latest
one Pusher pushed for the config's pipeline unless the request names one.
Every scoring checks training/serving skew (`services.skew_check`) and is
recorded in the metadata store (`metadata.scoring_records`), so lineage
reaches the predictions and checks made with a model.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
from typing import Any, Optional, Sequence

from core import output_paths
from core.errors import CascadeError
from pipeline.config import PipelineConfig
from pipeline.runners import DataflowOptions
from services.skew_check import Reference, SkewOutcome
from services.store import StoreOptions


@dataclasses.dataclass(frozen=True)
class ScoreRequest:
    """One scoring.

    Attributes:
      input: A raw CSV file; with `profile` also a glob or folder of CSV or
        TFRecord files.
      config: The pipeline config; None only when the request needs nothing
        from it (a named model, output and store, and no recording).
      store: The metadata store; None when neither the model, the skew check
        nor recording needs one.
      output: The predictions CSV, or a folder with `shards` other than 1
        (None: `<output.root>/predictions/<input name>-<UTC time>.csv`).
      model: The serving model folder (None: the latest pushed one in MLMD).
      keep: Input columns copied into the predictions.
      record: Record the scoring in MLMD.
      check_skew: Check the input against the model's training statistics.
      batch_size: Rows per model call in one process (None: the default).
      shards: With `profile`: output files (1: one CSV; 0: the runner chooses).
      profile: Score on Beam with this runner profile (None: one process).
      dataflow: Dataflow's options with profile `dataflow`.
      force: Replace an `output` that exists: the file (and its skew check's
        folder beside it), or the `part-*` files of a folder of shards.
    """

    input: str
    config: Optional[PipelineConfig]
    store: Optional[StoreOptions]
    output: Optional[str] = None
    model: Optional[str] = None
    keep: Sequence[str] = ()
    record: bool = True
    check_skew: bool = True
    batch_size: Optional[int] = None
    shards: int = 1
    profile: Optional[str] = None
    dataflow: Optional[DataflowOptions] = None
    force: bool = False


@dataclasses.dataclass(frozen=True)
class ScoreOutcome:
    """A finished scoring.

    Attributes:
      scoring: `serving.scoring.ScoringResult` or `serving.beam_scoring.BeamScoringResult`.
      model_dir: The model that scored.
      output: Where the predictions are.
      log_path: Where TensorFlow's and Beam's logs went.
      skew: The skew check, or None (not asked for, or no rows).
      checks_dir: The skew check's statistics and anomalies, if checked.
      recorded: The MLMD ids written, or None without recording.
      lineage_warning: Why the scoring's OpenLineage events were not delivered
        to the config's endpoint (one line), or None.
    """

    scoring: Any
    model_dir: str
    output: str
    log_path: str
    skew: Optional[SkewOutcome]
    checks_dir: Optional[str]
    recorded: Any
    lineage_warning: Optional[str] = None


def score(request: ScoreRequest) -> ScoreOutcome:
    """Scores, checks skew and records, in that order.

    The model, its training statistics and the skew thresholds are found
    before any scoring, so a broken model or calibration fails before
    predictions are written. The SQLite store's write lock is taken before
    scoring and held until the scoring is recorded, so published predictions
    are always recorded.

    Raises:
      CascadeError: Config, store, model or input problems, in one sentence;
        an `output` that exists without `force`.
    """
    from metadata import scoring_records
    from pipeline import runners
    from serving import scoring
    from serving.model import read_columns, resolve_model_dir
    from services import skew_check

    if request.profile is None and (os.path.isdir(request.input) or "*" in request.input):
        raise CascadeError(
            f"--input {request.input} is a folder or a pattern: one process scores one CSV "
            "file; add --profile local (or local-parallel) to score many files on Beam"
        )
    if request.output:
        check_output(request.output, request.shards, request.check_skew, request.force)
    config = request.config
    # A model named in the request is checked before the store is opened: its
    # problem is the more specific one.
    model_dir = resolve_model_dir(request.model) if request.model else None
    columns = read_columns(model_dir) if model_dir else None  # fails at once on a non-model
    store = None
    if request.record or not request.model or request.check_skew:
        if request.store is None:
            raise CascadeError("scoring needs a metadata store: give --metadata or --config")
        store = request.store.open(read_only=not request.record)
    if model_dir is None:
        model_dir = resolve_model_dir(scoring_records.latest_pushed_model(store, config.name))
        columns = read_columns(model_dir)
    output = request.output or scoring.default_output(
        config.output.root, request.input, suffix=".csv" if request.shards == 1 else ""
    )
    if request.dataflow is not None:
        runners.check_on_gcs(
            [("--input", request.input), ("--output", output), ("--model", model_dir)]
        )
    if request.check_skew and not request.output:  # a given --output was checked above
        output_paths.check_output_folder(
            scoring.checks_dir(output), f"--output {output}: its skew check's folder"
        )
    reference = (
        skew_check.find_reference(store, model_dir, columns, config) if request.check_skew else None
    )
    with contextlib.ExitStack() as held:
        if request.record:
            held.enter_context(request.store.writing(f"predict, pipeline {config.name!r}"))
        return _score_check_and_record(request, store, model_dir, columns, output, reference)


def check_output(output: str, shards: int, check_skew: bool, force: bool) -> None:
    """Refuses an output the user did not ask to replace, before any work.

    Args:
      output: The predictions file (`shards` 1) or folder of shards.
      shards: As in the request.
      check_skew: The skew check's folder is written beside the predictions.
      force: Replace what is there.

    Raises:
      CascadeError: The file, or the skew check's folder beside it, exists;
        or the folder of shards holds files; without `force`. Either cannot
        be written (a file in the way, a read-only folder), with or without.
    """
    from serving import scoring

    if shards == 1:
        output_paths.check_output_file(output, "--output", force, make_folder=True)
    else:
        output_paths.check_output_folder(output, "--output", force)
    checks = scoring.checks_dir(output)
    if check_skew:
        # A file in its way, or a folder it cannot be written in (replacing what
        # is there is the next check's question).
        output_paths.check_output_folder(
            checks, f"--output {output}: its skew check's folder", force=True
        )
    if check_skew and not force and output_paths.exists(checks):
        raise CascadeError(
            f"--output {output}: the skew check's folder beside it, {checks}, exists; pass "
            f"{output_paths.FORCE_FLAG} to replace its statistics and anomalies, or name "
            "another --output"
        )


def _log_path(config: Optional[PipelineConfig]) -> str:
    """Where TensorFlow's and Beam's logs go while scoring, so only the report is printed."""
    if config is not None and "://" not in config.output.root:
        return os.path.join(config.output.root, "scoring.log")
    return os.path.join(tempfile.gettempdir(), "cascade-scoring.log")


def _run_scoring(request: ScoreRequest, model_dir: str, columns: Sequence[Any], output: str):
    """Scores with the chosen path; returns its ScoringResult / BeamScoringResult."""
    from serving import scoring

    if request.profile is None:
        from serving.model import ServingModel

        return scoring.score_csv(
            ServingModel(model_dir),
            request.input,
            output,
            request.keep,
            request.batch_size or scoring.BATCH_SIZE,
            with_statistics=request.check_skew,
        )
    from pipeline import runners
    from serving import beam_scoring
    from serving.model import read_label

    return beam_scoring.score_files(
        request.input,
        model_dir,
        columns,
        read_label(model_dir),
        output,
        runners.beam_pipeline_args(request.profile, "", request.dataflow, own_job=True),
        keep=request.keep,
        shards=request.shards,
        with_statistics=request.check_skew,
    )


def _score_check_and_record(
    request: ScoreRequest,
    store: Any,
    model_dir: str,
    columns: Sequence[Any],
    output: str,
    reference: Optional[Reference],
) -> ScoreOutcome:
    """Scores, checks skew against `reference` (if any) and records (if asked)."""
    from core.environment import send_logs_to_file, stderr_to_file
    from metadata import scoring_records
    from serving import scoring
    from services import openlineage_export, skew_check

    log_path = _log_path(request.config)
    send_logs_to_file(log_path, verbose=False)
    with stderr_to_file(log_path):
        result = _run_scoring(request, model_dir, columns, output)
    outcome, checks = None, None
    if reference is not None and result.rows:
        checks = scoring.checks_dir(output)
        outcome = skew_check.check(
            reference, result.statistics, columns, checks, result.absent_columns
        )
    recorded = lineage_warning = None
    if request.record:
        recorded = scoring_records.record_scoring(
            store,
            request.config.name,
            model_dir,
            request.input,
            output,
            result,
            outcome.record if outcome else None,
        )
        lineage_warning = openlineage_export.emit_after_execution(
            store, request.config, recorded.execution_id
        )
    return ScoreOutcome(
        result, model_dir, output, log_path, outcome, checks, recorded, lineage_warning
    )
