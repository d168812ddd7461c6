"""End-to-end test of `models.model.run_fn` on a tiny tf.Transform output.

A module fixture builds ~200 raw rows, runs the real preprocessing_fn with
tf.Transform on Beam (analyze + transform train, transform eval), writes the
transform graph and gzipped transformed tf.Examples the way the Transform
component does, and calls `run_fn` with hand-built `FnArgs`. The tests then use
only the exported SavedModel.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import gzip
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Mapping, Optional

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import apache_beam as beam  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_transform as tft  # noqa: E402
import tensorflow_transform.beam as tft_beam  # noqa: E402
from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io  # noqa: E402
from tfx import v1 as tfx  # noqa: E402
from tfx.components.trainer import fn_args_utils  # noqa: E402
from tfx.components.util import examples_utils, tfxio_utils  # noqa: E402
from tfx.proto import example_gen_pb2  # noqa: E402
from tfx.types import artifact_utils, standard_artifacts  # noqa: E402

from cli import predict as predict_command  # noqa: E402
from models import model as model_lib  # noqa: E402
from core.errors import CascadeError  # noqa: E402
from core.hashing import combined_sha256  # noqa: E402
from core.labels import LabelSpec  # noqa: E402
from tests import dataflow_dry_run  # noqa: E402
from tests.transformed_rows import assert_same_rows  # noqa: E402
from models import raw_features  # noqa: E402
from pipeline import runners  # noqa: E402
from serving import batch_transform, beam_scoring, scoring, serving_input  # noqa: E402
from serving.label_check import UnseenClasses  # noqa: E402
from services.scoring import ScoreOutcome  # noqa: E402
from validation import skew  # noqa: E402
from serving.model import UNKNOWN_LABEL, ServingModel, read_label  # noqa: E402
from transforms import features, preprocessing  # noqa: E402
from tests import local_beam  # noqa: E402

LABEL = "label"
COLUMNS = [
    features.FeatureColumn("amount", features.FeatureKind.NUMERIC),
    features.FeatureColumn("purchases", features.FeatureKind.SKEWED_NUMERIC),
    features.FeatureColumn("country", features.FeatureKind.CATEGORICAL, oov_buckets=2),
    features.FeatureColumn("signup_ts", features.FeatureKind.TIMESTAMP),
]
COUNTRIES = ["US", "DE", "FR", "BR", "IN"]
NUM_ROWS = 200
NUM_TRAIN = 160
# All feature columns may be missing; the label and the id (not a feature) never are.
RAW_FEATURE_SPEC = {
    "amount": tf.io.VarLenFeature(tf.float32),
    "purchases": tf.io.VarLenFeature(tf.float32),
    "country": tf.io.VarLenFeature(tf.string),
    "signup_ts": tf.io.VarLenFeature(tf.int64),
    LABEL: tf.io.FixedLenFeature([], tf.int64),
    "user_id": tf.io.FixedLenFeature([], tf.string),
}
TRAINING = {
    "batch_size": 32,
    "hidden_units": [16, 8],
    "learning_rate": 0.02,
    "epochs": 2,
}
TRAIN_STEPS = 40
EVAL_STEPS = 2
BINARY = LabelSpec(LABEL, ("0", "1"))

Row = dict[str, list[Any]]


def _make_rows(seed: int = 7) -> list[Row]:
    """Returns deterministic raw rows (instance dicts) with ~10% missing values."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(NUM_ROWS):
        amount = float(rng.normal(50.0, 20.0))
        purchases = float(rng.lognormal(1.0, 1.5))
        country = COUNTRIES[int(rng.integers(len(COUNTRIES)))]
        signup_ts = int(rng.integers(1_600_000_000, 1_700_000_000))
        logit = 0.08 * (amount - 50.0) + (1.5 if country == "BR" else -0.5)
        label = int(rng.random() < 1.0 / (1.0 + np.exp(-logit)))
        present = rng.random(4) > 0.1
        rows.append(
            {
                "amount": [amount] if present[0] else [],
                "purchases": [purchases] if present[1] else [],
                "country": [country.encode()] if present[2] else [],
                "signup_ts": [signup_ts] if present[3] else [],
                LABEL: label,
                "user_id": f"user-{i}".encode(),
            }
        )
    return rows


def _serialize(row: Row) -> bytes:
    """Encodes a raw row as a tf.Example; empty lists become absent features."""
    feature = {}
    for name, value in row.items():
        values = value if isinstance(value, list) else [value]
        if not values:
            continue
        if isinstance(values[0], bytes):
            feature[name] = tf.train.Feature(bytes_list=tf.train.BytesList(value=values))
        elif isinstance(values[0], float):
            feature[name] = tf.train.Feature(float_list=tf.train.FloatList(value=values))
        else:
            feature[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=values))
    example = tf.train.Example(features=tf.train.Features(feature=feature))
    return example.SerializeToString()


def _custom_config(label: LabelSpec = BINARY, training: Mapping[str, Any] = TRAINING) -> dict:
    config = features.to_custom_config(COLUMNS, label)
    config["training"] = dict(training)
    config["seed"] = 3
    return config


