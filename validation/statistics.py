"""TFDV statistics of raw columns: of serving data while it is scored, and of
the training resamples SkewCalibration measures.

The statistics are those StatisticsGen computes for training data (the same
TFDV generators and options), over the model's raw columns, so the skew check
(`validation.skew`) compares like with like. They come in two forms:

* `StatisticsCombineFn`: a Beam combiner, in memory bounded by the
  generators' sketches, not by the data, of serialized examples or of Arrow
  batches a `RawDecoder` decoded (each calibration resample);
  `StatisticsAccumulator` drives it by hand in one process (the
  single-process scorer);
* `beam_statistics`: TFDV's `GenerateStatistics` transform in the Beam scorer.

Statistics are stored as an ExampleStatistics artifact folder in TFX's layout
(`Split-<split>/FeatureStats.pb`), so TFDV and TFX tools read them as they read
StatisticsGen's.
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Iterator, NamedTuple, Optional, Sequence, Union

import apache_beam as beam
import pyarrow as pa
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from models.raw_features import FLOAT, INT64, STRING, RawColumn

SERVING_SPLIT = "serving"
STATS_FILE = "FeatureStats.pb"
_FEATURE_TYPES = {INT64: schema_pb2.INT, FLOAT: schema_pb2.FLOAT}
_STATISTICS_TYPES = {
    statistics_pb2.FeatureNameStatistics.INT: INT64,
    statistics_pb2.FeatureNameStatistics.FLOAT: FLOAT,
}


# Rows per RecordBatch fed to TFDV's generators: each batch costs a fixed
# amount per feature, so larger batches make the statistics cheaper (a batch
# of serialized examples this size is a few MB).
STATISTICS_BATCH_ROWS = 16_384


def raw_schema(columns: Sequence[RawColumn]) -> schema_pb2.Schema:
    """The schema raw serving examples are decoded with: one feature per column.

    No presence or domain constraints: the statistics describe what the data
    holds, and the skew check (not the decoder) judges it.
    """
    schema = schema_pb2.Schema()
    for column in columns:
        feature = schema.feature.add(name=column.name)
        feature.type = _FEATURE_TYPES.get(column.dtype, schema_pb2.BYTES)
    return schema


def feature_name(feature: statistics_pb2.FeatureNameStatistics) -> str:
    """A feature's name in a statistics proto (its path, or its legacy name)."""
    return ".".join(feature.path.step) if feature.path.step else feature.name


def typed_columns(
    stats: statistics_pb2.DatasetFeatureStatisticsList, names: Sequence[str]
) -> tuple[list[RawColumn], list[str]]:
    """The named features as raw columns, typed as the statistics type them.

    The inverse of `raw_schema`: INT -> int64, FLOAT -> float, anything else
    (BYTES, STRING) -> string.

    Returns:
      (the columns found, in `names` order; the names the statistics lack).
    """
    types = {feature_name(f): f.type for d in stats.datasets[:1] for f in d.features}
    found = [
        RawColumn(n, _STATISTICS_TYPES.get(types[n], STRING), required=False)
        for n in names
        if n in types
    ]
    return found, [n for n in names if n not in types]


def stats_options(columns: Sequence[RawColumn]):
    """TFDV's default options (StatisticsGen's) restricted to the model's columns."""
    import tensorflow_data_validation as tfdv

    return tfdv.StatsOptions(feature_allowlist=[c.name for c in columns])


