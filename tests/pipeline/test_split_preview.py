"""pipeline.split_preview: the preflight's counts cut as StratifiedSplit cuts them."""

from __future__ import annotations

import collections
import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from components.stratified_split.allocation import assign_in_memory
from pipeline.config import load_config
from pipeline.inventory import SourceInventory
from pipeline.preflight import SourceSummary
from pipeline.split_preview import split_rows, strata_rows
from tests.pipeline.test_config import BASE, _write


def _summary(name: str, **label_counts: int) -> SourceSummary:
    return SourceSummary(name, [], sum(label_counts.values()), collections.Counter(label_counts))


SOURCES = [_summary("web", no=24, yes=6), _summary("mobile", no=21, yes=9)]


def _config(tmp_path, **split):
    config = load_config(str(_write(tmp_path, BASE)))
    return dataclasses.replace(config, split=dataclasses.replace(config.split, **split))


def test_strata_are_the_label_jointly_with_the_source_when_asked(tmp_path):
    assert strata_rows(_config(tmp_path), SOURCES) == {"label=no": 45, "label=yes": 15}
    assert strata_rows(_config(tmp_path, stratify_by=("source",)), SOURCES) == {
        "label=no|source=web": 24,
        "label=yes|source=web": 6,
        "label=no|source=mobile": 21,
        "label=yes|source=mobile": 9,
    }


def test_strata_by_labelling_method_come_from_the_inventory(tmp_path):
    config = _config(tmp_path, stratify_by=("labelling_method",))
    inventory = {
        name: SourceInventory(
            owner="o",
            description="d",
            collection_cost=1.0,
            currency="USD",
            collection_days=1,
            labelling_method="crowd",
            labeller_qualification="q",
            collected_on=None,
        )
        for name in ("web", "mobile")
    }
    config = dataclasses.replace(config, inventory=inventory)
    assert strata_rows(config, SOURCES) == {
        "label=no|labelling_method=crowd": 45,
        "label=yes|labelling_method=crowd": 15,
    }


def test_strata_the_preflight_cannot_count_are_left_to_the_step(tmp_path):
    # Groups are cut whole, and a data column's values are not counted.
    assert strata_rows(_config(tmp_path, group_by="user_id"), SOURCES) is None
    assert strata_rows(_config(tmp_path, stratify_by=("country",)), SOURCES) is None


@settings(max_examples=200, deadline=None)
@given(
    strata=st.lists(st.integers(0, 60), min_size=1, max_size=6),
    weights=st.lists(st.integers(1, 1000), min_size=2, max_size=4),
)
def test_rows_per_split_are_what_stratified_split_places(strata, weights):
    ratios = [(f"s{i}", w / sum(weights)) for i, w in enumerate(weights)]
    # Each stratum's units at positions 0 .. n-1: only the counts matter here.
    units = [(f"stratum{k}", i, b"") for k, n in enumerate(strata) for i in range(n)]
    placed = collections.Counter(assign_in_memory(units, [r for _, r in ratios]))
    expected = {name: placed.get(i, 0) for i, (name, _) in enumerate(ratios)}
    assert split_rows(ratios, {f"stratum{k}": n for k, n in enumerate(strata)}) == expected
