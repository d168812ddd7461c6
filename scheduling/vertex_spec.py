"""The pipeline as a Vertex AI Pipelines spec, compiled offline (`cascade schedule vertex`).

TFX's KubeflowV2DagRunner compiles the pipeline `cascade run` runs into a
Kubeflow Pipelines v2 PipelineJob (JSON) that Vertex AI Pipelines runs: one
container task per component, every task in one image, each Beam step
started from its task as a Dataflow job. Compiling reads no data and calls
no service (but for a curated schema on GCS, whose sha256 goes into the
spec, a `gs://` output, and the label column of the input data when the
config lists no label classes: the ones found are compiled into the spec);
nothing is submitted.

Files: artifacts under `<bucket>/cascade/<pipeline>/pipeline` (the spec's
pipeline root); the pushed model under `<output.root>/serving_model` when
`output.root` is on GCS, else `<bucket>/cascade/<pipeline>/serving_model`.
Metadata: the Vertex ML Metadata of the project that runs the job.

Drift: ServedStatistics finds the served model's training statistics with a
resolver strategy of Cascade's own, and TFX 1.16's v2 compiler compiles only
its two stock strategies (LatestArtifactStrategy, LatestBlessedModelStrategy).
A spec therefore compares no drift: `drift.on_breach: warn` is compiled as
`off` with a note, and `fail` is refused.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Collection, Optional, Sequence

from core import output_paths
from core.errors import CascadeError
from core.labels import LabelSpec, found_classes_line
from pipeline.config import OutputConfig, PipelineConfig
from pipeline.gate_config import DRIFT_FAIL, DRIFT_OFF
from pipeline.runners import DataflowOptions

EXTRA_INSTALL = "pip install -c requirements.lock '.[vertex]'"
# Who reads the data on Vertex, for runners.check_on_gcs's error line.
_READERS = "on Vertex AI Pipelines the steps and their Dataflow workers read the data"


@dataclasses.dataclass(frozen=True)
class VertexSpecRequest:
    """What to compile, and where to write it.

    Attributes:
      config: The validated pipeline config; its datasets must be on GCS.
      dataflow: Where the Beam steps run (project, region, bucket), or None
        when the flags were not given.
      output: The spec file to write (local or `gs://`; JSON).
      image: The container image of every step (`--image`); None takes the
        config's `vertex.image`.
      force: Overwrite `output` if it exists.
    """

    config: PipelineConfig
    dataflow: Optional[DataflowOptions]
    output: str
    image: Optional[str] = None
    force: bool = False


@dataclasses.dataclass(frozen=True)
class VertexSpecResult:
    """A written spec.

    Attributes:
      output: The file written.
      pipeline: The pipeline's name (the Vertex AI job's display name).
      image: The image every step runs in.
      steps: The spec's tasks in running order (the BaselineModel resolver
        compiles to two tasks).
      dataflow: The Dataflow options the Beam steps run with.
      pipeline_root: Where the artifacts go.
      serving_model_dir: Where Pusher copies a blessed model.
      beam_sdk_image: Beam's SDK image of the version this spec was compiled
        with: the worker boot the Dataflow workers' image needs.
      notes: What the spec does differently from `cascade run`, one line each.
      label: The label, its classes as compiled into the spec.
      classes_found: The classes were found in the input data (the config
        lists none).
    """

    output: str
    pipeline: str
    image: str
    steps: tuple[str, ...]
    dataflow: DataflowOptions
    pipeline_root: str
    serving_model_dir: str
    beam_sdk_image: str
    notes: tuple[str, ...] = ()
    label: Optional[LabelSpec] = None
    classes_found: bool = False

    def report_lines(self) -> list[str]:
        """What was written, what differs from a local run, and how to submit it."""
        workers = self.dataflow.sdk_container_image
        same = workers == self.image
        where = f"project {self.dataflow.project}, region {self.dataflow.region}"
        boot = (
            f" and Beam's worker boot (/opt/apache/beam of {self.beam_sdk_image}): "
            "the Dataflow workers run it too"
            if same
            else f"; the Dataflow workers run {workers}"
        )
        return [
            f"wrote {self.output}: Vertex AI pipeline {self.pipeline!r}, {len(self.steps)} "
            f"steps in image {self.image}; Beam steps on Dataflow ({where}"
            + ("" if same else f", workers in image {workers}")
            + ")",
            f"steps: {', '.join(self.steps)}",
            f"artifacts under {self.pipeline_root}; the pushed model in "
            f"{self.serving_model_dir}; metadata in the project's Vertex ML Metadata",
            *(f"note: {note}" for note in self.notes),
            *(
                [found_classes_line(self.label, ", compiled into the spec")]
                if self.label is not None and self.classes_found
                else []
            ),
            f"To run it: {self.image} must hold this project ({EXTRA_INSTALL}){boot}; "
            "the data must be at its gs:// paths; the project needs the Vertex AI and "
            "Dataflow APIs, and the job's service account may start Dataflow jobs and "
            f"read and write {self.dataflow.root}",
            "Submit it with google-cloud-aiplatform: "
            f"aiplatform.PipelineJob(display_name={self.pipeline!r}, "
            f"template_path={self.output!r}, project={self.dataflow.project!r}, "
            f"location={self.dataflow.region!r}).submit()",
        ]


def compile_spec(request: VertexSpecRequest) -> VertexSpecResult:
    """Compiles the config's pipeline into a Vertex AI Pipelines spec and writes it.

    The checks that need no TensorFlow run first; the compile itself takes
    a few seconds, most of them importing TFX.

    Args:
      request: The config, Dataflow options, image and output file.

    Returns:
      What was written: steps, image, where artifacts and the model go.

    Raises:
      CascadeError: The vertex extra is not installed; no Dataflow options;
        no image (neither `--image` nor `vertex.image`); `output` exists
        without `force` or names a YAML file; a dataset or the curated
        schema is not on GCS (naming the config field); `drift.on_breach` is
        `fail`, which a spec cannot hold; label classes are to be found and a
        source cannot be read, or holds fewer than two or not the configured
        positive one; or the spec cannot be written.
    """
    from pipeline import preflight

    _check_extra()
    dataflow = _dataflow(request.dataflow)
    image = _image(request)
    _check_output(request.output, request.force)
    config, notes = vertex_config(request.config, dataflow)
    config = preflight.resolve_label_classes(config)

    # Heavy imports only once the request is known to be good.
    import apache_beam
    from tfx import v1 as tfx

    from pipeline.pipeline import create_pipeline

    workers = worker_options(dataflow, image)
    pipeline = create_pipeline(
        config,
        metadata_connection_config=None,
        beam_pipeline_args=beam_args(workers),
        enable_cache=True,
    )
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=image)
    )
    spec = runner.run(pipeline, write_out=False)
    _write(request.output, json.dumps(spec, indent=2, sort_keys=True) + "\n")
    tasks = spec["pipelineSpec"]["root"]["dag"]["tasks"]
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    return VertexSpecResult(
        output=request.output,
        pipeline=config.name,
        image=image,
        steps=tuple(running_order([c.id for c in pipeline.components], tasks)),
        dataflow=workers,
        pipeline_root=config.output.pipeline_root,
        serving_model_dir=config.output.serving_model_dir,
        beam_sdk_image=f"apache/beam_python{python}_sdk:{apache_beam.__version__}",
        notes=tuple(notes),
        label=config.label_spec,
        classes_found=request.config.label_classes is None,
    )


def vertex_config(
    config: PipelineConfig, dataflow: DataflowOptions
) -> tuple[PipelineConfig, list[str]]:
    """The config as the spec runs it: files on GCS, no drift comparison.

    Args:
      config: The validated config.
      dataflow: The Dataflow options; their bucket holds what the steps write.

    Returns:
      (the config with artifacts and the pushed model under the bucket and
      drift off, a note for each difference from a local run worth knowing).

    Raises:
      CascadeError: A dataset or the curated schema is a local path (the
        steps run in Google Cloud), or `drift.on_breach` is `fail`.
    """
    from pipeline import runners

    paths = config.data_paths() + ([("schema", config.schema)] if config.schema else [])
    runners.check_on_gcs(paths, reason=_READERS)
    notes = []
    drift = config.drift
    if drift.on_breach == DRIFT_FAIL:
        raise CascadeError(
            f"drift.on_breach: fail cannot hold on Vertex AI Pipelines: ServedStatistics "
            "finds the served model's training statistics with Cascade's own resolver "
            "strategy, which TFX's Kubeflow Pipelines v2 compiler cannot compile; set "
            f"drift.on_breach: off in {config.config_path} (warn compiles as off, with a note)"
        )
    if drift.on_breach != DRIFT_OFF:
        notes.append(
            f"drift is not compared (drift.on_breach: {drift.on_breach} compiles as off): "
            "ServedStatistics, which finds the served model's training statistics, uses "
            "Cascade's own resolver strategy, and TFX's Kubeflow Pipelines v2 compiler "
            "compiles only LatestArtifactStrategy and LatestBlessedModelStrategy; DataGate "
            "still stops a run on anomalies"
        )
        drift = dataclasses.replace(drift, on_breach=DRIFT_OFF)
    if config.spans.window > 1:
        notes.append(
            f"spans.window: {config.spans.window}: Vertex AI runs TFX's own ExampleGen "
            "driver, whose fingerprint covers the newest span's files only, so a changed "
            "file in an older span of the window does not make CsvExampleGen run again; "
            "submit with PipelineJob(..., enable_caching=False) after such a change"
        )
    root = config.output.root
    if not root.startswith("gs://"):
        root = f"{dataflow.root}/cascade/{config.name}"
    output = OutputConfig(root=root, artifact_root=dataflow.artifact_root(config.name))
    return dataclasses.replace(config, output=output, drift=drift), notes


def worker_options(dataflow: DataflowOptions, image: str) -> DataflowOptions:
    """The Dataflow options of the spec's Beam steps: workers run `--sdk-container-image`
    if given, else the steps' image, which holds the project."""
    if dataflow.sdk_container_image:
        return dataflow
    return dataclasses.replace(dataflow, sdk_container_image=image)


