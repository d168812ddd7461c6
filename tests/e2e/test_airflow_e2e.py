"""The pipeline under real Apache Airflow: `cascade schedule airflow`, then `airflow dags test`.

Airflow 2.10 with a throwaway SQLite database (no scheduler, no webserver).
The sources arrive as date spans; the run of 2026-12-04 must read that day's
span although a newer one (2026-12-05) is there. The Pusher's destination is
blocked (a file where its folder goes) when the first run starts: Airflow
fails the task, the test clears the path, and Airflow's retry pushes, with
no other task run again. A second run of the same logical date comes from
TFX's cache. Small data, few training steps: the point is the orchestration.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ml_metadata.proto import metadata_store_pb2

from core import spans
from tests import loopback
from tests.e2e import mlmd_queries
from tests.e2e.helpers import (
    AGAIN_ON_SECOND_RUN,
    COMPONENTS,
    DEMO_DATA,
    ROOT,
    cascade_script,
    copy_rows,
    demo_config_in,
)

pytestmark = pytest.mark.e2e

DAG_ID = "cascade-demo"
DAY = "2026-12-04"
NEXT_DAY = "2026-12-05"
RUN_ID = f"manual__{DAY}T00:00:00+00:00"
# Rows per source and day: the counts tell the two days apart.
ROWS = {
    DAY: {"web": 240, "mobile": 160, "partner": 120},
    NEXT_DAY: {"web": 90, "mobile": 70, "partner": 50},
}
RETRY_DELAY_SECONDS = 8
# Fixed skew thresholds keep the run short: no SkewCalibration step.
NODES = [c for c in COMPONENTS if c != "SkewCalibration"]
AIRFLOW = str(Path(sys.executable).parent / "airflow")


def _airflow_env(home: Path, **extra: str) -> dict:
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "PYTHONPATH": str(ROOT),
        "PYTHONWARNINGS": "ignore",
        **extra,
    }


def _airflow(home: Path, *args: str, timeout: int = 900, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [AIRFLOW, *args],
        cwd=home,
        env=_airflow_env(home, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _config(root: Path) -> Path:
    """The demo config on date spans, scheduled nightly with one retry."""
    for day, rows in ROWS.items():
        folder = day.replace("-", "")
        for source, count in rows.items():
            copy_rows(
                DEMO_DATA / source / "users.csv",
                root / "data" / source / folder / "users.csv",
                count,
            )
    text = demo_config_in(root, train_steps=60, min_auc=0.01)
    for source in ROWS[DAY]:
        text = text.replace(
            f"path: data/{source}\n", f"path: 'data/{source}/{{YYYY}}{{MM}}{{DD}}'\n"
        )
    text = text.replace("mode: calibrated", "mode: fixed")
    text += (
        "\nschedule:\n"
        '  cron: "0 3 * * *"\n'
        "  start_date: 2026-12-01\n"
        "  retries: 1\n"
        f"  retry_delay_seconds: {RETRY_DELAY_SECONDS}\n"
    )
    config = root / "scheduled.yaml"
    config.write_text(text)
    return config


def _failed_pusher(store_path: Path) -> bool:
    """Whether MLMD holds a failed Pusher execution (read without locking the writer out)."""
    if not store_path.exists():
        return False
    try:
        with sqlite3.connect(f"file:{store_path}?mode=ro", uri=True, timeout=1) as db:
            rows = db.execute(
                "SELECT e.last_known_state FROM Execution e JOIN Type t ON e.type_id = t.id "
                "WHERE t.name LIKE '%Pusher%'"
            ).fetchall()
    except sqlite3.Error:
        return False
    return any(state == metadata_store_pb2.Execution.FAILED for (state,) in rows)


@pytest.fixture(scope="module")
def scheduled(tmp_path_factory) -> dict:
    """Writes the DAG, runs it for DAY with the Pusher blocked at first, then again."""
    root = tmp_path_factory.mktemp("airflow")
    home = root / "airflow"
    (home / "dags").mkdir(parents=True)
    config = _config(root)
    output_root = root / "outputs"
    migrated = _airflow(home, "db", "migrate")
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    written = subprocess.run(
        [
            cascade_script(),
            "schedule",
            "airflow",
            "--config",
            str(config),
            "--output-root",
            str(output_root),
        ],
        cwd=root,
        env=_airflow_env(home),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert written.returncode == 0, written.stderr[-3000:]

    # A file where the Pusher's folder goes: its first try fails.
    output_root.mkdir()
    blocker = output_root / "serving_model"
    blocker.write_text("not a folder")
    # Airflow's log goes to a file: a pipe nobody reads would fill and stall the run.
    log_path = root / "first_run.log"
    with open(log_path, "w") as log:
        first = subprocess.Popen(
            [AIRFLOW, "dags", "test", DAG_ID, DAY],
            cwd=home,
            env=_airflow_env(home),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 900
        while not _failed_pusher(output_root / "metadata.sqlite"):
            assert first.poll() is None, "the run ended before the Pusher failed"
            assert time.monotonic() < deadline, "no failed Pusher execution within 15 minutes"
            time.sleep(0.5)
        blocker.unlink()
        first.wait(timeout=900)
    first_log = log_path.read_text()
    assert first.returncode == 0, first_log[-6000:]
    second = _airflow(home, "dags", "test", DAG_ID, DAY)
    assert second.returncode == 0, second.stdout[-6000:] + second.stderr[-3000:]
    return {
        "root": root,
        "home": home,
        "config": config,
        "output_root": output_root,
        "written": written.stdout,
        "first_log": first_log,
    }


def _task_instances(home: Path) -> list[dict]:
    """Every task instance in Airflow's database: task, state, tries."""
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute(
            "SELECT task_id, run_id, state, try_number FROM task_instance WHERE dag_id = ?",
            (DAG_ID,),
        ).fetchall()
    return [dict(zip(("task", "run", "state", "tries"), row)) for row in rows]


