"""tf.Transform preprocessing shared by training, serving and batch transform."""
