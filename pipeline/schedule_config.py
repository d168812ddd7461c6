"""The config's orchestration sections: when Airflow runs the pipeline, and the
container image of its Vertex AI / Kubeflow Pipelines v2 spec.

    schedule:
      cron: "0 3 * * *"          # five cron fields, or @daily, @hourly, ...
      start_date: 2026-12-01     # the first logical date (default 2024-01-01)
      catchup: false             # run every missed interval since start_date
      retries: 2                 # tries after a task's first failure
      retry_delay_seconds: 300   # the wait before each retry
    vertex:
      image: us-docker.pkg.dev/PROJECT/REPO/cascade:TAG

With spanned sources named by date (`{YYYY}{MM}{DD}`), a scheduled run reads
the span of its logical date; numbered spans (`{SPAN}`) and unspanned sources
are read as a local run reads them (the newest span; every file).
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from typing import Any, Optional

from core import cron
from pipeline.inventory import FieldReader

DEFAULT_START_DATE = datetime.date(2024, 1, 1)
DEFAULT_RETRIES = 1
DEFAULT_RETRY_DELAY_SECONDS = 300.0
# A container image reference: [registry/]path[:tag][@digest], no spaces.
_IMAGE = re.compile(r"^[a-z0-9][a-z0-9._/:@-]*[a-zA-Z0-9_.-]$|^[a-z0-9]$")


@dataclasses.dataclass(frozen=True)
class ScheduleConfig:
    """When and how Airflow runs the pipeline.

    Attributes:
      cron: A cron expression or Airflow preset (checked by `core.cron`).
      start_date: The first logical date Airflow schedules.
      catchup: Whether Airflow runs every interval since `start_date` that has
        not run (False: only the newest).
      retries: How many times a failed task is tried again.
      retry_delay_seconds: How long Airflow waits before each retry.
    """

    cron: str
    start_date: datetime.date = DEFAULT_START_DATE
    catchup: bool = False
    retries: int = DEFAULT_RETRIES
    retry_delay_seconds: float = DEFAULT_RETRY_DELAY_SECONDS


@dataclasses.dataclass(frozen=True)
class VertexConfig:
    """Where the Vertex AI / Kubeflow Pipelines v2 steps run.

    Attributes:
      image: The container image every step runs in (it must hold this
        project and its dependencies).
    """

    image: str


def read_schedule(r: FieldReader, raw: Any) -> Optional[ScheduleConfig]:
    """Reads the `schedule` section (None when the config has none).

    Raises:
      ConfigError: An unknown key, a cron expression that does not parse, a
        start date that is not a date, or a negative count or delay (naming
        the field).
    """
    if raw is None:
        return None
    raw = r.mapping(raw, "schedule")
    r.only_keys(
        raw, "schedule", {"cron", "start_date", "catchup", "retries", "retry_delay_seconds"}
    )
    if "cron" not in raw:
        raise r.error("schedule.cron", 'missing (required), e.g. cron: "0 3 * * *" or @daily')
    expression = r.string(raw["cron"], "schedule.cron")
    found = cron.problem(expression)
    if found:
        raise r.error("schedule.cron", found)
    start = raw.get("start_date", DEFAULT_START_DATE)
    if isinstance(start, datetime.datetime) or not isinstance(start, datetime.date):
        raise r.error("schedule.start_date", f"expected a date like 2026-12-01, got {start!r}")
    catchup = raw.get("catchup", False)
    if not isinstance(catchup, bool):
        raise r.error("schedule.catchup", f"expected true or false, got {catchup!r}")
    retries = raw.get("retries", DEFAULT_RETRIES)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise r.error("schedule.retries", f"expected a whole number >= 0, got {retries!r}")
    delay = r.number(
        raw.get("retry_delay_seconds", DEFAULT_RETRY_DELAY_SECONDS),
        "schedule.retry_delay_seconds",
        0.0,
        7 * 24 * 3600.0,
    )
    return ScheduleConfig(
        cron=expression.strip(),
        start_date=start,
        catchup=catchup,
        retries=retries,
        retry_delay_seconds=delay,
    )


def read_vertex(r: FieldReader, raw: Any) -> Optional[VertexConfig]:
    """Reads the `vertex` section (None when the config has none).

    Raises:
      ConfigError: An unknown key, or an image that is not a container image
        reference (naming the field).
    """
    if raw is None:
        return None
    raw = r.mapping(raw, "vertex")
    r.only_keys(raw, "vertex", {"image"})
    if "image" not in raw:
        raise r.error("vertex.image", "missing (required): the container image the steps run in")
    image = r.string(raw["image"], "vertex.image")
    if not _IMAGE.match(image):
        raise r.error(
            "vertex.image",
            f"{image!r} is not a container image reference "
            "(e.g. us-docker.pkg.dev/PROJECT/REPO/cascade:1.0)",
        )
    return VertexConfig(image=image)