class RawDecoder:
    """Serialized raw tf.Examples -> one Arrow RecordBatch typed by `raw_schema`.

    Decodes with tfx_bsl's example coder (a private module: the decoder TFX's
    own readers use). `from_whole` takes the same columns from a batch already
    decoded with every feature (`components.common.columns.decode`), so a
    step that decoded a batch for another reason does not decode it again.
    Pickles without its coder, which is built where it is first used.

    Args:
      columns: The raw columns, in the order of the batches' columns.
    """

    def __init__(self, columns: Sequence[RawColumn]) -> None:
        self._schema = raw_schema(columns).SerializeToString()
        self._coder = None
        self._arrow_schema: Optional[pa.Schema] = None

    def __getstate__(self) -> dict:
        return {"_schema": self._schema, "_coder": None, "_arrow_schema": None}

    @property
    def arrow_schema(self) -> pa.Schema:
        """The schema of every batch this decoder gives."""
        if self._arrow_schema is None:
            self._arrow_schema = self._ready().ArrowSchema()
        return self._arrow_schema

    def decode(self, records: Sequence[bytes]) -> pa.RecordBatch:
        """The records' raw columns.

        Args:
          records: Serialized tf.Examples.

        Returns:
          One batch with a column per raw column, typed by `raw_schema`.

        Raises:
          RuntimeError: tfx_bsl's decoder rejects a record, and says why: it
            is not a tf.Example ("Unable to parse example"), or it holds a
            column's feature with another kind ("Feature had wrong type,
            expected int64_list, found bytes_list for feature ...").
        """
        try:
            return self._ready().DecodeBatch(list(records))
        except RuntimeError:
            # A decoder with a schema keeps the rows it had decoded when it
            # failed, which corrupt its next batch.
            self._coder = None
            raise

    def from_whole(self, whole: pa.RecordBatch) -> Optional[pa.RecordBatch]:
        """The raw columns of a batch decoded with every feature, as `decode` gives them.

        Args:
          whole: A batch from `components.common.columns.decode`.

        Returns:
          The batch; None when a column holds another type there than its
          schema type (then only `decode` of the records can tell which of
          them it rejects).
        """
        schema = self.arrow_schema
        arrays = []
        for field in schema:
            column = whole.column(field.name) if field.name in whole.schema.names else None
            if column is None or pa.types.is_null(column.type):
                arrays.append(pa.nulls(whole.num_rows, field.type))
            elif column.type == field.type:
                arrays.append(column)
            else:
                return None
        return pa.RecordBatch.from_arrays(arrays, schema=schema)

    def _ready(self) -> Any:
        """The tfx_bsl coder, built on first use (it does not pickle)."""
        if self._coder is None:
            from tfx_bsl.coders import example_coder  # private: see the class docstring

            self._coder = example_coder.ExamplesToRecordBatchDecoder(self._schema)
        return self._coder


class Accumulation(NamedTuple):
    """`StatisticsCombineFn`'s accumulator.

    Attributes:
      pending: Rows not yet given to the generators, in the order they came.
      rows: Rows in `pending`.
      sketches: The generators' accumulators; None before the first update.
    """

    pending: list[pa.RecordBatch]
    rows: int
    sketches: Optional[list]


