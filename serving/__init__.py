"""Serving: new raw data through the pushed model and the saved Transform graph.

Library code only (no flags, no printing): checked serving input, scoring with
the model's `serving_default`, and the Beam batch transform.
"""
