"""The calibration's Beam job: resample the training split, measure each resample.

Each batch of the split is decoded once (`resample.resample_batch`), and each
resample's share of it leaves as Arrow rows of the calibrated columns. Each
resample is described, under its (size, replicate) key, with the TFDV
statistics a scoring computes (`validation.statistics.StatisticsCombineFn`: a
combiner of those rows, so only sketches and buffers of fewer than
`RESAMPLE_BUFFER_ROWS` rows move between workers, never a whole resample)
and compared with the training statistics by the skew check itself
(`validation.skew.compare`), so the calibrated thresholds are thresholds of
the very distance the check reports.
"""

from __future__ import annotations

import json
from typing import Iterator, Sequence

import apache_beam as beam
from tensorflow_metadata.proto.v0 import statistics_pb2

from components.skew_calibration import resample
from models.raw_features import RawColumn
from validation import skew
from validation.calibration import ResampledDistance
from validation.statistics import RawDecoder, StatisticsCombineFn


# Rows a resample's statistics buffer before TFDV's generators read them:
# small enough that a buffer per resample and bundle stays a few MB in all.
RESAMPLE_BUFFER_ROWS = 1024


class MeasureResample(beam.DoFn):
    """(size index, replicate), the resample's statistics -> one distance per feature.

    Args:
      columns: The features compared, typed as in the training data.
      training_statistics: The training split's serialized statistics list.
      sizes: The resample sizes, by size index.
    """

    def __init__(
        self, columns: Sequence[RawColumn], training_statistics: bytes, sizes: Sequence[int]
    ) -> None:
        self._columns = list(columns)
        self._serialized = training_statistics
        self._sizes = list(sizes)
        self._training = None

    def setup(self) -> None:
        self._training = statistics_pb2.DatasetFeatureStatisticsList.FromString(self._serialized)

    def process(
        self,
        element: tuple[tuple[int, int], statistics_pb2.DatasetFeatureStatisticsList],
    ) -> Iterator[ResampledDistance]:
        (size_index, _), resample_statistics = element
        report = skew.compare(self._training, resample_statistics, self._columns)
        for feature in report.features:
            if not feature.note:  # a feature with no value in this resample
                yield ResampledDistance(
                    feature.feature, self._sizes[size_index], feature.values, feature.distance
                )


def to_json_line(measured: ResampledDistance) -> str:
    """One resampled distance as a JSON line (the job's output file)."""
    return json.dumps(
        {
            "feature": measured.feature,
            "rows": measured.rows,
            "values": measured.values,
            "distance": measured.distance,
        },
        sort_keys=True,
    )


def from_json_line(line: str) -> ResampledDistance:
    """Reads `to_json_line` output back."""
    data = json.loads(line)
    return ResampledDistance(
        str(data["feature"]), int(data["rows"]), int(data["values"]), float(data["distance"])
    )


@beam.ptransform_fn
def MeasureResamples(  # noqa: N802 - Beam's PTransform naming
    batches: beam.PCollection,
    columns: Sequence[RawColumn],
    training_statistics: statistics_pb2.DatasetFeatureStatisticsList,
    seed: int,
    sizes: Sequence[int],
    split_rows: int,
    resamples: int,
) -> beam.PCollection:
    """Batches of the training split's serialized examples -> ResampledDistance elements.

    Args:
      batches: Lists of serialized tf.Examples (the whole training split).
      columns: The features to calibrate, typed as in the training data.
      training_statistics: The training split's statistics (one dataset).
      seed: The resampling seed.
      sizes: Resample sizes (rows), each at most `split_rows`.
      split_rows: Rows in the training split.
      resamples: Resamples per size.
    """
    return (
        batches
        | "DrawResamples"
        >> beam.FlatMap(
            resample.resample_batch, seed, sizes, split_rows, resamples, RawDecoder(columns)
        )
        | "DescribeResamples"
        >> beam.CombinePerKey(StatisticsCombineFn(columns, RESAMPLE_BUFFER_ROWS))
        | "MeasureResamples"
        >> beam.ParDo(MeasureResample(columns, training_statistics.SerializeToString(), sizes))
    )
