"""The DAG file `cascade schedule airflow` writes into Airflow's dags folder.

The file holds only settings: the config's path, the store and the Beam
profile. Each time Airflow parses it, `load_dag` reads the config and builds
the DAG (`scheduling.airflow_dag`), so an edited config or pipeline code
reaches the next run with fresh code versions; the store and profile are the
flags the file was written with. No password is written: tasks read it from
`CASCADE_MYSQL_PASSWORD` or the password file when they run.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Optional

from core.errors import CascadeError
from metadata.connection import MySqlOptions
from pipeline.config import PipelineConfig, load_config
from pipeline.runners import DataflowOptions
from scheduling.airflow_dag import (
    DagRequest,
    build_dag,
    check_airflow_installed,
    prepared,
    span_rule,
)
from services.store import StoreOptions

_TEMPLATE = '''"""Airflow DAG of the Cascade pipeline {name!r}, written by `cascade schedule airflow`.

Airflow builds the DAG from the config each time it parses this file: one task
per TFX component, scheduled as the config's `schedule:` says. Write the file
again (with --force) to change the metadata store or the Beam profile.
"""

from scheduling.dag_file import load_dag

dag = load_dag(
{settings}
)
'''


@dataclasses.dataclass(frozen=True)
class DagFileRequest:
    """What the DAG file is written for.

    Attributes:
      config: The validated config (checked before anything is written).
      config_path: The config file, as the DAG file names it (absolute).
      output_root: The `--output-root` override, or None.
      store: The metadata store the tasks record in.
      profile: The Beam runner profile.
      dataflow: Dataflow's options with the `dataflow` profile, else None.
      dags_folder: Airflow's dags folder.
      force: Overwrite an existing DAG file.
    """

    config: PipelineConfig
    config_path: str
    output_root: Optional[str]
    store: StoreOptions
    profile: str
    dataflow: Optional[DataflowOptions]
    dags_folder: str
    force: bool = False


@dataclasses.dataclass(frozen=True)
class DagFileResult:
    """A written DAG file and what the DAG does."""

    path: str
    request: DagFileRequest

    def report_lines(self) -> list[str]:
        """What was written, when it runs, what each run reads, and how to try it."""
        config = self.request.config
        schedule = config.schedule
        lines = [f"wrote {self.path}: DAG {config.name!r}, one task per TFX component"]
        if schedule is None:
            lines.append(
                "  schedule: none in the config, so the DAG runs only when triggered "
                '(add e.g. schedule: {cron: "0 3 * * *", retries: 2})'
            )
        else:
            lines.append(
                f"  schedule: {schedule.cron} from {schedule.start_date} "
                f"(catchup {'on' if schedule.catchup else 'off'}), {schedule.retries} "
                f"retries {schedule.retry_delay_seconds:g} s apart"
            )
        lines.append(f"  each run: {span_rule(config)}")
        lines.append(f"  store: {self.request.store.describe()}; Beam: {self.request.profile}")
        lines += [
            "",
            "Try one run now, without a scheduler (logical date: today):",
            f"  airflow dags test {config.name} {_today()}",
        ]
        return lines


def _today() -> str:
    import datetime

    return datetime.date.today().isoformat()


def settings_of(request: DagFileRequest) -> dict[str, Any]:
    """The DAG file's settings: plain values `load_dag` reads back."""
    mysql = request.store.mysql
    dataflow = request.dataflow
    return {
        "config": request.config_path,
        "output_root": os.path.abspath(request.output_root) if request.output_root else None,
        "metadata": None if mysql else os.path.abspath(request.store.sqlite_path),
        "mysql": dataclasses.asdict(mysql) if mysql else None,
        "profile": request.profile,
        "dataflow": dataclasses.asdict(dataflow) if dataflow else None,
    }


def write_dag_file(request: DagFileRequest) -> DagFileResult:
    """Writes `<dags_folder>/cascade_<pipeline>.py`.

    Raises:
      CascadeError: Airflow is not installed, the dags folder does not exist,
        the file exists and `force` is not set or cannot be written, or the
        Dataflow profile is asked for with data that is not on GCS.
    """
    check_airflow_installed()
    prepared(
        DagRequest(
            config=request.config,
            store=request.store,
            profile=request.profile,
            dataflow=request.dataflow,
        )
    )
    if not os.path.isdir(request.dags_folder):
        raise CascadeError(
            f"--dags-folder {request.dags_folder} does not exist (create it, or point "
            "AIRFLOW_HOME at your Airflow installation)"
        )
    path = os.path.join(request.dags_folder, dag_file_name(request.config.name))
    if os.path.exists(path) and not request.force:
        raise CascadeError(f"{path} exists; add --force to replace it")
    entries = "".join(
        f"        {key!r}: {value!r},\n" for key, value in settings_of(request).items()
    )
    settings = "    {\n" + entries + "    }"
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(_TEMPLATE.format(name=request.config.name, settings=settings))
    except OSError as e:
        raise CascadeError(f"{path}: cannot write the DAG file ({e.strerror})") from None
    return DagFileResult(path=path, request=request)


def load_dag(settings: dict[str, Any]) -> Any:
    """Builds the DAG from a DAG file's settings (what Airflow calls at each parse).

    Raises:
      CascadeError: The config is invalid or Airflow is not installed (Airflow
        shows the message as the file's import error).
    """
    config = load_config(settings["config"], settings.get("output_root"))
    mysql = MySqlOptions(**settings["mysql"]) if settings.get("mysql") else None
    store = StoreOptions(
        sqlite_path=settings.get("metadata") or config.output.metadata_path, mysql=mysql
    )
    dataflow = DataflowOptions(**settings["dataflow"]) if settings.get("dataflow") else None
    return build_dag(
        DagRequest(config=config, store=store, profile=settings["profile"], dataflow=dataflow)
    )


def dag_file_name(pipeline_name: str) -> str:
    """The DAG file's name: the pipeline's, as a Python module name."""
    return pipeline_name.replace("-", "_") + ".py"
