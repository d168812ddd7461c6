"""What the config lets through, TensorFlow and tf.Transform take: pinned against them.

`pipeline.config` refuses, with the field named, what would fail a run in the
Trainer: feature names TensorFlow refuses (`transforms.features.name_problem`),
vocabulary files tf.Transform would give one name (`vocabulary_file_written`),
and seeds NumPy refuses (`MAX_SEED`). These tests hold those rules to the
libraries' own.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.python.framework import ops  # noqa: E402
from tensorflow_transform import analyzers  # noqa: E402

from pipeline.config import MAX_SEED  # noqa: E402
from transforms import features  # noqa: E402

NAMES = [
    "age", "Age-2", "1st.visit", ".hidden", "a/b", "a>b", "a\\b",
    "job title", "naïve", "_age", "-age", "age:years", "a,b", "a(b)", "tab\there",
]  # fmt: skip


def test_the_name_rule_is_tensorflows_root_scope_rule():
    # TensorFlow's own, private: `^...$` around the same character classes.
    assert f"^{features.TF_ROOT_SCOPE.pattern}$" == ops._VALID_OP_NAME_REGEX.pattern


@pytest.mark.parametrize("name", NAMES)
def test_keras_builds_the_models_layers_exactly_for_the_names_the_rule_takes(name):
    # The layers models.model.build_model names after a feature's outputs.
    float_name = features.transformed_name(name)
    id_name = features.transformed_name(name + "_id")
    try:
        numeric = tf.keras.Input(shape=(), name=float_name, dtype=tf.float32)
        ids = tf.keras.Input(shape=(), name=id_name, dtype=tf.int64)
        parts = [
            tf.keras.layers.Reshape((1,), name=f"{float_name}_column")(numeric),
            tf.keras.layers.Embedding(3, 2, name=f"{id_name}_embedding")(ids),
        ]
        tf.keras.Model(inputs=[numeric, ids], outputs=tf.keras.layers.Concatenate()(parts))
        built = True
    except ValueError as e:
        assert "is not a valid root scope name" in str(e)
        built = False
    assert built == (features.name_problem(name) is None)


@pytest.mark.parametrize("name", NAMES + ["c.d", "c_d", "a  b", "a--b", "a - b"])
def test_vocabulary_files_are_named_as_tf_transform_names_them(name):
    assert features.vocabulary_file_written(name) == analyzers.sanitized_vocab_filename(
        features.vocabulary_filename(name)
    )


def test_the_largest_seed_is_the_largest_the_trainer_can_use():
    tf.keras.utils.set_random_seed(MAX_SEED)  # as models.model.run_fn does
    with pytest.raises(ValueError, match=r"Seed must be between 0 and 2\*\*32 - 1"):
        tf.keras.utils.set_random_seed(MAX_SEED + 1)


def test_the_longest_vocabulary_file_name_allowed_can_be_written(tmp_path):
    from pipeline.feature_names import MAX_FILE_NAME_BYTES

    longest = features.vocabulary_file_written("c" * (MAX_FILE_NAME_BYTES - len("_vocab")))
    (tmp_path / longest).write_text("a\n")
    with pytest.raises(OSError, match="File name too long"):
        (tmp_path / (longest + "x")).write_text("a\n")
