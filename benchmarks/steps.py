"""Building blocks the benchmarks run in child processes: data, ExampleGen runs.

Every benchmark step runs in its own process (see `benchmarks.measure`); these
functions are what those processes call.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Optional, Sequence

if TYPE_CHECKING:  # TFX loads TensorFlow: the child processes import it, the parent need not
    from tfx import v1 as tfx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GENERATOR = os.path.join(ROOT, "data", "demo", "generate.py")
DEMO_ROWS = 5000  # rows the generator writes at --scale 1
SOURCES = ("web", "mobile", "partner")
# Written into a generated data folder, holding the generator's arguments.
GENERATED_MARKER = ".generated"
# Both sides alike: the FnApiRunner named, as Cascade's `local` profile does
# (the DirectRunner would first try to fetch a Prism binary for every step), and
# --setup_file, which stops TFX from packaging itself for every step.
BEAM_ARGS = [
    "--runner=FnApiRunner",
    "--direct_running_mode=in_memory",
    "--direct_num_workers=1",
    f"--setup_file={os.path.join(ROOT, 'setup.py')}",
]


def generate_demo_data(rows: int, folder: str, spam_rate: Optional[float] = None) -> str:
    """Writes about `rows` demo rows (plus spam list and id map) under `folder`.

    A folder the same call completed before (a kept `--work-dir`) is reused:
    the generator is deterministic, and at 10M rows it runs for minutes.

    Returns:
      `folder`, which then holds web/ mobile/ partner/ spam_accounts/ id_map/.
    """
    arguments = ["--out", folder, "--scale", str(rows / DEMO_ROWS)]
    if spam_rate is not None:
        arguments += ["--spam-rate", str(spam_rate)]
    marker = os.path.join(folder, GENERATED_MARKER)
    if os.path.exists(marker):
        with open(marker, encoding="utf-8") as f:
            if f.read() == " ".join(arguments):
                return folder
        os.remove(marker)  # a generation that fails part way must not look complete
    subprocess.run([sys.executable, GENERATOR, *arguments], check=True, capture_output=True)
    with open(marker, "w", encoding="utf-8") as f:
        f.write(" ".join(arguments))
    return folder


def prepare_child() -> None:
    """TF/Keras settings and quiet logs for a benchmark child process."""
    sys.path.insert(0, ROOT)
    from core.environment import prepare_tensorflow

    prepare_tensorflow()
    import logging

    logging.disable(logging.WARNING)


def run_example_gen(
    input_base: str,
    out: str,
    input_splits: Optional[Sequence[tuple[str, str]]] = None,
    output_buckets: Optional[Sequence[tuple[str, int]]] = None,
    component_id: str = "CsvExampleGen",
) -> tuple[float, str]:
    """Runs one stock CsvExampleGen with LocalDagRunner.

    Args:
      input_base: Folder of the CSV input.
      out: Work folder (pipeline root and metadata store).
      input_splits: (name, pattern) input splits, or None for one split of all files.
      output_buckets: (name, hash buckets) output splits, or None for the default.
      component_id: The component's id (also names its output folder).

    Returns:
      (wall seconds of the run, URI of the Examples artifact).
    """
    from tfx import v1 as tfx

    input_config = (
        tfx.proto.Input(splits=[tfx.proto.Input.Split(name=n, pattern=p) for n, p in input_splits])
        if input_splits
        else None
    )
    output_config = (
        tfx.proto.Output(
            split_config=tfx.proto.SplitConfig(
                splits=[
                    tfx.proto.SplitConfig.Split(name=n, hash_buckets=b) for n, b in output_buckets
                ]
            )
        )
        if output_buckets
        else None
    )
    example_gen = tfx.components.CsvExampleGen(
        input_base=input_base, input_config=input_config, output_config=output_config
    ).with_id(component_id)
    return run_alone(example_gen, out, component_id)


def run_alone(
    component: "tfx.dsl.components.BaseComponent", out: str, component_id: str
) -> tuple[float, str]:
    """Runs one ExampleGen-like component (output `examples`) in a pipeline of its own.

    Returns:
      (wall seconds of the run, URI of its Examples artifact).
    """
    from tfx import v1 as tfx

    pipeline = tfx.dsl.Pipeline(
        pipeline_name="bench",
        pipeline_root=os.path.join(out, "root"),
        components=[component],
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            os.path.join(out, f"{component_id}.sqlite")
        ),
        enable_cache=False,
        beam_pipeline_args=BEAM_ARGS,
    )
    started = time.monotonic()
    tfx.orchestration.LocalDagRunner().run(pipeline)
    seconds = time.monotonic() - started
    examples_root = os.path.join(out, "root", component_id, "examples")
    [uri] = [os.path.join(examples_root, d) for d in os.listdir(examples_root)]
    return seconds, uri


def examples_artifact(uri: str, splits: Sequence[str]):
    """An Examples artifact object for an existing folder (for calling executors)."""
    from tfx.types import artifact_utils, standard_artifacts

    examples = standard_artifacts.Examples()
    examples.uri = uri
    examples.split_names = artifact_utils.encode_split_names(list(splits))
    examples.set_string_custom_property("payload_format", "FORMAT_TF_EXAMPLE")
    return examples


def copy_examples(uri: str, splits: Sequence[str], out: str) -> tuple[float, str]:
    """Reads the Examples at `uri` and writes them into `out`, split by split,
    as CleanExamples and StratifiedSplit write: batches of records, streamed,
    never decoded. The least a Beam step that reads and writes these rows costs.

    Returns:
      (seconds the Beam job took, the folder of the first split's copy).
    """
    import apache_beam as beam
    from tfx.types import artifact_utils, standard_artifacts

    from components.common import examples_io

    examples = examples_artifact(uri, splits)
    output = standard_artifacts.Examples()
    output.uri = out
    examples_io.set_output_splits(output, splits, examples)
    started = time.monotonic()
    with beam.Pipeline(argv=BEAM_ARGS) as pipeline:
        for split in splits:
            batches = examples_io.read_split_batches(pipeline, examples, split, f"Read{split}")
            examples_io.write_split_batches(batches, output, split)
    return time.monotonic() - started, artifact_utils.get_split_uri([output], splits[0])


def beam_context(out: str):
    """The Beam executor context the benchmarks give executors."""
    from tfx.dsl.components.base import base_beam_executor

    return base_beam_executor.BaseBeamExecutor.Context(
        beam_pipeline_args=BEAM_ARGS, tmp_dir=os.path.join(out, "tmp"), unique_id="bench"
    )
