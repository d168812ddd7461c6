"""Tests for `pipeline.config`: the demo config's values, path resolution, and
one test per validation error, each checking the whole message (file and field).

Configs are written to pytest's `tmp_path`; nothing here imports TensorFlow.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.config import (
    CleaningConfig,
    EvaluationConfig,
    IdMapConfig,
    SourceConfig,
    SpamListConfig,
    SplitConfig,
    TrainingConfig,
    load_config,
    parse_config,
)
from core.errors import ConfigError
from transforms.features import FeatureColumn, FeatureKind

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO_ROOT / "configs" / "demo.yaml"
DEMO_DATA = REPO_ROOT / "data" / "demo"

# A small valid config; each error test changes one thing in a deep copy.
BASE: dict[str, Any] = {
    "name": "tiny",
    "sources": [
        {"name": "web", "path": "data/web"},
        {"name": "mobile", "path": "data/mobile"},
    ],
    "id_key": "user_id",
    "label": "looking_for_job",
    "features": [
        {"name": "age", "kind": "numeric"},
        {"name": "country", "kind": "categorical", "oov_buckets": 2, "min_frequency": 3},
        {"name": "signup_ts", "kind": "timestamp"},
    ],
    "split": {"seed": 7, "ratios": {"train": 0.8, "dev": 0.1, "test": 0.1}},
    "training": {"hidden_units": [8]},
    "evaluation": {"min_auc": 0.5},
    "serving": {"skew": {"default": 0.2, "per_feature": {"country": 0.05}}},
    "output": {"root": "out"},
}
KINDS = "numeric, skewed_numeric, categorical, timestamp"
TOP_LEVEL_KEYS = (
    "cleaning, drift, evaluation, features, gate, id_key, inventory, label, lineage, name, "
    "output, schedule, schema, serving, sources, spans, split, training, vertex"
)
TRAINING_KEYS = (
    "batch_size, embedding_dim, epochs, eval_steps, hidden_units, learning_rate, train_steps"
)
_DELETE = object()


def _write(tmp_path: Path, data: Any, filename: str = "cascade.yaml") -> Path:
    path = tmp_path / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _edited(keys: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """Returns a copy of BASE with the item at `keys` set to `value` (or deleted)."""
    data = copy.deepcopy(BASE)
    *parents, last = keys
    target: Any = data
    for key in parents:
        target = target[key]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return data


def _config_error(path: Path) -> str:
    with pytest.raises(ConfigError) as excinfo:
        load_config(str(path))
    return str(excinfo.value)


# ---------------------------------------------------------------------------
# Valid configs


def test_demo_config_loads_with_expected_values():
    config = load_config(str(DEMO_CONFIG))

    assert config.name == "cascade-demo"
    assert config.sources == (
        SourceConfig("web", str(DEMO_DATA / "web")),
        SourceConfig("mobile", str(DEMO_DATA / "mobile")),
        SourceConfig("partner", str(DEMO_DATA / "partner")),
    )
    assert config.label == "looking_for_job"
    assert config.id_key == "user_id"
    assert [(f.name, f.kind) for f in config.features] == [
        ("age", FeatureKind.NUMERIC),
        ("years_experience", FeatureKind.NUMERIC),
        ("profile_views_30d", FeatureKind.SKEWED_NUMERIC),
        ("applications_30d", FeatureKind.SKEWED_NUMERIC),
        ("education", FeatureKind.CATEGORICAL),
        ("industry", FeatureKind.CATEGORICAL),
        ("country", FeatureKind.CATEGORICAL),
        ("employment_status", FeatureKind.CATEGORICAL),
        ("signup_ts", FeatureKind.TIMESTAMP),
    ]
    assert [f.min_frequency for f in config.features] == [1, 1, 1, 1, 10, 10, 10, 10, 1]
    assert [f.oov_buckets for f in config.features] == [1] * 9
    assert config.split == SplitConfig(
        ratios=(("train", 0.6), ("dev", 0.2), ("test", 0.2)), seed=42, stratify_by=("source",)
    )
    assert config.cleaning == CleaningConfig(
        spam_list=SpamListConfig(str(DEMO_DATA / "spam_accounts"), "user_id"),
        id_map=IdMapConfig(str(DEMO_DATA / "id_map"), "alias_id", "canonical_id"),
        keep_latest_by="signup_ts",
        source_priority=("web", "mobile", "partner"),
        required_columns=("employment_status",),
    )
    assert config.split.names == ["train", "dev", "test"]
    assert config.training == TrainingConfig(
        train_steps=1500,
        eval_steps=100,
        epochs=3,
        batch_size=64,
        hidden_units=(32, 16),
        learning_rate=0.003,
    )
    assert config.evaluation == EvaluationConfig(min_auc=0.7, slice_by=("source",))
    out = REPO_ROOT / "outputs" / "demo"
    assert config.output.root == str(out)
    assert config.output.pipeline_root == str(out / "pipeline")
    assert config.output.metadata_path == str(out / "metadata.sqlite")
    assert config.output.serving_model_dir == str(out / "serving_model")
    assert config.output.log_path == str(out / "run.log")
    assert config.config_path == str(DEMO_CONFIG)
    assert config.required_columns == [
        "user_id",
        "looking_for_job",
        "age",
        "years_experience",
        "profile_views_30d",
        "applications_30d",
        "education",
        "industry",
        "country",
        "employment_status",
        "signup_ts",
    ]


def test_demo_config_sources_exist():
    config = load_config(str(DEMO_CONFIG))

    assert [sorted(p.name for p in Path(s.path).iterdir()) for s in config.sources] == [
        ["users.csv"],
        ["users.csv"],
        ["users.csv"],
    ]


def test_small_config_values(tmp_path):
    config = load_config(str(_write(tmp_path, BASE)))

    assert config.features == (
        FeatureColumn("age", FeatureKind.NUMERIC),
        FeatureColumn("country", FeatureKind.CATEGORICAL, oov_buckets=2, min_frequency=3),
        FeatureColumn("signup_ts", FeatureKind.TIMESTAMP),
    )
    assert config.split == SplitConfig(ratios=(("train", 0.8), ("dev", 0.1), ("test", 0.1)), seed=7)
    assert config.training == TrainingConfig(hidden_units=(8,))
    assert config.evaluation == EvaluationConfig(min_auc=0.5, slice_by=("source",))


def test_relative_paths_resolve_against_config_folder_not_cwd(tmp_path, monkeypatch):
    data = copy.deepcopy(BASE)
    data["sources"][0]["path"] = "../data/web"
    data["sources"][1]["path"] = "./mobile/"
    data["output"]["root"] = "../runs/tiny"
    path = _write(tmp_path, data, "configs/tiny.yaml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    config = load_config(str(path))

    assert [s.path for s in config.sources] == [
        str(tmp_path / "data" / "web"),
        str(tmp_path / "configs" / "mobile"),
    ]
    assert config.output.root == str(tmp_path / "runs" / "tiny")


def test_relative_config_path_resolves_against_its_folder(tmp_path, monkeypatch):
    _write(tmp_path, BASE, "configs/tiny.yaml")
    monkeypatch.chdir(tmp_path)

    config = load_config("configs/tiny.yaml")

    assert config.config_path == "configs/tiny.yaml"
    assert config.sources[0].path == str(tmp_path / "configs" / "data" / "web")
    assert config.output.root == str(tmp_path / "configs" / "out")


def test_absolute_and_gcs_paths_are_kept(tmp_path):
    data = copy.deepcopy(BASE)
    data["sources"][0]["path"] = "gs://bucket/raw/web"
    data["sources"][1]["path"] = "gs://bucket/raw/mobile"
    data["cleaning"] = {"spam_list": {"path": "/srv/data/spam", "id_column": "user_id"}}
    data["output"]["root"] = "gs://bucket/runs/tiny/"

    config = load_config(str(_write(tmp_path, data)))

    assert [s.path for s in config.sources] == ["gs://bucket/raw/web", "gs://bucket/raw/mobile"]
    assert config.cleaning.spam_list.path == "/srv/data/spam"
    assert config.output.root == "gs://bucket/runs/tiny/"
    assert config.output.pipeline_root == "gs://bucket/runs/tiny/pipeline"
    assert config.output.metadata_path == "gs://bucket/runs/tiny/metadata.sqlite"


def test_output_root_override(tmp_path):
    override = str(tmp_path / "override")

    config = load_config(str(_write(tmp_path, BASE)), output_root=override)

    assert config.output.root == override
    assert config.output.metadata_path == str(tmp_path / "override" / "metadata.sqlite")
    assert config.output.serving_model_dir == str(tmp_path / "override" / "serving_model")


def test_defaults_when_optional_sections_are_left_out(tmp_path):
    data = {k: v for k, v in BASE.items() if k in ("name", "sources", "label", "features")}

    config = load_config(str(_write(tmp_path, data)))

    assert config.id_key is None
    assert config.required_columns == ["looking_for_job", "age", "country", "signup_ts"]
    assert config.split == SplitConfig(
        ratios=(("train", 0.6), ("dev", 0.2), ("test", 0.2)), seed=42
    )
    assert config.cleaning == CleaningConfig()
    assert config.training == TrainingConfig(
        train_steps=2000,
        eval_steps=200,
        epochs=5,
        batch_size=64,
        hidden_units=(32, 16),
        learning_rate=0.003,
    )
    assert config.evaluation == EvaluationConfig(min_auc=0.6, slice_by=("source",))
    assert config.output.root == str(tmp_path / "outputs" / "tiny")


def test_config_hash_is_sha256_of_the_file(tmp_path):
    path = _write(tmp_path, BASE)

    config = load_config(str(path))

    assert config.config_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    assert load_config(str(DEMO_CONFIG)).config_hash == (
        hashlib.sha256(DEMO_CONFIG.read_bytes()).hexdigest()
    )


def test_config_hash_is_sha256_of_the_file_with_crlf_line_ends(tmp_path):
    path = tmp_path / "windows.yaml"
    path.write_bytes(yaml.safe_dump(BASE, sort_keys=False).replace("\n", "\r\n").encode())

    config = load_config(str(path))

    assert config.name == "tiny"
    assert config.config_hash == hashlib.sha256(path.read_bytes()).hexdigest()


def test_config_hash_changes_with_the_file(tmp_path):
    first = load_config(str(_write(tmp_path, BASE, "a.yaml")))
    second = load_config(str(_write(tmp_path, _edited(("split", "seed"), 8), "b.yaml")))

    assert first.config_hash != second.config_hash


# ---------------------------------------------------------------------------
# Validation errors: each names the file and the field.


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "name: tiny\n  label: x\n",
            "line 2, column 8: malformed YAML: mapping values are not allowed here",
        ),
        (
            "name: tiny\nsources: [web\nlabel: x\n",
            "line 3, column 6: malformed YAML: expected ',' or ']', but got ':'",
        ),
        (
            "name: tiny\n\tlabel: x\n",
            "line 2, column 1: malformed YAML: found character '\\t' that cannot start any token",
        ),
    ],
    ids=["indented-key", "unclosed-list", "tab"],
)
def test_malformed_yaml_names_file_and_line(tmp_path, text, message):
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")

    assert _config_error(path) == f"{path}: {message}"


@pytest.mark.parametrize(
    "text, described",
    [
        ("- name: tiny\n- label: x\n", "list [{'name': 'tiny'}, {'label': 'x'}]"),
        ("just a string\n", "str 'just a string'"),
        ("", "nothing"),
    ],
    ids=["list", "string", "empty-file"],
)
def test_top_level_must_be_a_mapping(tmp_path, text, described):
    path = tmp_path / "cascade.yaml"
    path.write_text(text, encoding="utf-8")

    assert _config_error(path) == f"{path}: (top level): expected a mapping, got {described}"


@pytest.mark.parametrize("key", ["name", "sources", "label", "features"])
def test_missing_required_key(tmp_path, key):
    path = _write(tmp_path, _edited((key,), _DELETE))

    assert _config_error(path) == f"{path}: {key}: missing (required)"


@pytest.mark.parametrize(
    "keys, value, field, expected_keys",
    [
        (("outputs",), {"root": "x"}, "outputs", TOP_LEVEL_KEYS),
        (("training", "learning_rte"), 0.1, "training.learning_rte", TRAINING_KEYS),
        (("split", "sed"), 1, "split.sed", "group_by, ratios, seed, stratify_by"),
        (("evaluation", "min_acu"), 0.5, "evaluation.min_acu", "max_auc_drop, min_auc, slice_by"),
        (("output", "dir"), "x", "output.dir", "root"),
        (("serving", "skw"), {}, "serving.skw", "skew"),
        (
            ("serving", "skew", "defualt"),
            0.2,
            "serving.skew.defualt",
            "default, false_alarm_rate, min_rows, mode, per_feature, resamples",
        ),
        (("sources", 1, "folder"), "x", "sources[1].folder", "name, path"),
        (
            ("features", 2, "type"),
            "numeric",
            "features[2].type",
            "kind, min_frequency, name, oov_buckets",
        ),
    ],
    ids=[
        "top-level",
        "training",
        "split",
        "evaluation",
        "output",
        "serving",
        "serving.skew",
        "source",
        "feature",
    ],
)
def test_unknown_key(tmp_path, keys, value, field, expected_keys):
    path = _write(tmp_path, _edited(keys, value))

    assert _config_error(path) == (
        f"{path}: {field}: unknown key (expected one of: {expected_keys})"
    )


def test_unknown_keys_of_any_type_are_all_named_in_one_line(tmp_path):
    # A number and a name side by side could not be sorted together.
    data = _edited(("split", 1), "x")
    data["split"]["sed"] = 5
    path = _write(tmp_path, data)

    assert _config_error(path) == (
        f"{path}: split.1, split.sed: unknown keys (expected one of: "
        "group_by, ratios, seed, stratify_by)"
    )


@pytest.mark.parametrize("key", ["[1, 2]", "{a: 1}"])
def test_a_list_or_mapping_as_a_key_is_named_with_its_line(tmp_path, key):
    path = _write(tmp_path, BASE)
    text = path.read_text()
    path.write_text(f"{text}{key}: x\n")

    assert _config_error(path) == (
        f"{path}: line {text.count(chr(10)) + 1}, column 1: malformed YAML: a key must be a "
        "name, not a list or mapping"
    )


_ALLOWED = (
    "a feature's name starts with a letter (A-Z, a-z), a digit or '.', and holds only those, "
    "'_', '-', '/', '>' and '\\'. Rename the column"
)


@pytest.mark.parametrize(
    "name, problem, layer",
    [
        ("job title", "it holds a space", "'job title_xf_column'"),
        ("naïve", "it holds 'ï', which is not ASCII", "'naïve_xf_column'"),
        ("_age", "it starts with '_'", "'_age_xf_column'"),
        ("age:years", "it holds ':'", "'age:years_xf_column'"),
    ],
)
def test_a_feature_name_tensorflow_refuses_is_named_before_the_run(tmp_path, name, problem, layer):
    path = _write(tmp_path, _edited(("features", 0, "name"), name))

    assert _config_error(path) == (
        f"{path}: features[0].name: {name!r} cannot name a feature: {problem}, and TensorFlow "
        f"refuses such names for the model's layers ({layer}); {_ALLOWED}"
    )


@pytest.mark.parametrize("name", ["Age-2", "1st.visit", ".hidden", "a/b", "a>b", "a\\b"])
def test_feature_names_tensorflow_takes_are_valid(tmp_path, name):
    config = load_config(str(_write(tmp_path, _edited(("features", 0, "name"), name))))
    assert config.features[0].name == name


def test_a_categorical_name_too_long_for_its_vocabulary_file_is_named(tmp_path):
    long = "c" * 250  # 250 + "_vocab" is 256 bytes; numeric features write no such file
    data = copy.deepcopy(BASE)
    data["features"] += [
        {"name": long, "kind": "categorical"},
        {"name": "n" * 250, "kind": "numeric"},
    ]
    path = _write(tmp_path, data)
    assert _config_error(path) == (
        f"{path}: features[3].name: {long[:40]!r}... is 250 characters long: its vocabulary "
        "file's name would be longer than the 255 bytes a file name may have; rename the column"
    )
    data["features"][3]["name"] = "c" * 249
    load_config(str(_write(tmp_path, data)))


def _clash(path: Path, feature: str, made: str, what: str, other: str) -> str:
    return (
        f"{path}: {feature} makes {made!r} ({what}), and so does {other}; rename one of the columns"
    )


def _with_features(*added: dict[str, str]) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data["features"].extend(added)
    return data


def test_two_features_making_one_name_are_both_named(tmp_path):
    # Each name the Transform makes from a feature: its missing-value indicator ...
    path = _write(tmp_path, _with_features({"name": "age_missing", "kind": "numeric"}))
    assert _config_error(path) == _clash(
        path,
        "features[3].name: 'age_missing'",
        "age_missing_xf",
        "its transformed value",
        "features[0] 'age' (its missing-value indicator)",
    )
    # ... a timestamp's parts ...
    day = {"name": "signup_ts_day_of_week", "kind": "categorical"}
    path = _write(tmp_path, _with_features(day))
    assert _config_error(path) == _clash(
        path,
        "features[3].name: 'signup_ts_day_of_week'",
        "signup_ts_day_of_week_xf",
        "its transformed value",
        "features[2] 'signup_ts' (its day of week)",
    )
    # ... a vocabulary file, whose name tf.Transform rewrites ('.' to '_') ...
    path = _write(
        tmp_path,
        _with_features(
            {"name": "c.d", "kind": "categorical"}, {"name": "c_d", "kind": "categorical"}
        ),
    )
    assert _config_error(path) == _clash(
        path,
        "features[4].name: 'c_d'",
        "c_d_vocab",
        "its vocabulary file",
        "features[3] 'c.d' (its vocabulary file)",
    )
    # ... and the label's class index.
    path = _write(tmp_path, _edited(("label",), "age_missing"))
    assert _config_error(path) == _clash(
        path,
        "features[0].name: 'age'",
        "age_missing_xf",
        "its missing-value indicator",
        "the label 'age_missing' (its class index)",
    )


@pytest.mark.parametrize("kind, shown", [("float", "'float'"), ("Numeric", "'Numeric'")])
def test_unknown_feature_kind_lists_valid_kinds(tmp_path, kind, shown):
    path = _write(tmp_path, _edited(("features", 1, "kind"), kind))

    assert _config_error(path) == (
        f"{path}: features[1].kind: unknown feature kind {shown} (expected one of: {KINDS})"
    )


def test_missing_feature_kind_is_named_as_required(tmp_path):
    path = _write(tmp_path, _edited(("features", 1, "kind"), _DELETE))

    assert _config_error(path) == (f"{path}: features[1].kind: missing (required; one of: {KINDS})")


def test_duplicate_yaml_key_is_rejected_with_its_line(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text((REPO_ROOT / "configs" / "demo.yaml").read_text() + "label: other\n")

    message = _config_error(str(path))

    assert message.startswith(f"{path}: line ")
    assert "malformed YAML: duplicate key 'label'" in message


MERGED = """\
name: tiny
sources:
  - &source {name: web, path: data/web}
  - {<<: *source, name: mobile, path: data/mobile}
