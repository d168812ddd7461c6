"""pipeline.pipeline.schema_component: SchemaGen, or ImportSchemaGen of a curated file.

The cache test runs the SchemaGen node alone (`until="SchemaGen"`: an imported
schema needs no other step) on LocalDagRunner with a SQLite store: the same
file is served from the cache, an edited one is imported again.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml
from tfx import v1 as tfx

from metadata import run_schema
from pipeline.config import load_config
from pipeline.pipeline import create_pipeline
from pipeline.schema_file import SCHEMA_SHA256_PROPERTY
from services.store import StoreOptions
from tests.e2e.helpers import COMPONENTS

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = 'feature { name: "age" type: INT }\nfeature { name: "looking_for_job" type: INT }\n'


def _config(tmp_path: Path, schema: bool = True):
    data = yaml.safe_load((ROOT / "configs" / "demo.yaml").read_text())
    for source in data["sources"]:
        source["path"] = str(ROOT / "data" / "demo" / source["name"])
    for name in ("spam_list", "id_map"):
        data["cleaning"][name]["path"] = str(
            ROOT / "data" / "demo" / data["cleaning"][name]["path"].rsplit("/", 1)[-1]
        )
    data["output"]["root"] = str(tmp_path / "out")
    if schema:
        data["schema"] = "schema.pbtxt"
        (tmp_path / "schema.pbtxt").write_text(SCHEMA)
    path = tmp_path / "cascade.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_config(str(path))


def _nodes(config, until=None) -> dict:
    pipeline = create_pipeline(config, None, ["--runner=FnApiRunner"], until=until)
    return {component.id: component for component in pipeline.components}


def test_without_schema_the_node_infers_one(tmp_path):
    schema_gen = _nodes(_config(tmp_path, schema=False))["SchemaGen"]
    assert type(schema_gen) is tfx.components.SchemaGen
    assert schema_gen.exec_properties["infer_feature_shape"] == 1


def test_with_schema_the_node_imports_the_file_under_the_same_id(tmp_path):
    config = _config(tmp_path)

    nodes = _nodes(config)

    assert sorted(nodes) == sorted(COMPONENTS)
    imported = nodes["SchemaGen"]
    assert type(imported) is tfx.components.ImportSchemaGen
    assert imported.exec_properties["schema_file"] == str(tmp_path / "schema.pbtxt")
    assert imported.outputs["schema"].additional_custom_properties == {
        SCHEMA_SHA256_PROPERTY: hashlib.sha256(SCHEMA.encode()).hexdigest()
    }
    assert nodes["ExampleValidator"].inputs["schema"] is imported.outputs["schema"]
    assert nodes["Transform"].inputs["schema"] is imported.outputs["schema"]
    assert list(_nodes(config, until="SchemaGen")) == ["SchemaGen"]


@pytest.fixture
def imported_runs(tmp_path):
    """Runs the SchemaGen node three times: the file, the same file, the file edited."""
    config = _config(tmp_path)
    store_options = StoreOptions(sqlite_path=config.output.metadata_path)
    (tmp_path / "out").mkdir()
    found = []
    for text in (SCHEMA, SCHEMA, SCHEMA + 'feature { name: "country" type: BYTES }\n'):
        (tmp_path / "schema.pbtxt").write_text(text)
        tfx.orchestration.LocalDagRunner().run(
            create_pipeline(config, store_options.connection_config(), [], until="SchemaGen")
        )
        store = store_options.open(read_only=True)
        latest = run_schema.latest_schema(store, config.name)
        [artifact] = store.get_artifacts_by_id([latest.artifact_id])
        found.append((latest, artifact, Path(latest.file).read_text()))
    return found


def test_an_edited_schema_file_is_imported_again(imported_runs):
    (first, a1, text1), (second, a2, text2), (third, a3, text3) = imported_runs

    assert [r.state for r in (first, second, third)] == ["COMPLETE", "CACHED", "COMPLETE"]
    assert len({first.run, second.run, third.run}) == 3
    assert a1.id == a2.id != a3.id
    assert text1 == text2 == SCHEMA
    assert text3.endswith('feature { name: "country" type: BYTES }\n')
    for artifact, text in ((a1, text1), (a3, text3)):
        assert artifact.custom_properties[SCHEMA_SHA256_PROPERTY].string_value == (
            hashlib.sha256(text.encode()).hexdigest()
        )
    assert all(r.imported for r in (first, second, third))
    assert third.execution_type.endswith("ImportSchemaGen")
