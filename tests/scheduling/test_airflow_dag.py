"""`cascade schedule airflow`: the DAG file, and the DAG Airflow itself builds from it.

The DAG is parsed by Airflow's own DagBag in a subprocess with a throwaway
AIRFLOW_HOME (no database needed to parse). The runs themselves are in
tests/e2e/test_airflow_e2e.py.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import ConfigError
from pipeline import preflight
from pipeline.config import load_config, parse_config
from scheduling import dag_file
from scheduling.airflow_dag import span_range_json
from tests.e2e.helpers import COMPONENTS, ROOT, cascade_script

SCHEDULE = """
schedule:
  cron: "0 3 * * *"
  start_date: 2026-12-01
  retries: 2
  retry_delay_seconds: 45
"""
_PARSE = """
import json, sys
from airflow.models import DagBag
from pipeline import preflight
scans = []
scan = preflight.scan_label_classes
preflight.scan_label_classes = lambda config: scans.append(config.config_path) or scan(config)
bag = DagBag(sys.argv[1], include_examples=False)
dags = {}
for dag_id, dag in bag.dags.items():
    request = dag.tasks[0].python_callable.keywords["request"]
    dags[dag_id] = {
        "label_classes": request.config.label_classes,
        "schedule": dag.schedule_interval,
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "start_date": dag.start_date.isoformat(),
        "tasks": {
            t.task_id: {
                "upstream": sorted(t.upstream_task_ids),
                "retries": t.retries,
                "retry_delay": t.retry_delay.total_seconds(),
            }
            for t in dag.tasks
        },
    }
