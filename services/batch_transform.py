"""A batch transform: the saved tf.Transform graph applied to new raw data on Beam.

The graph is the one the latest pushed model was trained with (found in
MLMD) unless the request names one; `serving.batch_transform` reads the
input and writes the transformed examples. Each transform is recorded in the
metadata store (`metadata.transform_records`), as a scoring is, and its
OpenLineage events go to the config's endpoint, if it names one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from typing import Any, Optional

from core import output_paths
from core.hashing import combined_sha256
from pipeline.config import PipelineConfig
from pipeline.runners import DataflowOptions
from services.store import StoreOptions


@dataclasses.dataclass(frozen=True)
class TransformRequest:
    """One batch transform.

    Attributes:
      input: A raw CSV or TFRecord file pattern.
      output: The output folder.
      config: The pipeline config (the pipeline's name, raw columns and label).
      store: The metadata store to find the graph in and record the transform
        in (unused with `transform_graph` and without `record`).
      transform_graph: The Transform output folder (None: the served model's, from MLMD).
      profile: The Beam runner profile.
      dataflow: Dataflow's options with profile `dataflow`.
      record: Record the transform in MLMD.
      force: Write into an output folder that holds files already
        (replacing its earlier `transformed_examples-*` files; others are kept).
    """

    input: str
    output: str
    config: PipelineConfig
    store: StoreOptions
    transform_graph: Optional[str] = None
    profile: str = "local"
    dataflow: Optional[DataflowOptions] = None
    record: bool = True
    force: bool = False


@dataclasses.dataclass(frozen=True)
class TransformResult:
    """A finished batch transform.

    Attributes:
      rows: Rows transformed.
      transform_dir: The graph used.
      chosen: How that graph was chosen, in words.
      output_pattern: The files written.
      input_sha256: The input file's sha256; for several files, the sha256 of
        their `sha256sum` lines.
      input_files: How many files were read.
      seconds: Wall time of the job.
      recorded: The MLMD ids written (`metadata.transform_records.RecordedTransform`),
        or None without recording.
      lineage_warning: Why the transform's OpenLineage events were not
        delivered to the config's endpoint (one line), or None.
    """

    rows: int
    transform_dir: str
    chosen: str
    output_pattern: str
    input_sha256: str = ""
    input_files: int = 0
    seconds: float = 0.0
    recorded: Any = None
    lineage_warning: Optional[str] = None


def transform(request: TransformRequest) -> TransformResult:
    """Runs the batch transform the request describes, and records it.

    The SQLite store's write lock is taken before the job and held until the
    transform is recorded (as `predict` holds it), so written output is
    always recorded.

    Raises:
      CascadeError: The input, output, graph or store cannot be used (naming
        it): an output folder that holds files already is refused without
        `force`.
    """
    from metadata import scoring_records
    from pipeline import runners
    from serving import batch_transform
    from transforms import features

    config = request.config
    if request.dataflow is not None:
        runners.check_on_gcs([("--input", request.input), ("--output", request.output)])
    # The input is checked first: its problem is the more specific one.
    names = batch_transform.serving_names(config, request.input)
    output_paths.check_output_folder(request.output, "--output", request.force)
    store = None
    if request.record or not request.transform_graph:
        store = request.store.open(read_only=not request.record)
    transform_dir = request.transform_graph
    if transform_dir:
        chosen = "given with --transform-graph"
    else:
        transform_dir, chosen = scoring_records.served_transform_graph(store, config.name)
    if request.dataflow is not None:
        runners.check_on_gcs([("the transform graph", transform_dir)])
    exclude = [] if config.label in names else [features.label_output_name(config.label)]
    # The job's temp location is its staging folder's (see serving.batch_transform).
    beam_args = runners.beam_pipeline_args(request.profile, "", request.dataflow, own_job=True)
    with contextlib.ExitStack() as held:
        if request.record:
            held.enter_context(request.store.writing(f"transform, pipeline {config.name!r}"))
        started = time.monotonic()
        report = batch_transform.run_batch_transform(
            request.input, transform_dir, names, request.output, beam_args, exclude
        )
        result = TransformResult(
            rows=report["rows"],
            transform_dir=transform_dir,
            chosen=chosen,
            output_pattern=os.path.join(request.output, batch_transform.OUTPUT_FILE_PREFIX)
            + "-*.gz",
            input_sha256=combined_sha256([(path, sha) for path, sha in report["files"]]),
            input_files=len(report["files"]),
            seconds=time.monotonic() - started,
        )
        if not request.record:
            return result
        return _record(store, request, result)


def _record(store: Any, request: TransformRequest, result: TransformResult) -> TransformResult:
    """Records a finished transform and posts its OpenLineage events (the lock held)."""
    from core import interrupts
    from metadata import transform_records
    from services import openlineage_export

    # The output is written: recording runs to its end (see core.interrupts).
    interrupts.finish_without_interrupts()
    recorded = transform_records.record_batch_transform(
        store,
        request.config.name,
        result.transform_dir,
        request.input,
        request.output,
        result,
    )
    warning = openlineage_export.emit_after_execution(store, request.config, recorded.execution_id)
    return dataclasses.replace(result, recorded=recorded, lineage_warning=warning)