def _run_transform(
    rows: list[Row],
    work: Path,
    raw_spec: Mapping[str, Any] = RAW_FEATURE_SPEC,
    config: Optional[dict] = None,
) -> tuple[Path, Path]:
    """Runs the preprocessing_fn like the Transform component does.

    Args:
      rows: Raw rows; the first NUM_TRAIN are the train split.
      work: Folder for the graph, the examples and tf.Transform's temp files.
      raw_spec: The rows' raw feature spec.
      config: The custom_config (default: the 0/1 label's).

    Returns:
      (transform graph dir, transformed examples dir with Split-train/Split-eval).
    """
    transform_dir = work / "transform_graph"
    examples_dir = work / "transformed_examples"
    raw_metadata = dataset_metadata.DatasetMetadata.from_feature_spec(dict(raw_spec))
    metadata_io.write_metadata(
        raw_metadata, str(transform_dir / tft.TFTransformOutput.RAW_METADATA_DIR)
    )
    config = config or _custom_config()
    with (
        beam.Pipeline(options=local_beam.options()) as pipeline,
        tft_beam.Context(temp_dir=str(work / "tft_tmp")),
    ):
        train = pipeline | "CreateTrainRows" >> beam.Create(rows[:NUM_TRAIN])
        eval_ = pipeline | "CreateEvalRows" >> beam.Create(rows[NUM_TRAIN:])
        (train_data, train_metadata), transform_fn = (
            train,
            raw_metadata,
        ) | "AnalyzeAndTransformTrain" >> tft_beam.AnalyzeAndTransformDataset(
            lambda inputs: preprocessing.preprocessing_fn(inputs, config)
        )
        eval_data, _ = (
            (eval_, raw_metadata),
            transform_fn,
        ) | "TransformEval" >> tft_beam.TransformDataset()
        coder = tft.coders.ExampleProtoCoder(train_metadata.schema)
        for split, data in (("train", train_data), ("eval", eval_data)):
            _ = (
                data
                | f"Encode{split}" >> beam.Map(coder.encode)
                | f"Write{split}"
                >> beam.io.WriteToTFRecord(
                    str(examples_dir / f"Split-{split}" / "transformed_examples"),
                    file_name_suffix=".gz",
                )
            )
        _ = transform_fn | "WriteTransformFn" >> tft_beam.WriteTransformFn(str(transform_dir))
    return transform_dir, examples_dir


def _fn_args(
    transform_dir: Path,
    examples_dir: Path,
    serving_dir: Path,
    config: Optional[dict] = None,
    train_steps: int = TRAIN_STEPS,
) -> Any:
    """Builds the FnArgs the Trainer would, with TFX's own dataset factory."""
    examples = standard_artifacts.Examples()
    examples.uri = str(examples_dir)
    examples.split_names = artifact_utils.encode_split_names(["train", "eval"])
    examples_utils.set_payload_format(examples, example_gen_pb2.PayloadFormat.FORMAT_TF_EXAMPLE)
    descriptors = ["Trainer"]
    data_accessor = fn_args_utils.DataAccessor(
        tf_dataset_factory=tfxio_utils.get_tf_dataset_factory_from_artifact(
            [examples], descriptors
        ),
        record_batch_factory=tfxio_utils.get_record_batch_factory_from_artifact(
            [examples], descriptors
        ),
        data_view_decode_fn=None,
    )
    return tfx.components.FnArgs(
        train_files=[str(examples_dir / "Split-train" / "*")],
        eval_files=[str(examples_dir / "Split-eval" / "*")],
        train_steps=train_steps,
        eval_steps=EVAL_STEPS,
        transform_graph_path=str(transform_dir),
        transform_output=str(transform_dir),
        serving_model_dir=str(serving_dir),
        data_accessor=data_accessor,
        custom_config=config or _custom_config(),
    )


def _read_transformed(examples_dir: Path, transform_dir: Path) -> dict[str, np.ndarray]:
    """Reads the materialized train split back as {feature: [n] array}."""
    spec = tft.TFTransformOutput(str(transform_dir)).transformed_feature_spec()
    files = tf.io.gfile.glob(str(examples_dir / "Split-train" / "*"))
    records = list(tf.data.TFRecordDataset(files, compression_type="GZIP").as_numpy_iterator())
    parsed = tf.io.parse_example(records, spec)
    return {name: value.numpy() for name, value in parsed.items()}


@dataclasses.dataclass
class Trained:
    rows: list[Row]
    work: Path
    transform_dir: Path
    serving_dir: Path
    materialized: dict[str, np.ndarray]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    work = tmp_path_factory.mktemp("model")
    rows = _make_rows()
    transform_dir, examples_dir = _run_transform(rows, work)
    serving_dir = work / "serving_model"
    model_lib.run_fn(_fn_args(transform_dir, examples_dir, serving_dir))
    materialized = _read_transformed(examples_dir, transform_dir)
    return Trained(rows, work, transform_dir, serving_dir, materialized)


def _score(serving_dir: Path, rows: list[Row]) -> np.ndarray:
    loaded = tf.saved_model.load(str(serving_dir))
    serve = loaded.signatures[model_lib.SERVING_SIGNATURE]
    examples = tf.constant([_serialize(r) for r in rows])
    return serve(examples=examples)[model_lib.OUTPUT_KEY].numpy()


def _without(row: Row, *names: str) -> Row:
    return {k: v for k, v in row.items() if k not in names}


def test_exports_the_signatures_over_serialized_examples(trained: Trained) -> None:
    loaded = tf.saved_model.load(str(trained.serving_dir))
    assert set(loaded.signatures) == {"serving_default", "transform_features", "transform_label"}
    for signature in loaded.signatures.values():
        _, kwargs = signature.structured_input_signature
        assert kwargs == {"examples": tf.TensorSpec([None], tf.string, name="examples")}
    serve_outputs = loaded.signatures["serving_default"].structured_outputs
    assert sorted(serve_outputs) == ["outputs", "predicted", "probabilities"]
    assert serve_outputs["outputs"].shape.as_list() == [None, 1]
    assert serve_outputs["outputs"].dtype == tf.float32
    assert serve_outputs["probabilities"].shape.as_list() == [None, 2]
    assert serve_outputs["predicted"].dtype == tf.string


