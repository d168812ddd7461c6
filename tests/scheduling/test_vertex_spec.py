"""scheduling.vertex_spec: `cascade schedule vertex` compiles the demo into a Vertex AI
Pipelines spec with no network, and refuses what Vertex could not run, in one line.

The demo's sources are rewritten to `gs://` paths; nothing reads them: the
label classes the demo does not list are what a stub of the label column's
scan finds. The spec is compiled once per module with every socket refused.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import socket
import sys
from pathlib import Path

import pytest

from cli.main import execute, main
from core.errors import CascadeError
from pipeline import code_versions, preflight
from pipeline.config import COMPONENT_IDS, SpansConfig, load_config
from pipeline.runners import DataflowOptions
from scheduling import vertex_spec

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO_ROOT / "configs" / "demo.yaml"
BUCKET = "gs://cascade-vertex-bucket"
IMAGE = "us-docker.pkg.dev/my-project/cascade/cascade:1.0"
DATAFLOW = ["--project", "my-project", "--region", "us-central1", "--bucket", BUCKET]
ARTIFACT_ROOT = f"{BUCKET}/cascade/cascade-demo/pipeline"
SERVING_MODEL_DIR = f"{BUCKET}/cascade/cascade-demo/serving_model"
# TFX compiles the latest-blessed-model resolver into two queries.
BASELINE_TASKS = ("BaselineModel-model-blessing-resolver", "BaselineModel-model-resolver")
# The components that run Beam, and so carry the Beam args.
BEAM_STEPS = (
    "CsvExampleGen", "SpamListGen", "IdMapGen", "CleanExamples", "StratifiedSplit",
    "StatisticsGen", "SkewCalibration", "Transform", "Evaluator",
)  # fmt: skip


def gcs_config(folder: Path, extra: str = "", name: str = "demo_gcs.yaml") -> str:
    """The demo's config with its datasets under BUCKET, plus `extra` YAML."""
    text = DEMO_CONFIG.read_text(encoding="utf-8").replace("../data/demo/", f"{BUCKET}/data/")
    path = folder / name
    path.write_text(text + extra, encoding="utf-8")
    return str(path)


@contextlib.contextmanager
def no_network():
    """Any connection or name lookup fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access while compiling: {args}")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket, "create_connection", refuse)
        patch.setattr(socket, "getaddrinfo", refuse)
        yield


@contextlib.contextmanager
def label_values(*values: str):
    """The label column of the gs:// sources holds `values` (no file is read)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(preflight, "scan_label_classes", lambda config: list(values))
        yield


def _vertex(config: str, output: Path, *flags: str) -> list[str]:
    return ["schedule", "vertex", "--config", config, *DATAFLOW, "--output", str(output), *flags]


def _tasks(spec: dict) -> dict:
    return spec["pipelineSpec"]["root"]["dag"]["tasks"]


def _executors(spec: dict) -> dict:
    return spec["pipelineSpec"]["deploymentSpec"]["executors"]


def _parameter(spec: dict, task: str, name: str):
    value = _tasks(spec)[task]["inputs"]["parameters"][name]["runtimeValue"]["constantValue"]
    [(kind, found)] = value.items()
    return int(found) if kind == "intValue" else found


def _custom_config(spec: dict, task: str) -> dict:
    return json.loads(_parameter(spec, task, "custom_config"))


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """(the command's report, the spec as JSON, the folder) of one compile of the demo."""
    folder = tmp_path_factory.mktemp("vertex")
    config = gcs_config(folder, f"vertex:\n  image: {IMAGE}\n")
    output = folder / "spec.json"
    with no_network(), label_values("1", "0"):
        report = execute(_vertex(config, output))
    return report, json.loads(output.read_text(encoding="utf-8")), folder


def test_every_step_of_the_pipeline_is_a_task_of_the_spec(compiled):
    _, spec, _ = compiled
    # ServedStatistics cannot compile (see test_drift_is_not_compared_...).
    expected = set(COMPONENT_IDS) - {"ServedStatistics", "BaselineModel"} | set(BASELINE_TASKS)
    assert set(_tasks(spec)) == expected
    assert set(spec["pipelineSpec"]["components"]) == expected
    assert set(_executors(spec)) == {f"{task}_executor" for task in expected}
    assert spec["displayName"] == spec["pipelineSpec"]["pipelineInfo"]["name"] == "cascade-demo"


