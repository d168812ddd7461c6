"""The Keras model and the TFX Trainer entry point `run_fn`.

The Trainer calls `run_fn` with `custom_config` =
`transforms.features.to_custom_config(columns, label)` plus an optional
`"training"` dict (see `TrainingConfig`) and an optional integer `"seed"`.

The model reads the Transform component's output (dense [batch] features named by
`transforms.features`) and the exported SavedModel carries the Transform graph, so
serving takes serialized *raw* tf.Examples:

  serving_default     examples -> {
                        "outputs": two classes: P(positive), float32 [batch, 1];
                                   more: one probability per class, [batch, K],
                        "probabilities": P(class) per class in class order, [batch, K],
                        "predicted": the most probable class's name, string [batch]}
  transform_features  examples -> the transformed feature dict (label excluded)
  transform_label     examples -> {`<label>_xf`: the label's target, int64 [batch]}
                      (the Evaluator's label for a label that is not 0/1)

The first two parse only the configured feature columns, so extra features in
the examples (the label, ids, provenance tags) are ignored. The model folder
also carries `assets.extra/raw_features.json`, the raw columns it reads with
their types and whether each is required, so batch scoring can check serving
data and name a bad cell (see `serving.serving_input`) with nothing but the
model folder, and `assets.extra/label.json`, the label with its classes (see
`core.labels`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import Any

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import tensorflow as tf  # noqa: E402  (must follow TF_USE_LEGACY_KERAS)
import tensorflow_transform as tft  # noqa: E402
from absl import logging  # noqa: E402
from tfx import v1 as tfx  # noqa: E402
from tfx_bsl.public import tfxio  # noqa: E402

from core.labels import LabelSpec  # noqa: E402
from models import raw_features  # noqa: E402
from models.autograph_rules import skip_tf_keras_conversion  # noqa: E402
from models.signature_names import (  # noqa: E402
    EXAMPLES_INPUT,
    LABEL_FILE,
    LABEL_SIGNATURE,
    OUTPUT_KEY,
    PREDICTED_KEY,
    PROBABILITIES_KEY,
    SERVING_SIGNATURE,
    TRANSFORM_SIGNATURE,
)
from models.training import TrainingConfig  # noqa: E402
from transforms import features  # noqa: E402
from transforms.label_target import label_target  # noqa: E402

DEFAULT_SEED = 0


def _id_bucket_count(
    column: features.FeatureColumn, tf_transform_output: tft.TFTransformOutput
) -> int:
    """Returns how many distinct ids the int64 feature of `column` can take."""
    if column.kind == features.FeatureKind.CATEGORICAL:
        vocab_size = tf_transform_output.vocabulary_size_by_name(
            features.vocabulary_filename(column.name)
        )
        return vocab_size + column.oov_buckets
    if column.kind == features.FeatureKind.TIMESTAMP:
        return features.DAY_OF_WEEK_BUCKETS
    raise ValueError(f"column {column.name!r} of kind {column.kind.value} has no id feature")


def build_model(
    columns: list[features.FeatureColumn],
    tf_transform_output: tft.TFTransformOutput,
    config: TrainingConfig,
    label: LabelSpec,
) -> tf.keras.Model:
    """Builds the compiled classifier over the transformed features.

    Every input is a scalar per example (shape [], i.e. [batch] tensors), exactly
    as the preprocessing_fn emits them.

    Args:
      columns: The configured feature columns.
      tf_transform_output: The Transform output, for vocabulary sizes.
      config: Layer widths and learning rate.
      label: The label with its classes: two give a sigmoid output, more a
        softmax over the classes.

    Returns:
      A compiled model mapping the transformed feature dict to P(positive),
      float32 [batch, 1], for two classes, or to one probability per class,
      float32 [batch, K].
    """
    skip_tf_keras_conversion()
    inputs: dict[str, tf.keras.Input] = {}
    parts: list[tf.Tensor] = []
    for column in columns:
        for name in features.float_outputs(column):
            inputs[name] = tf.keras.Input(shape=(), name=name, dtype=tf.float32)
            parts.append(tf.keras.layers.Reshape((1,), name=f"{name}_column")(inputs[name]))
        for name in features.integer_outputs(column):
            inputs[name] = tf.keras.Input(shape=(), name=name, dtype=tf.int64)
            buckets = _id_bucket_count(column, tf_transform_output)
            embedding = tf.keras.layers.Embedding(
                buckets, config.embedding_dim, name=f"{name}_embedding"
            )
            parts.append(embedding(inputs[name]))
    if not parts:
        raise ValueError("no feature columns configured; the model needs at least one")
    x = tf.keras.layers.Concatenate(name="features")(parts) if len(parts) > 1 else parts[0]
    for i, units in enumerate(config.hidden_units):
        x = tf.keras.layers.Dense(units, activation="relu", name=f"hidden_{i}")(x)
    optimizer = tf.keras.optimizers.Adam(learning_rate=config.learning_rate)
    if label.binary:
        output = tf.keras.layers.Dense(1, activation="sigmoid", name="probability")(x)
        model = tf.keras.Model(inputs=inputs, outputs=output)
        model.compile(
            optimizer=optimizer,
            loss=tf.keras.losses.BinaryCrossentropy(),
            metrics=[
                tf.keras.metrics.AUC(name="auc"),
                tf.keras.metrics.BinaryAccuracy(name="binary_accuracy"),
            ],
        )
        return model
    output = tf.keras.layers.Dense(len(label.classes), activation="softmax", name="probability")(x)
    model = tf.keras.Model(inputs=inputs, outputs=output)
    model.compile(
        optimizer=optimizer,
        loss=tf.keras.losses.SparseCategoricalCrossentropy(),
        metrics=[tf.keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return model


def _input_dataset(
    file_pattern: list[str],
    data_accessor: tfx.components.DataAccessor,
    tf_transform_output: tft.TFTransformOutput,
    label: LabelSpec,
    batch_size: int,
    seed: int,
    repeat: bool,
) -> tf.data.Dataset:
    """Returns (transformed features, target) batches.

    The target is float32 [batch, 1] for two classes (1 = positive), the
    int64 [batch] class index for more.

    Args:
      file_pattern: Transformed example files.
      data_accessor: The Trainer's data accessor.
      tf_transform_output: The Transform output, for the transformed schema.
      label: The label with its classes.
      batch_size: Examples per batch.
      seed: Shuffle seed.
      repeat: Repeat forever (for step-counted training); else one pass.
    """
    options = tfxio.TensorFlowDatasetOptions(
        batch_size=batch_size,
        label_key=features.label_output_name(label.name),
        num_epochs=None if repeat else 1,
        shuffle_seed=seed,
    )
    dataset = data_accessor.tf_dataset_factory(
        file_pattern, options, tf_transform_output.transformed_metadata.schema
    )
    if label.binary:
        return dataset.map(lambda x, y: (x, tf.cast(tf.reshape(y, [-1, 1]), tf.float32)))
    return dataset.map(lambda x, y: (x, tf.reshape(y, [-1])))


def raw_serving_feature_spec(
    columns: list[features.FeatureColumn], tf_transform_output: tft.TFTransformOutput
) -> dict[str, Any]:
    """Returns the raw feature spec restricted to the configured feature columns.

    Raises:
      KeyError: A configured column is not in the Transform's raw schema.
    """
    raw_spec = tf_transform_output.raw_feature_spec()
    missing = [c.name for c in columns if c.name not in raw_spec]
    if missing:
        raise KeyError(f"feature columns {missing} are not in the raw schema")
    return {c.name: raw_spec[c.name] for c in columns}


def write_raw_features(
    model_dir: str,
    columns: list[features.FeatureColumn],
    tf_transform_output: tft.TFTransformOutput,
) -> None:
    """Writes the raw columns the serving signatures read into the model folder."""
    raw_columns = raw_features.columns_from_feature_spec(
        raw_serving_feature_spec(columns, tf_transform_output), [c.name for c in columns]
    )
    path = os.path.join(model_dir, raw_features.RAW_FEATURES_FILE)
    tfx.dsl.io.fileio.makedirs(os.path.dirname(path))
    with tfx.dsl.io.fileio.open(path, "w") as f:
        f.write(raw_features.columns_to_json(raw_columns))


def write_label(model_dir: str, label: LabelSpec) -> None:
    """Writes the label with its classes into the model folder (`LABEL_FILE`)."""
    path = os.path.join(model_dir, LABEL_FILE)
    tfx.dsl.io.fileio.makedirs(os.path.dirname(path))
    with tfx.dsl.io.fileio.open(path, "w") as f:
        f.write(json.dumps(label.to_dict(), indent=2, sort_keys=True))


def class_probabilities(outputs: tf.Tensor, label: LabelSpec) -> tf.Tensor:
    """The model's output as one probability per class, in class order, [batch, K]."""
    if not label.binary:
        return outputs
    positive = tf.reshape(outputs, [-1])
    by_class = [1.0 - positive, positive]
    if label.classes.index(label.positive_class) == 0:
        by_class.reverse()
    return tf.stack(by_class, axis=1)


