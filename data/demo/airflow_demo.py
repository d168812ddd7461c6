"""Runs the demo pipeline as an Apache Airflow DAG, once, with `airflow dags test`.

What a user does to put the pipeline under Airflow, in a throwaway Airflow
home under the output root (its own SQLite database, no scheduler, no
webserver), so nothing of an Airflow installation elsewhere is touched:

- `airflow db migrate` creates Airflow's database (`home/airflow.db`);
- `cascade schedule airflow` writes the DAG file into `home/dags`: one task per
  TFX component, recording in the pipeline's own store (`demo/metadata.sqlite`);
- `airflow dags test cascade-demo DATE` runs the DAG once for DATE (default:
  today), each task in turn; the whole log goes to `dags-test-DATE.log`, and
  each task's end and final state are printed;
- `cascade lineage runs` lists the runs in ML Metadata: Airflow's runs are
  there beside local ones, named by Airflow's run id.

Run it again and `airflow dags test` replaces the DAG run of the same date:
a new MLMD run, whose unchanged steps TFX serves from its cache. Last, it
prints how to look at the DAG and its run in Airflow's web UI.

    .venv/bin/python data/demo/airflow_demo.py                  # or: make airflow
    .venv/bin/python data/demo/airflow_demo.py --date 2026-12-01 --output-root outputs/af
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from typing import Optional, Sequence

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DAG_ID = "cascade-demo"
CONFIG = os.path.join("configs", "demo.yaml")
INSTALL_HINT = (
    "`make airflow` installs it (the airflow extra: "
    ".venv/bin/pip install -c requirements.lock '.[airflow]')"
)
# A task's end in `airflow dags test`'s log: its state, its task id.
TASK_END = re.compile(
    rf"Marking task as (?P<state>[A-Z_]+)\. dag_id={re.escape(DAG_ID)}, task_id=(?P<task>\w+),"
)


def shown(path: str) -> str:
    """`path` as a command run from the project's folder names it (relative when inside)."""
    relative = os.path.relpath(path, ROOT)
    return path if relative.startswith("..") else relative


def tool(name: str) -> str:
    """The console script `name` beside this interpreter (`airflow`, `cascade`)."""
    return os.path.join(os.path.dirname(sys.executable), name)


def airflow_env(home: str) -> dict[str, str]:
    """This process's environment plus the demo's Airflow home, for its subprocesses only.

    PYTHONPATH puts this project tree first, so the DAG file Airflow parses and
    its tasks run this tree's pipeline code.
    """
    python_path = os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)
    return {
        **os.environ,
        "AIRFLOW_HOME": home,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": os.path.join(home, "dags"),
        "PYTHONPATH": python_path,
        "PYTHONWARNINGS": "ignore",
        # Each task's end reaches this script's progress lines as Airflow logs it.
        "PYTHONUNBUFFERED": "1",
    }


