"""Comparing sets of transformed rows that Beam may have written in any order."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import tensorflow as tf

FLOAT_TOLERANCE = 1e-6


def read_examples(files: Sequence[str], spec: dict) -> dict[str, np.ndarray]:
    """Parses gzipped TFRecords of tf.Examples into {feature: [n] array}."""
    records = list(
        tf.data.TFRecordDataset(list(files), compression_type="GZIP").as_numpy_iterator()
    )
    parsed = tf.io.parse_example(records, spec)
    return {name: np.reshape(value.numpy(), [len(records)]) for name, value in parsed.items()}


def assert_same_rows(
    expected: dict[str, np.ndarray],
    actual: dict[str, np.ndarray],
    exact_names: Sequence[str],
    float_names: Sequence[str],
) -> None:
    """Asserts two row sets are equal in any order: `exact_names` exactly, floats within 1e-6.

    Every expected row is paired with an unused actual row that has identical
    exact features and the closest floats.
    """
    count = len(expected[exact_names[0]])
    sizes = {len(expected[n]) for n in [*exact_names, *float_names]}
    sizes |= {len(actual[n]) for n in [*exact_names, *float_names]}
    assert sizes == {count}, f"row counts differ: {sizes}"
    by_exact: dict[tuple, list[int]] = {}
    for j in range(count):
        by_exact.setdefault(tuple(actual[n][j] for n in exact_names), []).append(j)
    for i in range(count):
        key = tuple(expected[n][i] for n in exact_names)
        candidates = by_exact.get(key)
        assert candidates, f"expected row {i} has exact features {key} no actual row has"
        gaps = [
            max(
                (abs(float(actual[n][j]) - float(expected[n][i])) for n in float_names), default=0.0
            )
            for j in candidates
        ]
        best = int(np.argmin(gaps))
        assert gaps[best] <= FLOAT_TOLERANCE, f"expected row {i}: float gap {gaps[best]}"
        candidates.pop(best)
