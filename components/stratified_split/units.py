"""Turning serialized tf.Examples into split units: stratum, position, payload.

A unit is what the allocation places: one example, or in group mode all the
examples sharing a group key. Its position is a seeded fingerprint of its
identity (the example's content, or the group key), so placement never depends
on input order, sharding, the runner, or how protobuf ordered the bytes.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Optional, Sequence, Union

import pyarrow as pa
import tensorflow as tf

from components.common import columns, content_hash
from components.common.example_features import feature_values, text_of, values_in
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


def class_of_stratum(stratum: str, stratify_by: Sequence[str]) -> str:
    """The label class of a labelled stratum: `label=Adelie|source=web` -> `Adelie`.

    The label comes first, up to the first stratification key's part (a class
    whose text holds `|<key>=` itself would be cut there).
    """
    label = stratum.partition("=")[2]
    if stratify_by:
        label = label.split(f"|{stratify_by[0]}=", 1)[0]
    return label


def record_stratum(record: bytes, label_key: str, stratify_by: Sequence[str]) -> str:
    """Returns the stratum of one serialized example."""
    return stratum_of(tf.train.Example.FromString(record), label_key, stratify_by)


def example_unit(record: bytes, label_key: str, stratify_by: Sequence[str], seed: int) -> Unit:
    """Returns the unit of one example: its position is the seeded hash of its content.

    The content is the example's features, not its bytes
    (`content_hash.example_hash`): protobuf writes map fields in an order that
    can differ from process to process, so the same example read by another
    runner, or written by an ExampleGen in another process, may come as other
    bytes. `batch_strata_and_positions` gives the same for a whole batch.
    """
    example = tf.train.Example.FromString(record)
    stratum = stratum_of(example, label_key, stratify_by)
    return (stratum, content_hash.example_hash(example, seed), b"", (record,))


def batch_strata_and_positions(
    records: Sequence[bytes], label_key: str, stratify_by: Sequence[str], seed: int
) -> list[tuple[str, int]]:
    """(stratum, position) of each record, as `example_unit` gives them, for a whole batch.

    The batch is decoded into columns once (`columns.decode`); strata come
    from the label and stratification columns and positions from
    `content_hash.batch_hashes`. A batch the decoder rejects goes record by
    record through `example_unit`.

    Raises:
      ValueError: The label or a stratification key holds several values in a record.
    """
    batch = columns.decode(records) if records else None
    if batch is None:
        return [example_unit(r, label_key, stratify_by, seed)[:2] for r in records]
    keys = (label_key, *stratify_by)
    values = [_single_texts(batch, key) for key in keys]
    names = ["label", *stratify_by]
    strata = []
    for row_values in zip(*values):
        # As stratum_of: a row without a label is unlabeled, whatever else it holds.
        if row_values[0] is None:
            strata.append(UNLABELED)
            continue
        for key, value in zip(keys, row_values):
            if isinstance(value, int):
                raise ValueError(f"feature {key!r} has {value} values; stratifying needs one")
        strata.append(
            "|".join(
                f"{name}={MISSING_VALUE if value is None else value}"
                for name, value in zip(names, row_values)
            )
        )
    return list(zip(strata, content_hash.batch_hashes(batch, seed).tolist()))


def _single_texts(batch: pa.RecordBatch, key: str) -> list[Union[str, int, None]]:
    """Each row's value of `key` as text (`text_of`): None when it has none, and
    the number of values (an int) when it has several."""
    column = columns.ListColumn(batch, key)
    texts: dict[object, str] = {}
    found: list[Union[str, int, None]] = []
    for length, value in zip(column.lengths.tolist(), column.first_values()):
        if length == 1:
            text = texts.get(value)
            if text is None:
                text = texts[value] = text_of(value)
            found.append(text)
        else:
            found.append(length or None)
    return found


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