class StatisticsCombineFn(beam.CombineFn):
    """Raw tf.Examples -> their TFDV statistics, as a Beam combiner.

    TFDV's public in-memory entry point (`generate_statistics_from_dataframe`)
    needs the whole dataset in one DataFrame. Its combiner generators, used
    here through `stats_impl` (a private TFDV module: the only way to feed
    them incrementally), keep bounded sketches instead, exactly as TFDV's Beam
    transform does in each worker.

    An input is a list of serialized tf.Examples (decoded as it is added) or
    a RecordBatch of them already decoded by a `RawDecoder` of the same
    columns. Rows are buffered and given to the generators as one batch once
    `flush_rows` have come, so many small inputs (a calibration resample's
    share of each batch) cost one generator update per buffer; a combine
    moves sketches and at most one buffer per key, never the data. The
    generators see the same batches whichever form the rows came in, so
    both give the same statistics.

    Args:
      columns: The raw columns; examples are decoded with them.
      flush_rows: Rows given to the generators at once.
    """

    def __init__(self, columns: Sequence[RawColumn], flush_rows: int = STATISTICS_BATCH_ROWS):
        self._columns = list(columns)
        self._flush_rows = flush_rows
        self._decoder = RawDecoder(columns)
        self._generators = None

    def _ready(self) -> list:
        if self._generators is None:
            # Private module: see the class docstring.
            from tensorflow_data_validation.statistics import stats_impl

            options = stats_options(self._columns)
            self._generators = stats_impl.get_generators(options, in_memory=True)
        return self._generators

    def setup(self) -> None:
        self._ready()

    def create_accumulator(self) -> Accumulation:
        return Accumulation([], 0, None)

    def add_input(
        self, accumulator: Accumulation, rows: Union[Sequence[bytes], pa.RecordBatch]
    ) -> Accumulation:
        """Buffers `rows`, and gives the buffer to the generators once it is full.

        Args:
          accumulator: The rows so far.
          rows: Serialized tf.Examples, or a RecordBatch of them decoded by a
            `RawDecoder` of this combiner's columns.

        Raises:
          RuntimeError: A record does not decode (see `RawDecoder.decode`).
        """
        batch = self._batch(rows)
        if batch is None:
            return accumulator
        accumulator.pending.append(batch)
        return self._flushed(
            accumulator.pending, accumulator.rows + batch.num_rows, accumulator.sketches
        )

    def merge_accumulators(self, accumulators: Iterable[Accumulation]) -> Accumulation:
        pending: list[pa.RecordBatch] = []
        rows = 0
        merged: Optional[list] = None
        for accumulator in accumulators:
            pending.extend(accumulator.pending)
            rows += accumulator.rows
            merged = self._merged(merged, accumulator.sketches)
        return self._flushed(pending, rows, merged)

    def compact(self, accumulator: Accumulation) -> Accumulation:
        """The accumulator with its buffer in one batch of its own.

        An input may be a slice of a larger batch (a resample's share of one
        size's draws), and a pickled slice carries its whole parent; copied
        together, the buffer leaves its worker without the rest of those batches.

        Args:
          accumulator: An accumulator about to be encoded.

        Returns:
          The same rows and sketches, the buffer copied into one batch.
        """
        if not accumulator.pending:
            return accumulator
        return accumulator._replace(pending=[_concatenated(accumulator.pending)])

    def extract_output(
        self, accumulator: Accumulation
    ) -> statistics_pb2.DatasetFeatureStatisticsList:
        # Private module: see the class docstring.
        from tensorflow_data_validation.statistics import stats_impl

        sketches = self._updated(accumulator.pending, accumulator.sketches)
        return stats_impl.extract_statistics_output(sketches, self._ready())

    def _batch(self, rows: Union[Sequence[bytes], pa.RecordBatch]) -> Optional[pa.RecordBatch]:
        """An input as a batch of this combiner's columns; None when it holds no rows.

        Raises:
          RuntimeError: A record does not decode (see `RawDecoder.decode`).
          ValueError: A RecordBatch holds other columns, or other types.
        """
        if not isinstance(rows, pa.RecordBatch):
            return self._decoder.decode(rows) if len(rows) else None
        schema = self._decoder.arrow_schema
        if not rows.schema.equals(schema):
            raise ValueError(
                f"StatisticsCombineFn: a RecordBatch of columns {rows.schema.names} and types "
                f"{rows.schema.types} is not decoded with this combiner's columns {schema.names}"
            )
        return rows if rows.num_rows else None

    def _flushed(
        self, pending: list[pa.RecordBatch], rows: int, sketches: Optional[list]
    ) -> Accumulation:
        """The accumulator of these rows: the buffer given to the generators if it is full."""
        if rows >= self._flush_rows:
            return Accumulation([], 0, self._updated(pending, sketches))
        return Accumulation(pending, rows, sketches)

    def _merged(self, sketches: Optional[list], more: Optional[list]) -> Optional[list]:
        """Two sets of the generators' accumulators merged (either may be None)."""
        if sketches is None or more is None:
            return more if sketches is None else sketches
        return [g.merge_accumulators([a, b]) for g, a, b in zip(self._ready(), sketches, more)]

    def _updated(self, pending: list[pa.RecordBatch], sketches: Optional[list]) -> list:
        """The generators' accumulators with the buffered rows added, as one batch."""
        generators = self._ready()
        if sketches is None:
            sketches = [g.create_accumulator() for g in generators]
        if not pending:
            return sketches
        batch = _concatenated(pending)
        return [g.add_input(a, batch) for g, a in zip(generators, sketches)]


