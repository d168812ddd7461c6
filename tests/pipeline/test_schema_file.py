"""pipeline.schema_file and the config's `schema:`: a curated schema checked before a run.

Each error test checks the whole message: it names the file and the line, or
the config field and the schema file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from core.errors import ConfigError, InputDataError
from pipeline import schema_file
from pipeline.config import load_config

CONFIG = {
    "name": "tiny",
    "sources": [{"name": "web", "path": "data/web"}],
    "id_key": "user_id",
    "label": "looking_for_job",
    "features": [
        {"name": "age", "kind": "numeric"},
        {"name": "country", "kind": "categorical"},
        {"name": "signup_ts", "kind": "timestamp"},
    ],
}
# A schema as SchemaGen infers one for CONFIG's columns, plus the id and the source tag.
SCHEMA = """\
feature { name: "age" type: INT }
feature { name: "country" type: BYTES }
feature { name: "looking_for_job" type: INT }
feature { name: "signup_ts" type: INT }
feature { name: "source" type: BYTES }
feature { name: "user_id" type: INT }
"""


def _config(tmp_path: Path, schema: object = "schema.pbtxt", text: str = SCHEMA):
    data = dict(CONFIG, schema=schema)
    path = tmp_path / "cascade.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    if text is not None:
        (tmp_path / "schema.pbtxt").write_text(text, encoding="utf-8")
    return load_config(str(path))


def _without(name: str) -> str:
    return "".join(line + "\n" for line in SCHEMA.splitlines() if f'"{name}"' not in line)


# ---------------------------------------------------------------------------
# The config's `schema:`


def test_schema_path_resolves_against_the_config_folder(tmp_path, monkeypatch):
    monkeypatch.chdir("/")
    (tmp_path / "configs").mkdir()
    path = tmp_path / "configs" / "cascade.yaml"
    path.write_text(yaml.safe_dump(dict(CONFIG, schema="../reviewed/schema.pbtxt")))

    assert load_config(str(path)).schema == str(tmp_path / "reviewed" / "schema.pbtxt")


def test_gcs_schema_path_is_kept(tmp_path):
    config = _config(tmp_path, schema="gs://bucket/schemas/schema.pbtxt", text=None)
    assert config.schema == "gs://bucket/schemas/schema.pbtxt"


def test_without_schema_the_pipeline_infers_one(tmp_path):
    path = tmp_path / "cascade.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    assert load_config(str(path)).schema is None


@pytest.mark.parametrize(
    "value, described", [("", "str ''"), (None, "nothing"), (3, "int 3"), (["a"], "list ['a']")]
)
def test_schema_must_be_a_path(tmp_path, value, described):
    path = tmp_path / "cascade.yaml"
    path.write_text(yaml.safe_dump(dict(CONFIG, schema=value)))

    with pytest.raises(ConfigError) as excinfo:
        load_config(str(path))
    assert str(excinfo.value) == (f"{path}: schema: expected a non-empty string, got {described}")


# ---------------------------------------------------------------------------
# The file


def test_a_schema_naming_every_config_column_passes(tmp_path):
    config = _config(tmp_path)

    schema = schema_file.check_schema(config)

    assert schema == text_format.Parse(SCHEMA, schema_pb2.Schema())


def test_features_the_config_does_not_name_are_fine(tmp_path):
    config = _config(tmp_path, text=SCHEMA + 'feature { name: "notes" type: BYTES }\n')
    assert [f.name for f in schema_file.check_schema(config).feature][-1] == "notes"


def test_a_missing_schema_file_is_named(tmp_path):
    config = _config(tmp_path, text=None)

    with pytest.raises(InputDataError) as excinfo:
        schema_file.check_schema(config)
    assert str(excinfo.value) == f"{tmp_path / 'schema.pbtxt'}: schema file does not exist"


def test_a_folder_is_not_a_schema_file(tmp_path):
    config = _config(tmp_path, schema="reviewed", text=None)
    (tmp_path / "reviewed").mkdir()

    with pytest.raises(InputDataError) as excinfo:
        schema_file.check_schema(config)
    assert str(excinfo.value) == (
        f"{tmp_path / 'reviewed'}: is a folder; name the schema file (schema.pbtxt)"
    )


def test_a_parse_error_names_the_file_line_and_column(tmp_path):
    edited = SCHEMA.replace('feature { name: "country" type: BYTES }', 'feature { nme: "country" }')
    config = _config(tmp_path, text=edited)

    with pytest.raises(InputDataError) as excinfo:
        schema_file.check_schema(config)
    assert str(excinfo.value) == (
        f"{tmp_path / 'schema.pbtxt'}: line 2, column 11: not a TFDV schema in text format: "
        'Message type "tensorflow.metadata.v0.Feature" has no field named "nme".'
    )


def test_an_unclosed_message_names_where_the_text_ends(tmp_path):
    config = _config(tmp_path, text=SCHEMA + "feature {\n")

    with pytest.raises(InputDataError, match=r"schema.pbtxt: line 7, column \d+: not a TFDV"):
        schema_file.check_schema(config)


def test_a_binary_file_is_not_a_schema(tmp_path):
    config = _config(tmp_path, text=None)
    (tmp_path / "schema.pbtxt").write_bytes(b"\x0a\xff\xfe")

    with pytest.raises(InputDataError) as excinfo:
        schema_file.check_schema(config)
    assert str(excinfo.value) == (
        f"{tmp_path / 'schema.pbtxt'}: not UTF-8 text (invalid start byte at byte 1)"
    )


def test_a_config_feature_missing_from_the_schema_is_named(tmp_path):
    config = _config(tmp_path, text=_without("country"))

    with pytest.raises(ConfigError) as excinfo:
        schema_file.check_schema(config)
    assert str(excinfo.value) == (
        f"{config.config_path}: features[1]: 'country' is not a feature of the schema "
        f"{config.schema} (Transform reads it through the schema); add it to the schema or "
        "export the schema again"
    )


def test_the_label_missing_from_the_schema_is_named(tmp_path):
    config = _config(tmp_path, text=_without("looking_for_job"))

    with pytest.raises(ConfigError, match=r"cascade.yaml: label: 'looking_for_job' is not a "):
        schema_file.check_schema(config)


def test_a_numeric_feature_typed_bytes_in_the_schema_is_named(tmp_path):
    config = _config(
        tmp_path, text=SCHEMA.replace('name: "age" type: INT', 'name: "age" type: BYTES')
    )

    with pytest.raises(ConfigError) as excinfo:
        schema_file.check_schema(config)
    assert str(excinfo.value) == (
        f"{config.config_path}: features[0]: 'age' is numeric in the config, but the schema "
        f"{config.schema} gives it type BYTES (expected INT or FLOAT)"
    )


def test_a_categorical_feature_may_be_an_integer(tmp_path):
    config = _config(
        tmp_path, text=SCHEMA.replace('name: "country" type: BYTES', 'name: "country" type: INT')
    )
    assert len(schema_file.check_schema(config).feature) == 6


def test_the_content_hash_follows_the_bytes(tmp_path):
    config = _config(tmp_path)
    before = schema_file.content_sha256(config.schema)
    (tmp_path / "schema.pbtxt").write_text(SCHEMA + "# reviewed\n")

    after = schema_file.content_sha256(config.schema)

    assert before != after and len(after) == 64


# ---------------------------------------------------------------------------
# Through `cascade run`: exit 2, one line, before TFX starts


def test_cascade_run_refuses_a_schema_that_does_not_parse(tmp_path, capsys):
    from cli.main import main

    config = _config(tmp_path, text=SCHEMA + "feature {\n  name: 'x'\n  typo: 1\n}\n")

    code = main(["run", "--config", config.config_path, "--output-root", str(tmp_path / "out")])

    captured = capsys.readouterr()
    assert (code, captured.out) == (2, "")
    assert captured.err == (
        f"error: {config.schema}: line 9, column 3: not a TFDV schema in text format: "
        'Message type "tensorflow.metadata.v0.Feature" has no field named "typo".\n'
    )
    assert not (tmp_path / "out").exists()
