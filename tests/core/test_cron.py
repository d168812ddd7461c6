"""`core.cron`: the cron expressions a config may schedule, judged as Airflow's croniter judges them."""

from __future__ import annotations

import pytest
from croniter import croniter
from hypothesis import given, settings
from hypothesis import strategies as st

from core import cron

VALID = [
    "0 3 * * *",
    "*/15 * * * *",
    "0 3 * * mon-fri",
    "30 2 1,15 * *",
    "0 0 1 jan-jun/2 *",
    "0 0 * * 7",
    "5-10/2 1-3 * * sun",
    "@daily",
    "@hourly",
    "@weekly",
    "@monthly",
    "@yearly",
]
INVALID = {
    "0 3 * *": "expected 5 fields (minute hour day-of-month month day-of-week), got 4",
    "61 * * * *": "minute field '61': '61' is not a valid minute (0-59)",
    "0 24 * * *": "hour field '24': '24' is not a valid hour (0-23)",
    "0 0 0 * *": "day of month field '0': '0' is not a valid day of month (1-31)",
    "0 0 1 13 *": "month field '13': '13' is not a valid month (1-12)",
    "0 0 * * 8": "day of week field '8': '8' is not a valid day of week (0-7)",
    "0 0 * * funday": "day of week field 'funday': 'funday' is not a valid day of week (0-7)",
    "*/0 * * * *": "minute field '*/0': a step of 0",
    "0 3 * * 1;2": "day of week field '1;2': cannot read '1;2'",
    "@nightly": "unknown preset '@nightly'",
    "": "expected 5 fields",
}


@pytest.mark.parametrize("expression", VALID)
def test_valid_expressions_pass_and_croniter_agrees(expression: str) -> None:
    assert cron.problem(expression) is None
    assert croniter.is_valid(expression)


@pytest.mark.parametrize("expression,message", INVALID.items())
def test_invalid_expressions_name_the_field_and_croniter_agrees(
    expression: str, message: str
) -> None:
    found = cron.problem(expression)
    assert found is not None and message in found
    assert not croniter.is_valid(expression)


def test_six_fields_are_refused_though_croniter_reads_the_sixth_as_seconds() -> None:
    """Airflow schedules by the minute: a seconds field would be a mistake."""
    assert "expected 5 fields" in cron.problem("0 3 * * * *")
    assert croniter.is_valid("0 3 * * * *")


def _item(low: int, high: int) -> st.SearchStrategy[str]:
    value = st.integers(low, high)
    single = value.map(str)
    span = st.tuples(value, value).map(lambda ab: f"{min(ab)}-{max(ab)}")
    step = st.one_of(st.just("*"), span).flatmap(
        lambda base: st.integers(1, high).map(lambda s: f"{base}/{s}")
    )
    return st.one_of(st.just("*"), single, span, step)


def _field(low: int, high: int) -> st.SearchStrategy[str]:
    return st.lists(_item(low, high), min_size=1, max_size=3).map(",".join)


@settings(max_examples=300, deadline=None)
@given(
    st.tuples(_field(0, 59), _field(0, 23), _field(1, 31), _field(1, 12), _field(0, 7)).map(
        " ".join
    )
)
def test_every_well_formed_expression_is_valid_for_both(expression: str) -> None:
    assert cron.problem(expression) is None
    assert croniter.is_valid(expression)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 4), st.integers(0, 99))
def test_a_value_out_of_its_field_s_range_is_invalid_for_both(position: int, value: int) -> None:
    bounds = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)][position]
    fields = ["0", "0", "1", "1", "0"]
    fields[position] = str(value)
    expression = " ".join(fields)
    in_range = bounds[0] <= value <= bounds[1]
    assert (cron.problem(expression) is None) == in_range
    assert croniter.is_valid(expression) == in_range
