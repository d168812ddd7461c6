"""pipeline.pipeline: the factory builds the demo's pipeline without running anything."""

from __future__ import annotations

import dataclasses
import json
import posixpath
from pathlib import Path

import pytest

from pipeline import code_versions
from pipeline.config import SourceConfig, load_config
from pipeline.pipeline import create_pipeline, example_gen_input_config
from tests.e2e.helpers import COMPONENTS

DEMO_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "demo.yaml"


@pytest.fixture(scope="module")
def demo():
    config = load_config(str(DEMO_CONFIG))
    pipeline = create_pipeline(config, None, ["--runner=FnApiRunner"])
    return config, {component.id: component for component in pipeline.components}


def _custom_config(component) -> dict:
    return json.loads(component.exec_properties["custom_config"])


def test_the_demo_has_every_step_under_its_id(demo):
    _, components = demo
    assert sorted(components) == sorted(COMPONENTS)


def test_parameters_carry_the_config_under_its_own_names(demo):
    config, components = demo
    clean = components["CleanExamples"].exec_properties
    assert clean["id_key"] == config.id_key == "user_id"
    assert clean["keep_latest_by"] == config.cleaning.keep_latest_by
    assert json.loads(clean["source_priority"]) == list(config.cleaning.source_priority)
    assert clean["spam_id_column"] == config.cleaning.spam_list.id_column
    assert clean["alias_column"] == config.cleaning.id_map.alias_column
    assert json.loads(clean["source_tags"])["partner"] == {"labelling_method": "crowd"}
    split = components["StratifiedSplit"].exec_properties
    assert json.loads(split["ratios"]) == [list(pair) for pair in config.split.ratios]
    assert json.loads(split["stratify_by"]) == list(config.split.stratify_by)
    assert split["seed"] == config.split.seed
    trainer = _custom_config(components["Trainer"])
    assert trainer["training"] == config.training.to_custom_config()
    assert json.loads(components["Trainer"].exec_properties["train_args"])["num_steps"] == (
        config.training.train_steps
    )
    assert json.loads(components["Transform"].exec_properties["splits_config"]) == {
        "analyze": ["train"],
        "transform": ["train", "dev", "test"],
    }
    assert json.loads(components["Evaluator"].exec_properties["example_splits"]) == ["test"]


def test_each_custom_step_is_keyed_by_the_version_of_its_own_code(demo):
    _, components = demo
    example_gen = components["CsvExampleGen"].exec_properties["custom_config"]
    settings = json.loads(example_gen)["custom_config"]["value"]
    assert settings["code_version"] == code_versions.component_version(
        "components.source_example_gen"
    )
    assert components["CleanExamples"].exec_properties["code_version"] == (
        code_versions.component_version("components.clean_examples")
    )
    assert components["StratifiedSplit"].exec_properties["code_version"] == (
        code_versions.component_version("components.stratified_split")
    )
    assert components["SkewCalibration"].exec_properties["code_version"] == (
        code_versions.component_version("components.skew_calibration")
    )
    assert _custom_config(components["Transform"])["code_version"] == (
        code_versions.code_version(["transforms.preprocessing"])
    )
    assert _custom_config(components["Trainer"])["code_version"] == (
        code_versions.code_version(["models.model"])
    )
    versions = {
        components["CleanExamples"].exec_properties["code_version"],
        components["StratifiedSplit"].exec_properties["code_version"],
        settings["code_version"],
        components["SkewCalibration"].exec_properties["code_version"],
        _custom_config(components["Transform"])["code_version"],
        _custom_config(components["Trainer"])["code_version"],
    }
    assert len(versions) == 6


def test_reference_datasets_are_ingested_with_their_id_columns_as_one_split(demo):
    config, components = demo
    expected = {
        "SpamListGen": (config.cleaning.spam_list.path, ["user_id"]),
        "IdMapGen": (config.cleaning.id_map.path, ["alias_id", "canonical_id"]),
    }
    for node, (path, id_columns) in expected.items():
        properties = components[node].exec_properties
        settings = json.loads(properties["custom_config"])["custom_config"]["value"]
        assert properties["input_base"] == path
        assert json.loads(properties["input_config"]) == {
            "splits": [{"name": "all", "pattern": "*.[cC][sS][vV]*"}]
        }
        assert settings == {
            "id_columns": id_columns,
            "inventory": {},
            "reference": True,
            "code_version": code_versions.component_version("components.source_example_gen"),
        }


