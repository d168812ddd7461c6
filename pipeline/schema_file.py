"""A curated schema file (`schema: PATH` in the config), read and checked before a run.

The file is a TFDV `Schema` in protobuf text format, as `cascade schema export`
writes it and ImportSchemaGen copies it into the pipeline. It is checked
before TFX starts, with these rules:

- the file exists and parses as a `tensorflow.metadata.v0.Schema` text proto
  (a parse error names the file, line and column);
- the label and every `features[i]` of the config are features of the
  schema: Transform and the Trainer parse each of them with it;
- a numeric feature (numeric, skewed_numeric, timestamp) and the label are
  INT or FLOAT in the schema, not BYTES: the preprocessing computes with them;
- features of the schema that the config does not name (the id, the
  `source` tag, cleaning columns) are fine: they are parsed and not used.

The file's sha256 is part of the SchemaGen node's cache key (see
`pipeline.pipeline.schema_component`): ImportSchemaGen takes only the path as
a parameter, so an edit in place would otherwise reuse the schema imported
before the edit.
"""

from __future__ import annotations

import hashlib

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from core.errors import ConfigError, InputDataError
from pipeline.config import PipelineConfig
from transforms.features import FeatureKind

# The custom property of the imported Schema artifact that holds the file's sha256.
SCHEMA_SHA256_PROPERTY = "schema_sha256"
_NUMERIC_KINDS = (FeatureKind.NUMERIC, FeatureKind.SKEWED_NUMERIC, FeatureKind.TIMESTAMP)
_NUMERIC_TYPES = (schema_pb2.INT, schema_pb2.FLOAT)


def parse_schema(text: str, path: str) -> schema_pb2.Schema:
    """Parses a Schema text proto.

    Args:
      text: The file's text.
      path: The file it came from, named in the error.

    Returns:
      The schema.

    Raises:
      InputDataError: The text is not a Schema text proto (naming the file,
        line and column, so the reviewer's edit can be found).
    """
    schema = schema_pb2.Schema()
    try:
        text_format.Parse(text, schema)
    except text_format.ParseError as e:
        problem = str(e).split(" : ", 1)[-1]
        line, column = e.GetLine(), e.GetColumn()
        where = f"line {line}, column {column}: " if line is not None and line > 0 else ""
        raise InputDataError(
            f"{path}: {where}not a TFDV schema in text format: {problem}"
        ) from None
    return schema


def read_schema_bytes(path: str) -> bytes:
    """The schema file's bytes (local or `gs://`).

    Raises:
      InputDataError: The file is missing, a folder, or cannot be read.
    """
    # The module tfx.v1.dsl.io.fileio re-exports; importing tfx.v1 adds ~8 s to a command.
    from tfx.dsl.io import fileio

    if not fileio.exists(path):
        raise InputDataError(f"{path}: schema file does not exist")
    if fileio.isdir(path):
        raise InputDataError(f"{path}: is a folder; name the schema file (schema.pbtxt)")
    try:
        with fileio.open(path, "rb") as f:
            return f.read()
    except Exception as e:  # noqa: BLE001 - each filesystem raises its own errors
        raise InputDataError(f"{path}: cannot read the schema file: {e}") from None


def read_schema(path: str) -> schema_pb2.Schema:
    """Reads and parses the schema file at `path`.

    Raises:
      InputDataError: The file is missing, unreadable, not UTF-8 or not a
        Schema text proto (naming the file, and the line when it parses badly).
    """
    data = read_schema_bytes(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputDataError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    return parse_schema(text, path)


def content_sha256(path: str) -> str:
    """The sha256 of the schema file's bytes.

    Raises:
      InputDataError: The file is missing or cannot be read.
    """
    return hashlib.sha256(read_schema_bytes(path)).hexdigest()


def check_schema(config: PipelineConfig) -> schema_pb2.Schema:
    """Checks the config's curated schema by the rules in this module's docstring.

    Args:
      config: A validated config with `schema` set.

    Returns:
      The parsed schema.

    Raises:
      InputDataError: The file is missing or does not parse.
      ConfigError: The label or a feature of the config is missing from the
        schema, or a numeric one is BYTES there (naming the config field and
        the schema file).
    """
    assert config.schema is not None, "check_schema needs a config with `schema:`"
    schema = read_schema(config.schema)
    types = {feature.name: feature.type for feature in schema.feature}
    named = [("label", config.label, True)] + [
        (f"features[{i}]", f.name, f.kind in _NUMERIC_KINDS) for i, f in enumerate(config.features)
    ]
    for field, name, numeric in named:
        where = f"{config.config_path}: {field}"
        if name not in types:
            raise ConfigError(
                f"{where}: {name!r} is not a feature of the schema {config.schema} "
                "(Transform reads it through the schema); add it to the schema or "
                "export the schema again"
            )
        if numeric and types[name] not in _NUMERIC_TYPES:
            raise ConfigError(
                f"{where}: {name!r} is numeric in the config, but the schema {config.schema} "
                f"gives it type {schema_pb2.FeatureType.Name(types[name])} (expected INT or FLOAT)"
            )
    return schema
