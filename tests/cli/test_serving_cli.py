"""The serving commands' user errors: one `error:` line and exit code 2, before any work."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.main import main

ROOT = Path(__file__).resolve().parents[2]
DEMO_CONFIG = str(ROOT / "configs" / "demo.yaml")


def _one_error_line(capsys: pytest.CaptureFixture) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_predict_without_a_store_says_to_run_the_pipeline(tmp_path, capsys):
    source = tmp_path / "new.csv"
    source.write_text("age\n3\n")
    code = main(
        [
            "predict",
            "--config",
            DEMO_CONFIG,
            "--output-root",
            str(tmp_path / "out"),
            "--input",
            str(source),
        ]
    )
    assert code == 2
    store = tmp_path / "out" / "metadata.sqlite"
    assert _one_error_line(capsys) == (
        f"error: metadata store {store} does not exist (run the pipeline first)"
    )
    assert not store.exists()


def test_predict_with_a_missing_model_folder_names_it(tmp_path, capsys):
    source = tmp_path / "new.csv"
    source.write_text("age\n3\n")
    missing = tmp_path / "no_model"
    code = main(
        [
            "predict",
            "--config",
            DEMO_CONFIG,
            "--input",
            str(source),
            "--model",
            str(missing),
            "--no-record",
        ]
    )
    assert code == 2
    assert _one_error_line(capsys) == f"error: model folder {missing} does not exist"


def test_predict_with_a_folder_that_is_no_serving_model_says_so(tmp_path, capsys):
    source = tmp_path / "new.csv"
    source.write_text("age\n3\n")
    folder = tmp_path / "not_a_model"
    folder.mkdir()
    code = main(
        [
            "predict",
            "--config",
            DEMO_CONFIG,
            "--input",
            str(source),
            "--model",
            str(folder),
            "--no-record",
        ]
    )
    assert code == 2
    assert _one_error_line(capsys) == (
        f"error: {folder} is not a Cascade serving model (no assets.extra/raw_features.json)"
    )


def test_predict_rejects_a_non_positive_batch_size(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["predict", "--input", "x.csv", "--batch-size", "0"])
    assert exit_.value.code == 2
    assert "argument --batch-size: must be positive, got 0" in capsys.readouterr().err


def test_batch_transform_with_no_matching_input_names_the_pattern(tmp_path, capsys):
    pattern = str(tmp_path / "nothing" / "*.csv")
    code = main(
        [
            "transform",
            "--config",
            DEMO_CONFIG,
            "--input",
            pattern,
            "--output",
            str(tmp_path / "out"),
            "--transform-graph",
            str(tmp_path / "graph"),
        ]
    )
    assert code == 2
    assert _one_error_line(capsys) == f"error: no input file matches {pattern}"


def test_batch_transform_on_dataflow_needs_gcs_input_before_any_network_call(tmp_path, capsys):
    code = main(
        [
            "transform",
            "--config",
            DEMO_CONFIG,
            "--input",
            "new_users/*.csv",
            "--output",
            "gs://my-bucket/out",
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
    assert _one_error_line(capsys) == (
        "error: --input: new_users/*.csv is a local path; with --runner dataflow the workers "
        "read the data, so it must be on GCS (gs://...)"
    )


def test_predict_in_one_process_refuses_a_folder_and_names_the_beam_profile(tmp_path, capsys):
    (tmp_path / "a.csv").write_text("age\n3\n")
    code = main(["predict", "--config", DEMO_CONFIG, "--input", str(tmp_path), "--no-record"])
    assert code == 2
    assert _one_error_line(capsys) == (
        f"error: --input {tmp_path} is a folder or a pattern: one process scores one CSV file; "
        "add --profile local (or local-parallel) to score many files on Beam"
    )


def test_predict_flags_that_contradict_each_other_are_usage_errors(capsys):
    for flags, message in [
        (["--shards", "3"], "--shards applies to Beam scoring"),
        (["--fail-on-skew", "--no-skew-check"], "--fail-on-skew needs the skew check"),
        (["--profile", "local", "--shards", "-1"], "--shards must be 0 or more"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            main(["predict", "--input", "x.csv", *flags])
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err


def test_the_run_hints_name_the_demos_serving_file_and_fall_back_to_a_placeholder(tmp_path):
    from cli import run_pipeline
    from pipeline.config import load_config

    demo = load_config(DEMO_CONFIG)
    serving = Path(demo.sources[0].path).parent / "serving" / "new_users.csv"
    assert run_pipeline._serving_example(demo) == str(serving)
    (tmp_path / "web").mkdir()
    text = Path(DEMO_CONFIG).read_text().replace("../data/demo/web", str(tmp_path / "web"))
    elsewhere = tmp_path / "other.yaml"
    elsewhere.write_text(text.replace("../", str(Path(DEMO_CONFIG).parent.parent) + "/"))
    assert run_pipeline._serving_example(load_config(str(elsewhere))) is None