def test_serving_default_scores_raw_examples_without_label(trained: Trained) -> None:
    rows = [_without(r, LABEL) for r in trained.rows[NUM_TRAIN:]]
    probabilities = _score(trained.serving_dir, rows)
    assert probabilities.shape == (len(rows), 1)
    assert probabilities.dtype == np.float32
    assert np.all((probabilities >= 0.0) & (probabilities <= 1.0))
    assert probabilities.std() > 0.0  # depends on the features, not a constant


def test_serving_ignores_label_and_extra_features(trained: Trained) -> None:
    rows = trained.rows[NUM_TRAIN:]
    with_extras = _score(trained.serving_dir, rows)
    bare = _score(trained.serving_dir, [_without(r, LABEL, "user_id") for r in rows])
    np.testing.assert_array_equal(with_extras, bare)


def test_model_learned_the_signal(trained: Trained) -> None:
    rows = trained.rows
    probabilities = _score(trained.serving_dir, rows)[:, 0]
    labels = np.array([r[LABEL] for r in rows])
    assert probabilities[labels == 1].mean() > probabilities[labels == 0].mean() + 0.1


def test_transform_features_matches_materialized_transform(trained: Trained) -> None:
    loaded = tf.saved_model.load(str(trained.serving_dir))
    transform = loaded.signatures[model_lib.TRANSFORM_SIGNATURE]
    rows = trained.rows[:NUM_TRAIN]
    served = transform(examples=tf.constant([_serialize(r) for r in rows]))
    served = {name: value.numpy() for name, value in served.items()}
    materialized = dict(trained.materialized)
    assert materialized.pop(features.label_output_name(LABEL)).shape == (NUM_TRAIN,)
    assert set(served) == set(materialized)
    int_names = sorted(n for c in COLUMNS for n in features.integer_outputs(c))
    float_names = sorted(n for c in COLUMNS for n in features.float_outputs(c))
    assert sorted(int_names + float_names) == sorted(served)
    for name in int_names:
        assert served[name].dtype == np.int64
    assert_same_rows(materialized, served, int_names, float_names)


def test_unseen_category_scores_through_oov_bucket(trained: Trained) -> None:
    row = dict(trained.rows[NUM_TRAIN])
    row["country"] = [b"never-seen-country"]
    loaded = tf.saved_model.load(str(trained.serving_dir))
    examples = tf.constant([_serialize(row)])
    ids = loaded.signatures["transform_features"](examples=examples)
    vocab_size = len(COUNTRIES) + 1  # + __MISSING__, seen in the train rows
    country_id = int(ids[features.transformed_name("country")].numpy()[0])
    assert vocab_size <= country_id < vocab_size + COLUMNS[2].oov_buckets
    probability = _score(trained.serving_dir, [row])
    assert probability.shape == (1, 1) and 0.0 <= probability[0, 0] <= 1.0


def test_missing_optional_features_score(trained: Trained) -> None:
    full = trained.rows[NUM_TRAIN]
    rows = [_without(full, c.name) for c in COLUMNS] + [{}]
    probabilities = _score(trained.serving_dir, rows)
    assert probabilities.shape == (len(rows), 1)
    assert np.all(np.isfinite(probabilities))
    assert np.all((probabilities >= 0.0) & (probabilities <= 1.0))


def test_training_is_reproducible_with_the_same_seed(trained: Trained, tmp_path: Path) -> None:
    examples_dir = trained.work / "transformed_examples"
    again = tmp_path / "serving_model"
    model_lib.run_fn(_fn_args(trained.transform_dir, examples_dir, again))
    rows = trained.rows[NUM_TRAIN:]
    np.testing.assert_allclose(
        _score(again, rows), _score(trained.serving_dir, rows), rtol=0, atol=1e-6
    )


def test_training_config_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match=r"training\.batch_size must be a positive integer, got 0"):
        model_lib.TrainingConfig.from_custom_config({"training": {"batch_size": 0}})
    with pytest.raises(ValueError, match=r"training: unknown keys \['batchsize'\]"):
        model_lib.TrainingConfig.from_custom_config({"training": {"batchsize": 8}})
    defaults = model_lib.TrainingConfig.from_custom_config({})
    assert defaults == model_lib.TrainingConfig()


def test_model_is_hermetic_without_the_transform_output(trained: Trained) -> None:
    rows = [_without(r, LABEL) for r in trained.rows[NUM_TRAIN:]]
    before = _score(trained.serving_dir, rows)
    moved = {
        trained.transform_dir: trained.work / "transform_graph_moved_away",
        trained.work / "tft_tmp": trained.work / "tft_tmp_moved_away",
    }
    for where, aside in moved.items():
        if where.exists():
            shutil.move(where, aside)
    try:
        assert not trained.transform_dir.exists()
        after = _score(trained.serving_dir, rows)
    finally:
        for where, aside in moved.items():
            if aside.exists():
                shutil.move(aside, where)
    np.testing.assert_array_equal(before, after)


# --- batch scoring and batch transform over the same graph ---------------------------------


def _cell(row: Row, name: str) -> str:
    """A row's feature as CSV text; missing or empty is an empty cell."""
    values = row.get(name) or []
    if not values:
        return ""
    value = values[0]
    return value.decode() if isinstance(value, bytes) else repr(value)


def _write_csv(path: Path, rows: list[Row], columns: list[str]) -> None:
    """Writes rows as CSV."""
    lines = [",".join(columns)] + [",".join(_cell(r, c) for c in columns) for r in rows]
    path.write_text("\n".join(lines) + "\n")


