"""SkewCalibration: per-feature skew thresholds drawn from resamples of the training data."""