id_key: user_id
label: &label
  name: looking_for_job
  classes: [no, yes]
features:
  - &numeric {name: age, kind: numeric}
  - {<<: *numeric, name: signup_ts, kind: timestamp}
  - name: country
    <<: {kind: categorical, oov_buckets: 2, min_frequency: 3}
split: {seed: 7, ratios: {train: 0.8, dev: 0.1, test: 0.1}}
training: {hidden_units: [8]}
"""


def test_yaml_merge_keys_merge_and_a_written_key_wins(tmp_path):
    path = tmp_path / "merged.yaml"
    path.write_text(MERGED)

    config = load_config(str(path))

    assert [(s.name, s.path) for s in config.sources] == [
        ("web", str(tmp_path / "data/web")),
        ("mobile", str(tmp_path / "data/mobile")),
    ]
    assert [(f.name, f.kind) for f in config.features] == [
        ("age", FeatureKind.NUMERIC),
        ("signup_ts", FeatureKind.TIMESTAMP),
        ("country", FeatureKind.CATEGORICAL),
    ]
    assert config.features[2].oov_buckets == 2
    assert config.label_classes == ("no", "yes")


def test_a_label_merged_from_an_anchor_keeps_its_classes_as_written(tmp_path):
    path = tmp_path / "merged.yaml"
    path.write_text(
        MERGED.replace(
            "label: &label\n  name: looking_for_job\n  classes: [no, yes]\n",
            "label:\n  <<: {classes: [no, yes], name: other}\n  name: looking_for_job\n",
        )
    )

    config = load_config(str(path))

    # `no` and `yes` are the classes "no" and "yes", not booleans, through a merge too.
    assert (config.label, config.label_classes) == ("looking_for_job", ("no", "yes"))


def test_a_key_written_twice_beside_a_merge_key_is_still_a_duplicate(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text(
        MERGED.replace(
            "  - {<<: *source, name: mobile, path: data/mobile}\n",
            "  - {<<: *source, name: mobile, name: app, path: data/mobile}\n",
        )
    )

    message = _config_error(path)

    assert message.startswith(f"{path}: line 4, column ")
    assert "malformed YAML: duplicate key 'name'" in message


@pytest.mark.parametrize("key", ["oov_buckets", "min_frequency"])
def test_categorical_options_on_a_numeric_feature(tmp_path, key):
    path = _write(tmp_path, _edited(("features", 0, key), 2))

    assert _config_error(path) == (
        f"{path}: features[0].{key}: only applies to categorical features"
    )


@pytest.mark.parametrize("value, described", [(0, "int 0"), (-1, "int -1"), (1.5, "float 1.5")])
def test_oov_buckets_must_be_a_positive_integer(tmp_path, value, described):
    path = _write(tmp_path, _edited(("features", 1, "oov_buckets"), value))

    assert _config_error(path) == (
        f"{path}: features[1].oov_buckets: expected an integer >= 1, got {described}"
    )


def test_duplicate_source_names(tmp_path):
    path = _write(tmp_path, _edited(("sources", 1, "name"), "web"))

    assert _config_error(path) == f"{path}: sources: source name 'web' is used more than once"


def test_invalid_source_name(tmp_path):
    path = _write(tmp_path, _edited(("sources", 0, "name"), "web site"))

    assert _config_error(path) == (
        f"{path}: sources[0].name: 'web site' is not a valid name (letters, digits, '_' and '-')"
    )


def test_source_without_path(tmp_path):
    path = _write(tmp_path, _edited(("sources", 1, "path"), _DELETE))

    assert _config_error(path) == (
        f"{path}: sources[1].path: expected a non-empty string, got nothing"
    )


def test_duplicate_feature_names(tmp_path):
    path = _write(tmp_path, _edited(("features", 2, "name"), "age"))

    assert _config_error(path) == f"{path}: features: column 'age' is listed more than once"


def test_label_also_a_feature(tmp_path):
    path = _write(tmp_path, _edited(("label",), "age"))

    assert _config_error(path) == f"{path}: label: 'age' is also listed under features"


def test_id_key_also_a_feature(tmp_path):
    path = _write(tmp_path, _edited(("id_key",), "country"))

    assert _config_error(path) == f"{path}: id_key: 'country' is also listed under features"


def test_id_key_is_the_label(tmp_path):
    path = _write(tmp_path, _edited(("id_key",), "looking_for_job"))

    assert _config_error(path) == f"{path}: id_key: 'looking_for_job' is also the label"


@pytest.mark.parametrize(
    "ratios, field, message",
    [
        (
            {"train": 0.6, "dev": 0.2, "test": 0.3},
            "split.ratios",
            "ratios must sum to 1, they sum to 1.1",
        ),
        (
            {"train": 0.5, "dev": 0.2, "test": 0.2},
            "split.ratios",
            "ratios must sum to 1, they sum to 0.9",
        ),
        (
            {"train": 0.8, "dev": 0.2, "test": 0},
            "split.ratios.test",
            "every ratio must be > 0, got 0",
        ),
        (
            {"train": 0.9, "dev": 0.2, "test": -0.1},
            "split.ratios.test",
            "expected a number in [0.0, 1.0], got float -0.1",
        ),
        (
            {"train": 0.8, "dev": "a fifth", "test": 0.1},
            "split.ratios.dev",
            "expected a number in [0.0, 1.0], got str 'a fifth'",
        ),
        ({"train": 1.0}, "split.ratios", "a 'dev' split is required"),
        ({"training": 0.6, "dev": 0.2, "test": 0.2}, "split.ratios", "a 'train' split is required"),
        ({"train": 0.6, "eval": 0.2, "test": 0.2}, "split.ratios", "a 'dev' split is required"),
        ({"train": 0.7, "dev": 0.3}, "split.ratios", "a 'test' split is required"),
        ([0.6, 0.2, 0.2], "split.ratios", "expected a mapping, got list [0.6, 0.2, 0.2]"),
    ],
    ids=[
        "sum-over-1",
        "sum-under-1",
        "zero",
        "negative",
        "not-a-number",
        "single-split",
        "no-train",
        "no-dev",
        "no-test",
        "a-list",
    ],
)
def test_invalid_split_ratios(tmp_path, ratios, field, message):
    path = _write(tmp_path, _edited(("split", "ratios"), ratios))

    assert _config_error(path) == f"{path}: {field}: {message}"


@pytest.mark.parametrize(
    "seed, described",
    [
        (-1, "int -1"),
        (True, "bool True"),
        ("42", "str '42'"),
        (1.5, "float 1.5"),
        # Beyond what NumPy takes: the Trainer would fail minutes into the run.
        (2**32, "int 4294967296"),
        (2**70, f"int {2**70}"),
    ],
)
def test_invalid_seed(tmp_path, seed, described):
    path = _write(tmp_path, _edited(("split", "seed"), seed))

    assert _config_error(path) == (
        f"{path}: split.seed: expected an integer from 0 to 4,294,967,295 (the Trainer seeds "
        f"TensorFlow and NumPy with it, which take 32 bits), got {described}"
    )


def test_the_largest_seed_is_valid(tmp_path):
    # tests/pipeline/test_tensorflow_limits.py: TensorFlow takes it.
    config = load_config(str(_write(tmp_path, _edited(("split", "seed"), 2**32 - 1))))
    assert config.split.seed == 2**32 - 1


def test_seed_zero_is_valid(tmp_path):
    config = load_config(str(_write(tmp_path, _edited(("split", "seed"), 0))))

    assert config.split.seed == 0


@pytest.mark.parametrize(
    "keys, value, field, message",
    [
        (
            ("training", "hidden_units"),
            [],
            "training.hidden_units",
            "expected a non-empty list, got list []",
        ),
        (
            ("training", "hidden_units"),
            [8, 0],
            "training.hidden_units[1]",
            "expected an integer >= 1, got int 0",
        ),
        (
            ("training", "batch_size"),
            0,
            "training.batch_size",
            "expected an integer >= 1, got int 0",
        ),
        (
            ("evaluation", "min_auc"),
            1.5,
            "evaluation.min_auc",
            "expected a number in [0.0, 1.0], got float 1.5",
        ),
        (
            ("evaluation", "slice_by"),
            "source",
            "evaluation.slice_by",
            "expected a list, got str 'source'",
        ),
        (
            ("name",),
            "my pipeline",
            "name",
            "'my pipeline' is not a valid name (letters, digits, '_' and '-')",
        ),
        (("label",), "", "label", "expected a non-empty string, got str ''"),
        (("features",), [], "features", "expected a non-empty list, got list []"),
        (("sources",), "data/web", "sources", "expected a non-empty list, got str 'data/web'"),
    ],
    ids=[
        "hidden-units-empty",
        "hidden-unit-zero",
        "batch-size-zero",
        "min-auc-over-1",
        "slice-by-not-a-list",
        "name-with-space",
        "label-empty",
        "features-empty",
        "sources-not-a-list",
    ],
)
def test_invalid_values(tmp_path, keys, value, field, message):
    path = _write(tmp_path, _edited(keys, value))

    assert _config_error(path) == f"{path}: {field}: {message}"


def test_missing_config_file_names_the_path(tmp_path):
    path = tmp_path / "nope.yaml"

    assert _config_error(path) == f"{path}: cannot read config: No such file or directory"


def test_config_path_is_a_folder(tmp_path):
    assert _config_error(tmp_path) == f"{tmp_path}: cannot read config: Is a directory"


def test_config_file_not_utf8(tmp_path):
    path = tmp_path / "latin1.yaml"
    text = "# Caf\u00e9 data\n" + yaml.safe_dump(BASE, sort_keys=False)
    path.write_bytes(text.encode("latin-1"))

    assert _config_error(path) == (
        f"{path}: cannot read config: not UTF-8 text (invalid continuation byte)"
    )


def test_parse_config_names_the_given_path():
    with pytest.raises(ConfigError) as excinfo:
        parse_config("name: tiny\n", "inline.yaml")

    assert str(excinfo.value) == "inline.yaml: sources: missing (required)"


# ---------------------------------------------------------------------------
# label


def _label(label: str) -> str:
    """BASE's YAML with `label:` written as `label` (so scalars stay unquoted)."""
    text = yaml.safe_dump(BASE, sort_keys=False)
    return text.replace("label: looking_for_job\n", f"label: {label}\n")