def test_model_folder_carries_its_raw_columns_and_label(trained: Trained) -> None:
    text = (trained.serving_dir / raw_features.RAW_FEATURES_FILE).read_text()
    assert raw_features.columns_from_json(text) == [
        raw_features.RawColumn("amount", raw_features.FLOAT, required=False),
        raw_features.RawColumn("purchases", raw_features.FLOAT, required=False),
        raw_features.RawColumn("country", raw_features.STRING, required=False),
        raw_features.RawColumn("signup_ts", raw_features.INT64, required=False),
    ]
    label = json.loads((trained.serving_dir / model_lib.LABEL_FILE).read_text())
    assert label == {"name": LABEL, "classes": ["0", "1"], "positive": None}
    assert read_label(str(trained.serving_dir)) == BINARY


def test_batch_scoring_gives_the_signature_scores(trained: Trained, tmp_path: Path) -> None:
    rows = trained.rows[NUM_TRAIN:]
    source = tmp_path / "new_users.csv"
    _write_csv(source, rows, ["user_id", "amount", "purchases", "country", "signup_ts"])
    output = tmp_path / "out" / "predictions.csv"
    model = ServingModel(str(trained.serving_dir))
    result = scoring.score_csv(model, str(source), str(output), keep=["user_id"], batch_size=7)
    assert result.rows == len(rows)
    lines = output.read_text().splitlines()
    assert lines[0] == "line,user_id,score"
    parsed = [line.split(",") for line in lines[1:]]
    assert [int(p[0]) for p in parsed] == list(range(2, len(rows) + 2))
    assert [p[1] for p in parsed] == [_cell(r, "user_id") for r in rows]
    expected = _score(trained.serving_dir, [_without(r, LABEL, "user_id") for r in rows])[:, 0]
    np.testing.assert_allclose([float(p[2]) for p in parsed], expected, rtol=0, atol=1e-6)


def test_batch_scoring_names_a_bad_cell_and_scores_a_header_only_file(
    trained: Trained, tmp_path: Path
) -> None:
    model = ServingModel(str(trained.serving_dir))
    bad = tmp_path / "bad.csv"
    bad.write_text("amount,country\n1.5,US\nlots,DE\n")
    with pytest.raises(
        serving_input.ServingInputError,
        match=r"bad\.csv, line 3, column 'amount': 'lots' is not a finite number",
    ):
        scoring.score_csv(model, str(bad), str(tmp_path / "bad_predictions.csv"))
    assert not list(tmp_path.glob("bad_predictions*")), "a failed scoring left a file"
    previous = tmp_path / "previous.csv"
    previous.write_text("line,score\n2,0.5\n")
    with pytest.raises(serving_input.ServingInputError, match=r"line 3, column .amount.: .lots."):
        scoring.score_csv(model, str(bad), str(previous))
    assert previous.read_text() == "line,score\n2,0.5\n", "a failed scoring overwrote a file"
    with pytest.raises(CascadeError, match="is the input file"):
        scoring.score_csv(model, str(bad), str(bad))
    header_only = tmp_path / "header_only.csv"
    header_only.write_text("amount,country\n")
    output = tmp_path / "empty_predictions.csv"
    assert scoring.score_csv(model, str(header_only), str(output)).rows == 0
    assert output.read_text() == "line,score\n"


def test_training_serving_and_batch_transform_give_identical_features(
    trained: Trained, tmp_path: Path
) -> None:
    rows = trained.rows[:NUM_TRAIN]
    raw_file = tmp_path / "raw" / "train.gz"
    raw_file.parent.mkdir()
    with tf.io.TFRecordWriter(str(raw_file), options="GZIP") as writer:
        for row in rows:
            writer.write(_serialize(row))
    # The user's folder (written into with --force): its own `tmp/` is no staging folder.
    output = tmp_path / "batch"
    (output / "tmp").mkdir(parents=True)
    (output / "tmp" / "notes.txt").write_text("the user's\n")
    report = batch_transform.run_batch_transform(
        str(raw_file),
        str(trained.transform_dir),
        [c.name for c in COLUMNS] + [LABEL],
        str(output),
        [*local_beam.RUNNER_ARGS, "--direct_running_mode=in_memory", "--direct_num_workers=1"],
    )
    assert report == {
        "rows": NUM_TRAIN,
        "bad_rows": 0,
        "bad_files": 0,
        "first_problems": [],
        "files": [[str(raw_file), hashlib.sha256(raw_file.read_bytes()).hexdigest()]],
    }
    assert (output / "tmp" / "notes.txt").read_text() == "the user's\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batch", "raw"], "staging left behind"
    assert sorted(p.name for p in output.iterdir()) == [
        "tmp",
        "transformed_examples-00000-of-00001.gz",
    ]
    spec = tft.TFTransformOutput(str(trained.transform_dir)).transformed_feature_spec()
    records = list(
        tf.data.TFRecordDataset(
            tf.io.gfile.glob(str(output / "transformed_examples*")), compression_type="GZIP"
        ).as_numpy_iterator()
    )
    from_batch = {k: v.numpy() for k, v in tf.io.parse_example(records, spec).items()}
    loaded = tf.saved_model.load(str(trained.serving_dir))
    served = loaded.signatures[model_lib.TRANSFORM_SIGNATURE](
        examples=tf.constant([_serialize(r) for r in rows])
    )
    served = {name: value.numpy() for name, value in served.items()}
    int_names = sorted(n for c in COLUMNS for n in features.integer_outputs(c))
    float_names = sorted(n for c in COLUMNS for n in features.float_outputs(c))
    label = features.label_output_name(LABEL)
    assert_same_rows(trained.materialized, from_batch, [*int_names, label], float_names)
    assert_same_rows(from_batch, served | {label: from_batch[label]}, int_names, float_names)


