"""The DAG file `cascade schedule airflow` writes into Airflow's dags folder.

The file holds only settings: the config's path, the store, the Beam
profile and the label's classes. Each time Airflow parses it, `load_dag` reads
the config and builds the DAG (`scheduling.airflow_dag`), so an edited config
or pipeline code reaches the next run with fresh code versions; the store and
profile are the flags the file was written with. The classes are the config's
`label.classes`, or else the ones found in the input data when the file was
written (an Airflow parse reads no data); a config that lists classes
overrides them. No password is written: tasks read it from
`CASCADE_MYSQL_PASSWORD` or the password file when they run.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Optional

from core.errors import CascadeError, ConfigError
from core.labels import found_classes_line
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
per TFX component, scheduled as the config's `schedule:` says. The label's
classes are the config's `label.classes`, or else the ones below. Write the
file again (with --force) to change the metadata store or the Beam profile, or
to find the label's classes again.
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
    """A written DAG file and what the DAG does.

    Attributes:
      path: The DAG file.
      request: What it was written for, its config's label classes known.
      classes_found: The label classes were found in the input data (the
        config lists none) and recorded in the file.
    """

    path: str
    request: DagFileRequest
    classes_found: bool = False

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
        if self.classes_found:
            lines.append("  " + found_classes_line(config.label_spec, ", recorded in the DAG file"))
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
    """The DAG file's settings: plain values `load_dag` reads back.

    Args:
      request: What the file is written for, its config's label classes known
        (`pipeline.preflight.resolve_label_classes`).
    """
    mysql = request.store.mysql
    dataflow = request.dataflow
    label = request.config.label_spec
    return {
        "config": request.config_path,
        "output_root": os.path.abspath(request.output_root) if request.output_root else None,
        "metadata": None if mysql else os.path.abspath(request.store.sqlite_path),
        "mysql": dataclasses.asdict(mysql) if mysql else None,
        "profile": request.profile,
        "dataflow": dataclasses.asdict(dataflow) if dataflow else None,
        "label": {"name": label.name, "classes": list(label.classes or ())},
    }


def write_dag_file(request: DagFileRequest) -> DagFileResult:
    """Writes `<dags_folder>/cascade_<pipeline>.py`.

    Label classes the config does not list are found in the input data here,
    once (the label column of the files a run reads), and recorded in the file.

    Raises:
      CascadeError: Airflow is not installed, the dags folder does not exist,
        the file exists and `force` is not set or cannot be written, or the
        Dataflow profile is asked for with data that is not on GCS; a source
        cannot be read, or holds fewer than two label classes or not the
        configured positive one.
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
    from pipeline import preflight

    found = request.config.label_classes is None
    request = dataclasses.replace(request, config=preflight.resolve_label_classes(request.config))
    entries = "".join(
        f"        {key!r}: {value!r},\n" for key, value in settings_of(request).items()
    )
    settings = "    {\n" + entries + "    }"
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(_TEMPLATE.format(name=request.config.name, settings=settings))
    except OSError as e:
        raise CascadeError(f"{path}: cannot write the DAG file ({e.strerror})") from None
    return DagFileResult(path=path, request=request, classes_found=found)


def load_dag(settings: dict[str, Any]) -> Any:
    """Builds the DAG from a DAG file's settings (what Airflow calls at each parse).

    Raises:
      CascadeError: The config is invalid, its label lists no classes and the
        file records none of that label, or Airflow is not installed (Airflow
        shows the message as the file's import error).
    """
    return build_dag(dag_request(settings))


def dag_request(settings: dict[str, Any]) -> DagRequest:
    """The scheduled pipeline a DAG file's settings describe; it reads no data.

    The label's classes are the config's `label.classes`, else the ones the
    file records.

    Raises:
      ConfigError: The config is invalid, or its label lists no classes and
        the file records none of that label (or recorded ones the config's
        `label.positive` does not fit).
    """
    config = load_config(settings["config"], settings.get("output_root"))
    config = _with_recorded_classes(config, settings.get("label"))
    mysql = MySqlOptions(**settings["mysql"]) if settings.get("mysql") else None
    store = StoreOptions(
        sqlite_path=settings.get("metadata") or config.output.metadata_path, mysql=mysql
    )
    dataflow = DataflowOptions(**settings["dataflow"]) if settings.get("dataflow") else None
    return DagRequest(config=config, store=store, profile=settings["profile"], dataflow=dataflow)


def _with_recorded_classes(
    config: PipelineConfig, recorded: Optional[dict[str, Any]]
) -> PipelineConfig:
    """The config with its label classes: as listed, else as the DAG file records them.

    Raises:
      ConfigError: No classes are listed and none of the config's label are recorded.
    """
    if config.label_classes is not None:
        return config
    name, classes = (recorded or {}).get("name"), (recorded or {}).get("classes")
    if name != config.label or not classes:
        held = f" (it records those of label {name!r})" if name and name != config.label else ""
        raise ConfigError(
            f"{config.config_path}: label: lists no classes, and the DAG file records none "
            f"of label {config.label!r}{held}; list them under label.classes, or write the "
            "file again (cascade schedule airflow --force) to find them in the input data"
        )
    return config.with_label_classes(classes)


def dag_file_name(pipeline_name: str) -> str:
    """The DAG file's name: the pipeline's, as a Python module name."""
    return pipeline_name.replace("-", "_") + ".py"
