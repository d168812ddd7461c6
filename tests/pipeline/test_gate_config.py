"""The `gate`, `drift` and `evaluation.max_auc_drop` config sections: values and errors."""

from __future__ import annotations

import copy
import json
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
    path = tmp_path / "c.yaml"
    return parse_config(yaml.safe_dump(raw, sort_keys=False), str(path))


def test_defaults_warn_on_drift_allow_no_anomaly_and_allow_a_small_auc_drop(tmp_path: Path) -> None:
    config = _parse(tmp_path)
    assert config.gate.allow_anomalies == ()
    assert (config.drift.on_breach, config.drift.default) == ("warn", 0.1)
    assert config.evaluation.max_auc_drop == 0.01


def test_sections_are_read_into_the_gate_parameters(tmp_path: Path) -> None:
    config = _parse(
        tmp_path,
        gate={
            "allow_anomalies": {"country": ["ENUM_TYPE_UNEXPECTED_STRING_VALUES"], "user_id": ["*"]}
        },
        drift={"on_breach": "fail", "default": 0.2, "per_feature": {"age": 0.05}},
        evaluation={"min_auc": 0.5, "max_auc_drop": 0.02},
    )
    assert json.loads(config.gate.to_json()) == {
        "country": ["ENUM_TYPE_UNEXPECTED_STRING_VALUES"],
        "user_id": ["*"],
    }
    assert json.loads(config.drift.to_json()) == {
        "on_breach": "fail",
        "false_alarm_rate": 0.001,
        "default": 0.2,
        "per_feature": {"age": 0.05},
    }
    assert config.evaluation.max_auc_drop == 0.02


@pytest.mark.parametrize(
    "sections, message",
    [
        (
            {"gate": {"allow_anomalies": {"height": ["FEATURE_TYPE_NOT_PRESENT"]}}},
            "gate.allow_anomalies.height: not a feature (features: age, country, signup_ts, "
            "looking_for_job, source, user_id)",
        ),
        (
            {"gate": {"allow_anomalies": {"age": ["TOO_OLD"]}}},
            "gate.allow_anomalies.age[0]: 'TOO_OLD' is not a TFDV anomaly type",
        ),
        (
            {"gate": {"allow_anomalies": {"age": "FEATURE_TYPE_NOT_PRESENT"}}},
            "gate.allow_anomalies.age: expected a list of TFDV anomaly types",
        ),
        ({"gate": {"allow": {}}}, "gate.allow: unknown key (expected one of: allow_anomalies)"),
        ({"drift": {"on_breach": "stop"}}, "drift.on_breach: expected one of warn, fail, off"),
        ({"drift": {"per_feature": {"height": 0.1}}}, "drift.per_feature.height: not a feature"),
        ({"drift": {"default": 2}}, "drift.default: expected a number in [0.0, 1.0], got int 2"),
        (
            {"evaluation": {"max_auc_drop": -0.1}},
            "evaluation.max_auc_drop: expected a number in [0.0, 1.0], got float -0.1",
        ),
    ],
)
def test_bad_sections_name_the_field(tmp_path: Path, sections: dict, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _parse(tmp_path, **sections)
    assert str(raised.value).startswith(f"{tmp_path / 'c.yaml'}: ")
    assert message in str(raised.value)
