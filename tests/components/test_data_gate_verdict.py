"""The data gate's rules: which anomalies block a run, when drift stops it."""

from __future__ import annotations

from tensorflow_metadata.proto.v0 import anomalies_pb2

from components.data_gate.verdict import (
    AnomalyRow,
    DriftRow,
    Verdict,
    anomaly_rows,
    first_line,
    gated_message,
)

Type = anomalies_pb2.AnomalyInfo.Type


def _anomalies(**features: list[int]) -> anomalies_pb2.Anomalies:
    found = anomalies_pb2.Anomalies()
    for feature, types in features.items():
        info = found.anomaly_info[feature]
        for kind in types:
            reason = info.reason.add()
            reason.type = kind
            reason.short_description = f"{Type.Name(kind).lower()} in {feature}"
    return found


def test_each_reason_is_a_row_and_the_allow_list_decides_which_block() -> None:
    rows = anomaly_rows(
        {
            "train": _anomalies(
                country=[Type.ENUM_TYPE_UNEXPECTED_STRING_VALUES],
                age=[Type.INT_TYPE_NOT_INT_STRING, Type.FEATURE_TYPE_LOW_FRACTION_PRESENT],
            ),
            "test": _anomalies(country=[Type.ENUM_TYPE_UNEXPECTED_STRING_VALUES]),
        },
        {
            "country": ["ENUM_TYPE_UNEXPECTED_STRING_VALUES"],
            "age": ["FEATURE_TYPE_LOW_FRACTION_PRESENT"],
        },
    )
    assert [(r.feature, r.split, r.type, r.allowed) for r in rows] == [
        ("age", "train", "FEATURE_TYPE_LOW_FRACTION_PRESENT", True),
        ("age", "train", "INT_TYPE_NOT_INT_STRING", False),
        ("country", "test", "ENUM_TYPE_UNEXPECTED_STRING_VALUES", True),
        ("country", "train", "ENUM_TYPE_UNEXPECTED_STRING_VALUES", True),
    ]
    assert rows[1].description == "int_type_not_int_string in age"


def test_a_star_allows_every_anomaly_of_its_feature_only() -> None:
    rows = anomaly_rows(
        {
            "train": _anomalies(
                age=[Type.INT_TYPE_NOT_INT_STRING], country=[Type.FEATURE_TYPE_NOT_PRESENT]
            )
        },
        {"age": ["*"]},
    )
    assert [(r.feature, r.allowed) for r in rows] == [("age", True), ("country", False)]


def _drift(verdict: str) -> DriftRow:
    return DriftRow("country", "L-infinity", 500, 0.3, 0.05, verdict)


def test_blocking_anomalies_gate_and_drift_gates_only_in_fail_mode() -> None:
    blocking = AnomalyRow("train", "age", "INT_TYPE_NOT_INT_STRING", "not ints", allowed=False)
    allowed = AnomalyRow("train", "age", "INT_TYPE_NOT_INT_STRING", "not ints", allowed=True)
    assert Verdict((blocking,), (), "", "warn").gated
    assert not Verdict((allowed,), (_drift("SKEW"),), "", "warn").gated
    assert Verdict((allowed,), (_drift("SKEW"),), "", "fail").gated
    assert not Verdict((), (_drift("ok"),), "", "fail").gated


def test_the_gated_message_names_the_cause_first_and_keeps_the_tables() -> None:
    judged = Verdict(
        (AnomalyRow("train", "age", "INT_TYPE_NOT_INT_STRING", "not ints", allowed=False),),
        (_drift("SKEW"),),
        "calibrated",
        "fail",
    )
    message = gated_message(judged)
    assert first_line(message) == (
        "stopped before Transform: 1 anomaly the config does not allow (age); "
        "drift over the threshold in country"
    )
    assert message.splitlines()[3].split()[:2] == ["age", "train"]
    assert "BLOCKS" in message.splitlines()[3]
    assert "0.3000" in message and "SKEW" in message


def test_the_report_round_trips_through_json() -> None:
    judged = Verdict(
        (AnomalyRow("dev", "country", "ENUM_TYPE_UNEXPECTED_STRING_VALUES", "new", True),),
        (_drift("ok"),),
        "note",
        "warn",
    )
    assert Verdict.from_json(judged.to_json()) == judged
    assert judged.to_json()["verdict"] == "PASSED"


def test_first_line_skips_blank_lines_and_is_empty_for_no_message() -> None:
    assert first_line("\n  \n  stopped before Transform: x\n  table") == (
        "stopped before Transform: x"
    )
    assert first_line("  \n ") == "" and first_line(None) == ""