errors = {k: v for k, v in bag.import_errors.items()}
print(json.dumps({"dags": dags, "errors": errors, "scans": scans}))
"""


def _env(home: Path, **extra: str) -> dict:
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PYTHONPATH": str(ROOT),
        "PYTHONWARNINGS": "ignore",
        **extra,
    }


def _write_dag(tmp_path: Path, config: Path, *flags: str) -> subprocess.CompletedProcess:
    (tmp_path / "dags").mkdir(exist_ok=True)
    return subprocess.run(
        [cascade_script(), "schedule", "airflow", "--config", str(config), *flags,
         "--dags-folder", str(tmp_path / "dags"), "--output-root", str(tmp_path / "out")],
        env=_env(tmp_path), capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def _parse_dags(tmp_path: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", _PARSE, str(tmp_path / "dags")],
        env=_env(tmp_path), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def scheduled_config(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("scheduled")
    text = (ROOT / "configs" / "demo.yaml").read_text().replace("../", str(ROOT) + "/")
    config = root / "demo.yaml"
    config.write_text(text + SCHEDULE)
    return config


@pytest.fixture(scope="module")
def parsed(scheduled_config, tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("airflow_home")
    written = _write_dag(home, scheduled_config)
    assert written.returncode == 0, written.stderr
    # Writing the file does not import Airflow, which would create its config.
    assert not (home / "airflow.cfg").exists()
    # A second pipeline's config, broken after its DAG file was written.
    broken = home / "broken.yaml"
    text = scheduled_config.read_text().replace("name: cascade-demo", "name: cascade-broken")
    broken.write_text(text)
    assert _write_dag(home, broken).returncode == 0
    broken.write_text(text.replace('"0 3 * * *"', '"0 3 * * * *"'))
    return {"home": home, "written": written.stdout, "broken": broken, **_parse_dags(home)}


def test_airflow_parses_the_dag_file_without_errors(parsed) -> None:
    assert list(parsed["dags"]) == ["cascade-demo"]
    assert list(parsed["errors"]) == [str(parsed["home"] / "dags" / "cascade_broken.py")]


def test_one_task_per_component_wired_as_the_pipeline(parsed, scheduled_config) -> None:
    from tfx import v1 as tfx  # noqa: F401  (the pipeline's components import it)

    from pipeline.pipeline import create_pipeline

    config = load_config(str(scheduled_config))
    pipeline = create_pipeline(config, None, [])
    expected = {c.id: sorted(n.id for n in c.upstream_nodes) for c in pipeline.components}
    tasks = parsed["dags"]["cascade-demo"]["tasks"]
    assert sorted(tasks) == sorted(COMPONENTS)
    assert {task: entry["upstream"] for task, entry in tasks.items()} == expected


def test_schedule_and_retries_come_from_the_config(parsed) -> None:
    dag = parsed["dags"]["cascade-demo"]
    assert dag["schedule"] == "0 3 * * *"
    assert dag["catchup"] is False
    assert dag["max_active_runs"] == 1
    assert dag["start_date"].startswith("2026-12-01T00:00:00")
    assert {(t["retries"], t["retry_delay"]) for t in dag["tasks"].values()} == {(2, 45.0)}


def test_the_report_says_when_it_runs_what_every_run_reads_and_the_classes_found(
    parsed,
) -> None:
    written = parsed["written"].splitlines()
    assert written[1:4] == [
        "  schedule: 0 3 * * * from 2026-12-01 (catchup off), 2 retries 45 s apart",
        "  each run: reads every file of every source (the sources are not spanned)",
        "  label looking_for_job: classes 0, 1 (found in the input data, recorded in the DAG "
        "file; list them under label.classes to fix them)",
    ]
    assert written[-1].startswith("  airflow dags test cascade-demo ")


def test_the_dag_file_holds_settings_only(parsed, scheduled_config) -> None:
    text = (parsed["home"] / "dags" / "cascade_demo.py").read_text()
    assert f"'config': {str(scheduled_config)!r}" in text
    assert "'profile': 'local'" in text
    assert "'label': {'name': 'looking_for_job', 'classes': ['0', '1']}" in text
    assert "from scheduling.dag_file import load_dag" in text


def test_the_dag_built_at_each_parse_reads_no_data_for_the_label_classes(parsed) -> None:
    assert parsed["scans"] == []
    assert parsed["dags"]["cascade-demo"]["label_classes"] == ["0", "1"]


def _settings(config: Path, label: str, classes: list[str]) -> dict:
    return {"config": str(config), "profile": "local", "label": {"name": label, "classes": classes}}


def test_listed_classes_win_over_recorded_ones_and_recorded_ones_are_not_searched(
    scheduled_config, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(preflight, "scan_label_classes", None)  # calling it would fail
    recorded = dag_file.dag_request(_settings(scheduled_config, "looking_for_job", ["0", "1"]))
    assert recorded.config.label_classes == ("0", "1")
    listed = tmp_path / "listed.yaml"
    listed.write_text(
        scheduled_config.read_text().replace(
            "label: looking_for_job", "label: {name: looking_for_job, classes: [1, 0]}"
        )
    )
    request = dag_file.dag_request(_settings(listed, "looking_for_job", ["0", "1"]))
    assert request.config.label_classes == ("1", "0")


def test_a_label_the_dag_file_records_no_classes_of_is_named(scheduled_config, tmp_path) -> None:
    renamed = tmp_path / "renamed.yaml"
    renamed.write_text(
        scheduled_config.read_text().replace("label: looking_for_job", "label: wants_job")
    )
    with pytest.raises(ConfigError) as raised:
        dag_file.dag_request(_settings(renamed, "looking_for_job", ["0", "1"]))
    assert str(raised.value) == (
        f"{renamed}: label: lists no classes, and the DAG file records none of label "
        "'wants_job' (it records those of label 'looking_for_job'); list them under "
        "label.classes, or write the file again (cascade schedule airflow --force) to "
        "find them in the input data"
    )


def test_a_config_broken_after_writing_is_airflow_s_import_error_naming_the_field(
    parsed,
) -> None:
    [message] = parsed["errors"].values()
    assert f"{parsed['broken']}: schedule.cron: expected 5 fields" in message


def test_an_existing_dag_file_is_kept_without_force(parsed, scheduled_config) -> None:
    again = _write_dag(parsed["home"], scheduled_config)
    assert again.returncode == 2
    assert again.stderr.strip().splitlines()[-1] == (
        f"error: {parsed['home'] / 'dags' / 'cascade_demo.py'} exists; add --force to replace it"
    )
    assert _write_dag(parsed["home"], scheduled_config, "--force").returncode == 0


def test_a_missing_dags_folder_is_named(scheduled_config, tmp_path) -> None:
    result = subprocess.run(
        [cascade_script(), "schedule", "airflow", "--config", str(scheduled_config),
         "--dags-folder", str(tmp_path / "nowhere")],
        env=_env(tmp_path), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert f"--dags-folder {tmp_path / 'nowhere'} does not exist" in result.stderr


def test_without_airflow_installed_one_line_names_the_extra(scheduled_config, tmp_path) -> None:
    # None in sys.modules makes `import airflow` raise ImportError, as when the
    # extra is not installed.
    blocked = (
        "import sys; sys.modules['airflow'] = None; from cli.main import main; "
        "sys.exit(main(sys.argv[1:]))"
    )
    (tmp_path / "dags").mkdir()
    result = subprocess.run(
        [sys.executable, "-c", blocked, "schedule", "airflow", "--config", str(scheduled_config),
         "--dags-folder", str(tmp_path / "dags")],
        env=_env(tmp_path), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: Apache Airflow is not installed: pip install -c requirements.lock "
        "'.[airflow]'  (or: make airflow)"
    )
    assert list((tmp_path / "dags").iterdir()) == []


def _spanned(tmp_path: Path, pattern: str):
    text = (ROOT / "configs" / "demo.yaml").read_text().replace("../", str(ROOT) + "/")
    for source in ("web", "mobile", "partner"):
        text = text.replace(f"data/demo/{source}\n", f"'data/demo/{source}/{pattern}'\n")
    return parse_config(text, str(tmp_path / "c.yaml"))


def test_a_date_span_is_the_logical_date_s_and_a_number_span_the_newest(tmp_path) -> None:
    day = datetime.date(2026, 12, 4)
    dated = json.loads(span_range_json(_spanned(tmp_path, "{YYYY}{MM}{DD}"), day))
    span = (day - datetime.date(1970, 1, 1)).days
    assert dated == {"staticRange": {"startSpanNumber": span, "endSpanNumber": span}}
    assert span_range_json(_spanned(tmp_path, "span-{SPAN}"), day) == ""
    assert (
        span_range_json(
            parse_config(
                (ROOT / "configs" / "demo.yaml").read_text(), str(ROOT / "configs" / "demo.yaml")
            ),
            day,
        )
        == ""
    )


def test_dataflow_needs_the_data_on_gcs_before_a_dag_file_is_written(
    scheduled_config, tmp_path
) -> None:
    dataflow = ["--runner", "dataflow", "--project", "my-project", "--region", "us-central1"]
    refused = _write_dag(tmp_path, scheduled_config, *dataflow, "--bucket", "gs://my-bucket")
    assert refused.returncode == 2
    assert refused.stderr.strip().endswith(
        "is a local path; with --runner dataflow the workers read the data, so it must be on "
        "GCS (gs://...)"
    )
    assert list((tmp_path / "dags").iterdir()) == []
    gcs = tmp_path / "gcs.yaml"
    gcs.write_text(
        scheduled_config.read_text()
        .replace(f"{ROOT}/data/demo/", "gs://my-bucket/data/")
        # Listed classes: no data is read (it is not there).
        .replace("label: looking_for_job", "label: {name: looking_for_job, classes: [0, 1]}")
    )
    written = _write_dag(tmp_path, gcs, *dataflow, "--bucket", "gs://my-bucket")
    assert written.returncode == 0, written.stderr
    assert "Beam: dataflow" in written.stdout
    assert "label looking_for_job" not in written.stdout
    text = (tmp_path / "dags" / "cascade_demo.py").read_text()
    assert "'profile': 'dataflow'" in text and "'bucket': 'gs://my-bucket'" in text
    assert "'label': {'name': 'looking_for_job', 'classes': ['0', '1']}" in text


def test_a_dag_file_that_cannot_be_written_is_named(scheduled_config, tmp_path) -> None:
    # A folder where the file goes: not writable as a file, even for root.
    (tmp_path / "dags" / "cascade_demo.py").mkdir(parents=True)
    result = _write_dag(tmp_path, scheduled_config, "--force")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: {tmp_path / 'dags' / 'cascade_demo.py'}: cannot write the DAG file "
        "(Is a directory)"
    )