def _make_signatures(
    model: tf.keras.Model,
    columns: list[features.FeatureColumn],
    tf_transform_output: tft.TFTransformOutput,
    label: LabelSpec,
) -> dict[str, Callable[..., Any]]:
    """Builds the serving signatures over serialized raw tf.Examples.

    The Transform layer is attached as `model.tft_layer` so the SavedModel tracks
    its assets (vocabularies) and does not depend on the Transform output.
    """
    model.tft_layer = tf_transform_output.transform_features_layer()
    feature_spec = raw_serving_feature_spec(columns, tf_transform_output)
    label_spec = {label.name: tf_transform_output.raw_feature_spec()[label.name]}
    label_key = features.label_output_name(label.name)
    model_inputs = sorted(model.input.keys())
    examples_spec = tf.TensorSpec([None], tf.string, name=EXAMPLES_INPUT)
    class_names = tf.constant(list(label.classes), tf.string)

    def transform(examples: tf.Tensor) -> dict[str, tf.Tensor]:
        parsed = tf.io.parse_example(examples, feature_spec)
        transformed = model.tft_layer(parsed)
        return {name: transformed[name] for name in model_inputs}

    @tf.function(input_signature=[examples_spec])
    def serve(examples: tf.Tensor) -> dict[str, tf.Tensor]:
        outputs = model(transform(examples))
        probabilities = class_probabilities(outputs, label)
        return {
            OUTPUT_KEY: outputs,
            PROBABILITIES_KEY: probabilities,
            PREDICTED_KEY: tf.gather(class_names, tf.argmax(probabilities, axis=1)),
        }

    @tf.function(input_signature=[examples_spec])
    def transform_features(examples: tf.Tensor) -> dict[str, tf.Tensor]:
        return transform(examples)

    @tf.function(input_signature=[examples_spec])
    def transform_label(examples: tf.Tensor) -> dict[str, tf.Tensor]:
        parsed = tf.io.parse_example(examples, label_spec)
        return {label_key: label_target(parsed[label.name], label)}

    return {
        SERVING_SIGNATURE: serve.get_concrete_function(),
        TRANSFORM_SIGNATURE: transform_features.get_concrete_function(),
        LABEL_SIGNATURE: transform_label.get_concrete_function(),
    }


