"""Data validation shared by the pipeline and serving: TFDV statistics of raw
columns, the training/serving skew distance and its calibrated thresholds."""
