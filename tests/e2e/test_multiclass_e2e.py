"""A three-class text label end to end: found classes, exact split per class,
a softmax model, multi-class metrics and the blessing on the macro AUC.

The run is configs/penguins.yaml's on data/penguins/generate.py's penguins,
written afresh: three islands, the species as text, and on one island a
single Chinstrap, a stratum of one row.
"""

from __future__ import annotations

import collections
import csv
import importlib.util
import glob
import json
import os
from fractions import Fraction

import pytest
import tensorflow as tf

from components.stratified_split.allocation import exact_ratios, largest_remainder
from tests.e2e import mlmd_queries
from tests.e2e.helpers import ROOT, run_cascade

PENGUIN_DATA = ROOT / "data" / "penguins"

pytestmark = pytest.mark.e2e

PIPELINE = "penguins"
CLASSES = ["Adelie", "Chinstrap", "Gentoo"]
SPLITS = ("train", "dev", "test")
RATIOS = (0.6, 0.2, 0.2)


def _generator():
    spec = importlib.util.spec_from_file_location("penguins_generate", PENGUIN_DATA / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def penguin_run(tmp_path_factory):
    """`cascade run` of configs/penguins.yaml on freshly generated data; returns
    (folder, result, rows per (species, island) written)."""
    folder = tmp_path_factory.mktemp("penguins")
    generate = _generator()
    written = generate.write_penguins(str(folder / "data"))
    config = (ROOT / "configs" / "penguins.yaml").read_text()
    (folder / "penguins.yaml").write_text(config.replace("../data/penguins/", "data/"))
    result = run_cascade(
        ["run", "--config", str(folder / "penguins.yaml"), "--output-root", str(folder / "out")]
    )
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    counts = collections.Counter(
        (species, island) for island, rows in written.items() for species in rows
    )
    return folder, result, counts, generate.SPECIES


def _output(store, component: str, key: str):
    [run] = mlmd_queries.runs(store)
    execution = mlmd_queries.executions_by_component(store, run, PIPELINE)[component]
    [artifact_id] = mlmd_queries.outputs(store, execution.id)[key]
    [artifact] = store.get_artifacts_by_id([artifact_id])
    return execution, artifact


def _split_counts(uri: str) -> dict[str, collections.Counter]:
    """(species, source) -> rows, per split, read from the split's files."""
    counts = {}
    for split in SPLITS:
        files = sorted(glob.glob(os.path.join(uri, f"Split-{split}", "*")))
        counted: collections.Counter = collections.Counter()
        for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
            example = tf.train.Example.FromString(record.numpy())
            feature = example.features.feature
            counted[
                (
                    feature["species"].bytes_list.value[0].decode(),
                    feature["source"].bytes_list.value[0].decode(),
                )
            ] += 1
        counts[split] = counted
    return counts


def test_classes_found_in_the_data_sorted_and_recorded(penguin_run):
    folder, result, _, _ = penguin_run
    store = mlmd_queries.open_store(str(folder / "out/metadata.sqlite"))
    trainer, model = _output(store, "Trainer", "model")

    [pushed] = glob.glob(str(folder / "out/serving_model/*"))
    with open(os.path.join(pushed, "assets.extra/label.json")) as f:
        assert json.load(f) == {"name": "species", "classes": CLASSES, "positive": None}
    custom_config = json.loads(trainer.custom_properties["custom_config"].string_value)
    assert custom_config["label_spec"]["classes"] == CLASSES
    assert os.path.isfile(os.path.join(model.uri, "Format-Serving/assets.extra/label.json"))


def test_split_is_exact_for_every_class_and_source(penguin_run):
    folder, result, written, _ = penguin_run
    store = mlmd_queries.open_store(str(folder / "out/metadata.sqlite"))
    _, split = _output(store, "StratifiedSplit", "split_examples")
    counts = _split_counts(split.uri)
    ratios = exact_ratios(RATIOS)

    # No row is removed (no spam list, no shared ids): each (class, source)
    # stratum is cut by the largest remainder of n * (0.6, 0.2, 0.2).
    assert sum(sum(c.values()) for c in counts.values()) == sum(written.values())
    for stratum, n in written.items():
        assert [counts[s][stratum] for s in SPLITS] == largest_remainder(n, ratios), stratum
    # The stratum of one row goes whole to train and is named in the summary.
    assert [counts[s][("Chinstrap", "torgersen")] for s in SPLITS] == [1, 0, 0]
    assert "label=Chinstrap|source=torgersen   1 row: train 1, dev 0, test 0" in result.stdout
    per_class = {
        species: sum(n for (name, _), n in written.items() if name == species)
        for species in CLASSES
    }
    for species in CLASSES:
        sizes = [sum(n for (name, _), n in counts[s].items() if name == species) for s in SPLITS]
        assert sum(sizes) == per_class[species]
        assert all(
            abs(Fraction(size) - r * per_class[species]) < 3 for size, r in zip(sizes, ratios)
        )


def test_softmax_model_serves_a_probability_per_class_and_the_predicted_class(penguin_run):
    folder, _, _, species_means = penguin_run
    [pushed] = glob.glob(str(folder / "out/serving_model/*"))
    examples = []
    for species, (bill_length, bill_depth, mass) in species_means.items():
        example = tf.train.Example()
        feature = example.features.feature
        feature["bill_length_mm"].float_list.value.append(bill_length)
        feature["bill_depth_mm"].float_list.value.append(bill_depth)
        feature["body_mass_g"].int64_list.value.append(mass)
        feature["species"].bytes_list.value.append(species.encode())
        examples.append(example.SerializeToString())

    outputs = tf.saved_model.load(pushed).signatures["serving_default"](
        examples=tf.constant(examples)
    )

    probabilities = outputs["probabilities"].numpy()
    assert probabilities.shape == (3, 3)
    assert probabilities.sum(axis=1) == pytest.approx([1.0, 1.0, 1.0], abs=1e-5)
    # A typical penguin of each species is predicted as that species.
    assert [p.decode() for p in outputs["predicted"].numpy()] == CLASSES


def test_blessing_judges_the_macro_auc_of_the_test_split(penguin_run):
    folder, _, _, _ = penguin_run
    store = mlmd_queries.open_store(str(folder / "out/metadata.sqlite"))
    _, blessing = _output(store, "Evaluator", "blessing")
    _, evaluation = _output(store, "Evaluator", "evaluation")

    assert blessing.custom_properties["blessed"].int_value == 1
    with open(os.path.join(evaluation.uri, "eval_config.json")) as f:
        eval_config = json.load(f)["evalConfig"]
    # No model was blessed before: TFX leaves the baseline's spec out.
    [candidate] = eval_config["modelSpecs"]
    assert candidate["labelKey"] == "species_xf"
    assert candidate["preprocessingFunctionNames"] == ["transform_label"]
    gated = [
        (metric["className"], spec.get("aggregate"))
        for spec in eval_config["metricsSpecs"]
        for metric in spec["metrics"]
        if "threshold" in metric or "perSliceThresholds" in metric
    ]
    assert gated == [
        ("AUC", {"macroAverage": True, "classWeights": {"0": 1.0, "1": 1.0, "2": 1.0}})
    ]


def test_predict_writes_a_score_per_class_and_the_predicted_class(penguin_run, tmp_path):
    folder, _, _, _ = penguin_run
    serving = folder / "data" / "serving" / "new_penguins.csv"
    output = tmp_path / "predictions.csv"

    result = run_cascade(
        [
            "predict",
            "--config",
            str(folder / "penguins.yaml"),
            "--output-root",
            str(folder / "out"),
            "--input",
            str(serving),
            "--output",
            str(output),
            "--no-record",
            "--keep",
            "penguin_id",
        ]
    )

    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    # Two serving rows name a species training never saw: scored, and noted once.
    notes = [line for line in result.stdout.splitlines() if "note:" in line]
    assert len(notes) == 1 and "'Emperor'" in notes[0] and "2 rows" in notes[0], result.stdout
    with open(output, newline="") as f:
        rows = list(csv.DictReader(f))
    with open(serving, newline="") as f:
        served = list(csv.DictReader(f))
    assert len(rows) == len(served)
    assert list(rows[0]) == ["line", "penguin_id"] + [f"score_{c}" for c in CLASSES] + ["predicted"]
    for row in rows:
        scores = [float(row[f"score_{c}"]) for c in CLASSES]
        assert sum(scores) == pytest.approx(1.0, abs=1e-4)
        assert row["predicted"] == CLASSES[scores.index(max(scores))]
    # The model tells the species apart on data it never saw.
    known = [(row, s) for row, s in zip(rows, served) if s["species"] in CLASSES]
    accuracy = sum(row["predicted"] == s["species"] for row, s in known) / len(known)
    assert accuracy > 0.8
