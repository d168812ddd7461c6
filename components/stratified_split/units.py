"""Turning serialized tf.Examples into split units: stratum, position, payload.

A unit is what the allocation places: one example, or in group mode all the
examples sharing a group key. Its position is a seeded fingerprint of its
identity (the example's content, or the group key), so placement never depends
on input order, sharding, the runner, or how protobuf ordered the bytes.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Optional, Sequence

import tensorflow as tf

from components.common.example_features import canonical_bytes, feature_values, values_in
from components.common.fingerprint import fingerprint64

# A unit: (stratum, position, group key, serialized examples). Units sort by
# (position, group key, examples): the group key is b"" for single examples,
# whose own bytes then break ties, so a record is never carried twice.
Unit = tuple[str, int, bytes, tuple[bytes, ...]]


def stratum_of_unit(unit: Unit) -> str:
    """A unit's stratum."""
    stratum, _, _, _ = unit
    return stratum


def sort_key(unit: Unit) -> tuple[int, bytes, tuple[bytes, ...]]:
    """The order of units within a stratum: position, then group key, then records."""
    _, position, group, records = unit
    return position, group, records


UNLABELED = "<unlabeled>"
MISSING_VALUE = "<missing>"


def stratum_of(example: tf.train.Example, label_key: str, stratify_by: Sequence[str]) -> str:
    """Returns the stratum name, e.g. `label=1|source=web`, or UNLABELED.

    Raises:
      ValueError: The label or a stratification key holds several values.
    """
    parts = []
    features = example.features.feature
    for key in (label_key, *stratify_by):
        values = values_in(features, key)
        if len(values) > 1:
            raise ValueError(f"feature {key!r} has {len(values)} values; stratifying needs one")
        if not values and key == label_key:
            return UNLABELED
        parts.append(
            f"{'label' if key == label_key else key}={values[0] if values else MISSING_VALUE}"
        )
    return "|".join(parts)


def record_stratum(record: bytes, label_key: str, stratify_by: Sequence[str]) -> str:
    """Returns the stratum of one serialized example."""
    return stratum_of(tf.train.Example.FromString(record), label_key, stratify_by)


def example_unit(record: bytes, label_key: str, stratify_by: Sequence[str], seed: int) -> Unit:
    """Returns the unit of one example: its position is the fingerprint of its content.

    The content is the example re-serialized deterministically (features in
    name order): protobuf writes map fields in an order that can differ from
    process to process, so the same example read by another runner, or written
    by an ExampleGen in another process, may come as other bytes.
    """
    example = tf.train.Example.FromString(record)
    stratum = stratum_of(example, label_key, stratify_by)
    return (stratum, fingerprint64(seed, canonical_bytes(example)), b"", (record,))


def group_key_of(record: bytes, group_by: str) -> Optional[bytes]:
    """Returns an example's group key as bytes, or None if it has no value."""
    values = feature_values(tf.train.Example.FromString(record), group_by)
    if len(values) > 1:
        raise ValueError(f"group key {group_by!r} has {len(values)} values in one example")
    return values[0].encode("utf-8") if values else None


def group_unit(
    key: bytes,
    records: Iterable[bytes],
    label_key: str,
    stratify_by: Sequence[str],
    seed: int,
) -> Unit:
    """Returns the unit of one group: all its examples travel together.

    The group's stratum is its most common stratum among labelled examples (ties
    go to the smallest stratum name, so it is deterministic); a group with no
    labelled example is UNLABELED. Its position is the fingerprint of the key.
    """
    ordered = tuple(sorted(records))
    strata = Counter(
        stratum_of(tf.train.Example.FromString(r), label_key, stratify_by) for r in ordered
    )
    labelled = {s: n for s, n in strata.items() if s != UNLABELED}
    if labelled:
        stratum = min(labelled, key=lambda s: (-labelled[s], s))
    else:
        stratum = UNLABELED
    return (stratum, fingerprint64(seed, key), key, ordered)
