"""Training settings: one dataclass for the config's `training:` section and the Trainer.

The config reads it from YAML (`pipeline.config`), the factory passes it to the
Trainer as `custom_config["training"]`, and `models.model.run_fn` reads it back,
so both sides share one set of fields and defaults. No TensorFlow import:
reading a config must stay fast.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

CUSTOM_CONFIG_KEY = "training"


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """Training hyperparameters.

    Attributes:
      train_steps: Trainer steps over the train split (the Trainer's TrainArgs).
      eval_steps: Steps over the dev split after each epoch (EvalArgs).
      epochs: Keras epochs; each runs `train_steps // epochs` steps.
      batch_size: Examples per step (train and eval).
      hidden_units: Widths of the ReLU hidden layers, in order.
      learning_rate: Adam's learning rate.
      embedding_dim: Width of each id feature's embedding.
    """

    train_steps: int = 2000
    eval_steps: int = 200
    epochs: int = 5
    batch_size: int = 64
    hidden_units: tuple[int, ...] = (32, 16)
    learning_rate: float = 0.003
    embedding_dim: int = 8

    def __post_init__(self) -> None:
        for name in ("train_steps", "eval_steps", "batch_size", "epochs", "embedding_dim"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"training.{name} must be a positive integer, got {value!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"training.learning_rate must be > 0, got {self.learning_rate!r}")
        if not self.hidden_units or min(self.hidden_units) <= 0:
            raise ValueError(
                f"training.hidden_units must be non-empty positive ints, got {self.hidden_units!r}"
            )

    def to_custom_config(self) -> dict[str, Any]:
        """The JSON-able dict the Trainer receives as `custom_config["training"]`."""
        return {**dataclasses.asdict(self), "hidden_units": list(self.hidden_units)}

    @classmethod
    def from_custom_config(cls, custom_config: Mapping[str, Any]) -> TrainingConfig:
        """Reads `custom_config["training"]`, with defaults for missing keys.

        Args:
          custom_config: The Trainer's custom_config.

        Returns:
          The validated config.

        Raises:
          ValueError: A key is unknown or a value is not positive.
        """
        raw = dict(custom_config.get(CUSTOM_CONFIG_KEY) or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"training: unknown keys {unknown}; expected {sorted(known)}")
        if "hidden_units" in raw:
            raw["hidden_units"] = tuple(int(u) for u in raw["hidden_units"])
        return cls(**raw)
