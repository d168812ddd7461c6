"""A curated schema end to end: export the shared runs' schema, point a config at it,
run up to ExampleValidator, and find ImportSchemaGen's execution in MLMD holding
the exported file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.main import execute
from metadata import run_schema, runs
from pipeline.schema_file import SCHEMA_SHA256_PROPERTY
from services.store import StoreOptions
from tests.e2e.helpers import run_cascade

pytestmark = pytest.mark.e2e


def test_an_exported_schema_is_imported_by_the_next_run(two_runs, demo_slice, tmp_path):
    output_root, _, _ = two_runs
    exported = demo_slice.parent / "schema.pbtxt"
    text = execute(
        ["schema", "export", "--config", str(demo_slice), "--output-root", str(output_root),
         "--output", str(exported)]
    )  # fmt: skip
    assert "the schema inferred by SchemaGen in run" in text
    assert text.splitlines()[-1] == "  schema: schema.pbtxt"

    # A config of its own beside the slice's (same data), writing elsewhere.
    curated = demo_slice.with_name("curated.yaml")
    curated.write_text(demo_slice.read_text() + "\nschema: schema.pbtxt\n")
    curated_root = tmp_path / "curated_out"
    result = run_cascade(
        ["run", "--config", str(curated), "--output-root", str(curated_root),
         "--until", "ExampleValidator"]
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]

    store = StoreOptions(sqlite_path=str(curated_root / "metadata.sqlite")).open(read_only=True)
    [run] = runs.run_contexts(store, "cascade-demo")
    imported = run_schema.schema_of_run(store, run)
    assert imported is not None
    assert imported.execution_type == (
        "tfx.components.schema_gen.import_schema_gen.component.ImportSchemaGen"
    )
    assert imported.state == "COMPLETE"
    assert Path(imported.file).read_bytes() == exported.read_bytes()
    [artifact] = store.get_artifacts_by_id([imported.artifact_id])
    assert SCHEMA_SHA256_PROPERTY in artifact.custom_properties
    assert "SchemaGen" in result.stdout and "ExampleValidator" in result.stdout