def test_the_split_parameters_are_the_configs(compiled):
    _, spec, _ = compiled
    assert json.loads(_parameter(spec, "StratifiedSplit", "ratios")) == [
        ["train", 0.6], ["dev", 0.2], ["test", 0.2],
    ]  # fmt: skip
    assert _parameter(spec, "StratifiedSplit", "seed") == 42
    assert json.loads(_parameter(spec, "StratifiedSplit", "stratify_by")) == ["source"]
    assert _custom_config(spec, "Trainer")["seed"] == 42


def test_each_custom_step_carries_the_version_of_its_own_code(compiled):
    _, spec, _ = compiled
    for task, module in [
        ("CleanExamples", "components.clean_examples"),
        ("StratifiedSplit", "components.stratified_split"),
        ("SkewCalibration", "components.skew_calibration"),
        ("DataGate", "components.data_gate"),
    ]:
        assert _parameter(spec, task, "code_version") == code_versions.component_version(module)
    source_version = code_versions.component_version("components.source_example_gen")
    for task in ("CsvExampleGen", "SpamListGen", "IdMapGen"):
        settings = _custom_config(spec, task)["custom_config"]["value"]
        assert settings["code_version"] == source_version
    assert _custom_config(spec, "Transform")["code_version"] == code_versions.code_version(
        ["transforms.preprocessing"]
    )
    assert _custom_config(spec, "Trainer")["code_version"] == code_versions.code_version(
        ["models.model"]
    )


def test_every_step_runs_in_the_image_and_beam_steps_run_on_dataflow(compiled):
    _, spec, _ = compiled
    containers = {
        task.removesuffix("_executor"): executor["container"]
        for task, executor in _executors(spec).items()
        if "container" in executor
    }
    assert set(containers) == set(_tasks(spec)) - set(BASELINE_TASKS)
    assert {c["image"] for c in containers.values()} == {IMAGE}
    for task in BEAM_STEPS:
        args = containers[task]["args"]
        beam = args[args.index("{{$}}") + 1 :]
        assert beam == [
            "--runner=DataflowRunner",
            "--project=my-project",
            "--region=us-central1",
            f"--temp_location={BUCKET}/tmp",
            f"--staging_location={BUCKET}/staging",
            "--machine_type=n1-standard-2",
            "--max_num_workers=4",
            "--experiments=use_runner_v2",
            # The workers get the project from the image; this machine's
            # setup.py is not in it.
            f"--sdk_container_image={IMAGE}",
        ], task


def test_files_go_to_the_bucket_and_no_path_of_this_machine_is_in_the_spec(compiled):
    _, spec, folder = compiled
    assert spec["runtimeConfig"]["gcsOutputDirectory"] == ARTIFACT_ROOT
    destination = json.loads(_parameter(spec, "Pusher", "push_destination"))
    assert destination == {"filesystem": {"base_directory": SERVING_MODEL_DIR}}
    text = json.dumps(spec)
    assert str(REPO_ROOT) not in text and str(folder) not in text
    assert "setup_file" not in text


def test_drift_is_not_compared_and_the_report_says_why(compiled):
    report, spec, _ = compiled
    assert json.loads(_parameter(spec, "DataGate", "drift"))["on_breach"] == "off"
    assert "baseline_statistics" not in _tasks(spec)["DataGate"]["inputs"]["artifacts"]
    notes = [line for line in report.splitlines() if line.startswith("note: ")]
    assert notes == [
        "note: drift is not compared (drift.on_breach: warn compiles as off): "
        "ServedStatistics, which finds the served model's training statistics, uses "
        "Cascade's own resolver strategy, and TFX's Kubeflow Pipelines v2 compiler "
        "compiles only LatestArtifactStrategy and LatestBlessedModelStrategy; DataGate "
        "still stops a run on anomalies"
    ]


def test_label_classes_found_in_the_data_are_compiled_into_the_spec_and_said(compiled):
    report, spec, _ = compiled
    label = {"name": "looking_for_job", "classes": ["0", "1"], "positive": None}
    assert _custom_config(spec, "Transform")["label_spec"] == label
    assert (
        "label looking_for_job: classes 0, 1 (found in the input data, compiled into the "
        "spec; list them under label.classes to fix them)"
    ) in report.splitlines()


