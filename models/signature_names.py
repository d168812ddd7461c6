"""The names of an exported Cascade model's signatures, outputs and label file.

Kept free of TensorFlow so the pipeline's Evaluator config and the serving code
can name them without importing the model code.
"""

SERVING_SIGNATURE = "serving_default"
TRANSFORM_SIGNATURE = "transform_features"
# The Evaluator's label for a label that is not 0/1 (see `models.model`).
LABEL_SIGNATURE = "transform_label"
EXAMPLES_INPUT = "examples"
# serving_default's outputs.
OUTPUT_KEY = "outputs"
PROBABILITIES_KEY = "probabilities"
PREDICTED_KEY = "predicted"
# The label with its classes (`core.labels.LabelSpec.to_dict`), in the model
# folder beside raw_features.json: every copy of the model carries it.
LABEL_FILE = "assets.extra/label.json"