def _mlmd_runs(output_root: Path) -> tuple:
    store = mlmd_queries.open_store(str(output_root / "metadata.sqlite"))
    return store, mlmd_queries.runs(store)


def _executions_by_node(store, run) -> dict[str, list[str]]:
    """Node id -> the states of its executions in `run`, oldest first."""
    in_run = {e.id for e in store.get_executions_by_context(run.id)}
    found: dict[str, list[str]] = {}
    for node in store.get_contexts_by_type("node"):
        executions = sorted(
            (e for e in store.get_executions_by_context(node.id) if e.id in in_run),
            key=lambda e: e.id,
        )
        if executions:
            found[node.name.split(".")[-1]] = [
                metadata_store_pb2.Execution.State.Name(e.last_known_state) for e in executions
            ]
    return found


def test_the_dag_file_says_what_each_run_reads(scheduled) -> None:
    written = scheduled["written"]
    assert f"wrote {scheduled['home'] / 'dags' / 'cascade_demo.py'}: DAG 'cascade-demo'" in written
    assert "schedule: 0 3 * * * from 2026-12-01 (catchup off), 1 retries 8 s apart" in written
    assert "each run: reads the span of its logical date" in written
    assert f"airflow dags test {DAG_ID} " in written


def test_every_task_succeeded_and_only_the_failed_one_was_tried_again(scheduled) -> None:
    instances = _task_instances(scheduled["home"])
    assert sorted(i["task"] for i in instances) == sorted(NODES)
    assert {i["state"] for i in instances} == {"success"}
    # `dags test` of the same date replaces the DAG run: these are the second
    # run's; the first run's tries are in MLMD and in its log.
    log = scheduled["first_log"]
    assert log.count("Marking task as UP_FOR_RETRY") == 1
    assert log.count(f"Marking task as UP_FOR_RETRY. dag_id={DAG_ID}, task_id=Pusher,") == 1
    for component in NODES:
        assert log.count(f"Marking task as SUCCESS. dag_id={DAG_ID}, task_id={component},") == 1


def test_mlmd_holds_the_run_with_one_execution_per_node_the_retry_in_place_of_its_try(
    scheduled,
) -> None:
    store, runs = _mlmd_runs(scheduled["output_root"])
    assert len(runs) == 2
    assert all(r.name.startswith(f"{RUN_ID}#") for r in runs)
    first = _executions_by_node(store, runs[0])
    # TFX's launcher runs a retried node again in place of its failed try.
    assert first == {node: ["COMPLETE"] for node in NODES}


def test_the_second_run_of_the_same_date_comes_from_the_cache(scheduled) -> None:
    store, runs = _mlmd_runs(scheduled["output_root"])
    second = _executions_by_node(store, runs[1])
    assert sorted(second) == sorted(NODES)
    for node, states in second.items():
        assert states == (["COMPLETE"] if node in AGAIN_ON_SECOND_RUN else ["CACHED"]), (
            node,
            states,
        )


def test_the_logical_date_chose_its_span_not_the_newest(scheduled) -> None:
    store, runs = _mlmd_runs(scheduled["output_root"])
    [examples] = [
        a
        for a in store.get_artifacts_by_context(runs[0].id)
        if a.type_id == store.get_artifact_type("Examples").id and "CsvExampleGen" in a.uri
    ]
    assert examples.custom_properties["span"].int_value == spans.date_to_span(2026, 12, 4)
    facts = json.loads(examples.custom_properties["source_facts"].string_value)
    assert {source: facts[source]["rows"] for source in ROWS[DAY]} == ROWS[DAY]


def test_lineage_reads_the_scheduled_run_as_a_local_one(scheduled) -> None:
    result = subprocess.run(
        [
            cascade_script(),
            "lineage",
            "runs",
            "--config",
            str(scheduled["config"]),
            "--output-root",
            str(scheduled["output_root"]),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.split(f"{RUN_ID}#")[1:]
    assert "  cascade-demo  COMPLETE  started " in first and "why:" not in first
    assert "Pusher COMPLETE" in first
    assert "  cascade-demo  COMPLETE  started " in second and "Pusher COMPLETE" in second


def test_a_mysql_store_that_never_answers_fails_the_task_in_time_naming_host_and_port(
    scheduled, tmp_path
) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    env = _airflow_env(scheduled["home"], CASCADE_MYSQL_PASSWORD="s3cret-pw")
    env["AIRFLOW__CORE__DAGS_FOLDER"] = str(dags)
    # A server that accepts and never answers; the DAG file carries --mysql-timeout.
    with loopback.silent() as server:
        written = subprocess.run(
            [
                cascade_script(), "schedule", "airflow", "--config", str(scheduled["config"]),
                "--mysql-host", "127.0.0.1", "--mysql-port", str(server.port),
                "--mysql-database", "cascade", "--mysql-user", "cascade", "--mysql-timeout", "2",
                "--dags-folder", str(dags),
            ],
            env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert written.returncode == 0, written.stderr
        assert "s3cret-pw" not in (dags / "cascade_demo.py").read_text()
        result = subprocess.run(
            [AIRFLOW, "tasks", "test", DAG_ID, "CsvExampleGen", DAY],
            cwd=scheduled["home"], env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert (
        f"cannot open the metadata store mysql://cascade@127.0.0.1:{server.port}/cascade: "
        f"127.0.0.1:{server.port} accepted the connection but sent no MySQL greeting within 2 s"
    ) in output
    assert "s3cret-pw" not in output
