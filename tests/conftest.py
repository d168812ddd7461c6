"""Test-wide setup: TensorFlow must see TF_USE_LEGACY_KERAS before it is imported.

TF 2.16 defaults to Keras 3, but tf.Transform's layer is a tf-keras layer; mixing
them fails, so every entry point (and the tests) select tf-keras first.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