def beam_args(workers: DataflowOptions) -> list[str]:
    """The Beam args of every Beam step in the spec: the `dataflow` profile's,
    without `--setup_file`.

    The setup file's path is this machine's and does not exist in a Vertex AI
    task; the workers get the project from their image instead
    (`worker_options`), and a worker image keeps TFX from packaging itself.

    Raises:
      CascadeError: A Dataflow option is invalid.
    """
    from pipeline import runners

    args = runners.beam_pipeline_args("dataflow", f"{workers.root}/tmp", workers)
    return [a for a in args if not a.startswith("--setup_file=")]


def running_order(node_ids: Sequence[str], tasks: Collection[str]) -> list[str]:
    """The spec's task names in the pipeline's order.

    A node compiles to the task of its id, or to several named `<id>-...`
    (TFX splits the latest-blessed-model resolver into two queries).
    """
    ordered = []
    for node in node_ids:
        ordered += sorted(t for t in tasks if t == node or t.startswith(f"{node}-"))
    return ordered + sorted(set(tasks) - set(ordered))


def _check_extra() -> None:
    """Raises CascadeError if the vertex extra (kfp-pipeline-spec) is missing."""
    try:
        # The protos KubeflowV2DagRunner builds; without them tfx.v1 leaves it out.
        from kfp.pipeline_spec import pipeline_spec_pb2  # noqa: F401
    except ImportError:
        raise CascadeError(f"the vertex extra is not installed: {EXTRA_INSTALL}") from None


