"""StratifiedSplit: exact, deterministic, scalable stratified train/dev/test splits."""