def test_batch_transform_rejects_bad_rows_and_keeps_no_output(
    trained: Trained, tmp_path: Path
) -> None:
    source = tmp_path / "bad.csv"
    source.write_text("amount,signup_ts\n1.5,1700000000\n2.5,yesterday\n3.5,1700000001\n")
    # Earlier output and the user's files in the folder stay as they were.
    output = tmp_path / "batch"
    (output / "tmp").mkdir(parents=True)
    (output / "tmp" / "notes.txt").write_text("the user's\n")
    earlier = output / "transformed_examples-00000-of-00001.gz"
    earlier.write_bytes(b"earlier")
    with pytest.raises(
        serving_input.ServingInputError,
        match=r"1 of 3 rows cannot be transformed, so no output was kept; first: .*bad\.csv, "
        r"line 3, column 'signup_ts': 'yesterday' is not an integer",
    ):
        batch_transform.run_batch_transform(
            str(source),
            str(trained.transform_dir),
            [c.name for c in COLUMNS],
            str(output),
            [*local_beam.RUNNER_ARGS, "--direct_running_mode=in_memory", "--direct_num_workers=1"],
            exclude_outputs=[features.label_output_name(LABEL)],
        )
    assert earlier.read_bytes() == b"earlier"
    assert (output / "tmp" / "notes.txt").read_text() == "the user's\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "batch"]


def test_a_missing_feature_at_serving_gets_the_value_training_gave_missing_rows(
    trained: Trained,
) -> None:
    loaded = tf.saved_model.load(str(trained.serving_dir))
    transform = loaded.signatures[model_lib.TRANSFORM_SIGNATURE]
    served = transform(examples=tf.constant([_serialize({})]))
    served = {name: value.numpy()[0] for name, value in served.items()}
    train_rows = trained.rows[:NUM_TRAIN]
    trained_on = trained.materialized
    for column in COLUMNS:
        missing_in_train = sum(1 for r in train_rows if not r[column.name])
        assert missing_in_train > 0, f"the fixture needs train rows without {column.name}"
        if column.kind == features.FeatureKind.CATEGORICAL:
            name = features.transformed_name(column.name)
            vocabulary = tft.TFTransformOutput(str(trained.transform_dir)).vocabulary_by_name(
                features.vocabulary_filename(column.name)
            )
            assert served[name] == vocabulary.index(features.MISSING_CATEGORY.encode())
            assert (trained_on[name] == served[name]).sum() == missing_in_train
            continue
        indicator = features.missing_indicator_name(column.name)
        assert served[indicator] == 1.0
        was_missing = trained_on[indicator] == 1.0
        assert was_missing.sum() == missing_in_train
        for name in features.float_outputs(column) + features.integer_outputs(column):
            assert set(trained_on[name][was_missing].tolist()) == {served[name]}, name


def test_batch_transform_translates_to_a_dataflow_job(trained: Trained, tmp_path: Path) -> None:
    source = tmp_path / "new.csv"
    _write_csv(source, trained.rows[:5], ["amount", "purchases", "country", "signup_ts"])
    pipeline = dataflow_dry_run.dataflow_pipeline()
    batch_transform.build(
        pipeline,
        [str(source)],
        str(trained.transform_dir),
        [c.name for c in COLUMNS],
        f"{dataflow_dry_run.BUCKET}/batch/out",
        f"{dataflow_dry_run.BUCKET}/batch/tmp",
        exclude_outputs=[features.label_output_name(LABEL)],
    )
    steps = dataflow_dry_run.translate(pipeline)
    expected = {"ReadAndCheck", "ReadTransformFn", "DecodeRaw", "Transform", "EncodeExamples"}
    assert expected | {"WriteExamples", "WriteReport"} <= steps


# --- Beam scoring (serving.beam_scoring) -----------------------------------------

SCORED_COLUMNS = ["user_id", "amount", "purchases", "country", "signup_ts"]


def _read_predictions(paths: list[Path]) -> list[dict[str, str]]:
    rows = []
    for path in paths:
        with open(path, newline="") as f:
            rows.extend(csv.DictReader(f))
    return rows


def _local_beam_args() -> list[str]:
    return runners.beam_pipeline_args("local", "", own_job=True)


def test_beam_scoring_gives_the_single_process_scores_digest_and_statistics(
    trained: Trained, tmp_path: Path
) -> None:
    rows = trained.rows[NUM_TRAIN:]
    source = tmp_path / "new_users.csv"
    _write_csv(source, rows, SCORED_COLUMNS)
    model = ServingModel(str(trained.serving_dir))
    single = scoring.score_csv(model, str(source), str(tmp_path / "single.csv"), ["user_id"])
    output = tmp_path / "beam" / "predictions.csv"
    beam_result = beam_scoring.score_files(
        str(source), str(trained.serving_dir), model.columns, model.label, str(output),
        _local_beam_args(), keep=["user_id"],
    )  # fmt: skip
    assert (beam_result.rows, beam_result.input_files) == (len(rows), 1)
    assert beam_result.input_sha256 == single.input_sha256
    assert single.input_sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert output.read_text().splitlines()[0] == "line,user_id,score"
    by_line = {r["line"]: r for r in _read_predictions([tmp_path / "single.csv"])}
    scored = _read_predictions([output])
    assert sorted(r["line"] for r in scored) == sorted(by_line)
    for row in scored:
        assert row["user_id"] == by_line[row["line"]]["user_id"]
        assert abs(float(row["score"]) - float(by_line[row["line"]]["score"])) <= 1e-6
    # The two statistics describe the same rows: every distance between them is ~0.
    same = skew.compare(single.statistics, beam_result.statistics, model.columns)
    assert [f.feature for f in same.skewed] == []
    assert max(f.distance for f in same.features) < 1e-6
    assert same.serving_rows == same.training_rows == len(rows)
    assert not list(tmp_path.glob("beam/*.staging-*")), "the staging folder was left behind"
    assert sorted(p.name for p in (tmp_path / "beam").iterdir()) == ["predictions.csv"]