def test_sources_in_two_buckets_share_the_scheme_root():
    sources = [SourceConfig("web", "gs://bucket-a/raw/web"), SourceConfig("mobile", "gs://b2/m/")]
    base, input_config = example_gen_input_config(sources)
    assert base == "gs://"
    patterns = [split.pattern for split in input_config.splits]
    assert patterns == ["bucket-a/raw/web/*.[cC][sS][vV]*", "b2/m/*.[cC][sS][vV]*"]
    assert [posixpath.join(base, p) for p in patterns] == [
        "gs://bucket-a/raw/web/*.[cC][sS][vV]*",
        "gs://b2/m/*.[cC][sS][vV]*",
    ]


def test_sources_in_one_bucket_share_their_deepest_folder():
    sources = [SourceConfig("web", "gs://b/raw/web"), SourceConfig("mobile", "gs://b/raw/mobile")]
    base, input_config = example_gen_input_config(sources)
    assert base == "gs://b/raw"
    assert [s.pattern for s in input_config.splits] == [
        "web/*.[cC][sS][vV]*",
        "mobile/*.[cC][sS][vV]*",
    ]


def test_mixed_filesystems_are_refused():
    with pytest.raises(ValueError, match="must all be local folders or all under one URI scheme"):
        example_gen_input_config([SourceConfig("a", "/data/a"), SourceConfig("b", "gs://b/x")])


def test_until_keeps_a_component_and_everything_upstream_of_it_in_order():
    config = load_config(str(DEMO_CONFIG))
    full = [c.id for c in create_pipeline(config, None, []).components]
    until = [c.id for c in create_pipeline(config, None, [], until="SchemaGen").components]
    assert until == [c for c in full if c in until]
    assert set(until) == {
        "CsvExampleGen", "SpamListGen", "IdMapGen", "CleanExamples", "StratifiedSplit",
        "StatisticsGen", "SchemaGen",
    }  # fmt: skip
    # Transform waits for DataGate, which reads ExampleValidator's anomalies,
    # SkewCalibration's thresholds and the served model's statistics: Pusher
    # needs every step.
    to_pusher = [c.id for c in create_pipeline(config, None, [], until="Pusher").components]
    assert to_pusher == full
    to_transform = [c.id for c in create_pipeline(config, None, [], until="Transform").components]
    assert "DataGate" in to_transform and "BaselineModel" not in to_transform


def test_until_an_unknown_component_names_the_choices_before_any_work(tmp_path, capsys):
    from cli.main import main

    output_root = tmp_path / "out"
    assert main(["run", "--until", "Trainr", "--output-root", str(output_root)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: --until Trainr: no such component (one of: CsvExampleGen, ")
    assert line.endswith(", Trainer, BaselineModel, Evaluator, Pusher)")
    assert not output_root.exists()


def test_the_known_component_ids_are_the_pipelines(demo):
    from pipeline.config import COMPONENT_IDS

    _, components = demo
    assert sorted(components) == sorted(COMPONENT_IDS)


def test_with_drift_off_no_resolver_fetches_the_served_models_statistics():
    config = load_config(str(DEMO_CONFIG))
    off = dataclasses.replace(config, drift=dataclasses.replace(config.drift, on_breach="off"))
    components = {c.id: c for c in create_pipeline(off, None, []).components}
    assert "ServedStatistics" not in components
    assert "baseline_statistics" not in components["DataGate"].inputs
    assert json.loads(components["DataGate"].exec_properties["drift"])["on_breach"] == "off"
    warn = {c.id: c for c in create_pipeline(config, None, []).components}
    assert warn["DataGate"].inputs["baseline_statistics"].producer_component_id == (
        "ServedStatistics"
    )


def _statistics_allowlist(component) -> list[str]:
    return json.loads(component.exec_properties["stats_options_json"])["_feature_allowlist"]


def test_statistics_describe_what_the_checks_read_and_skip_the_ids(demo):
    config, components = demo
    described = _statistics_allowlist(components["StatisticsGen"])
    assert described == [
        *(f.name for f in config.features),
        "looking_for_job",
        "source",
        "span",
        "labelling_method",
    ]
    assert "user_id" not in described and "canonical_id" not in described


def test_a_curated_schema_keeps_statistics_for_each_of_its_features(tmp_path):
    schema = tmp_path / "schema.pbtxt"
    schema.write_text('feature { name: "user_id" type: BYTES }\n')
    config = dataclasses.replace(load_config(str(DEMO_CONFIG)), schema=str(schema))
    components = {
        c.id: c for c in create_pipeline(config, None, ["--runner=FnApiRunner"]).components
    }
    assert _statistics_allowlist(components["StatisticsGen"])[-1] == "user_id"
