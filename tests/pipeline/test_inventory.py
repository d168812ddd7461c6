"""The data inventory section of the config: typed entries and errors naming source and field."""

from __future__ import annotations

import copy
import datetime
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.config import load_config
from core.errors import ConfigError
from tests.pipeline.test_config import BASE

ENTRY = {
    "owner": "growth-team",
    "description": "sign-ups on the website",
    "collection_cost": 1200,
    "collection_days": 30,
    "labelling_method": "in_house",
    "labeller_qualification": "recruiters on staff",
    "collected_on": "2026-10-01",
}


def _config(tmp_path: Path, inventory: Any) -> Path:
    data = copy.deepcopy(BASE)
    data["inventory"] = inventory
    path = tmp_path / "cascade.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _both(**changes: Any) -> dict[str, Any]:
    return {"web": {**ENTRY, **changes}, "mobile": dict(ENTRY, labelling_method="crowd")}


def _error(tmp_path: Path, inventory: Any) -> str:
    with pytest.raises(ConfigError) as excinfo:
        load_config(str(_config(tmp_path, inventory)))
    return str(excinfo.value)


def test_an_inventory_is_read_per_source_in_source_order(tmp_path):
    config = load_config(str(_config(tmp_path, _both(currency="EUR", collection_cost=12.5))))
    assert list(config.inventory) == ["web", "mobile"]
    web = config.inventory["web"]
    assert web.collection_cost == 12.5 and web.currency == "EUR"
    assert web.collected_on == datetime.date(2026, 10, 1)
    assert config.inventory["mobile"].currency == "USD"
    assert config.inventory["mobile"].labelling_method == "crowd"
    assert web.to_json()["collected_on"] == "2026-10-01"


def test_without_an_inventory_section_there_is_none(tmp_path):
    assert load_config(str(_config(tmp_path, None))).inventory is None


@pytest.mark.parametrize(
    "inventory, message",
    [
        (_both(labelling_method="robots"), r"inventory\.web\.labelling_method: 'robots' is not one of: in_house, outsourced, crowd"),
        (_both(collection_cost=-5), r"inventory\.web\.collection_cost: expected a number in \[0\.0, inf\], got int -5"),
        (_both(collection_days=-1), r"inventory\.web\.collection_days: expected a number"),
        (_both(collected_on="last week"), r"inventory\.web\.collected_on: expected a date like 2026-10-01, got 'last week'"),
        (_both(colour="red"), r"inventory\.web\.colour: unknown key"),
        ({"web": ENTRY}, r"inventory: source 'mobile' has no entry"),
        ({**_both(), "app": ENTRY}, r"inventory\.app: no source named 'app' \(sources: web, mobile\)"),
        ({"web": {k: v for k, v in ENTRY.items() if k != "owner"}, "mobile": ENTRY}, r"inventory\.web\.owner: missing \(required\)"),
        ("everything", r"inventory: expected a mapping"),
    ],
)  # fmt: skip
def test_a_bad_inventory_names_the_source_and_field(tmp_path, inventory, message):
    text = _error(tmp_path, inventory)
    assert text.startswith(str(tmp_path / "cascade.yaml") + ": ")
    assert re.search(message, text), text