def test_a_gzipped_csv_scores_as_the_csv_on_both_paths(trained: Trained, tmp_path: Path) -> None:
    rows = trained.rows[NUM_TRAIN:]
    plain, zipped = tmp_path / "new_users.csv", tmp_path / "new_users.csv.gz"
    _write_csv(plain, rows, SCORED_COLUMNS)
    zipped.write_bytes(gzip.compress(plain.read_bytes()))
    model = ServingModel(str(trained.serving_dir))
    single = {
        path.name: scoring.score_csv(
            model, str(path), str(tmp_path / f"{path.name}.out"), ["user_id"],
            with_statistics=False,
        )
        for path in (plain, zipped)
    }  # fmt: skip
    output = tmp_path / "beam.csv"
    on_beam = beam_scoring.score_files(
        str(zipped), str(trained.serving_dir), model.columns, model.label, str(output),
        _local_beam_args(), keep=["user_id"], with_statistics=False,
    )  # fmt: skip
    one_process = (tmp_path / "new_users.csv.gz.out").read_text()
    assert one_process == (tmp_path / "new_users.csv.out").read_text()
    by_line = {r["line"]: r for r in _read_predictions([tmp_path / "new_users.csv.gz.out"])}
    scored = _read_predictions([output])
    assert on_beam.rows == len(scored) == len(by_line) == len(rows)
    for row in scored:
        assert row["user_id"] == by_line[row["line"]]["user_id"]
        assert abs(float(row["score"]) - float(by_line[row["line"]]["score"])) <= 1e-6
    # Both digest the file as stored: the gzip bytes.
    stored = hashlib.sha256(zipped.read_bytes()).hexdigest()
    assert single["new_users.csv.gz"].input_sha256 == on_beam.input_sha256 == stored


def test_beam_scoring_reads_csv_and_tfrecord_files_into_shards(
    trained: Trained, tmp_path: Path
) -> None:
    rows = trained.rows[NUM_TRAIN:]
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    _write_csv(inputs / "a.csv", rows[:20], SCORED_COLUMNS)
    with tf.io.TFRecordWriter(str(inputs / "b.tfrecord.gz"), options="GZIP") as writer:
        for row in rows[20:]:
            writer.write(_serialize(_without(row, LABEL)))
    columns = ServingModel(str(trained.serving_dir)).columns
    output = tmp_path / "sharded"
    result = beam_scoring.score_files(
        str(inputs), str(trained.serving_dir), columns, read_label(str(trained.serving_dir)),
        str(output), _local_beam_args(), keep=["user_id"], shards=2,
    )  # fmt: skip
    assert (result.rows, result.input_files) == (len(rows), 2)
    shards = sorted(output.glob("part-*-of-00002.csv"))
    assert len(shards) == 2
    scored = _read_predictions(shards)
    assert list(scored[0]) == ["file", "line", "user_id", "score"]
    by_file = {}
    for row in scored:
        by_file.setdefault(Path(row["file"]).name, {})[int(row["line"])] = row
    assert sorted(by_file["a.csv"]) == list(range(2, 22))
    assert sorted(by_file["b.tfrecord.gz"]) == list(range(1, len(rows) - 20 + 1))
    expected = _score(trained.serving_dir, [_without(r, LABEL, "user_id") for r in rows])[:, 0]
    got = [float(by_file["a.csv"][n]["score"]) for n in range(2, 22)] + [
        float(by_file["b.tfrecord.gz"][n]["score"]) for n in range(1, len(rows) - 19)
    ]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    assert by_file["b.tfrecord.gz"][1]["user_id"] == rows[20]["user_id"].decode()
    digests = sorted((str(p), hashlib.sha256(p.read_bytes()).hexdigest()) for p in inputs.iterdir())
    assert result.input_sha256 == combined_sha256(digests)


def test_beam_scoring_with_a_bad_row_names_it_and_writes_nothing(
    trained: Trained, tmp_path: Path
) -> None:
    columns = ServingModel(str(trained.serving_dir)).columns
    good = tmp_path / "in" / "good.csv"
    good.parent.mkdir()
    _write_csv(good, trained.rows[:5], SCORED_COLUMNS)
    bad = tmp_path / "in" / "bad.csv"
    bad.write_text("amount,country\n1.5,US\nlots,DE\n")
    previous = tmp_path / "predictions.csv"
    previous.write_text("line,score\n2,0.5\n")
    with pytest.raises(
        serving_input.ServingInputError,
        match=r"^1 of 7 rows cannot be scored, so no predictions were written; first: "
        rf"{bad}, line 3, column 'amount': 'lots' is not a finite number$",
    ):
        beam_scoring.score_files(
            str(tmp_path / "in" / "*.csv"), str(trained.serving_dir), columns,
            read_label(str(trained.serving_dir)), str(previous), _local_beam_args(),
        )  # fmt: skip
    assert previous.read_text() == "line,score\n2,0.5\n", "a failed scoring overwrote a file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "predictions.csv"]


def test_beam_scoring_translates_to_a_dataflow_job(trained: Trained) -> None:
    pipeline = dataflow_dry_run.dataflow_pipeline()
    # Nothing reads the model while the job is built: workers load it.
    beam_scoring.build(
        pipeline,
        [f"{dataflow_dry_run.BUCKET}/serving/new.csv"],
        f"{dataflow_dry_run.BUCKET}/model",
        ServingModel(str(trained.serving_dir)).columns,
        BINARY,
        ["user_id"],
        f"{dataflow_dry_run.BUCKET}/scoring/job",
        shards=0,
    )
    steps = dataflow_dry_run.translate(pipeline)
    expected = {"ReadChunks", "SpreadChunks", "CheckRows", "Score", "FormatLines"}
    assert expected | {"WritePredictions", "Statistics", "WriteStatistics", "WriteReport"} <= steps


