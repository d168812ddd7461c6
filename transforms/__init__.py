"""What the Transform component loads: feature kinds and the preprocessing_fn."""
