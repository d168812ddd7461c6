"""The skew check on every scoring, with the pipeline's own model and store.

Uses the session's pipeline runs on the demo slice (see conftest). Each test
scores into a copy of the store, so the other serving tests see only their own
scorings. The drifted data is the demo's `serving/new_users.csv` (its country
distribution drifted on purpose); the undrifted data comes from the same
generator with the training distribution.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import main
from tests.e2e import mlmd_queries
from tests.e2e.helpers import DEMO_DATA, newest_pushed, run_cascade

pytestmark = pytest.mark.e2e

DRIFTED = DEMO_DATA / "serving" / "new_users.csv"
UNDRIFTED_ROWS = 1500


def _generator():
    spec = importlib.util.spec_from_file_location("demo_generate", DEMO_DATA / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("demo_generate", module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _undrifted_csv(path: Path) -> Path:
    """New users drawn exactly as the training users were (no drift)."""
    generate = _generator()
    rng = random.Random(7)
    rows = [generate.make_user(rng, f"n{i:05d}") for i in range(UNDRIFTED_ROWS)]
    for row in rows:
        generate.plant_missing(rng, row)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(generate.SERVING_COLUMNS)
        writer.writerows(generate.format_row(r, generate.SERVING_COLUMNS) for r in rows)
    return path


def _cascade(args: list[str]) -> subprocess.CompletedProcess:
    """Runs `cascade args...` in a fresh process from the project root, as a user would."""
    return run_cascade(args, timeout=600)


def _own_store(two_runs, tmp_path: Path) -> Path:
    output_root, _, _ = two_runs
    copy = tmp_path / "metadata.sqlite"
    shutil.copy(output_root / "metadata.sqlite", copy)
    return copy


VERDICTS = ("ok", "SKEW", "too few rows")


def _table(stdout: str) -> dict[str, tuple[float, float, str]]:
    """feature -> (distance, threshold, verdict) from the printed skew table.

    A row reads: feature, measure, serving values, distance, threshold,
    verdict (and a note in parentheses).
    """
    rows = {}
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["feature", "measure"])
    for line in lines[start + 1 :]:
        parts = line.split(maxsplit=5)
        verdict = parts[5].split(" (")[0] if len(parts) == 6 else ""
        if verdict not in VERDICTS:
            break
        rows[parts[0]] = (float(parts[3]), float(parts[4]), verdict)
    return rows


def _executions_on(store, type_name: str, source: Path) -> list:
    """The executions of a type that read `source`."""
    return [
        e
        for e in store.get_executions_by_type(type_name)
        if e.custom_properties["input"].string_value == str(source)
    ]


def _common(two_runs, demo_slice, metadata: Path) -> list[str]:
    output_root, _, _ = two_runs
    return [
        "--config",
        str(demo_slice),
        "--output-root",
        str(output_root),
        "--metadata",
        str(metadata),
    ]


def test_the_drifted_feature_is_flagged_recorded_and_reached_from_the_spam_list(
    two_runs, demo_slice, tmp_path
):
    metadata = _own_store(two_runs, tmp_path)
    output = tmp_path / "drifted_predictions.csv"
    scored = _cascade(
        [
            "predict",
            *_common(two_runs, demo_slice, metadata),
            "--input",
            str(DRIFTED),
            "--output",
            str(output),
            "--keep",
            "user_id",
            "--fail-on-skew",
        ],
    )
    assert scored.returncode == 1, scored.stderr[-3000:]
    assert scored.stderr.strip().splitlines() == [
        "error: training/serving skew over the threshold in country (--fail-on-skew); "
        "the predictions were written and recorded"
    ]
    table = _table(scored.stdout)
    assert [name for name, (_, _, verdict) in table.items() if verdict == "SKEW"] == ["country"]
    assert list(table)[0] == "country", "the worst feature comes first"
    assert len(table) == 9
    with open(output, newline="") as f:
        assert sum(1 for _ in csv.DictReader(f)) == 2000

    store = mlmd_queries.open_store(str(metadata))
    # The store copy may hold other tests' scorings; this one is known by its input.
    [execution] = _executions_on(store, "cascade.BatchPredict", DRIFTED)
    assert execution.custom_properties["skewed_features"].string_value == "country"
    inputs = mlmd_queries.inputs(store, execution.id)
    outputs = mlmd_queries.outputs(store, execution.id)
    [training] = store.get_artifacts_by_id(inputs["training_statistics"])
    first_run = mlmd_queries.runs(store)[0]
    producer = mlmd_queries.executions_by_component(store, first_run, "cascade-demo")[
        "StatisticsGen"
    ]
    assert training.type == "ExampleStatistics"
    assert mlmd_queries.outputs(store, producer.id)["statistics"] == [training.id]
    [serving_stats] = store.get_artifacts_by_id(outputs["serving_statistics"])
    [anomalies] = store.get_artifacts_by_id(outputs["skew_anomalies"])
    assert serving_stats.type == "ExampleStatistics"
    assert anomalies.type == "ExampleAnomalies"
    assert Path(serving_stats.uri, "Split-serving", "FeatureStats.pb").is_file()
    assert Path(anomalies.uri, "Split-serving", "SchemaDiff.pb").is_file()
    assert serving_stats.uri == str(tmp_path / "drifted_predictions.checks" / "statistics")

    spam_list = demo_slice.parent / "data" / "spam_accounts"
    lineage = _cascade(
        [
            "lineage",
            "downstream",
            str(spam_list),
            "--type",
            "ExampleStatistics",
            "--format",
            "json",
            "--metadata",
            str(metadata),
        ]
    )
    assert lineage.returncode == 0, lineage.stderr[-3000:]
    found = {a["uri"] for a in json.loads(lineage.stdout)["artifacts"]}
    assert serving_stats.uri in found


def test_undrifted_data_passes_and_the_beam_path_gives_the_same_scores_and_check(
    two_runs, demo_slice, tmp_path
):
    metadata = _own_store(two_runs, tmp_path)
    source = _undrifted_csv(tmp_path / "undrifted.csv")
    common = [*_common(two_runs, demo_slice, metadata), "--input", str(source), "--keep", "user_id"]
    single = _cascade(["predict", *common, "--output", str(tmp_path / "one.csv"), "--fail-on-skew"])
    assert single.returncode == 0, single.stderr[-3000:] + single.stdout[-3000:]
    assert "no skew: 9 of 9 features within their thresholds" in single.stdout
    beam = _cascade(
        [
            "predict",
            *common,
            "--output",
            str(tmp_path / "beam"),
            "--profile",
            "local-parallel",
            "--shards",
            "2",
            "--fail-on-skew",
        ],
    )
    assert beam.returncode == 0, beam.stderr[-3000:] + beam.stdout[-3000:]
    assert "on Beam (local-parallel profile)" in beam.stdout
    assert _table(beam.stdout).keys() == _table(single.stdout).keys()
    for name, (distance, _, verdict) in _table(beam.stdout).items():
        assert verdict == "ok"
        assert distance == pytest.approx(_table(single.stdout)[name][0], abs=2e-3), name

    with open(tmp_path / "one.csv", newline="") as f:
        by_line = {r["line"]: r for r in csv.DictReader(f)}
    beam_rows = []
    for shard in sorted((tmp_path / "beam").glob("part-*.csv")):
        with open(shard, newline="") as f:
            beam_rows.extend(csv.DictReader(f))
    assert sorted(r["line"] for r in beam_rows) == sorted(by_line)
    assert (
        max(abs(float(r["score"]) - float(by_line[r["line"]]["score"])) for r in beam_rows) <= 1e-6
    )
    assert all(r["user_id"] == by_line[r["line"]]["user_id"] for r in beam_rows)

    store = mlmd_queries.open_store(str(metadata))
    executions = _executions_on(store, "cascade.BatchPredict", source)
    assert len(executions) == 2
    digests = {e.custom_properties["input_sha256"].string_value for e in executions}
    assert len(digests) == 1, "both paths hash the same input bytes"


def test_the_skew_command_and_the_clear_failures(two_runs, demo_slice, tmp_path, capsys):
    metadata = _own_store(two_runs, tmp_path)
    common = _common(two_runs, demo_slice, metadata)
    checked = _cascade(
        ["skew", *common, "--input", str(DRIFTED), "--output", str(tmp_path / "check")]
    )
    assert checked.returncode == 0, checked.stderr[-3000:]
    assert [n for n, (_, _, v) in _table(checked.stdout).items() if v == "SKEW"] == ["country"]
    store = mlmd_queries.open_store(str(metadata))
    [execution] = _executions_on(store, "cascade.SkewCheck", DRIFTED)
    assert sorted(mlmd_queries.outputs(store, execution.id)) == [
        "serving_statistics",
        "skew_anomalies",
    ]

    # A file where the statistics' folder goes: one line before any work, not
    # TensorFlow's FailedPreconditionError after it; for predict, before scoring.
    blocker = tmp_path / "chk"
    blocker.write_text("")
    predictions = tmp_path / "scored.csv"
    (tmp_path / "scored.checks").write_text("")
    for argv, expected in (
        (["skew", "--output", str(blocker)], f"--output {blocker} is a file; name a folder"),
        (
            ["predict", "--output", str(predictions)],
            f"--output {predictions}: its skew check's folder {tmp_path / 'scored.checks'} "
            "is a file; name a folder",
        ),
    ):
        assert main([*argv, *common, "--input", str(DRIFTED), "--no-record"]) == 2
        assert capsys.readouterr().err == f"error: {expected}\n"
    assert not predictions.exists()

    # A header and no rows: scored as 0 rows, nothing to compare, exit 0.
    empty = tmp_path / "empty.csv"
    empty.write_text(DRIFTED.read_text().splitlines()[0] + "\n")
    result = _cascade(["predict", *common, "--input", str(empty), "--no-record"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "skew check: no rows, so nothing to compare" in result.stdout

    # An optional feature the serving data lacks is reported as skew, not a crash.
    lines = DRIFTED.read_text().splitlines()
    header = lines[0].split(",")
    drop = header.index("industry")
    without = tmp_path / "without_industry.csv"
    without.write_text(
        "\n".join(",".join(c for i, c in enumerate(line.split(",")) if i != drop) for line in lines)
        + "\n"
    )
    result = _cascade(["predict", *common, "--input", str(without), "--no-record"])
    assert result.returncode == 0, result.stderr[-3000:]
    distance, _, verdict = _table(result.stdout)["industry"]
    assert (distance, verdict) == (1.0, "SKEW")
    [line] = [line for line in result.stdout.splitlines() if line.split()[:1] == ["industry"]]
    assert line.endswith("SKEW (absent from the serving data)")
    assert "note: the input has no column 'industry'" in result.stdout
    assert result.stderr == ""

    # A model folder the store does not know has no training statistics to compare with.
    output_root, _, _ = two_runs
    pushed = newest_pushed(output_root)
    foreign = tmp_path / "foreign_model"
    shutil.copytree(pushed, foreign)
    result = _cascade(
        ["predict", *common, "--input", str(DRIFTED), "--model", str(foreign), "--no-record"]
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: the model in {foreign} is not in the metadata store, so the statistics of its "
        "training data cannot be found; score with --no-skew-check to skip the comparison"
    ]
    result = _cascade(
        [
            "predict",
            *common,
            "--input",
            str(DRIFTED),
            "--model",
            str(foreign),
            "--no-record",
            "--no-skew-check",
        ],
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "skew check" not in result.stdout


def test_thresholds_are_calibrated_beside_the_training_statistics_and_fixed_on_request(
    two_runs, demo_slice, tmp_path
):
    metadata = _own_store(two_runs, tmp_path)
    store = mlmd_queries.open_store(str(metadata))
    [calibration] = store.get_artifacts_by_type("cascade.SkewCalibration")
    # The first run made it; the second run's cached execution outputs it too.
    producer = min(
        e.execution_id
        for e in store.get_events_by_artifact_ids([calibration.id])
        if e.type == e.OUTPUT
    )
    read = {
        a.type_id
        for a in store.get_artifacts_by_id(
            [
                e.artifact_id
                for e in store.get_events_by_execution_ids([producer])
                if e.type == e.INPUT
            ]
        )
    }
    types = {t.id: t.name for t in store.get_artifact_types()}
    assert sorted(types[t] for t in read) == ["ExampleStatistics", "Examples"]
    assert calibration.custom_properties["resamples"].string_value == "100"

    common = _common(two_runs, demo_slice, metadata)
    checked = _cascade(["skew", *common, "--input", str(DRIFTED), "--no-record"])
    assert checked.returncode == 0, checked.stderr[-3000:]
    heading = checked.stdout.splitlines()[2]
    assert heading.startswith("  thresholds calibrated on 100 resamples per size of ")
    assert heading.endswith("training rows, aiming at 0.10% false alarms per feature")
    table = _table(checked.stdout)
    assert [n for n, (_, _, v) in table.items() if v == "SKEW"] == ["country"]
    assert len({threshold for _, threshold, _ in table.values()}) > 1, "per feature"

    # 60 rows: every feature has too few values for a verdict, so none is flagged.
    tiny = tmp_path / "tiny.csv"
    tiny.write_text("\n".join(DRIFTED.read_text().splitlines()[:61]) + "\n")
    result = _cascade(["skew", *common, "--input", str(tiny), "--no-record"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert {v for _, _, v in _table(result.stdout).values()} == {"too few rows"}
    assert "no verdict: too few rows for the check to tell" in result.stdout

    # mode: fixed uses the config's thresholds.
    fixed = tmp_path / "fixed.yaml"
    text = demo_slice.read_text()
    assert "    mode: calibrated\n" in text
    fixed.write_text(text.replace("    mode: calibrated\n", "    mode: fixed\n"))
    result = _cascade(
        ["skew", *common[2:], "--config", str(fixed), "--input", str(tiny), "--no-record"]
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines()[2] == "  fixed thresholds"
    assert {threshold for _, threshold, _ in _table(result.stdout).values()} == {0.1}
    assert {v for _, _, v in _table(result.stdout).values()} <= {"ok", "SKEW"}