def _dataflow(dataflow: Optional[DataflowOptions]) -> DataflowOptions:
    if dataflow is None:
        raise CascadeError(
            "the Vertex AI spec runs its Beam steps on Dataflow: it needs --project, "
            "--region and --bucket"
        )
    dataflow.validate()
    return dataflow


def _image(request: VertexSpecRequest) -> str:
    if request.image:
        return request.image
    if request.config.vertex is not None:
        return request.config.vertex.image
    raise CascadeError(
        "no container image for the Vertex AI steps: set vertex.image in "
        f"{request.config.config_path} or pass --image"
    )


def _check_output(path: str, force: bool) -> None:
    if path.endswith((".yaml", ".yml")):
        raise CascadeError(
            f"--output {path}: the spec is written as JSON (TFX's YAML form leaves out "
            "the pipeline root); name a .json file"
        )
    output_paths.check_output_file(path, "--output", force)


def _write(path: str, text: str) -> None:
    """Writes the spec through fileio, so a `gs://` path works too.

    Raises:
      CascadeError: The file cannot be written (naming it and the reason).
    """
    from tfx import v1 as tfx

    try:
        with tfx.dsl.io.fileio.open(path, "w") as f:
            f.write(text)
    except Exception as e:  # noqa: BLE001 - each filesystem raises its own errors
        reason = e.strerror if isinstance(e, OSError) and e.strerror else e
        raise CascadeError(f"--output {path}: cannot write it: {reason}") from None
