"""Building Beam jobs for Dataflow without submitting them (no network, no account).

DataflowRunner with `--dry_run=True` does everything up to the submission:
it expands every transform, pickles every DoFn, encodes coders and translates
the graph to the Runner v2 job proto. What fails on Dataflow at submission
(an unpicklable closure, a transform the runner cannot translate, a bad
option) fails here.
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline import runners

BUCKET = "gs://cascade-dry-run-bucket"
OPTIONS = runners.DataflowOptions(project="cascade-dry-run", region="us-central1", bucket=BUCKET)


def dataflow_pipeline() -> beam.Pipeline:
    """A pipeline for the `dataflow` profile's args, in dry-run mode."""
    args = runners.beam_pipeline_args("dataflow", "", OPTIONS) + ["--dry_run=True"]
    return beam.Pipeline(options=PipelineOptions(args))


def translate(pipeline: beam.Pipeline) -> set[str]:
    """Runs the dry run; returns the unique names of the translated job's transforms."""
    result = pipeline.run()
    assert result.state == "DONE"
    transforms = pipeline.runner.proto_pipeline.components.transforms.values()
    return {t.unique_name for t in transforms}