def test_the_report_names_the_spec_its_steps_and_how_to_submit_it(compiled):
    report, _, folder = compiled
    lines = report.splitlines()
    output = folder / "spec.json"
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    import apache_beam

    assert lines[0] == (
        f"wrote {output}: Vertex AI pipeline 'cascade-demo', 16 steps in image {IMAGE}; "
        "Beam steps on Dataflow (project my-project, region us-central1)"
    )
    assert lines[1] == (
        "steps: BaselineModel-model-blessing-resolver, BaselineModel-model-resolver, "
        "CsvExampleGen, IdMapGen, SpamListGen, CleanExamples, StratifiedSplit, "
        "StatisticsGen, SchemaGen, SkewCalibration, ExampleValidator, DataGate, "
        "Transform, Trainer, Evaluator, Pusher"
    )
    assert lines[2] == (
        f"artifacts under {ARTIFACT_ROOT}; the pushed model in {SERVING_MODEL_DIR}; "
        "metadata in the project's Vertex ML Metadata"
    )
    assert lines[-2] == (
        f"To run it: {IMAGE} must hold this project (pip install -c requirements.lock "
        "'.[vertex]') and Beam's worker boot (/opt/apache/beam of "
        f"apache/beam_python{python}_sdk:{apache_beam.__version__}): the Dataflow workers "
        "run it too; the data must be at its gs:// paths; the project needs the Vertex AI "
        "and Dataflow APIs, and the job's service account may start Dataflow jobs and "
        f"read and write {BUCKET}"
    )
    assert lines[-1] == (
        "Submit it with google-cloud-aiplatform: aiplatform.PipelineJob("
        f"display_name='cascade-demo', template_path='{output}', project='my-project', "
        "location='us-central1').submit()"
    )


def test_vertex_ais_own_client_loads_the_spec_offline(compiled):
    _, _, folder = compiled
    aiplatform = pytest.importorskip("google.cloud.aiplatform")
    from google.auth.credentials import AnonymousCredentials

    with no_network():
        job = aiplatform.PipelineJob(
            display_name="cascade-demo",
            template_path=str(folder / "spec.json"),
            project="my-project",
            location="us-central1",
            credentials=AnonymousCredentials(),
        )
    resource = job._gca_resource  # the request submit() would send
    assert resource.runtime_config.gcs_output_directory == ARTIFACT_ROOT
    assert len(resource.pipeline_spec["root"]["dag"]["tasks"]) == 16


def test_image_flag_overrides_the_configs_and_force_overwrites(compiled):
    _, _, folder = compiled
    config = str(folder / "demo_gcs.yaml")
    output = folder / "again.json"
    output.write_text("old", encoding="utf-8")
    other, workers = "europe-docker.pkg.dev/p/r/cascade:2", "europe-docker.pkg.dev/p/r/workers:2"
    flags = ["--image", other, "--sdk-container-image", workers, "--force"]
    with no_network(), label_values("0", "1"):
        report = execute(_vertex(config, output, *flags))
    spec = json.loads(output.read_text(encoding="utf-8"))
    images = {e["container"]["image"] for e in _executors(spec).values() if "container" in e}
    assert images == {other}
    assert (
        f"--sdk_container_image={workers}"
        in _executors(spec)["Transform_executor"]["container"]["args"]
    )
    lines = report.splitlines()
    assert lines[0].endswith(
        f"in image {other}; Beam steps on Dataflow (project my-project, region "
        f"us-central1, workers in image {workers})"
    )
    assert f"the Dataflow workers run {workers};" in lines[-2]


