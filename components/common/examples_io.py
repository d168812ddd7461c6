"""Reading and writing Examples artifacts the way stock TFX components lay them out.

An Examples artifact is a folder with one `Split-<name>/` subfolder per split,
each holding gzipped TFRecord files of serialized records; its `split_names`
property lists the splits and `payload_format` says what the records are.
Everything goes through Beam IO so the same code reads and writes `gs://`.
"""

from __future__ import annotations

import gzip
import os
from typing import Any, Iterable, Iterator, Optional, Sequence

import apache_beam as beam
from apache_beam import coders
from apache_beam.io import filebasedsink
from apache_beam.io.filesystem import CompressionTypes

# Not in the public tfx.v1 API: artifact_utils is the supported helper set used by
# every stock component to encode split names and locate split folders.
from tfx.v1.dsl.io import fileio
from tfx.types import artifact, artifact_utils

from components.common import tfrecord_format
from core.hashing import HashingReader

# The custom property ExampleGen writes (tfx.components.util.examples_utils).
PAYLOAD_FORMAT = "payload_format"
DEFAULT_FILE_NAME = "data_tfrecord"
# Records per Beam element where steps read and write batches: large enough that
# Beam's per-element cost vanishes, small enough (~1 MB) to stream.
BATCH_RECORDS = 2000
# gzip level of the record files written in batches (see _TFRecordBatchSink).
WRITE_COMPRESSION_LEVEL = 1


def split_names(examples: artifact.Artifact) -> list[str]:
    """Returns the split names recorded on an Examples artifact."""
    return artifact_utils.decode_split_names(examples.split_names)


def check_splits(examples: artifact.Artifact, wanted: Optional[Sequence[str]]) -> list[str]:
    """Returns the splits to read, checking each one exists on `examples`.

    Args:
      examples: The input Examples artifact.
      wanted: Split names to read, or None/empty for all of them.

    Returns:
      The split names to read, in the artifact's order when `wanted` is empty.

    Raises:
      ValueError: A wanted split is not in the artifact.
    """
    available = split_names(examples)
    if not wanted:
        return available
    for name in wanted:
        if name not in available:
            raise ValueError(
                f"Invalid split name {name!r}: it is not in input artifact {examples.uri} "
                f"(splits: {', '.join(available)})"
            )
    return list(wanted)


def split_file_pattern(examples: artifact.Artifact, split: str) -> str:
    """Returns the file pattern matching every record file of one split."""
    return os.path.join(artifact_utils.get_split_uri([examples], split), "*")


def total_bytes(examples: artifact.Artifact, splits: Sequence[str]) -> int:
    """The size on disk of the record files of `splits`, as stored (compressed)."""
    return sum(
        fileio.stat(path).length
        for split in splits
        for path in fileio.glob(split_file_pattern(examples, split))
    )


def read_split(
    pipeline: beam.Pipeline, examples: artifact.Artifact, split: str, label: str = "Read"
) -> beam.PCollection:
    """Reads one split's serialized records, one Beam element per record.

    See `read_split_batches`, which this unbatches.
    """
    return read_split_batches(pipeline, examples, split, label) | (
        f"{label}{split.capitalize()}SplitUnbatch" >> beam.FlatMap(lambda batch: batch)
    )


def read_split_batches(
    pipeline: beam.Pipeline,
    examples: artifact.Artifact,
    split: str,
    label: str = "Read",
    batch_records: int = BATCH_RECORDS,
) -> beam.PCollection:
    """Reads one split's serialized records as lists of up to `batch_records` records.

    The files are listed when the pipeline is built (the artifact is complete
    by then), spread over workers, and each is read whole, in large chunks
    (`tfrecord_format.read_batches`). A gzipped file cannot be split anyway, so
    this reads as parallel as Beam's ReadFromTFRecord, and much faster: one
    Beam element per batch instead of per record, and no small reads through
    Beam's splittable-source machinery.

    Args:
      pipeline: The Beam pipeline.
      examples: The Examples artifact.
      split: The split to read.
      label: Step label prefix; give each read of the same split its own.
      batch_records: Records per element (the last of each file may hold fewer).
    """
    files = sorted(str(path) for path in fileio.glob(split_file_pattern(examples, split)))
    step = f"{label}{split.capitalize()}Split"
    return (
        pipeline
        | f"{step}Files" >> beam.Create(files)
        | f"{step}Spread" >> beam.Reshuffle()
        | f"{step}Records" >> beam.FlatMap(read_record_batches, batch_records)
    )


def read_record_file(path: str, digest: Any = None) -> Iterator[bytes]:
    """Yields the records of one TFRecord file, gunzipping it if it is named `*.gz`.

    Args:
      path: The file (any `fileio` path).
      digest: Optional `hashlib` object fed the file's bytes (compressed, as
        stored) while they are read; complete once every record is yielded.

    Raises:
      ValueError: The file is not a valid TFRecord file (names the file).
    """
    for batch in read_record_batches(path, BATCH_RECORDS, digest):
        yield from batch


