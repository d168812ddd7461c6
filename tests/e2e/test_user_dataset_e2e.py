"""A user's own CSV dataset runs with only a new config: other columns, another
label name, many empty fields, two sources in unrelated folders."""

from __future__ import annotations

import csv
import glob
import math
import random
from pathlib import Path

import pytest
import tensorflow as tf
from ml_metadata.proto import metadata_store_pb2

from tests.e2e import mlmd_queries
from tests.e2e.helpers import run_cascade

pytestmark = pytest.mark.e2e

CONFIG = """
name: churn-shop
sources:
  - {name: stores, path: exports/stores}
  - {name: online, path: feeds/online_v2}
id_key: customer_ref
label: churned
features:
  - {name: tenure_months, kind: numeric}
  - {name: basket_eur, kind: skewed_numeric}
  - {name: plan, kind: categorical, oov_buckets: 2}
  - {name: region_code, kind: categorical}
  - {name: last_seen, kind: timestamp}
split:
  seed: 7
  ratios: {train: 0.7, dev: 0.15, test: 0.15}
training: {train_steps: 200, eval_steps: 20, epochs: 2}
evaluation: {min_auc: 0.0, slice_by: [source, plan]}
"""
HEADER = [
    "customer_ref",
    "plan",
    "tenure_months",
    "basket_eur",
    "region_code",
    "last_seen",
    "notes",
    "churned",
]


def _write_source(path: Path, rows: int, rng: random.Random, id_prefix: str) -> None:
    """Writes a churn dataset in which about half of the feature fields are empty."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(HEADER)
        for i in range(rows):
            tenure = rng.randint(1, 60)
            plan = rng.choice(["basic", "plus", "pro"])
            churn_logit = 1.5 - 0.08 * tenure + (1.0 if plan == "basic" else -0.5)
            churned = int(rng.random() < 1 / (1 + math.exp(-churn_logit)))

            def maybe(value: object, p_empty: float) -> str:
                return "" if rng.random() < p_empty else str(value)

            writer.writerow(
                [
                    f"{id_prefix}{i:05d}",
                    maybe(plan, 0.3),
                    maybe(tenure, 0.5),
                    maybe(round(rng.lognormvariate(3, 1.5), 2), 0.6),
                    maybe(rng.choice([10, 20, 30, 99]), 0.4),
                    maybe(1_600_000_000 + rng.randint(0, 10**8), 0.7),
                    "",  # a column nobody fills and the config does not name
                    churned,
                ]
            )


def test_user_dataset_runs_end_to_end_with_only_a_config(tmp_path):
    rng = random.Random(11)
    _write_source(tmp_path / "exports" / "stores" / "part-000.csv", 300, rng, "S")
    _write_source(tmp_path / "exports" / "stores" / "part-001.csv", 200, rng, "T")
    _write_source(tmp_path / "feeds" / "online_v2" / "customers.csv", 400, rng, "O")
    config = tmp_path / "churn.yaml"
    config.write_text(CONFIG)
    output_root = tmp_path / "out"

    result = run_cascade(["run", "--config", str(config), "--output-root", str(output_root)])

    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    assert "stores 500 rows, online 400 rows" in result.stdout
    store = mlmd_queries.open_store(str(output_root / "metadata.sqlite"))
    [run] = mlmd_queries.runs(store)
    executions = mlmd_queries.executions_by_component(store, run, "churn-shop")
    # No spam list or id map in this config: CleanExamples still tags sources and
    # merges rows sharing an id, with no reference-data ExampleGens.
    assert sorted(executions) == sorted(
        [
            "CsvExampleGen",
            "CleanExamples",
            "StratifiedSplit",
            "StatisticsGen",
            "SkewCalibration",
            "SchemaGen",
            "ExampleValidator",
            "ServedStatistics",
            "DataGate",
            "Transform",
            "Trainer",
            "BaselineModel",
            "Evaluator",
            "Pusher",
        ]
    )
    assert all(
        e.last_known_state == metadata_store_pb2.Execution.COMPLETE for e in executions.values()
    )
    [pushed] = glob.glob(str(output_root / "serving_model" / "*"))
    example = tf.train.Example()
    example.features.feature["plan"].bytes_list.value.append(b"enterprise")  # unseen plan
    example.features.feature["tenure_months"].int64_list.value.append(3)
    scores = tf.saved_model.load(pushed).signatures["serving_default"](
        examples=tf.constant([example.SerializeToString()])
    )["outputs"]
    assert 0.0 <= float(scores[0, 0]) <= 1.0
