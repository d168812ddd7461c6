"""TFDV statistics of raw columns: of serving data while it is scored, and of
the training resamples SkewCalibration measures.

The statistics are those StatisticsGen computes for training data (the same
TFDV generators and options), over the model's raw columns, so the skew check
(`validation.skew`) compares like with like. They come in two forms:

* `StatisticsAccumulator`: batch by batch in one process (the single-process
  scorer, each calibration resample), in memory bounded by the generators'
  sketches, not by the data;
* `beam_statistics`: TFDV's `GenerateStatistics` transform in the Beam scorer.

Statistics are stored as an ExampleStatistics artifact folder in TFX's layout
(`Split-<split>/FeatureStats.pb`), so TFDV and TFX tools read them as they read
StatisticsGen's.
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Iterator, Optional, Sequence

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


class StatisticsCombineFn(beam.CombineFn):
    """Lists of serialized raw tf.Examples -> their TFDV statistics, as a Beam combiner.

    TFDV's public in-memory entry point (`generate_statistics_from_dataframe`)
    needs the whole dataset in one DataFrame. Its combiner generators, used
    here through `stats_impl` (a private TFDV module: the only way to feed
    them incrementally), keep bounded sketches instead, exactly as TFDV's Beam
    transform does in each worker. Records are buffered and decoded
    `flush_rows` at a time, so many small inputs (a calibration resample's
    share of each batch) cost one decode and one generator update per buffer;
    a combine moves sketches and at most one buffer per key, never the data.

    An accumulator is (records not yet decoded, the generators' accumulators
    or None before the first decode).

    Args:
      columns: The raw columns; examples are decoded with them.
      flush_rows: Records decoded at once.
    """

    def __init__(self, columns: Sequence[RawColumn], flush_rows: int = STATISTICS_BATCH_ROWS):
        self._columns = list(columns)
        self._flush_rows = flush_rows
        self._generators = None
        self._decoder = None

    def _ready(self) -> None:
        if self._generators is not None:
            return
        # Private modules: see the class docstring (stats_impl) and
        # `DecodeExampleBatches` (example_coder).
        from tensorflow_data_validation.statistics import stats_impl
        from tfx_bsl.coders import example_coder

        self._generators = stats_impl.get_generators(stats_options(self._columns), in_memory=True)
        self._decoder = example_coder.ExamplesToRecordBatchDecoder(
            raw_schema(self._columns).SerializeToString()
        )

    def setup(self) -> None:
        self._ready()

    def create_accumulator(self) -> tuple[list[bytes], Optional[list]]:
        return [], None

    def add_input(
        self, accumulator: tuple[list[bytes], Optional[list]], records: Sequence[bytes]
    ) -> tuple[list[bytes], Optional[list]]:
        pending, sketches = accumulator
        pending.extend(records)
        if len(pending) >= self._flush_rows:
            return [], self._decoded(pending, sketches)
        return pending, sketches

    def merge_accumulators(
        self, accumulators: Iterable[tuple[list[bytes], Optional[list]]]
    ) -> tuple[list[bytes], Optional[list]]:
        self._ready()
        pending: list[bytes] = []
        merged: Optional[list] = None
        for more, sketches in accumulators:
            pending.extend(more)
            if sketches is None:
                continue
            merged = (
                sketches
                if merged is None
                else [
                    g.merge_accumulators([a, b])
                    for g, a, b in zip(self._generators, merged, sketches)
                ]
            )
        if len(pending) >= self._flush_rows:
            return [], self._decoded(pending, merged)
        return pending, merged

    def extract_output(
        self, accumulator: tuple[list[bytes], Optional[list]]
    ) -> statistics_pb2.DatasetFeatureStatisticsList:
        from tensorflow_data_validation.statistics import stats_impl  # see _ready

        pending, sketches = accumulator
        sketches = self._decoded(pending, sketches)
        return stats_impl.extract_statistics_output(sketches, self._generators)

    def _decoded(self, records: list[bytes], sketches: Optional[list]) -> list:
        """The generators' accumulators with `records` added."""
        self._ready()
        if sketches is None:
            sketches = [g.create_accumulator() for g in self._generators]
        if not records:
            return sketches
        batch: pa.RecordBatch = self._decoder.DecodeBatch(list(records))
        return [g.add_input(a, batch) for g, a in zip(self._generators, sketches)]


class StatisticsAccumulator:
    """TFDV statistics accumulated batch by batch, in one process.

    `StatisticsCombineFn` driven by hand: memory is bounded by the generators'
    sketches and one buffer of STATISTICS_BATCH_ROWS records, not by the data.

    Args:
      columns: The model's raw columns; examples are decoded with them.
    """

    def __init__(self, columns: Sequence[RawColumn]) -> None:
        self._combine = StatisticsCombineFn(columns)
        self._accumulator = self._combine.create_accumulator()

    def add(self, examples: Sequence[bytes]) -> None:
        """Adds serialized raw tf.Examples (decoded STATISTICS_BATCH_ROWS at a time)."""
        self._accumulator = self._combine.add_input(self._accumulator, examples)

    def result(self) -> statistics_pb2.DatasetFeatureStatisticsList:
        """The statistics of every example added so far."""
        return self._combine.extract_output(self._accumulator)


class DecodeExampleBatches(beam.DoFn):
    """A list of serialized raw tf.Examples -> one Arrow RecordBatch (TFDV's input).

    Decodes with tfx_bsl's example coder (a private module: the decoder TFX's
    own readers use), STATISTICS_BATCH_ROWS rows at a time within a bundle, as
    `StatisticsAccumulator` does.
    """

    def __init__(self, columns: Sequence[RawColumn]) -> None:
        self._schema = raw_schema(columns).SerializeToString()
        self._decoder = None

    def setup(self) -> None:
        from tfx_bsl.coders import example_coder

        self._decoder = example_coder.ExamplesToRecordBatchDecoder(self._schema)

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
        batch = self._decoder.DecodeBatch(self._pending)
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
