"""pipeline.slicing: each partition of the test split is computed once."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from pipeline.config import load_config
from pipeline.pipeline import create_pipeline, eval_config
from pipeline.slicing import SAME_SLICES_PROPERTY, slice_plan

DEMO_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "demo.yaml"


def _demo(**inventory_methods: str):
    config = load_config(str(DEMO_CONFIG))
    inventory = {
        name: dataclasses.replace(
            entry, labelling_method=inventory_methods.get(name, entry.labelling_method)
        )
        for name, entry in config.inventory.items()
    }
    return dataclasses.replace(config, inventory=inventory, label_classes=("0", "1"))


def _sliced_by(config) -> list[list[str]]:
    return [list(spec.feature_keys) for spec in eval_config(config).slicing_specs]


def test_one_labelling_method_per_source_is_named_after_the_source_slices():
    config = _demo()
    assert _sliced_by(config) == [[], ["source"]]
    assert slice_plan(config).same_as == {
        "labelling_method=in_house": "source=web",
        "labelling_method=outsourced": "source=mobile",
        "labelling_method=crowd": "source=partner",
    }


def test_two_sources_sharing_a_method_make_the_method_its_own_slicing():
    config = _demo(mobile="crowd")
    assert _sliced_by(config) == [[], ["source"], ["labelling_method"]]
    assert slice_plan(config).same_as == {}
    assert slice_plan(config).same_as_json() is None


def test_without_source_slices_the_labelling_method_is_computed():
    config = _demo()
    config = dataclasses.replace(
        config, evaluation=dataclasses.replace(config.evaluation, slice_by=("country",))
    )
    assert _sliced_by(config) == [[], ["country"], ["labelling_method"]]
    assert slice_plan(config).same_as == {}


def test_without_an_inventory_only_the_configs_slices_are_computed():
    config = dataclasses.replace(_demo(), inventory=None)
    assert _sliced_by(config) == [[], ["source"]]
    assert slice_plan(config).same_as == {}


def test_the_evaluators_output_carries_the_named_slices():
    pipeline = create_pipeline(_demo(), None, ["--runner=FnApiRunner"])
    [evaluator] = [c for c in pipeline.components if c.id == "Evaluator"]
    recorded = evaluator.outputs["evaluation"].additional_custom_properties[SAME_SLICES_PROPERTY]
    assert json.loads(recorded) == slice_plan(_demo()).same_as
