"""The `lineage` config section: OpenLineage delivery settings, defaults and errors naming the field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.errors import ConfigError
from pipeline.config import parse_config
from pipeline.lineage_config import OpenLineageConfig
from tests.pipeline.test_config import BASE


def _parse(tmp_path: Path, **sections: Any):
    raw = copy.deepcopy(BASE)
    raw.update(sections)
    return parse_config(yaml.safe_dump(raw, sort_keys=False), str(tmp_path / "c.yaml"))


def test_without_the_section_no_endpoint_is_named(tmp_path: Path) -> None:
    assert _parse(tmp_path).openlineage == OpenLineageConfig(
        url=None,
        endpoint="api/v1/lineage",
        namespace="cascade",
        api_key_env=None,
        timeout_seconds=5.0,
    )


def test_every_field_is_read(tmp_path: Path) -> None:
    section = {
        "openlineage": {
            "url": "https://datahub.example.com:8080",
            "endpoint": "/openapi/openlineage/api/v1/lineage",
            "namespace": "team-ml",
            "api_key_env": "DATAHUB_TOKEN",
            "timeout_seconds": 2,
        }
    }
    assert _parse(tmp_path, lineage=section).openlineage == OpenLineageConfig(
        url="https://datahub.example.com:8080",
        endpoint="openapi/openlineage/api/v1/lineage",
        namespace="team-ml",
        api_key_env="DATAHUB_TOKEN",
        timeout_seconds=2.0,
    )


@pytest.mark.parametrize(
    "lineage,message",
    [
        ("marquez", "lineage: expected a mapping, got str 'marquez'"),
        ({"marquez": {}}, "lineage.marquez: unknown key (expected one of: openlineage)"),
        (
            {"openlineage": {"host": "x"}},
            "lineage.openlineage.host: unknown key (expected one of: api_key_env, endpoint, "
            "namespace, timeout_seconds, url)",
        ),
        (
            {"openlineage": {"url": "marquez:5000"}},
            "lineage.openlineage.url: 'marquez:5000' is not an http:// or https:// URL with a host",
        ),
        (
            {"openlineage": {"url": "http://me:secret@marquez:5000"}},
            "lineage.openlineage.url: 'http://me:secret@marquez:5000' holds credentials",
        ),
        (
            {"openlineage": {"url": "http://marquez:5000", "api_key_env": "MY KEY"}},
            "lineage.openlineage.api_key_env: 'MY KEY' is not an environment variable name",
        ),
        (
            {"openlineage": {"namespace": ""}},
            "lineage.openlineage.namespace: expected a non-empty string, got str ''",
        ),
        (
            {"openlineage": {"timeout_seconds": 0}},
            "lineage.openlineage.timeout_seconds: expected a number in [0.1, 120.0], got int 0",
        ),
    ],
    ids=["not-a-mapping", "unknown-section", "unknown-key", "no-scheme", "credentials",
         "env-name", "empty-namespace", "zero-timeout"],
)  # fmt: skip
def test_errors_name_the_field(tmp_path: Path, lineage: Any, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _parse(tmp_path, lineage=lineage)
    assert str(raised.value).startswith(f"{tmp_path / 'c.yaml'}: ")
    assert message in str(raised.value)