def _concatenated(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    """Batches of one schema as one batch, copied into arrays of its own.

    The copy matters for a slice of a larger batch: pickled, a slice carries
    the whole of the larger batch's buffers.
    """
    table = pa.Table.from_batches(batches)
    arrays = [pa.concat_arrays(column.chunks) for column in table.columns]
    return pa.RecordBatch.from_arrays(arrays, schema=table.schema)


class StatisticsAccumulator:
    """TFDV statistics accumulated batch by batch, in one process.

    `StatisticsCombineFn` driven by hand: memory is bounded by the generators'
    sketches and one buffer of STATISTICS_BATCH_ROWS decoded rows, not by the
    data.

    Args:
      columns: The model's raw columns; examples are decoded with them.
    """

    def __init__(self, columns: Sequence[RawColumn]) -> None:
        self._combine = StatisticsCombineFn(columns)
        self._accumulator = self._combine.create_accumulator()

    def add(self, examples: Sequence[bytes]) -> None:
        """Adds serialized raw tf.Examples (given to TFDV STATISTICS_BATCH_ROWS at a time).

        Raises:
          RuntimeError: A record does not decode (see `RawDecoder.decode`).
        """
        self._accumulator = self._combine.add_input(self._accumulator, examples)

    def result(self) -> statistics_pb2.DatasetFeatureStatisticsList:
        """The statistics of every example added so far."""
        return self._combine.extract_output(self._accumulator)


class DecodeExampleBatches(beam.DoFn):
    """A list of serialized raw tf.Examples -> one Arrow RecordBatch (TFDV's input).

    Decodes with a `RawDecoder`, STATISTICS_BATCH_ROWS rows at a time within
    a bundle, as `StatisticsAccumulator` gives them to TFDV's generators.
    """

    def __init__(self, columns: Sequence[RawColumn]) -> None:
        self._decoder = RawDecoder(columns)

    def start_bundle(self) -> None:
        self._pending: list[bytes] = []

    def process(self, examples: Sequence[bytes]) -> Iterator[pa.RecordBatch]:
        self._pending.extend(examples)
        if len(self._pending) >= STATISTICS_BATCH_ROWS:
            yield self._decode_pending()

    def finish_bundle(self) -> Iterator[Any]:
        if self._pending:
            yield beam.transforms.window.GlobalWindows.windowed_value(self._decode_pending())

    def _decode_pending(self) -> pa.RecordBatch:
        batch = self._decoder.decode(self._pending)
        self._pending = []
        return batch


@beam.ptransform_fn
def beam_statistics(
    example_batches: beam.PCollection, columns: Sequence[RawColumn]
) -> beam.PCollection:
    """Lists of serialized raw tf.Examples -> one DatasetFeatureStatisticsList (TFDV on Beam)."""
    import tensorflow_data_validation as tfdv

    return (
        example_batches
        | "DecodeForStatistics" >> beam.ParDo(DecodeExampleBatches(columns))
        | "GenerateStatistics" >> tfdv.GenerateStatistics(stats_options(columns))
    )


def split_stats_path(statistics_uri: str, split: str) -> str:
    """`<uri>/Split-<split>/FeatureStats.pb`: where TFX keeps one split's statistics."""
    return os.path.join(statistics_uri, f"Split-{split}", STATS_FILE)


def write_statistics(
    stats: statistics_pb2.DatasetFeatureStatisticsList, statistics_uri: str
) -> str:
    """Writes serving statistics as an ExampleStatistics folder; returns the file written."""
    # The module tfx.v1.dsl.io.fileio re-exports; importing tfx.v1 adds ~8 s to a command.
    from tfx.dsl.io import fileio

    path = split_stats_path(statistics_uri, SERVING_SPLIT)
    fileio.makedirs(os.path.dirname(path))
    with fileio.open(path, "wb") as f:
        f.write(stats.SerializeToString())
    return path


def read_statistics(path: str) -> statistics_pb2.DatasetFeatureStatisticsList:
    """Reads a `FeatureStats.pb` file (StatisticsGen's binary format)."""
    # The module tfx.v1.dsl.io.fileio re-exports; importing tfx.v1 adds ~8 s to a command.
    from tfx.dsl.io import fileio

    with fileio.open(path, "rb") as f:
        return statistics_pb2.DatasetFeatureStatisticsList.FromString(f.read())
