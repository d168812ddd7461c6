"""What the Trainer loads: the Keras model, its run_fn and the raw-feature contract it exports."""
