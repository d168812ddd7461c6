"""Serving: new raw data through the pushed model and the saved Transform graph.

Library code only (no flags, no printing): checked serving input, scoring with
the model's `serving_default` in one process or on Beam, the statistics of
serving data and their comparison with the training data's (skew), and the
Beam batch transform.
"""
