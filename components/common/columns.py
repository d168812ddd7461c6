"""Features of a whole batch of serialized tf.Examples, decoded at once in C++.

Parsing one tf.Example in Python and reaching into its feature map costs about
15 µs; tfx_bsl's decoder turns a batch of records into Arrow columns at about
5 µs a record, and `ListColumn` reads a column's per-row counts and values with
NumPy and one list conversion. Steps that read a few features of every row
(CleanExamples' rules, StratifiedSplit's strata and content hash) use this and
keep per-record code for the batches the decoder rejects.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tfx_bsl.coders import example_coder

from components.common.example_features import feature_key, text_of


def python_list(values: pa.Array) -> list:
    """An Arrow array's values as a list of Python objects (None for nulls).

    Goes through NumPy where that keeps every value as `to_pylist` gives it
    (pyarrow 10's `to_pylist` builds a scalar per value, some 15x slower):
    text and bytes arrays, whose nulls NumPy keeps as None, and integer,
    float and boolean arrays without nulls (NumPy would make a null NaN).
    Other types go through `to_pylist`.
    """
    kind = values.type
    text = any(
        is_kind(kind)
        for is_kind in (
            pa.types.is_string,
            pa.types.is_large_string,
            pa.types.is_binary,
            pa.types.is_large_binary,
        )
    )
    number = pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
    if text or (number and values.null_count == 0):
        return values.to_numpy(zero_copy_only=False).tolist()
    return values.to_pylist()


def decode(records: Sequence[bytes]) -> Optional[pa.RecordBatch]:
    """Every feature of a batch of serialized examples as one Arrow list column.

    A feature present in some record only without a kind (an empty
    `tf.train.Feature`) is a column of null type; present so in one record and
    with values in another, it is null in the first. When a record sets a
    feature twice (serialized messages appended to each other), the last
    setting wins, as in protobuf parsing.

    Returns:
      The batch, or None when the decoder rejects it: a feature of one type in
      some records and of another in others, or a record that is not a
      tf.Example. The caller then reads the batch record by record, which
      gives the per-record answer or error.
    """
    try:
        return _decoder().DecodeBatch(list(records))
    except RuntimeError:
        return None


class NarrowDecoder:
    """Decodes only the features a pass reads, typed as the data first showed them.

    Decoding every feature costs about twice decoding the four or five a rule
    reads. The first batch that holds each wanted feature with a kind is
    decoded whole (`decode`), and its Arrow types make a schema of the wanted
    features; later batches are decoded with that schema, in C++ too. A batch
    the narrow decoder rejects (a feature of another type there) is decoded
    whole (and the next whole batch types a fresh narrow decoder), and one
    `decode` rejects is read record by record, so
    every batch gets the answer the whole decode gives.

    A batch holding any of `whole_if_present` (its name's serialized key
    searched in the records' bytes) is decoded whole, so callers that must
    see those features' mere presence (CleanExamples' reserved columns)
    still see it.

    Args:
      names: The features to decode.
      whole_if_present: Features whose presence needs the whole decode.
    """

    def __init__(self, names: Sequence[str], whole_if_present: Sequence[str] = ()) -> None:
        self._names = tuple(dict.fromkeys(names))
        self._markers = tuple(feature_key(name) for name in whole_if_present)
        self._narrow: Optional[example_coder.ExamplesToRecordBatchDecoder] = None

    def decode(self, records: Sequence[bytes]) -> Optional[pa.RecordBatch]:
        """The batch's wanted features (and maybe others), or None as `decode` gives.

        Returns:
          A batch with at least every wanted feature a record holds; None when
          the whole decode rejects the batch.
        """
        if self._narrow is not None and not self._has_marker(records):
            try:
                return self._narrow.DecodeBatch(list(records))
            except RuntimeError:
                # A decoder with a schema keeps the rows it had decoded when
                # it failed, which corrupt its next batch: start afresh.
                self._narrow = None
        batch = decode(records)
        if batch is not None and self._narrow is None:
            self._narrow = _typed_decoder(batch, self._names)
        return batch

    def _has_marker(self, records: Sequence[bytes]) -> bool:
        if not self._markers:
            return False
        joined = b"".join(records)
        return any(marker in joined for marker in self._markers)


def _typed_decoder(
    batch: pa.RecordBatch, names: Sequence[str]
) -> Optional[example_coder.ExamplesToRecordBatchDecoder]:
    """A decoder of `names` typed as in `batch`; None while one has no type there."""
    # Imported here: tensorflow_metadata's protos are only needed once a pass
    # narrows its decoding.
    from tensorflow_metadata.proto.v0 import schema_pb2

    schema = schema_pb2.Schema()
    for name in names:
        if name not in batch.schema.names:
            return None
        value_type = batch.column(batch.schema.get_field_index(name)).type
        if not (pa.types.is_list(value_type) or pa.types.is_large_list(value_type)):
            return None  # null type: the feature had no kind in this batch
        item = value_type.value_type
        if pa.types.is_integer(item):
            kind = schema_pb2.INT
        elif pa.types.is_floating(item):
            kind = schema_pb2.FLOAT
        elif pa.types.is_binary(item) or pa.types.is_large_binary(item):
            kind = schema_pb2.BYTES
        else:
            return None
        schema.feature.add(name=name, type=kind)
    return example_coder.ExamplesToRecordBatchDecoder(schema.SerializeToString())


class ListColumn:
    """One feature of a decoded batch: each row's number of values, and the values.

    A row where the feature is absent, or present without a kind, has no
    values and `present` False; present with an empty list, it has no values
    and `present` True.

    Attributes:
      lengths: Values per row (int64; 0 when absent).
      present: Whether each row holds the feature with a kind.
    """

    def __init__(self, batch: pa.RecordBatch, name: str) -> None:
        rows = batch.num_rows
        column = (
            batch.column(batch.schema.get_field_index(name)) if name in batch.schema.names else None
        )
        if column is None or pa.types.is_null(column.type):
            self.lengths = np.zeros(rows, dtype=np.int64)
            self.present = np.zeros(rows, dtype=bool)
            self._values = pa.array([], type=pa.null())
        else:
            self.lengths = np.asarray(
                pc.list_value_length(column).fill_null(0).to_numpy(zero_copy_only=False),
                dtype=np.int64,
            )
            self.present = ~np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
            self._values = column.flatten()
        self._flat_list: Optional[list] = None

    @property
    def _flat(self) -> list:
        """Every value of the column, row after row, as Python objects."""
        if self._flat_list is None:
            self._flat_list = python_list(self._values)
        return self._flat_list

    def first_values(self) -> list:
        """Each row's first value (int, float or bytes), None when it has none."""
        starts = np.cumsum(self.lengths) - self.lengths
        flat = self._flat
        return [flat[s] if n else None for s, n in zip(starts.tolist(), self.lengths.tolist())]

    def first_texts(self) -> list[Optional[str]]:
        """Each row's first value as `example_features.text_of` writes it, None when it has none."""
        return python_list(self.first_text_array())

    def first_text_array(self) -> pa.Array:
        """`first_texts` as an Arrow large_string array (null for a row without a value).

        Integers and UTF-8 bytes are converted by Arrow in one call; floats, and
        bytes that are not UTF-8, value by value.
        """
        starts = np.cumsum(self.lengths) - self.lengths
        firsts = self._values.take(pa.array(starts, type=pa.int64(), mask=self.lengths == 0))
        if pa.types.is_integer(firsts.type) or pa.types.is_large_binary(firsts.type):
            try:
                return pc.cast(firsts, pa.large_string())
            except pa.ArrowInvalid:  # bytes that are not UTF-8
                pass
        return pa.array(
            [None if value is None else text_of(value) for value in python_list(firsts)],
            type=pa.large_string(),
        )

    def row_values(self) -> list[Optional[list]]:
        """Each row's values as a list; None when the feature is absent or kindless."""
        found: list[Optional[list]] = []
        start = 0
        for length, present in zip(self.lengths.tolist(), self.present.tolist()):
            found.append(self._flat[start : start + length] if present else None)
            start += length
        return found


_DECODER: list = []


def _decoder() -> example_coder.ExamplesToRecordBatchDecoder:
    # One per process: building it is cheap but not free, and it holds no state
    # between batches.
    if not _DECODER:
        _DECODER.append(example_coder.ExamplesToRecordBatchDecoder())
    return _DECODER[0]