@pytest.mark.parametrize(
    "label, classes, positive",
    [
        ("looking_for_job", None, None),
        ("{name: looking_for_job}", None, None),
        ("{name: looking_for_job, classes: [0, 1]}", ("0", "1"), None),
        ("{name: looking_for_job, classes: [0, 1], positive: 0}", ("0", "1"), "0"),
        # Unquoted yes, no, on, off are YAML booleans; a class is the text as written.
        ("{name: looking_for_job, classes: [no, yes], positive: yes}", ("no", "yes"), "yes"),
        ("{name: looking_for_job, positive: On}", None, "On"),
        ("{name: looking_for_job, classes: [Gentoo, Adelie, ' Chinstrap ']}",
         ("Gentoo", "Adelie", "Chinstrap"), None),
    ],
    ids=["name", "mapping", "integers", "positive", "yes-no", "positive-unlisted", "text"],
)  # fmt: skip
def test_label_classes_and_positive(label, classes, positive):
    config = parse_config(_label(label), "cascade.yaml")

    assert (config.label, config.label_classes, config.positive_class) == (
        "looking_for_job",
        classes,
        positive,
    )


@pytest.mark.parametrize(
    "label, field, message",
    [
        ("{name: looking_for_job, classes: [0, 1], positive: 2}", "label.positive",
         "'2' is not one of label.classes (0, 1)"),
        ("{name: looking_for_job, classes: [a, b, c], positive: a}", "label.positive",
         "'a' names the positive class of a two-class label, but label.classes lists 3 "
         "(a, b, c); leave positive out: each of three or more classes gets its own "
         "probability"),
        ("{name: looking_for_job, classes: [a, b, a]}", "label.classes", "lists 'a' twice"),
        ("{name: looking_for_job, classes: [1, '1']}", "label.classes", "lists '1' twice"),
        ("{name: looking_for_job, classes: [a]}", "label.classes",
         "lists only the class 'a'; a model needs two or more"),
        ("{name: looking_for_job, classes: []}", "label.classes",
         "expected a non-empty list, got list []"),
        ("{name: looking_for_job, classes: a}", "label.classes",
         "expected a non-empty list, got str 'a'"),
        ("{classes: [a, b]}", "label.name", "missing (required)"),
        ("{name: looking_for_job, class: [a, b]}", "label.class",
         "unknown key (expected one of: classes, name, positive)"),
        ("{name: looking_for_job, classes: [a, {b: 1}]}", "label.classes[1]",
         "expected a class name or number, got dict {'b': 1}"),
        ("{name: looking_for_job, classes: [a, [b]]}", "label.classes[1]",
         "expected a class name or number, got list ['b']"),
        ("{name: looking_for_job, classes: [a, '  ']}", "label.classes[1]",
         "expected a class name or number, got str '  '"),
        ("{name: looking_for_job, classes: [a, null]}", "label.classes[1]",
         "expected a class name or number, got nothing"),
        ("{name: looking_for_job, positive: }", "label.positive",
         "expected a class name or number, got nothing"),
    ],
    ids=[
        "positive-not-listed", "positive-of-three", "duplicate", "duplicate-as-number",
        "one-class", "no-classes", "classes-not-a-list", "no-name", "unknown-key",
        "class-mapping", "class-list", "class-blank", "class-null", "positive-null",
    ],
)  # fmt: skip
def test_invalid_label(label, field, message):
    with pytest.raises(ConfigError) as excinfo:
        parse_config(_label(label), "cascade.yaml")

    assert str(excinfo.value) == f"cascade.yaml: {field}: {message}"


