"""Runner profiles: Beam args per profile and Dataflow flags checked before any network call."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pytest

from cli import flags
from cli.main import main
from core.errors import CascadeError
from pipeline import config as config_lib
from pipeline import runners
from pipeline.runners import DataflowOptions

REPO_ROOT = Path(__file__).resolve().parents[2]
GOOD = DataflowOptions(project="my-project", region="us-central1", bucket="gs://my-bucket/team")


def _flags(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    flags.add_runner_flags(parser)
    return parser.parse_args(argv)


def test_local_profiles_use_the_fn_api_runner_with_the_project_setup_file(tmp_path):
    local = runners.beam_pipeline_args("local", str(tmp_path))
    assert "--direct_running_mode=in_memory" in local
    assert "--direct_num_workers=1" in local
    parallel = runners.beam_pipeline_args("local-parallel", str(tmp_path))
    assert "--direct_running_mode=multi_processing" in parallel
    for args in (local, parallel):
        assert f"--setup_file={runners.SETUP_FILE}" in args
        assert f"--temp_location={tmp_path}" in args
        assert [a for a in args if a.startswith("--runner")] == ["--runner=FnApiRunner"]


def test_a_local_beam_job_runs_on_fn_api_runner_without_trying_prism(tmp_path, caplog):
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.runners.portability.fn_api_runner.fn_runner import FnApiRunner
    from apache_beam.testing.util import assert_that, equal_to

    options = PipelineOptions(runners.beam_pipeline_args("local", str(tmp_path)))
    with caplog.at_level(logging.INFO):
        with beam.Pipeline(options=options) as pipeline:
            counted = pipeline | beam.Create([1, 2, 3]) | beam.combiners.Count.Globally()
            assert_that(counted, equal_to([3]))
    assert isinstance(pipeline.runner, FnApiRunner)
    assert "Prism" not in caplog.text and "sdist" not in caplog.text


def test_dataflow_profile_sends_everything_to_the_bucket():
    args = runners.beam_pipeline_args("dataflow", "/unused", GOOD)
    assert args[:4] == [
        "--runner=DataflowRunner",
        "--project=my-project",
        "--region=us-central1",
        "--temp_location=gs://my-bucket/team/tmp",
    ]
    assert "--staging_location=gs://my-bucket/team/staging" in args
    assert f"--setup_file={runners.SETUP_FILE}" in args
    assert "--machine_type=n1-standard-2" in args
    assert "--max_num_workers=4" in args
    assert "--experiments=use_runner_v2" in args
    assert not any(a.startswith("--sdk_container_image") for a in args)
    image = DataflowOptions("my-project", "us-central1", "gs://b-1", sdk_container_image="img:1")
    assert "--sdk_container_image=img:1" in runners.beam_pipeline_args("dataflow", "", image)
    assert GOOD.artifact_root("demo") == "gs://my-bucket/team/cascade/demo/pipeline"


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(project="P"), r"--project 'P' is not a Google Cloud project id"),
        (dict(project="1project"), r"--project '1project' is not a Google Cloud project id"),
        (dict(region="central"), r"--region 'central' is not a Dataflow region"),
        (dict(bucket="/tmp/bucket"), r"--bucket '/tmp/bucket' is not a GCS location"),
        (dict(bucket="s3://bucket"), r"--bucket 's3://bucket' is not a GCS location"),
        (dict(max_workers=0), r"--max-workers must be at least 1, got 0"),
    ],
)
def test_dataflow_options_name_the_bad_flag(options, message):
    fields = {"project": GOOD.project, "region": GOOD.region, "bucket": GOOD.bucket, **options}
    with pytest.raises(CascadeError, match=message):
        DataflowOptions(**fields).validate()


def test_dataflow_flags_need_the_dataflow_runner_and_all_three_locations():
    assert flags.dataflow_from_args(_flags()) is None
    with pytest.raises(CascadeError, match=r"^--project only applies with --runner dataflow$"):
        flags.dataflow_from_args(_flags("--project", "my-project"))
    with pytest.raises(CascadeError, match=r"^--max-workers only applies with --runner dataflow$"):
        flags.dataflow_from_args(_flags("--max-workers", "8"))
    with pytest.raises(CascadeError, match=r"^--runner dataflow needs --region, --bucket$"):
        flags.dataflow_from_args(_flags("--runner", "dataflow", "--project", "my-project"))
    options = flags.dataflow_from_args(
        _flags(
            "--runner=dataflow",
            "--project=my-project",
            "--region=europe-west4",
            "--bucket=gs://b-1",
            "--max-workers=10",
        )
    )
    assert options == DataflowOptions("my-project", "europe-west4", "gs://b-1", max_workers=10)
    with pytest.raises(CascadeError, match="the dataflow profile needs --project"):
        runners.beam_pipeline_args("dataflow", "/tmp")
    with pytest.raises(CascadeError, match="unknown runner profile 'cloud'"):
        runners.beam_pipeline_args("cloud", "/tmp")


def test_artifacts_move_to_the_artifact_root_and_the_rest_stays_local():
    output = config_lib.OutputConfig(root="/runs/demo")
    assert output.pipeline_root == "/runs/demo/pipeline"
    moved = config_lib.OutputConfig(root="/runs/demo", artifact_root="gs://b/cascade/demo/pipeline")
    assert moved.pipeline_root == "gs://b/cascade/demo/pipeline"
    assert moved.metadata_path == "/runs/demo/metadata.sqlite"
    assert moved.serving_model_dir == "/runs/demo/serving_model"


def test_run_on_dataflow_refuses_local_data_before_any_network_call(capsys):
    code = main(
        [
            "run",
            "--runner",
            "dataflow",
            "--project",
            "my-project",
            "--region",
            "us-central1",
            "--bucket",
            "gs://my-bucket",
        ]
    )
    assert code == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    web = REPO_ROOT / "data" / "demo" / "web"
    assert line == (
        f"error: sources[0].path: {web} is a local path; with --runner dataflow the "
        "workers read the data, so it must be on GCS (gs://...)"
    )


def test_check_on_gcs_accepts_gcs_paths_and_names_the_first_local_one():
    runners.check_on_gcs([("sources[0].path", "gs://b/web"), ("x", "gs://b/x")])
    with pytest.raises(CascadeError, match=r"^cleaning.id_map.path: data/ids is a local path"):
        runners.check_on_gcs(
            [("sources[0].path", "gs://b/web"), ("cleaning.id_map.path", "data/ids")]
        )


def test_a_relative_output_root_flag_becomes_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = config_lib.load_config(str(REPO_ROOT / "configs" / "demo.yaml"), output_root="runs/a")
    assert config.output.root == str(tmp_path / "runs" / "a")
    gcs = config_lib.load_config(str(REPO_ROOT / "configs" / "demo.yaml"), output_root="gs://b/x")
    assert gcs.output.root == "gs://b/x"
