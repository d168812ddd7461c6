"""One pass over a serving CSV for the skew check alone: rows, sha256 and TFDV statistics."""

from __future__ import annotations

import dataclasses
from typing import Sequence

from tensorflow_metadata.proto.v0 import statistics_pb2

from models.raw_features import RawColumn
from validation.statistics import StatisticsAccumulator


@dataclasses.dataclass(frozen=True)
class DataStatistics:
    """One pass over a serving CSV for the skew check alone (no scoring).

    Attributes:
      rows: Rows read.
      seconds: Wall time of the pass.
      input_sha256: The file's sha256, computed in the same pass.
      statistics: TFDV statistics of the model's columns.
      absent_columns: Optional model columns the file does not have.
    """

    rows: int
    seconds: float
    input_sha256: str
    statistics: statistics_pb2.DatasetFeatureStatisticsList
    absent_columns: tuple[str, ...] = ()


def csv_statistics(
    path: str, columns: Sequence[RawColumn], batch_size: int = 4096
) -> DataStatistics:
    """Reads a serving CSV once (checked like scoring input) into TFDV statistics.

    Raises:
      ServingInputError: Naming the file, line and column of the first bad row.
    """
    import hashlib
    import time

    from serving import serving_input

    started = time.monotonic()
    header = serving_input.read_header(path)
    digest = hashlib.sha256()
    accumulator = StatisticsAccumulator(columns)
    rows, batch = 0, []
    for _, _, example in serving_input.read_csv_examples(path, columns, (), digest):
        batch.append(example)
        if len(batch) == batch_size:
            accumulator.add(batch)
            rows, batch = rows + len(batch), []
    accumulator.add(batch)
    rows += len(batch)
    return DataStatistics(
        rows=rows,
        seconds=time.monotonic() - started,
        input_sha256=digest.hexdigest(),
        statistics=accumulator.result(),
        absent_columns=tuple(c.name for c in columns if c.name not in header),
    )
