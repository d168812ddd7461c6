"""AutoGraph leaves tf-keras's code unconverted once the rule is added."""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import tf_keras  # noqa: E402

# Private: AutoGraph's own answer to "would this function be converted?".
from tensorflow.python.autograph.core import config as autograph_config  # noqa: E402
from tensorflow.python.autograph.impl import conversion  # noqa: E402

from models.autograph_rules import TF_KERAS_MODULE, skip_tf_keras_conversion  # noqa: E402


def _tf_keras_rules() -> int:
    return sum(rule.matches(TF_KERAS_MODULE) for rule in autograph_config.CONVERSION_RULES)


def test_tf_keras_train_step_is_left_unconverted_and_the_rule_added_once():
    skip_tf_keras_conversion()
    skip_tf_keras_conversion()
    assert _tf_keras_rules() == 1
    assert conversion.is_allowlisted(tf_keras.Model.train_step)
    assert conversion.is_allowlisted(tf_keras.layers.Dense.call)


def test_user_code_is_still_converted():
    skip_tf_keras_conversion()

    def user_step(x):
        return x

    assert not conversion.is_allowlisted(user_step)