# ---------------------------------------------------------------------------
# cleaning


def _with_cleaning(cleaning: dict[str, Any], **top: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data["cleaning"] = cleaning
    data.update(top)
    return data


def test_cleaning_paths_resolve_against_the_config_folder(tmp_path):
    path = _write(
        tmp_path,
        _with_cleaning(
            {
                "spam_list": {"path": "ref/spam", "id_column": "uid"},
                "id_map": {"path": "gs://bucket/ids", "alias_column": "a", "canonical_column": "c"},
            }
        ),
    )

    cleaning = load_config(str(path)).cleaning

    assert cleaning.spam_list == SpamListConfig(str(tmp_path / "ref" / "spam"), "uid")
    assert cleaning.id_map == IdMapConfig("gs://bucket/ids", "a", "c")


def test_no_cleaning_section_means_nothing_to_clean(tmp_path):
    assert load_config(str(_write(tmp_path, BASE))).cleaning == CleaningConfig()


@pytest.mark.parametrize(
    "cleaning, field, message",
    [
        (
            {"spam_lst": {}},
            "cleaning.spam_lst",
            "unknown key (expected one of: id_map, "
            "keep_latest_by, required_columns, source_priority, spam_list)",
        ),
        (
            {"spam_list": {"path": "x"}},
            "cleaning.spam_list.id_column",
            "expected a non-empty string, got nothing",
        ),
        (
            {"id_map": {"path": "x", "alias_column": "a"}},
            "cleaning.id_map.canonical_column",
            "expected a non-empty string, got nothing",
        ),
        (
            {"source_priority": ["web", "fax"]},
            "cleaning.source_priority[1]",
            "'fax' is not a source (sources: web, mobile)",
        ),
        (
            {"required_columns": "age"},
            "cleaning.required_columns",
            "expected a list, got str 'age'",
        ),
    ],
)
def test_invalid_cleaning(tmp_path, cleaning, field, message):
    path = _write(tmp_path, _with_cleaning(cleaning))

    assert _config_error(path) == f"{path}: {field}: {message}"


@pytest.mark.parametrize("key", ["spam_list", "keep_latest_by"])
def test_cleaning_by_id_needs_an_id_key(tmp_path, key):
    value = {"path": "x", "id_column": "uid"} if key == "spam_list" else "ts"
    data = _with_cleaning({key: value})
    del data["id_key"]
    path = _write(tmp_path, data)

    assert _config_error(path).startswith(f"{path}: cleaning.{key}: needs id_key")


@pytest.mark.parametrize(
    "second, described",
    [("gs://bucket/mobile", "gs://"), ("s3://bucket/mobile", "s3://")],
)
def test_sources_on_two_filesystems_are_an_error(tmp_path, second, described):
    data = _edited(("sources", 0, "path"), "gs://bucket/web") if described == "s3://" else BASE
    data = copy.deepcopy(data)
    data["sources"][1]["path"] = second
    message = _config_error(_write(tmp_path, data))
    assert "sources[1].path" in message and described in message
    assert "all sources must be on one filesystem" in message


def test_sources_in_two_buckets_are_fine(tmp_path):
    data = copy.deepcopy(BASE)
    data["sources"][0]["path"] = "gs://bucket-a/web"
    data["sources"][1]["path"] = "gs://bucket-b/mobile"
    config = load_config(str(_write(tmp_path, data)))
    assert [s.path for s in config.sources] == ["gs://bucket-a/web", "gs://bucket-b/mobile"]


def test_serving_skew_thresholds_are_read_and_default_when_absent(tmp_path):
    config = load_config(str(_write(tmp_path, BASE)))
    assert (config.serving.skew_default, config.serving.skew_per_feature) == (
        0.2,
        (("country", 0.05),),
    )
    bare = load_config(str(_write(tmp_path, _edited(("serving",), _DELETE), "bare.yaml")))
    assert (bare.serving.skew_default, bare.serving.skew_per_feature) == (0.1, ())


@pytest.mark.parametrize(
    "keys, value, message",
    [
        (
            ("serving", "skew", "per_feature", "income"),
            0.1,
            "serving.skew.per_feature.income: not a feature (features: age, country, signup_ts)",
        ),
        (
            ("serving", "skew", "default"),
            1.5,
            "serving.skew.default: expected a number in [0.0, 1.0], got float 1.5",
        ),
        (
            ("serving", "skew", "per_feature", "age"),
            "high",
            "serving.skew.per_feature.age: expected a number in [0.0, 1.0], got str 'high'",
        ),
        (("serving", "skew"), [0.1], "serving.skew: expected a mapping, got list [0.1]"),
    ],
    ids=["not-a-feature", "default-out-of-range", "threshold-not-a-number", "skew-not-a-mapping"],
)
def test_a_bad_skew_threshold_names_its_field(tmp_path, keys, value, message):
    path = _write(tmp_path, _edited(keys, value))
    assert _config_error(path) == f"{path}: {message}"
