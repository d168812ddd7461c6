"""Reading and writing Examples artifacts the way stock TFX components lay them out.

An Examples artifact is a folder with one `Split-<name>/` subfolder per split,
each holding gzipped TFRecord files of serialized records; its `split_names`
property lists the splits and `payload_format` says what the records are.
Everything goes through Beam IO so the same code reads and writes `gs://`.
"""

from __future__ import annotations

import gzip
import io
import os
from typing import Any, Iterable, Iterator, Optional, Sequence

import apache_beam as beam
from apache_beam.io import tfrecordio

# Not in the public tfx.v1 API: artifact_utils is the supported helper set used by
# every stock component to encode split names and locate split folders.
from tfx.v1.dsl.io import fileio
from tfx.types import artifact, artifact_utils

from core.hashing import HashingReader

# The custom property ExampleGen writes (tfx.components.util.examples_utils).
PAYLOAD_FORMAT = "payload_format"
DEFAULT_FILE_NAME = "data_tfrecord"
READ_BUFFER_BYTES = 1 << 20


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


def read_split(
    pipeline: beam.Pipeline, examples: artifact.Artifact, split: str, label: str = "Read"
) -> beam.PCollection:
    """Reads one split's serialized records (gzip detected from the file names).

    The files are listed when the pipeline is built (the artifact is complete
    by then), spread over workers, and each is read whole by `read_record_file`.
    A gzipped file cannot be split anyway, so this reads as parallel as Beam's
    ReadFromTFRecord, and faster: records come from a buffered stream instead of
    small reads through Beam's splittable-source machinery.

    Args:
      pipeline: The Beam pipeline.
      examples: The Examples artifact.
      split: The split to read.
      label: Step label prefix; give each read of the same split its own.
    """
    files = sorted(str(path) for path in fileio.glob(split_file_pattern(examples, split)))
    step = f"{label}{split.capitalize()}Split"
    return (
        pipeline
        | f"{step}Files" >> beam.Create(files)
        | f"{step}Spread" >> beam.Reshuffle()
        | f"{step}Records" >> beam.FlatMap(read_record_file)
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
    with fileio.open(path, "rb") as opened:
        raw = (
            io.BufferedReader(HashingReader(opened, digest), READ_BUFFER_BYTES)
            if digest is not None
            else opened
        )
        stream = (
            io.BufferedReader(gzip.GzipFile(fileobj=raw, mode="rb"), READ_BUFFER_BYTES)
            if path.endswith(".gz")
            else raw
        )
        while True:
            try:
                # Private Beam helper, used for Beam's own record framing and
                # both CRC checks, so the format stays exactly Beam's and TF's.
                record = tfrecordio._TFRecordUtil.read_record(stream)
            except (ValueError, OSError, EOFError) as e:
                raise ValueError(f"{path}: {e}") from e
            if record is None:
                return
            yield record


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
