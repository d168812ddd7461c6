"""Keeps AutoGraph from converting tf-keras's own code.

A `tf.function` runs AutoGraph over every Python function it calls, rewriting
each one's source, unless the function's module is on AutoGraph's
do-not-convert list. The list names `keras` but not `tf_keras`, the package
of the Keras that Cascade uses (TF_USE_LEGACY_KERAS=1, as the Transform layer
needs), so tracing a train step or a serving signature rewrites all of
tf-keras's training code. tf-keras runs in graphs unconverted, as `keras` does;
on the demo slice, converting it takes about three quarters of the Trainer's time.
"""

from __future__ import annotations

# Private: AutoGraph's do-not-convert list has no public API; its own tests
# extend it the same way (tensorflow/python/autograph/core/converter_testing.py).
from tensorflow.python.autograph.core import config as autograph_config

TF_KERAS_MODULE = "tf_keras"


def skip_tf_keras_conversion() -> None:
    """Adds `tf_keras` to AutoGraph's do-not-convert list, once per process.

    Must run before the first `tf.function` that calls tf-keras is traced
    (model.fit, model.evaluate, a saved signature).
    """
    rules = autograph_config.CONVERSION_RULES
    if any(rule.matches(TF_KERAS_MODULE) for rule in rules):
        return
    autograph_config.CONVERSION_RULES = (
        autograph_config.DoNotConvert(TF_KERAS_MODULE),
        *rules,
    )