def read_record_batches(
    path: str, batch_records: int = BATCH_RECORDS, digest: Any = None
) -> Iterator[list[bytes]]:
    """Yields the records of one TFRecord file in lists of up to `batch_records`.

    Args:
      path: The file (any `fileio` path); gunzipped if it is named `*.gz`.
      batch_records: Records per list (the last may hold fewer).
      digest: As for `read_record_file`.

    Raises:
      ValueError: The file is not a valid TFRecord file or gzip stream (names the file).
    """
    with fileio.open(path, "rb") as opened:
        raw = HashingReader(opened, digest) if digest is not None else opened
        stream = gzip.GzipFile(fileobj=raw, mode="rb") if path.endswith(".gz") else raw
        try:
            yield from tfrecord_format.read_batches(stream, batch_records)
        except (ValueError, OSError, EOFError) as e:
            raise ValueError(f"{path}: {e}") from e


def write_split(
    records: beam.PCollection,
    examples: artifact.Artifact,
    split: str,
    file_name: str = DEFAULT_FILE_NAME,
) -> beam.pvalue.PDone:
    """Writes serialized records as `Split-<split>/<file_name>-*.gz` under `examples`.

    Args:
      records: Serialized records.
      examples: The output Examples artifact (split names already set).
      split: The split to write.
      file_name: File name prefix; several writes into one split need distinct
        ones (readers take every file in the split's folder).
    """
    prefix = os.path.join(artifact_utils.get_split_uri([examples], split), file_name)
    label = "".join(part.capitalize() for part in file_name.split("_"))
    return records | f"Write{split.capitalize()}{label}" >> beam.io.WriteToTFRecord(
        prefix, file_name_suffix=".gz"
    )


def write_split_batches(
    batches: beam.PCollection,
    examples: artifact.Artifact,
    split: str,
    file_name: str = DEFAULT_FILE_NAME,
) -> beam.pvalue.PDone:
    """Writes lists of serialized records, as `write_split` writes single records.

    The files are the same gzipped TFRecord files; each list is framed and
    handed to the compressor in one write.
    """
    prefix = os.path.join(artifact_utils.get_split_uri([examples], split), file_name)
    label = "".join(part.capitalize() for part in file_name.split("_"))
    return batches | f"Write{split.capitalize()}{label}" >> beam.io.Write(
        _TFRecordBatchSink(prefix)
    )


class _TFRecordBatchSink(filebasedsink.FileBasedSink):
    """Beam's file sink (sharding, temp files, `gs://`) writing lists of records.

    The files are what `beam.io.WriteToTFRecord(prefix, file_name_suffix=".gz")`
    writes, shards named `<prefix>-SSSSS-of-NNNNN.gz`, but compressed at gzip
    level WRITE_COMPRESSION_LEVEL instead of Beam's fixed 6: these are
    intermediate artifacts, read once or twice by the next steps, and a lower
    level spends less time compressing them for somewhat larger files.
    """

    def __init__(self, file_path_prefix: str) -> None:
        super().__init__(
            file_path_prefix=file_path_prefix,
            coder=coders.BytesCoder(),  # unused: write_record frames the records
            file_name_suffix=".gz",
            mime_type="application/octet-stream",
            # The sink's own gzip stream compresses (see `open`).
            compression_type=CompressionTypes.UNCOMPRESSED,
        )

    def open(self, temp_path: str) -> "_GzipWriter":
        return _GzipWriter(super().open(temp_path))

    def write_record(self, file_handle: "_GzipWriter", value: list[bytes]) -> None:
        file_handle.write(tfrecord_format.frame(value))

    def close(self, file_handle: "_GzipWriter") -> None:
        file_handle.close()


class _GzipWriter:
    """A gzip stream onto a Beam file handle; closing it closes both."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._gzip = gzip.GzipFile(
            fileobj=raw, mode="wb", compresslevel=WRITE_COMPRESSION_LEVEL, mtime=0
        )

    def write(self, data: bytes) -> None:
        self._gzip.write(data)

    def close(self) -> None:
        self._gzip.close()
        self._raw.close()


def set_output_splits(
    output: artifact.Artifact, splits: Iterable[str], input_examples: artifact.Artifact
) -> None:
    """Records split names on `output` and copies `payload_format` from the input.

    Stock consumers (StatisticsGen, Transform, Trainer, Evaluator) need both to
    read the artifact, so every Examples output Cascade writes goes through here.
    """
    output.split_names = artifact_utils.encode_split_names(list(splits))
    if input_examples.has_custom_property(PAYLOAD_FORMAT):
        output.set_string_custom_property(
            PAYLOAD_FORMAT, input_examples.get_string_custom_property(PAYLOAD_FORMAT)
        )


def peek_examples(examples: artifact.Artifact, split: str, limit: int) -> list:
    """Reads up to `limit` tf.Examples of one split without Beam.

    Executors use it to check features (a missing label or id column) before
    starting a Beam job, so the user gets one clear message instead of a failure
    deep inside the job.

    Returns:
      Parsed `tf.train.Example`s, at most `limit`.
    """
    import tensorflow as tf  # heavy; only executors that peek need it

    files = sorted(fileio.glob(split_file_pattern(examples, split)))
    found: list = []
    for path in files:
        compression = "GZIP" if str(path).endswith(".gz") else ""
        dataset = tf.data.TFRecordDataset(str(path), compression_type=compression)
        for record in dataset.take(limit - len(found)):
            found.append(tf.train.Example.FromString(record.numpy()))
        if len(found) >= limit:
            break
    return found


def features_present(sample: Iterable) -> set[str]:
    """Returns the feature names seen in any of the sampled tf.Examples."""
    names: set[str] = set()
    for example in sample:
        names.update(example.features.feature)
    return names