def _steps_plan(train_steps: int | None, epochs: int) -> tuple[int, int | None]:
    """Returns (epochs, steps per epoch) for the requested train steps.

    With `train_steps` set, training runs `epochs` epochs of
    `train_steps // epochs` steps over a repeated dataset (epochs are capped at
    `train_steps`, so every epoch has at least one step); the remainder is
    dropped. Without it, every epoch is one full pass over the data.
    """
    if train_steps is None:
        return epochs, None
    epochs = min(epochs, train_steps)
    return epochs, train_steps // epochs


def _format_metrics(metrics: Mapping[str, float]) -> str:
    """Formats metrics as `name=value` pairs, sorted by name."""
    return ", ".join(f"{k}={float(v):.4f}" for k, v in sorted(metrics.items()))


def run_fn(fn_args: tfx.components.FnArgs) -> None:
    """Trains the model on transformed examples and exports the serving model.

    Args:
      fn_args: The Trainer's arguments. Uses train/eval files and steps, the
        transform graph path, the data accessor, `serving_model_dir` and
        `custom_config` (see the module docstring).

    Raises:
      ValueError: The training config is invalid or no transform graph was given.
    """
    custom_config = fn_args.custom_config or {}
    columns, _ = features.from_custom_config(custom_config)
    label = features.label_from_custom_config(custom_config)
    config = TrainingConfig.from_custom_config(custom_config)
    seed = int(custom_config.get("seed", DEFAULT_SEED))
    transform_dir = fn_args.transform_graph_path or fn_args.transform_output
    if not transform_dir:
        raise ValueError("run_fn needs the Transform graph (transform_graph_path)")
    tf.keras.utils.set_random_seed(seed)
    tf_transform_output = tft.TFTransformOutput(transform_dir)

    repeat_train = fn_args.train_steps is not None
    train_dataset = _input_dataset(
        fn_args.train_files,
        fn_args.data_accessor,
        tf_transform_output,
        label,
        config.batch_size,
        seed,
        repeat=repeat_train,
    )
    eval_dataset = _input_dataset(
        fn_args.eval_files,
        fn_args.data_accessor,
        tf_transform_output,
        label,
        config.batch_size,
        seed,
        repeat=fn_args.eval_steps is not None,
    )
    model = build_model(columns, tf_transform_output, config, label)
    epochs, steps_per_epoch = _steps_plan(fn_args.train_steps, config.epochs)
    logging.info(
        "Training on %d feature columns (%d model inputs), %s epochs x %s steps of %d "
        "examples; seed %d",
        len(columns),
        len(model.inputs),
        epochs,
        steps_per_epoch or "all",
        config.batch_size,
        seed,
    )
    history = model.fit(train_dataset, epochs=epochs, steps_per_epoch=steps_per_epoch, verbose=0)
    train_metrics = {k: v[-1] for k, v in history.history.items()}
    logging.info(
        "Final train metrics after %d epochs: %s",
        epochs,
        _format_metrics(train_metrics),
    )
    eval_metrics = model.evaluate(
        eval_dataset, steps=fn_args.eval_steps, return_dict=True, verbose=0
    )
    logging.info(
        "Eval metrics over %s steps: %s",
        fn_args.eval_steps or "all",
        _format_metrics(eval_metrics),
    )

    signatures = _make_signatures(model, columns, tf_transform_output, label)
    model.save(fn_args.serving_model_dir, save_format="tf", signatures=signatures)
    write_raw_features(fn_args.serving_model_dir, columns, tf_transform_output)
    write_label(fn_args.serving_model_dir, label)
    logging.info(
        "Exported serving model with signatures %s to %s",
        sorted(signatures),
        fn_args.serving_model_dir,
    )
