"""Data arriving as spans: the newest span is ingested, or the newest N, each row
tagged with its span, on real TFX components with LocalDagRunner.

Two sources get one span, then a second; runs stop early (`--until`), on a few
rows, to keep the test short.
"""

from __future__ import annotations

import csv
import glob
import json
import random
from pathlib import Path

import pytest
import tensorflow as tf

from tests.e2e import mlmd_queries
from tests.e2e.helpers import run_cascade

pytestmark = pytest.mark.e2e

CONFIG = """
name: daily
sources:
  - name: web
    path: data/web/span-{SPAN}
  - name: mobile
    path: data/mobile/span-{SPAN}
id_key: user_id
label: label
features:
  - {name: age, kind: numeric}
  - {name: plan, kind: categorical}
split:
  stratify_by: [source, span]
"""
# Rows per (source, span): every count differs, so a count names its span.
ROWS = {("web", 1): 30, ("mobile", 1): 24, ("web", 2): 40, ("mobile", 2): 36}


def _write_span(root: Path, source: str, span: int) -> None:
    rng = random.Random(f"{source}-{span}")
    folder = root / "data" / source / f"span-{span}"
    folder.mkdir(parents=True)
    with open(folder / "users.csv", "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["user_id", "age", "plan", "label"])
        for i in range(ROWS[(source, span)]):
            writer.writerow(
                [f"{source}-{span}-{i}", rng.randint(18, 65), rng.choice("abc"), rng.randint(0, 1)]
            )


def _run(config: Path, output_root: Path, until: str) -> str:
    result = run_cascade(
        ["run", "--config", str(config), "--output-root", str(output_root), "--until", until]
    )
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    return result.stdout


def _newest_ingested(output_root: Path):
    store = mlmd_queries.open_store(str(output_root / "metadata.sqlite"))
    examples = [
        a for a in store.get_artifacts_by_type("Examples") if "source_facts" in a.custom_properties
    ]
    return max(examples, key=lambda a: a.id)


def _spans_in(uri: str, split: str) -> dict[int, int]:
    """Rows per value of the `span` feature in one split of an Examples artifact."""
    found: dict[int, int] = {}
    files = glob.glob(f"{uri}/Split-{split}/*.gz")
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
        example = tf.train.Example.FromString(record.numpy())
        [span] = example.features.feature["span"].int64_list.value
        found[span] = found.get(span, 0) + 1
    return found


def test_the_newest_span_or_the_newest_two(tmp_path):
    for source in ("web", "mobile"):
        _write_span(tmp_path, source, 1)
    config = tmp_path / "daily.yaml"
    config.write_text(CONFIG)
    output_root = tmp_path / "out"

    first = _run(config, output_root, "CsvExampleGen")
    first_ingested = _newest_ingested(output_root)

    for source in ("web", "mobile"):
        _write_span(tmp_path, source, 2)
    second = _run(config, output_root, "CsvExampleGen")
    second_ingested = _newest_ingested(output_root)

    window = tmp_path / "daily_window.yaml"
    window.write_text(CONFIG + "spans:\n  window: 2\n")
    both = _run(window, output_root, "StratifiedSplit")
    both_ingested = _newest_ingested(output_root)

    # The newest span alone, then the newest two: rows counted per span.
    assert "web 30 rows (span 1), mobile 24 rows (span 1)" in first
    assert "web 40 rows (span 2), mobile 36 rows (span 2)" in second
    assert "web 70 rows (spans 1-2), mobile 60 rows (spans 1-2)" in both
    assert "spans read: web spans 1-2; mobile spans 1-2" in both
    assert first_ingested.custom_properties["span"].int_value == 1
    assert second_ingested.custom_properties["span"].int_value == 2
    assert both_ingested.custom_properties["span"].int_value == 2
    facts = json.loads(both_ingested.custom_properties["source_facts"].string_value)
    assert {
        source: [(s["span"], s["rows"]) for s in measured["spans"]]
        for source, measured in facts.items()
    } == {"web": [(1, 30), (2, 40)], "mobile": [(1, 24), (2, 36)]}
    assert facts["web"]["rows"] == 70

    # Every row carries its span, from ingestion through the split.
    assert _spans_in(second_ingested.uri, "web") == {2: 40}
    assert _spans_in(both_ingested.uri, "mobile") == {1: 24, 2: 36}
    store = mlmd_queries.open_store(str(output_root / "metadata.sqlite"))
    [split] = [a for a in store.get_artifacts_by_type("Examples") if "/StratifiedSplit/" in a.uri]
    per_split = [_spans_in(split.uri, name) for name in ("train", "dev", "test")]
    assert {span: sum(s.get(span, 0) for s in per_split) for span in (1, 2)} == {
        1: 30 + 24,
        2: 40 + 36,
    }

    inventory = run_cascade(
        ["inventory", "--config", str(window), "--output-root", str(output_root)]
    )
    assert inventory.returncode == 0, inventory.stderr
    assert "spans 1-2 (span 1: 30 rows, span 2: 40 rows)" in inventory.stdout
    history = run_cascade(["history", "--config", str(window), "--output-root", str(output_root)])
    assert history.returncode == 0, history.stderr
    assert [line.split()[2:4] for line in history.stdout.splitlines()[3:6]] == [
        ["span", "1"],
        ["span", "2"],
        ["spans", "1-2"],
    ]
