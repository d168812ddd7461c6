"""A batch transform: the saved tf.Transform graph applied to new raw data on Beam.

The graph is the one the latest pushed model was trained with (found in
MLMD) unless the request names one; `serving.batch_transform` reads the
input and writes the transformed examples.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Optional

from core import output_paths
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
      store: The metadata store to find the graph in (unused with `transform_graph`).
      transform_graph: The Transform output folder (None: the served model's, from MLMD).
      profile: The Beam runner profile.
      dataflow: Dataflow's options with profile `dataflow`.
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
    force: bool = False


@dataclasses.dataclass(frozen=True)
class TransformResult:
    """A finished batch transform.

    Attributes:
      rows: Rows transformed.
      transform_dir: The graph used.
      chosen: How that graph was chosen, in words.
      output_pattern: The files written.
    """

    rows: int
    transform_dir: str
    chosen: str
    output_pattern: str


def transform(request: TransformRequest) -> TransformResult:
    """Runs the batch transform the request describes.

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
    output_paths.check_output_folder(request.output, "--output", request.force)
    transform_dir = request.transform_graph
    if transform_dir:
        chosen = "given with --transform-graph"
    else:
        store = request.store.open(read_only=True)
        transform_dir, chosen = scoring_records.served_transform_graph(store, config.name)
    if request.dataflow is not None:
        runners.check_on_gcs([("the transform graph", transform_dir)])
    names = batch_transform.serving_names(config, request.input)
    exclude = [] if config.label in names else [features.label_output_name(config.label)]
    # The job's temp location is its staging folder's (see serving.batch_transform).
    beam_args = runners.beam_pipeline_args(request.profile, "", request.dataflow, own_job=True)
    report = batch_transform.run_batch_transform(
        request.input, transform_dir, names, request.output, beam_args, exclude
    )
    return TransformResult(
        rows=report["rows"],
        transform_dir=transform_dir,
        chosen=chosen,
        output_pattern=os.path.join(request.output, batch_transform.OUTPUT_FILE_PREFIX) + "-*.gz",
    )
