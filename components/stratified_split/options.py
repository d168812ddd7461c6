"""StratifiedSplit's options: validated when the pipeline is built, re-read by the executor."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from typing import Any, Mapping, Optional, Sequence

from components.stratified_split import spec

_SPLIT_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")


@dataclasses.dataclass(frozen=True)
class SplitOptions:
    """Everything that decides where an example goes.

    Attributes:
      ratios: Ordered (name, ratio) pairs, at least two, ratios > 0 summing to 1.
      label: The label feature; strata are its values.
      stratify_by: Extra features stratified jointly with the label.
      group_by: If set, all examples sharing its value go to the same split.
      seed: Chooses the (deterministic) membership.
    """

    ratios: tuple[tuple[str, float], ...]
    label: str
    stratify_by: tuple[str, ...] = ()
    group_by: Optional[str] = None
    seed: int = 0

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def split_names(self) -> list[str]:
        return [name for name, _ in self.ratios]

    @property
    def ratio_values(self) -> list[float]:
        return [ratio for _, ratio in self.ratios]

    @property
    def feature_keys(self) -> list[str]:
        """Features every input example must carry."""
        keys = [self.label, *self.stratify_by]
        if self.group_by:
            keys.append(self.group_by)
        return keys

    def to_exec_properties(self) -> dict[str, Any]:
        """Returns the component's execution parameters (JSON strings for lists)."""
        return {
            spec.RATIOS_KEY: json.dumps([[n, r] for n, r in self.ratios]),
            spec.LABEL_KEY: self.label,
            spec.STRATIFY_BY_KEY: json.dumps(list(self.stratify_by)),
            spec.GROUP_BY_KEY: self.group_by,
            spec.SEED_KEY: self.seed,
        }

    @classmethod
    def from_exec_properties(cls, properties: Mapping[str, Any]) -> "SplitOptions":
        """Reads what `to_exec_properties` wrote (None/absent optionals allowed)."""
        return cls(
            ratios=tuple((str(n), float(r)) for n, r in json.loads(properties[spec.RATIOS_KEY])),
            label=properties[spec.LABEL_KEY],
            stratify_by=tuple(json.loads(properties.get(spec.STRATIFY_BY_KEY) or "[]")),
            group_by=properties.get(spec.GROUP_BY_KEY) or None,
            seed=int(properties[spec.SEED_KEY]),
        )


def _validate(options: SplitOptions) -> None:
    """Raises ValueError naming the first problem with the options."""
    names = options.split_names
    if len(names) < 2:
        raise ValueError(f"StratifiedSplit needs at least two splits, got {names}")
    for name in names:
        if not isinstance(name, str) or not _SPLIT_NAME.match(name):
            raise ValueError(
                f"StratifiedSplit: invalid split name {name!r} (letters, digits, '_' and '-')"
            )
    lowered = [n.lower() for n in names]
    duplicates = sorted({n for n in lowered if lowered.count(n) > 1})
    if duplicates:
        raise ValueError(f"StratifiedSplit: split name {duplicates[0]!r} is used more than once")
    for name, ratio in options.ratios:
        if not isinstance(ratio, (int, float)) or not math.isfinite(ratio) or ratio <= 0:
            raise ValueError(f"StratifiedSplit: ratio of split {name!r} must be > 0, got {ratio!r}")
    total = sum(options.ratio_values)
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"StratifiedSplit: split ratios must sum to 1, they sum to {total:g}")
    if not options.label:
        raise ValueError("StratifiedSplit: label is required")
    keys = [options.label, *options.stratify_by]
    if len(set(keys)) != len(keys):
        raise ValueError(f"StratifiedSplit: stratify_by repeat the label or each other: {keys}")
    if options.group_by and options.group_by in keys:
        raise ValueError(f"StratifiedSplit: group_by {options.group_by!r} is also a stratum key")
    seed = options.seed
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise ValueError(f"StratifiedSplit: seed must be an integer in [0, 2**63), got {seed!r}")


def splits_from_pairs(pairs: Sequence[Sequence[Any]]) -> tuple[tuple[str, float], ...]:
    """Normalizes [(name, ratio), ...] (or a mapping's items) to a tuple of pairs."""
    return tuple((str(name), float(ratio)) for name, ratio in pairs)
