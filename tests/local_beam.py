"""Options for the tests' own Beam pipelines: Beam's FnApiRunner, named.

Cascade's local profiles run the FnApiRunner (`pipeline/runners.py`). A bare
`beam.Pipeline()` runs the DirectRunner, which first tries the Prism runner
and fetches its binary from GitHub; tests reach loopback addresses only.
"""

from __future__ import annotations

from apache_beam.options.pipeline_options import PipelineOptions
from tfx.dsl.components.base import base_beam_executor

from pipeline import runners

RUNNER_ARGS = ("--runner=FnApiRunner",)


def options() -> PipelineOptions:
    """Beam options for a test pipeline run in this process."""
    return PipelineOptions(list(RUNNER_ARGS))


def executor_context(temp_dir: str) -> base_beam_executor.BaseBeamExecutor.Context:
    """The context a test gives a Beam executor: the `local` profile's Beam args.

    Args:
      temp_dir: Beam's temp location, also the executor's temporary folder
        (`_get_tmp_dir`), as TFX's launchers give both.
    """
    return base_beam_executor.BaseBeamExecutor.Context(
        beam_pipeline_args=runners.beam_pipeline_args("local", temp_dir),
        tmp_dir=temp_dir,
        unique_id="test",
    )
