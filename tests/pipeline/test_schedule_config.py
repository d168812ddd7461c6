"""The `schedule` and `vertex` config sections: values, defaults and errors naming the field."""

from __future__ import annotations

import copy
import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.errors import ConfigError
from pipeline.config import parse_config
from tests.pipeline.test_config import BASE


def _parse(tmp_path: Path, **sections: Any):
    raw = copy.deepcopy(BASE)
    raw.update(sections)
    return parse_config(yaml.safe_dump(raw, sort_keys=False), str(tmp_path / "c.yaml"))


def test_without_the_sections_nothing_is_scheduled(tmp_path: Path) -> None:
    config = _parse(tmp_path)
    assert config.schedule is None and config.vertex is None


def test_a_schedule_takes_its_defaults(tmp_path: Path) -> None:
    schedule = _parse(tmp_path, schedule={"cron": "@daily"}).schedule
    assert (schedule.cron, schedule.start_date, schedule.catchup) == (
        "@daily",
        datetime.date(2024, 1, 1),
        False,
    )
    assert (schedule.retries, schedule.retry_delay_seconds) == (1, 300.0)


def test_every_field_is_read(tmp_path: Path) -> None:
    schedule = _parse(
        tmp_path,
        schedule={
            "cron": "0 3 * * mon-fri",
            "start_date": datetime.date(2026, 12, 1),
            "catchup": True,
            "retries": 3,
            "retry_delay_seconds": 30,
        },
    ).schedule
    assert schedule.cron == "0 3 * * mon-fri"
    assert (schedule.start_date, schedule.catchup, schedule.retries) == (
        datetime.date(2026, 12, 1),
        True,
        3,
    )
    assert schedule.retry_delay_seconds == 30.0


@pytest.mark.parametrize(
    "schedule,message",
    [
        ({"retries": 2}, "schedule.cron: missing (required)"),
        ({"cron": "0 25 * * *"}, "schedule.cron: hour field '25': '25' is not a valid hour"),
        ({"cron": "0 3 * *"}, "schedule.cron: expected 5 fields"),
        ({"cron": 3}, "schedule.cron: expected a non-empty string, got int 3"),
        ({"cron": "@daily", "retries": -1}, "schedule.retries: expected a whole number >= 0"),
        ({"cron": "@daily", "retries": 1.5}, "schedule.retries: expected a whole number >= 0"),
        ({"cron": "@daily", "start_date": "soon"}, "schedule.start_date: expected a date"),
        ({"cron": "@daily", "catchup": "yes"}, "schedule.catchup: expected true or false"),
        (
            {"cron": "@daily", "retry_delay_seconds": -5},
            "schedule.retry_delay_seconds: expected a number in [0.0, 604800.0], got int -5",
        ),
        (
            {"cron": "@daily", "every": "day"},
            "schedule.every: unknown key (expected one of: catchup, cron, retries, "
            "retry_delay_seconds, start_date)",
        ),
        ("nightly", "schedule: expected a mapping, got str 'nightly'"),
    ],
)
def test_schedule_errors_name_the_field(tmp_path: Path, schedule: Any, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _parse(tmp_path, schedule=schedule)
    assert str(raised.value).startswith(f"{tmp_path / 'c.yaml'}: ")
    assert message in str(raised.value)


def test_vertex_names_the_image(tmp_path: Path) -> None:
    image = "us-docker.pkg.dev/my-project/cascade/cascade:1.0"
    assert _parse(tmp_path, vertex={"image": image}).vertex.image == image


@pytest.mark.parametrize(
    "vertex,message",
    [
        ({}, "vertex.image: missing (required)"),
        ({"image": "my image"}, "vertex.image: 'my image' is not a container image reference"),
        ({"image": "x", "region": "us"}, "vertex.region: unknown key (expected one of: image)"),
    ],
)
def test_vertex_errors_name_the_field(tmp_path: Path, vertex: Any, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _parse(tmp_path, vertex=vertex)
    assert message in str(raised.value)