def _rows_over_a_tiny_disk(trained: Trained, tmp_path: Path) -> Path:
    """A CSV of new users whose predictions are far over the 64 KiB filesystem."""
    source = tmp_path / "new_users.csv"
    _write_csv(source, trained.rows[NUM_TRAIN:] * 200, SCORED_COLUMNS)
    return source


def test_a_full_disk_while_scoring_is_one_sentence_and_leaves_no_file(
    trained: Trained, tmp_path: Path, tiny_filesystem: Path
) -> None:
    source = _rows_over_a_tiny_disk(trained, tmp_path)
    output = tiny_filesystem / "predictions.csv"
    model = ServingModel(str(trained.serving_dir))
    with pytest.raises(CascadeError) as raised:
        scoring.score_csv(model, str(source), str(output), ["user_id"], with_statistics=False)
    assert str(raised.value) == (
        f"cannot write the predictions {output}: No space left on device (nothing was written)"
    )
    assert list(tiny_filesystem.iterdir()) == []


def test_a_full_disk_inside_a_beam_scoring_job_is_one_sentence_and_publishes_nothing(
    trained: Trained, tmp_path: Path, tiny_filesystem: Path
) -> None:
    source = _rows_over_a_tiny_disk(trained, tmp_path)
    output = tiny_filesystem / "predictions.csv"
    columns = ServingModel(str(trained.serving_dir)).columns
    with pytest.raises(CascadeError) as raised:
        beam_scoring.score_files(
            str(source), str(trained.serving_dir), columns, read_label(str(trained.serving_dir)),
            str(output), _local_beam_args(), keep=["user_id"], with_statistics=False,
        )  # fmt: skip
    assert str(raised.value) == (
        f"cannot write the predictions {output}: No space left on device (the job's staging "
        "files beside it were removed; nothing was published)"
    )
    assert list(tiny_filesystem.iterdir()) == []


# --- the label column in serving data, and a model folder without a label file -----------


def _report_lines(result: Any, model_dir: Path, output: Path) -> list[str]:
    """What `cascade predict` prints for a one-process scoring without a skew check."""
    args = argparse.Namespace(profile=None, input="new_users.csv", no_skew_check=True)
    outcome = ScoreOutcome(result, str(model_dir), str(output), "scoring.log", None, None, None)
    return predict_command._report_lines(args, outcome)


def test_the_label_column_in_serving_data_changes_no_score_and_a_non_class_is_one_note(
    trained: Trained, tmp_path: Path
) -> None:
    rows = trained.rows[NUM_TRAIN:]
    # Two values that are not classes (three rows) and one gap among the 0/1 labels.
    labels = {0: b"yes", 1: b"2", 2: b"yes", 3: b""}
    with_label = [{**r, LABEL: [labels.get(i, r[LABEL])]} for i, r in enumerate(rows)]
    source = tmp_path / "labelled.csv"
    _write_csv(source, with_label, [*SCORED_COLUMNS, LABEL])
    model = ServingModel(str(trained.serving_dir))
    output = tmp_path / "predictions.csv"
    result = scoring.score_csv(model, str(source), str(output), ["user_id"], with_statistics=False)
    lines = output.read_text().splitlines()
    assert lines[0] == "line,user_id,score"
    expected = _score(trained.serving_dir, [_without(r, LABEL, "user_id") for r in rows])[:, 0]
    scores = [float(line.split(",")[2]) for line in lines[1:]]
    np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-6)
    assert result.unseen_classes == UnseenClasses(LABEL, 3, ("2", "yes"))
    notes = [line for line in _report_lines(result, trained.serving_dir, output) if "note" in line]
    assert notes == [
        "  note: label column 'label': 3 rows hold a value that is not a class of the model "
        "('2', 'yes'); the label is not read for scoring, so they were scored as any other row"
    ]


def test_a_model_folder_without_a_label_file_scores_as_a_0_1_model(
    trained: Trained, tmp_path: Path
) -> None:
    older = tmp_path / "older_model"
    shutil.copytree(trained.serving_dir, older)
    (older / model_lib.LABEL_FILE).unlink()
    assert read_label(str(older)) == LabelSpec(UNKNOWN_LABEL, ("0", "1"))
    rows = trained.rows[NUM_TRAIN : NUM_TRAIN + 10]
    source = tmp_path / "labelled.csv"
    _write_csv(source, [{**r, LABEL: [b"yes"]} for r in rows], [*SCORED_COLUMNS, LABEL])
    output = tmp_path / "predictions.csv"
    result = scoring.score_csv(ServingModel(str(older)), str(source), str(output))
    lines = output.read_text().splitlines()
    assert lines[0] == "line,score"
    expected = _score(trained.serving_dir, [_without(r, LABEL, "user_id") for r in rows])[:, 0]
    scores = [float(line.split(",")[1]) for line in lines[1:]]
    np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-6)
    # The label's column is not known, so no column is taken for it.
    assert result.unseen_classes is None
    assert not [line for line in _report_lines(result, older, output) if "note" in line]


# --- a three-class text label ---------------------------------------------------------------

