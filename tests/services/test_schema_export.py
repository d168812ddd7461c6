"""services.schema_export and `cascade schema export` on a real store.

The store comes from a stock CsvExampleGen -> StatisticsGen -> SchemaGen
pipeline on a tiny CSV, run on LocalDagRunner, so the Schema artifact and
its file are the ones TFX writes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx import v1 as tfx

from cli.main import execute
from core.errors import CascadeError
from metadata import runs
from services import schema_export
from services.store import StoreOptions

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = "tiny-schema"


@pytest.fixture(scope="module")
def inferred(tmp_path_factory) -> Path:
    """A store holding one run whose SchemaGen inferred a schema; returns its file."""
    root = tmp_path_factory.mktemp("inferred")
    (root / "data").mkdir()
    rows = "".join(f"{i},{20 + i % 30},{'de' if i % 3 else 'fr'},{i % 2}\n" for i in range(40))
    (root / "data" / "users.csv").write_text("user_id,age,country,looking_for_job\n" + rows)
    store = StoreOptions(sqlite_path=str(root / "metadata.sqlite"))
    example_gen = tfx.components.CsvExampleGen(input_base=str(root / "data"))
    statistics = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    schema = tfx.components.SchemaGen(statistics=statistics.outputs["statistics"])
    tfx.orchestration.LocalDagRunner().run(
        tfx.dsl.Pipeline(
            pipeline_name=PIPELINE,
            pipeline_root=str(root / "pipeline"),
            components=[example_gen, statistics, schema],
            metadata_connection_config=store.connection_config(),
        )
    )
    return root / "metadata.sqlite"


def _request(metadata: Path, output: Path, **extra) -> schema_export.ExportRequest:
    return schema_export.ExportRequest(
        store=StoreOptions(sqlite_path=str(metadata)),
        pipeline=PIPELINE,
        output=str(output),
        **extra,
    )


def _parsed(path: str) -> schema_pb2.Schema:
    return text_format.Parse(Path(path).read_text(), schema_pb2.Schema())


def test_export_writes_the_inferred_schema_naming_its_run_and_artifact(inferred, tmp_path):
    output = tmp_path / "schema.pbtxt"

    result = schema_export.export_schema(_request(inferred, output))

    run = runs.run_contexts(StoreOptions(sqlite_path=str(inferred)).open(True), PIPELINE)[-1]
    source = result.source
    assert (source.run, source.state, source.imported) == (run.name, "COMPLETE", False)
    assert source.execution_type.endswith("SchemaGen")
    assert source.file.endswith("/SchemaGen/schema/3/schema.pbtxt")
    assert _parsed(str(output)) == _parsed(source.file)
    assert [f.name for f in _parsed(str(output)).feature] == [
        "age",
        "country",
        "looking_for_job",
        "user_id",
    ]
    assert result.features == 4
    assert output.read_text().splitlines()[:2] == [
        f"# TFDV schema of pipeline {PIPELINE}, run {run.name}: Schema artifact "
        f"#{source.artifact_id},",
        f"# inferred by SchemaGen ({source.file}).",
    ]


def test_an_existing_file_is_kept_unless_forced(inferred, tmp_path):
    output = tmp_path / "schema.pbtxt"
    output.write_text("# my review\n")

    with pytest.raises(CascadeError) as excinfo:
        schema_export.export_schema(_request(inferred, output))
    assert str(excinfo.value) == (
        f"--output {output} exists; pass --force to overwrite it, or name another file"
    )
    assert output.read_text() == "# my review\n"

    schema_export.export_schema(_request(inferred, output, force=True))
    assert len(_parsed(str(output)).feature) == 4


def test_an_unknown_run_or_pipeline_is_named(inferred, tmp_path):
    with pytest.raises(CascadeError, match=f"no run 'nope' of pipeline '{PIPELINE}'"):
        schema_export.export_schema(_request(inferred, tmp_path / "s.pbtxt", run="nope"))
    other = schema_export.ExportRequest(
        StoreOptions(sqlite_path=str(inferred)), "cascade-demo", str(tmp_path / "s.pbtxt")
    )
    with pytest.raises(CascadeError) as excinfo:
        schema_export.export_schema(other)
    assert str(excinfo.value) == (
        "pipeline 'cascade-demo' has no run in the metadata store; the store holds no run "
        f"of it, only of '{PIPELINE}' (another pipeline's store: check --config, "
        "--output-root or --metadata)"
    )
    assert not (tmp_path / "s.pbtxt").exists()


def test_the_command_prints_the_source_and_the_config_line(inferred, tmp_path):
    output = tmp_path / "reviewed" / "schema.pbtxt"
    output.parent.mkdir()
    config = ROOT / "configs" / "demo.yaml"

    text = execute(
        ["schema", "export", "--metadata", str(inferred), "--pipeline", PIPELINE,
         "--output", str(output), "--config", str(config)]
    )  # fmt: skip

    lines = text.splitlines()
    assert lines[0].startswith(f"wrote {output}: 4 features, the schema inferred by SchemaGen in ")
    assert lines[1].startswith("  from Schema artifact #") and lines[1].endswith("schema.pbtxt")
    assert lines[-2:] == [
        f"Next: review it, then add this line to {config}:",
        f"  schema: {os.path.relpath(output, config.parent)}",
    ]


def test_a_missing_output_folder_is_named_before_the_store_is_read(inferred, tmp_path):
    output = tmp_path / "no" / "schema.pbtxt"
    with pytest.raises(CascadeError) as excinfo:
        execute(["schema", "export", "--metadata", str(inferred), "--output", str(output)])
    assert str(excinfo.value) == (
        f"--output {output}: folder {output.parent} does not exist; create it first"
    )


def test_exporting_a_local_schema_imports_no_tensorflow(inferred, tmp_path):
    code = (
        "import sys; from cli.main import execute; "
        f"execute(['schema', 'export', '--metadata', {str(inferred)!r}, '--pipeline', "
        f"{PIPELINE!r}, '--output', {str(tmp_path / 's.pbtxt')!r}]); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'tfx')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_the_span_feature_keeps_its_type_but_no_domain():
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    from services.schema_export import open_span_domain

    schema = text_format.Parse(
        'feature { name: "span" type: INT bool_domain {} presence { min_fraction: 1.0 } }\n'
        'feature { name: "flag" type: INT bool_domain {} }',
        schema_pb2.Schema(),
    )
    open_span_domain(schema)
    span, flag = schema.feature
    assert span.type == schema_pb2.INT and span.presence.min_fraction == 1.0
    assert span.WhichOneof("domain_info") is None
    assert flag.HasField("bool_domain")
