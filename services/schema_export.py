"""A run's schema written to a file for review: the first step of a curated schema.

The schema comes from the metadata store (read-only): the Schema artifact the
SchemaGen node of the newest run (or a named one) output, read from its
`schema.pbtxt` and written as a TFDV text-format Schema with a comment
header naming where it came from. A config's `schema:` then points at the
reviewed file (see `pipeline.schema_file`).

Local files are read and written with the standard library; a `gs://` path
goes through TFX's `fileio`, imported only then: exporting a local schema
imports no TensorFlow.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from typing import Any, Optional

from google.protobuf import text_format

from core import output_paths
from core.errors import CascadeError
from core.provenance import SPAN_FEATURE
from metadata.run_schema import RunSchema, latest_schema
from pipeline.schema_file import parse_schema
from services.store import StoreOptions


@dataclasses.dataclass(frozen=True)
class ExportRequest:
    """Which run's schema to write where.

    Attributes:
      store: The metadata store to read (opened read-only).
      pipeline: The pipeline whose runs are searched.
      output: The file to write (local or `gs://`).
      run: A run id; None for the newest run that has a schema.
      force: Overwrite `output` if it exists.
    """

    store: StoreOptions
    pipeline: str
    output: str
    run: Optional[str] = None
    force: bool = False


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """A written schema.

    Attributes:
      output: The file written.
      source: The run and Schema artifact it came from.
      features: How many features the schema describes.
    """

    output: str
    source: RunSchema
    features: int


def _read(path: str) -> bytes:
    """A file's bytes (local, or a URI through fileio).

    Raises:
      OSError: The file cannot be read (local); remote filesystems raise their own.
    """
    if "://" not in path:
        with open(path, "rb") as f:
            return f.read()
    from tfx.dsl.io import fileio

    with fileio.open(path, "rb") as f:
        return f.read()


def _write(path: str, data: bytes) -> None:
    """Writes `data` to `path`; a local file is replaced whole or not at all."""
    if "://" in path:
        from tfx.dsl.io import fileio

        with fileio.open(path, "wb") as f:
            f.write(data)
        return
    folder = os.path.dirname(os.path.abspath(path))
    handle, staged = tempfile.mkstemp(dir=folder, prefix=".schema-", suffix=".pbtxt")
    try:
        with os.fdopen(handle, "wb") as f:
            f.write(data)
        os.replace(staged, path)
    except BaseException:
        os.unlink(staged)
        raise


def open_span_domain(schema: Any) -> None:
    """Drops the domain SchemaGen inferred for the `span` feature, in place.

    Every row carries the span it arrived in, so each new span holds a value
    no earlier span had: a schema kept from one day's data (SchemaGen types a
    feature whose only value is 1 as a boolean) would flag every later day.
    The feature stays an INT feature that every row must have.
    """
    for feature in schema.feature:
        if feature.name == SPAN_FEATURE:
            feature.ClearField("domain_info")


def schema_text(source: RunSchema, pipeline: str, body: str) -> str:
    """The exported file: a comment header naming its origin, then the schema."""
    how = "imported by ImportSchemaGen" if source.imported else "inferred by SchemaGen"
    return (
        f"# TFDV schema of pipeline {pipeline}, run {source.run}: Schema artifact "
        f"#{source.artifact_id},\n"
        f"# {how} ({source.file}).\n"
        "# Written by `cascade schema export` for review; a config's `schema: PATH` makes\n"
        "# the pipeline import this file instead of inferring a schema.\n" + body
    )


def export_schema(request: ExportRequest) -> ExportResult:
    """Writes the schema of the request's run to `request.output`.

    Args:
      request: The store, pipeline, run and output file.

    Returns:
      The file written and the artifact it came from.

    Raises:
      CascadeError: The output exists (without `force`) or cannot be written;
        the store, pipeline or run cannot be found or has no schema; or the
        artifact's file is gone or does not parse (naming it).
    """
    output_paths.check_output_file(request.output, "--output", request.force)
    store = request.store.open(read_only=True)
    source = latest_schema(store, request.pipeline, request.run)
    try:
        data = _read(source.file)
    except Exception as e:  # noqa: BLE001 - each filesystem raises its own errors
        reason = e.strerror if isinstance(e, OSError) and e.strerror else e
        raise CascadeError(
            f"the schema of run {source.run} (artifact #{source.artifact_id}) was written to "
            f"{source.file}, which cannot be read: {reason}"
        ) from None
    schema = parse_schema(data.decode("utf-8", errors="replace"), source.file)
    open_span_domain(schema)
    text = schema_text(source, request.pipeline, text_format.MessageToString(schema))
    try:
        _write(request.output, text.encode("utf-8"))
    except OSError as e:
        raise CascadeError(
            f"--output {request.output}: cannot write it: {e.strerror or e}"
        ) from None
    return ExportResult(request.output, source, len(schema.feature))