def _error_line(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    return line


def test_no_image_names_the_config_field_and_the_flag(tmp_path, capsys):
    config = gcs_config(tmp_path)
    line = _error_line(capsys, _vertex(config, tmp_path / "spec.json"))
    assert line == (
        f"error: no container image for the Vertex AI steps: set vertex.image in {config} "
        "or pass --image"
    )
    assert not (tmp_path / "spec.json").exists()


def test_local_data_is_refused_naming_the_config_field(tmp_path, capsys):
    argv = _vertex(str(DEMO_CONFIG), tmp_path / "spec.json", "--image", IMAGE)
    web = REPO_ROOT / "data" / "demo" / "web"
    assert _error_line(capsys, argv) == (
        f"error: sources[0].path: {web} is a local path; on Vertex AI Pipelines the steps "
        "and their Dataflow workers read the data, so it must be on GCS (gs://...)"
    )


def test_a_local_curated_schema_is_refused(tmp_path):
    config = gcs_config(
        tmp_path, f"schema: {tmp_path / 'schema.pbtxt'}\nvertex: {{image: {IMAGE}}}\n"
    )
    with pytest.raises(CascadeError, match=r"^schema: .*schema.pbtxt is a local path; on Vertex"):
        execute(_vertex(config, tmp_path / "spec.json"))


def test_an_existing_output_needs_force(tmp_path):
    config = gcs_config(tmp_path, f"vertex: {{image: {IMAGE}}}\n")
    output = tmp_path / "spec.json"
    output.write_text("mine", encoding="utf-8")
    with pytest.raises(CascadeError) as raised:
        execute(_vertex(config, output))
    assert str(raised.value) == (
        f"--output {output} exists; pass --force to overwrite it, or name another file"
    )
    assert output.read_text(encoding="utf-8") == "mine"


def test_a_yaml_output_is_refused(tmp_path):
    config = gcs_config(tmp_path, f"vertex: {{image: {IMAGE}}}\n")
    with pytest.raises(CascadeError) as raised:
        execute(_vertex(config, tmp_path / "spec.yaml"))
    assert str(raised.value) == (
        f"--output {tmp_path / 'spec.yaml'}: the spec is written as JSON (TFX's YAML form "
        "leaves out the pipeline root); name a .json file"
    )


def test_drift_that_fails_runs_is_refused(tmp_path):
    config = gcs_config(tmp_path, f"drift: {{on_breach: fail}}\nvertex: {{image: {IMAGE}}}\n")
    with pytest.raises(CascadeError) as raised:
        execute(_vertex(config, tmp_path / "spec.json"))
    assert str(raised.value) == (
        "drift.on_breach: fail cannot hold on Vertex AI Pipelines: ServedStatistics finds "
        "the served model's training statistics with Cascade's own resolver strategy, "
        "which TFX's Kubeflow Pipelines v2 compiler cannot compile; set drift.on_breach: "
        f"off in {config} (warn compiles as off, with a note)"
    )


def test_the_beam_steps_need_dataflow(tmp_path):
    config = gcs_config(tmp_path, f"vertex: {{image: {IMAGE}}}\n")
    argv = ["schedule", "vertex", "--config", config, "--runner", "local"]
    with pytest.raises(CascadeError) as raised:
        execute([*argv, "--output", str(tmp_path / "spec.json")])
    assert str(raised.value) == (
        "the Vertex AI spec runs its Beam steps on Dataflow: it needs --project, "
        "--region and --bucket"
    )


def test_without_the_vertex_extra_one_line_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "kfp.pipeline_spec", None)
    monkeypatch.setitem(sys.modules, "kfp.pipeline_spec.pipeline_spec_pb2", None)
    config = gcs_config(tmp_path, f"vertex: {{image: {IMAGE}}}\n")
    with pytest.raises(CascadeError) as raised:
        execute(_vertex(config, tmp_path / "spec.json"))
    assert str(raised.value) == (
        "the vertex extra is not installed: pip install -c requirements.lock '.[vertex]'"
    )


def test_a_gcs_output_root_keeps_the_pushed_model_and_a_span_window_gets_a_note(tmp_path):
    config = load_config(gcs_config(tmp_path), output_root=f"{BUCKET}/runs/demo")
    config = dataclasses.replace(config, spans=SpansConfig(window=3))
    options = DataflowOptions("my-project", "us-central1", BUCKET)
    vertex, notes = vertex_spec.vertex_config(config, options)
    assert vertex.output.serving_model_dir == f"{BUCKET}/runs/demo/serving_model"
    assert vertex.output.pipeline_root == ARTIFACT_ROOT
    assert notes[-1] == (
        "spans.window: 3: Vertex AI runs TFX's own ExampleGen driver, whose fingerprint "
        "covers the newest span's files only, so a changed file in an older span of the "
        "window does not make CsvExampleGen run again; submit with "
        "PipelineJob(..., enable_caching=False) after such a change"
    )