def run_quietly(command: Sequence[str], env: dict[str, str], what: str) -> bool:
    """Runs `command`, printing its output only when it fails; returns whether it succeeded."""
    result = subprocess.run(
        list(command), cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        print(f"error: {what} failed (exit code {result.returncode}):", file=sys.stderr)
        print((result.stdout + result.stderr).rstrip("\n")[-4000:], file=sys.stderr)
    return result.returncode == 0


def cascade(args: Sequence[str], env: dict[str, str]) -> int:
    """Runs `cascade ARGS` from the project's folder; prints the command and all it prints."""
    print(f"$ cascade {' '.join(args)}", flush=True)
    command = [tool("cascade")]
    if not os.path.exists(command[0]):  # the project is not installed: its entry point
        command = [sys.executable, "-c", "import sys; from cli.main import main; sys.exit(main())"]
    result = subprocess.run(
        [*command, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    print(result.stdout.rstrip("\n"))
    if result.stderr.strip():
        print(result.stderr.rstrip("\n"))
    print(f"(exit code {result.returncode})", flush=True)
    return result.returncode


def dags_test(date: str, env: dict[str, str], log_path: str) -> int:
    """Runs `airflow dags test` for `date`, its whole output into `log_path`.

    Airflow's log of a run is thousands of lines; what a reader wants is each
    task's end, printed as it happens with the seconds since the start.
    Returns the command's exit code.
    """
    print(f"$ airflow dags test {DAG_ID} {date}    (log: {shown(log_path)})", flush=True)
    start = time.monotonic()
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [tool("airflow"), "dags", "test", DAG_ID, date],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            match = TASK_END.search(line)
            if match:
                elapsed = time.monotonic() - start
                print(f"  {elapsed:5.0f} s  {match['task']}: {match['state']}", flush=True)
        code = process.wait()
    print(f"(exit code {code})", flush=True)
    return code


def task_states(date: str, env: dict[str, str]) -> Optional[list[dict[str, str]]]:
    """The final state of each task of the DAG run `dags test` made for `date`, as Airflow's
    database holds it (`airflow tasks states-for-dag-run`), in the order the tasks ended;
    None if Airflow could not say."""
    run_id = f"manual__{date}T00:00:00+00:00"
    result = subprocess.run(
        [tool("airflow"), "tasks", "states-for-dag-run", DAG_ID, run_id, "-o", "json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or "[" not in result.stdout:
        print((result.stdout + result.stderr).rstrip("\n")[-2000:], file=sys.stderr)
        return None
    # Airflow may log a line or two before the JSON.
    states = json.loads(result.stdout[result.stdout.index("[") :])
    return sorted(states, key=lambda s: s.get("end_date") or "~")


def print_states(states: list[dict[str, str]]) -> None:
    """One line per task: its final state and when it ended (UTC); then the count.

    (`dags test` records no start time, so Airflow's database has no durations.)
    """
    width = max(len(s["task_id"]) for s in states)
    for s in states:
        ended = s.get("end_date") or ""
        ended = f"ended {ended[11:19]} UTC" if ended else "not ended"
        print(f"  {s['task_id']:<{width}}  {s['state'] or 'no state':<8}  {ended}")
    done = sum(s["state"] == "success" for s in states)
    print(f"{done} of {len(states)} tasks succeeded")


def print_ui_hint(home: str, output_root: str) -> None:
    """How to look at the DAG and its runs in Airflow's web UI, and in MLMD."""
    home_arg = shown(home)
    print(
        f"Airflow's web UI, on this Airflow home (from the project's folder):\n"
        f"  AIRFLOW_HOME={home_arg} .venv/bin/airflow webserver --port 8080 --hostname 127.0.0.1\n"
        f"  then http://127.0.0.1:8080/dags/{DAG_ID}/grid (the graph: .../{DAG_ID}/graph)\n"
        f'  read-only without a login: AUTH_ROLE_PUBLIC = "Viewer" in {home_arg}/webserver_config.py\n'
        "  (the webserver writes that file on its first start; docs/airflow_screenshot.sh\n"
        "  gives the webserver a file of its own that says so)\n"
        "  `dags test` records the run as started at its logical date (00:00 UTC), so the\n"
        "  UI counts the run's duration from then\n"
        "or with a scheduler, to trigger runs (log in as admin; the password is in "
        f"{home_arg}/standalone_admin_password.txt):\n"
        f"  AIRFLOW_HOME={home_arg} AIRFLOW__CORE__LOAD_EXAMPLES=False .venv/bin/airflow standalone\n"
        "The DAG's runs are in ML Metadata too, beside local runs:\n"
        f"  .venv/bin/cascade lineage runs --config {CONFIG} --output-root {shown(output_root)}"
    )


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """Parses the flags; argparse exits 2 with usage on bad ones."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--output-root",
        default=os.path.join(ROOT, "outputs", "airflow"),
        help="the Airflow home (home/), the pipeline's outputs and store (demo/) and the "
        "run's log; kept between runs, so a second run finds the steps' outputs there",
    )
    parser.add_argument(
        "--date",
        default=datetime.date.today().isoformat(),
        help="the DAG run's logical date, YYYY-MM-DD (default: today)",
    )
    args = parser.parse_args(argv)
    try:
        datetime.date.fromisoformat(args.date)
    except ValueError:
        parser.error(f"--date {args.date}: not a date (YYYY-MM-DD)")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Writes the DAG, runs it once, lists the runs; returns 0 when every task succeeded."""
    args = parse_args(argv)
    if importlib.util.find_spec("airflow") is None or not os.path.exists(tool("airflow")):
        print(f"error: Apache Airflow is not installed; {INSTALL_HINT}", file=sys.stderr)
        return 2
    output_root = os.path.abspath(args.output_root)
    home = os.path.join(output_root, "home")
    pipeline_root = os.path.join(output_root, "demo")
    if os.path.isfile(output_root) or (
        os.path.isdir(output_root) and os.listdir(output_root) and not os.path.isdir(home)
    ):
        print(
            f"error: --output-root {args.output_root}: not a folder this script made "
            "(no home/ in it); give an empty folder",
            file=sys.stderr,
        )
        return 2
    os.makedirs(os.path.join(home, "dags"), exist_ok=True)
    env = airflow_env(home)

    print(f"=== Airflow home: {shown(home)}", flush=True)
    if not run_quietly([tool("airflow"), "db", "migrate"], env, "airflow db migrate"):
        return 1
    print(f"airflow db migrate: database ready ({shown(os.path.join(home, 'airflow.db'))})")

    print("\n=== the DAG file", flush=True)
    dags = os.path.join(home, "dags")
    code = cascade(
        ["schedule", "airflow", "--config", CONFIG, "--output-root", shown(pipeline_root)]
        + ["--dags-folder", shown(dags), "--force"],
        env,
    )
    if code != 0:
        return code
    # The web UI shows DAGs from Airflow's database; without a scheduler running,
    # this is what puts the DAG there.
    if not run_quietly([tool("airflow"), "dags", "reserialize"], env, "airflow dags reserialize"):
        return 1

    print(f"\n=== one run of the DAG, logical date {args.date}", flush=True)
    code = dags_test(args.date, env, os.path.join(output_root, f"dags-test-{args.date}.log"))
    states = task_states(args.date, env)
    if states:
        print(f"\n=== the tasks' final states (airflow tasks states-for-dag-run {DAG_ID} ...)")
        print_states(states)

    print("\n=== the runs in ML Metadata", flush=True)
    cascade(["lineage", "runs", "--config", CONFIG, "--output-root", shown(pipeline_root)], env)

    print("\n=== to look at it", flush=True)
    print_ui_hint(home, pipeline_root)
    succeeded = bool(states) and all(s["state"] == "success" for s in states)
    return 0 if code == 0 and succeeded else 1


if __name__ == "__main__":
    sys.exit(main())
