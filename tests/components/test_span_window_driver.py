"""SpanWindowDriver: the stock driver's newest span, and a fingerprint that covers
every span of the window (so a changed older span ingests again).

Span folders are written to pytest's `tmp_path`; the driver runs without a store.
"""

from __future__ import annotations

from pathlib import Path

from tfx import v1 as tfx
from tfx.orchestration import data_types
from tfx.utils import proto_utils

from components.source_example_gen.component import CsvSourceExampleGen
from components.source_example_gen.driver import SpanWindowDriver


def _span(root: Path, source: str, span: int, text: str = "id,label\n1,0\n") -> Path:
    folder = root / source / f"span-{span}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rows.csv").write_text(text)
    return folder / "rows.csv"


def _resolve(root: Path, window: int) -> dict:
    input_config = tfx.proto.Input(
        splits=[
            tfx.proto.Input.Split(name="web", pattern="web/span-{SPAN}/*.csv"),
            tfx.proto.Input.Split(name="mobile", pattern="mobile/span-{SPAN}/*.csv"),
        ]
    )
    component = CsvSourceExampleGen(
        input_base=str(root), input_config=input_config, label="label", span_window_size=window
    )
    properties = {
        key: proto_utils.proto_to_json(value) if hasattr(value, "DESCRIPTOR") else value
        for key, value in component.exec_properties.items()
    }
    info = data_types.PipelineInfo("p", str(root))
    return SpanWindowDriver(None).resolve_exec_properties(
        properties, info, data_types.ComponentInfo("c", "CsvExampleGen", info)
    )


def test_the_window_fingerprints_older_spans_and_the_newest_is_resolved(tmp_path):
    for span in (1, 2, 3):
        _span(tmp_path, "web", span)
        _span(tmp_path, "mobile", span)

    newest = _resolve(tmp_path, 1)
    window = _resolve(tmp_path, 2)
    again = _resolve(tmp_path, 2)
    _span(tmp_path, "mobile", 2, "id,label\n1,0\n2,1\n")
    changed = _resolve(tmp_path, 2)

    assert newest["span"] == window["span"] == 3
    assert "web/span-3/*.csv" in window["input_config"]
    assert newest["input_fingerprint"].count("split:") == 2
    assert [line.split(",")[0] for line in window["input_fingerprint"].splitlines()] == [
        "split:web",
        "split:mobile",
        "split:mobile:2",
        "split:web:2",
    ]
    assert window["input_fingerprint"] == again["input_fingerprint"]
    assert changed["input_fingerprint"] != window["input_fingerprint"]