SPECIES = "species"
CLASSES = ("Adelie", "Chinstrap", "Gentoo")
THREE_CLASSES = LabelSpec(SPECIES, CLASSES)
THREE_CLASS_SPEC = {
    **{name: spec for name, spec in RAW_FEATURE_SPEC.items() if name != LABEL},
    SPECIES: tf.io.FixedLenFeature([], tf.string),
}
# A few steps: the tests check what the model serves, not how well it learned.
THREE_CLASS_STEPS = 6
THREE_CLASS_COLUMNS = ["score_Adelie", "score_Chinstrap", "score_Gentoo", "predicted"]


def _species(index: int, row: Row) -> bytes:
    """A class that follows the amount (row by row when it is missing)."""
    if row["amount"]:
        amount = row["amount"][0]
        return CLASSES[0 if amount < 40.0 else 1 if amount < 60.0 else 2].encode()
    return CLASSES[index % 3].encode()


@dataclasses.dataclass
class ThreeClass:
    rows: list[Row]
    serving_dir: Path


@pytest.fixture(scope="module")
def three_class(tmp_path_factory: pytest.TempPathFactory) -> ThreeClass:
    """A model of the 0/1 fixture's features with a three-class text label, trained briefly."""
    work = tmp_path_factory.mktemp("three_class_model")
    rows = [{**_without(r, LABEL), SPECIES: _species(i, r)} for i, r in enumerate(_make_rows())]
    config = _custom_config(THREE_CLASSES, {**TRAINING, "epochs": 1})
    transform_dir, examples_dir = _run_transform(rows, work, THREE_CLASS_SPEC, config)
    serving_dir = work / "serving_model"
    model_lib.run_fn(_fn_args(transform_dir, examples_dir, serving_dir, config, THREE_CLASS_STEPS))
    return ThreeClass(rows, serving_dir)


def _serve(serving_dir: Path, rows: list[Row]) -> dict[str, np.ndarray]:
    loaded = tf.saved_model.load(str(serving_dir))
    serve = loaded.signatures[model_lib.SERVING_SIGNATURE]
    outputs = serve(examples=tf.constant([_serialize(r) for r in rows]))
    return {name: value.numpy() for name, value in outputs.items()}


def test_a_three_class_model_serves_class_probabilities_and_the_most_probable_class(
    three_class: ThreeClass,
) -> None:
    rows = [_without(r, SPECIES) for r in three_class.rows[NUM_TRAIN:]]
    served = _serve(three_class.serving_dir, rows)
    probabilities = served["probabilities"]
    assert probabilities.shape == (len(rows), 3)
    np.testing.assert_array_equal(served["outputs"], probabilities)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=0, atol=1e-5)
    assert [p.decode() for p in served["predicted"]] == [
        CLASSES[i] for i in probabilities.argmax(axis=1)
    ]
    label = json.loads((three_class.serving_dir / model_lib.LABEL_FILE).read_text())
    assert label == {"name": SPECIES, "classes": list(CLASSES), "positive": None}
    assert read_label(str(three_class.serving_dir)) == THREE_CLASSES


def test_transform_label_maps_text_classes_to_indexes_and_an_unknown_class_to_minus_one(
    three_class: ThreeClass,
) -> None:
    loaded = tf.saved_model.load(str(three_class.serving_dir))
    values = [b"Gentoo", b"Adelie", b" Chinstrap ", b"Emperor"]
    examples = tf.constant([_serialize({SPECIES: v}) for v in values])
    targets = loaded.signatures[model_lib.LABEL_SIGNATURE](examples=examples)
    assert list(targets) == [features.label_output_name(SPECIES)]
    assert targets[features.label_output_name(SPECIES)].numpy().tolist() == [2, 0, 1, -1]


def test_a_three_class_model_writes_a_score_per_class_and_the_predicted_class_on_both_paths(
    three_class: ThreeClass, tmp_path: Path
) -> None:
    rows = three_class.rows[NUM_TRAIN:]
    # The label column holds two values that are not classes (three rows) and one gap.
    labels = {0: b"Emperor", 1: b"King", 2: b"Emperor", 3: b""}
    with_label = [{**r, SPECIES: [labels.get(i, r[SPECIES])]} for i, r in enumerate(rows)]
    source = tmp_path / "penguins.csv"
    _write_csv(source, with_label, [*SCORED_COLUMNS, SPECIES])
    served = _serve(three_class.serving_dir, [_without(r, SPECIES, "user_id") for r in rows])
    model = ServingModel(str(three_class.serving_dir))
    single = scoring.score_csv(
        model, str(source), str(tmp_path / "single.csv"), ["user_id"], batch_size=7,
        with_statistics=False,
    )  # fmt: skip
    on_beam = beam_scoring.score_files(
        str(source), str(three_class.serving_dir), model.columns, model.label,
        str(tmp_path / "beam.csv"), _local_beam_args(), keep=["user_id"], with_statistics=False,
    )  # fmt: skip
    for result, output in ((single, tmp_path / "single.csv"), (on_beam, tmp_path / "beam.csv")):
        assert result.rows == len(rows)
        assert result.unseen_classes == UnseenClasses(SPECIES, 3, ("Emperor", "King"))
        header = output.read_text().splitlines()[0]
        assert header == "line,user_id," + ",".join(THREE_CLASS_COLUMNS)
        by_line = {int(r["line"]): r for r in _read_predictions([output])}
        assert sorted(by_line) == list(range(2, len(rows) + 2))
        written = [by_line[line] for line in sorted(by_line)]
        assert [r["user_id"] for r in written] == [_cell(r, "user_id") for r in rows]
        probabilities = [[float(r[c]) for c in THREE_CLASS_COLUMNS[:3]] for r in written]
        np.testing.assert_allclose(probabilities, served["probabilities"], rtol=0, atol=1e-6)
        assert [r["predicted"] for r in written] == [p.decode() for p in served["predicted"]]
