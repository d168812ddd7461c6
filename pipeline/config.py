"""Typed pipeline config, read from YAML and validated once.

Every problem is reported as one `ConfigError` whose message names the file and
the field (`configs/demo.yaml: features[2].kind: ...`), so users fix configs
without reading tracebacks. Relative paths are resolved against the config
file's folder; URIs such as `gs://bucket/path` are kept as they are.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from typing import Any, Mapping, Optional, Sequence

import yaml

from core import spans as span_patterns
from core.labels import LabelError, LabelSpec, class_text
from core.errors import ConfigError
from core.provenance import SOURCE_FEATURE
from models.training import TrainingConfig
from pipeline.feature_names import check_feature_names
from pipeline.gate_config import DriftConfig, GateConfig, read_drift, read_gate
from pipeline.inventory import SourceInventory, read_inventory
from pipeline.lineage_config import OpenLineageConfig, read_lineage
from pipeline.schedule_config import ScheduleConfig, VertexConfig, read_schedule, read_vertex
from transforms.features import FeatureColumn, FeatureKind
from validation import calibration

_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
_DEFAULT_SPLITS = (("train", 0.6), ("dev", 0.2), ("test", 0.2))
# The largest split.seed: the Trainer passes it to tf.keras.utils.set_random_seed,
# which seeds NumPy, whose seeds are 32-bit.
MAX_SEED = 2**32 - 1


# The ids `pipeline.create_pipeline` gives its nodes (the
# ExampleGens of the spam list and id map only when the config names them);
# tests/pipeline/test_pipeline.py checks the two agree. Known here, `--until` is
# checked before any work.
COMPONENT_IDS = (
    "CsvExampleGen", "SpamListGen", "IdMapGen", "CleanExamples", "StratifiedSplit",
    "StatisticsGen", "SkewCalibration", "SchemaGen", "ExampleValidator", "ServedStatistics",
    "DataGate", "Transform", "Trainer", "BaselineModel", "Evaluator", "Pusher",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class SourceConfig:
    """One raw data source: a folder of CSV files with a header line.

    Attributes:
      name: The source's name (its ExampleGen split and `source` tag).
      path: The folder; with `{SPAN}` (or `{YYYY}`, `{MM}`, `{DD}`, and
        optionally `{VERSION}`) it names one folder per span (see `core.spans`).
    """

    name: str
    path: str

    @property
    def spanned(self) -> bool:
        """Whether the path names span folders."""
        return span_patterns.is_spanned(self.path)


@dataclasses.dataclass(frozen=True)
class SpansConfig:
    """Which spans of spanned sources a run reads.

    Attributes:
      window: The newest this many spans (1: the newest span only).
    """

    window: int = 1


@dataclasses.dataclass(frozen=True)
class SplitConfig:
    """How rows are split: exactly per stratum of the label (jointly with
    `stratify_by` columns), keeping rows with the same `group_by` value together.

    Attributes:
      ratios: Ordered (split name, ratio) pairs.
      seed: Chooses the deterministic membership (0 to MAX_SEED).
      stratify_by: Columns stratified jointly with the label; `source` (the
        input source's name) is always available.
      group_by: A column whose rows must share a split (e.g. a user id).
    """

    ratios: tuple[tuple[str, float], ...] = _DEFAULT_SPLITS
    seed: int = 42
    stratify_by: tuple[str, ...] = ()
    group_by: Optional[str] = None

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.ratios]


@dataclasses.dataclass(frozen=True)
class SpamListConfig:
    """A folder of CSV files listing spam account ids (a dataset, not a constant)."""

    path: str
    id_column: str


@dataclasses.dataclass(frozen=True)
class IdMapConfig:
    """A folder of CSV files mapping alias ids to canonical ids."""

    path: str
    alias_column: str
    canonical_column: str


@dataclasses.dataclass(frozen=True)
class CleaningConfig:
    """What CleanExamples does; each part is optional.

    Attributes:
      spam_list: Drop rows whose canonical id is listed.
      id_map: Map alias ids to canonical ids before matching and merging.
      keep_latest_by: Of one person's rows, keep the most recent by this column.
      source_priority: Ties on recency go to the source listed first.
      required_columns: Quarantine rows missing any of these.
    """

    spam_list: Optional[SpamListConfig] = None
    id_map: Optional[IdMapConfig] = None
    keep_latest_by: Optional[str] = None
    source_priority: tuple[str, ...] = ()
    required_columns: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class EvaluationConfig:
    """Evaluator settings: the blessing thresholds and the slices reported.

    Attributes:
      min_auc: The test AUC a model needs to be blessed.
      max_auc_drop: How much lower than the served model's (the latest
        blessed one) the test AUC may be; a first run has nothing to compare.
      slice_by: The features the metrics are sliced by.
    """

    min_auc: float = 0.6
    max_auc_drop: float = 0.01
    slice_by: tuple[str, ...] = (SOURCE_FEATURE,)


# The Evaluator's names for the model under test and the one it must not fall
# behind (the latest blessed model).
CANDIDATE_MODEL = "candidate"
BASELINE_MODEL = "baseline"

SKEW_CALIBRATED = "calibrated"
SKEW_FIXED = "fixed"


@dataclasses.dataclass(frozen=True)
class ServingConfig:
    """What every scoring checks: the largest training/serving distance per feature.

    Attributes:
      skew_mode: `calibrated` (thresholds from resamples of the training data,
        for the serving sample's size; see `validation.calibration`) or `fixed`.
      skew_default: The fixed threshold of every feature without its own
        (L-infinity distance for categorical features, Jensen-Shannon
        divergence for numeric ones; both lie in [0, 1]). In calibrated mode,
        the threshold used for a model that has no calibration.
      skew_per_feature: Feature name -> its own fixed threshold (in either mode).
      skew_false_alarm_rate: The per-feature false-alarm rate calibrated
        thresholds aim at.
      skew_min_rows: Calibrated mode gives no verdict on a feature with fewer
        serving values than this (the check has little power there).
      skew_resamples: Resamples per size the pipeline's SkewCalibration draws.
    """

    skew_mode: str = SKEW_CALIBRATED
    skew_default: float = 0.1
    skew_per_feature: tuple[tuple[str, float], ...] = ()
    skew_false_alarm_rate: float = calibration.DEFAULT_FALSE_ALARM_RATE
    skew_min_rows: int = calibration.DEFAULT_MIN_ROWS
    skew_resamples: int = calibration.DEFAULT_RESAMPLES


@dataclasses.dataclass(frozen=True)
class OutputConfig:
    """Where a run writes: everything lives under `root` unless overridden.

    Attributes:
      root: The run's folder: metadata store, log, pushed model, artifacts.
      artifact_root: Where artifacts go instead of `<root>/pipeline` (a GCS
        location when the Beam steps run on Dataflow).
    """

    root: str
    artifact_root: Optional[str] = None

    @property
    def pipeline_root(self) -> str:
        return self.artifact_root or _join(self.root, "pipeline")

    @property
    def metadata_path(self) -> str:
        return _join(self.root, "metadata.sqlite")

    @property
    def serving_model_dir(self) -> str:
        return _join(self.root, "serving_model")

    @property
    def log_path(self) -> str:
        return _join(self.root, "run.log")


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """Everything `pipeline.pipeline.create_pipeline` needs, validated.

    Attributes:
      name: Pipeline name (MLMD context); letters, digits, `_` and `-`.
      sources: Raw data sources, each becoming one ExampleGen input split.
      label: The label column.
      id_key: The column identifying a user (kept out of the model), or None.
      features: Model input columns and how each is transformed.
      cleaning: Spam list, id map, dedupe rule and required columns.
      split: Output splits and seed.
      training: Trainer settings.
      evaluation: Evaluator settings.
      serving: What every scoring checks (the skew thresholds).
      output: Output folder layout.
      config_path: The YAML file this came from.
      config_hash: sha256 of that file's bytes, recorded with the run.
      inventory: What each source is, cost and who labelled it (see
        `pipeline.inventory`), or None when the config declares none.
      gate: The anomalies a run tolerates (see `pipeline.gate_config`).
      drift: Drift between runs: thresholds and what a breach does.
      schema: A curated schema file (TFDV text format) the pipeline imports
        with ImportSchemaGen instead of inferring one with SchemaGen, or None
        (see `pipeline.schema_file`).
      spans: Which spans a run reads, when the sources are spanned.
      schedule: When Airflow runs the pipeline (see `pipeline.schedule_config`),
        or None.
      vertex: The container image of the Vertex AI pipeline spec, or None.
      label_classes: The label's classes in model order: listed in the config,
        or found in the input data when the pipeline is built (see
        `with_label_classes`); None until then.
      positive_class: The positive class of a two-class label, or None for
        the default (the second class).
      openlineage: Where OpenLineage events go when a run or scoring ends
        (see `pipeline.lineage_config`).
    """

    name: str
    sources: tuple[SourceConfig, ...]
    label: str
    id_key: Optional[str]
    features: tuple[FeatureColumn, ...]
    cleaning: CleaningConfig
    split: SplitConfig
    training: TrainingConfig
    evaluation: EvaluationConfig
    output: OutputConfig
    config_path: str
    config_hash: str
    inventory: Optional[dict[str, SourceInventory]] = None
    serving: ServingConfig = ServingConfig()
    gate: GateConfig = GateConfig()
    drift: DriftConfig = DriftConfig()
    schema: Optional[str] = None
    spans: SpansConfig = SpansConfig()
    schedule: Optional[ScheduleConfig] = None
    vertex: Optional[VertexConfig] = None
    label_classes: Optional[tuple[str, ...]] = None
    positive_class: Optional[str] = None
    openlineage: OpenLineageConfig = OpenLineageConfig()

    @property
    def label_spec(self) -> LabelSpec:
        """The label column with its classes and positive class."""
        return LabelSpec(self.label, self.label_classes, self.positive_class)

    def with_label_classes(self, found: Sequence[str]) -> PipelineConfig:
        """This config with the label classes found in the input data, sorted.

        Listed classes stay as they are.

        Args:
          found: The label values in the input data, in any order, repeated or not.

        Raises:
          ConfigError: Fewer than two classes, or `label.positive` is not one
            of them or names one of three or more (naming the config field).
        """
        if self.label_classes is not None:
            return self
        try:
            spec = self.label_spec.with_classes(found)
        except LabelError as e:
            raise ConfigError(f"{self.config_path}: {e.field}: {e}") from None
        return dataclasses.replace(self, label_classes=spec.classes)

    @property
    def spanned(self) -> bool:
        """Whether the sources arrive as spans (all of them do, or none)."""
        return bool(self.sources) and self.sources[0].spanned

    @property
    def required_columns(self) -> list[str]:
        """Columns every source must have: id, label, features and cleaning columns."""
        columns = [self.id_key] if self.id_key else []
        columns += [self.label] + [f.name for f in self.features]
        if self.cleaning.keep_latest_by:
            columns.append(self.cleaning.keep_latest_by)
        columns += self.cleaning.required_columns
        return list(dict.fromkeys(columns))

    def data_paths(self) -> list[tuple[str, str]]:
        """(config field, path) of every dataset the pipeline reads."""
        paths = [(f"sources[{i}].path", s.path) for i, s in enumerate(self.sources)]
        if self.cleaning.spam_list:
            paths.append(("cleaning.spam_list.path", self.cleaning.spam_list.path))
        if self.cleaning.id_map:
            paths.append(("cleaning.id_map.path", self.cleaning.id_map.path))
        return paths


def _join(root: str, name: str) -> str:
    return root.rstrip("/") + "/" + name if "://" in root else os.path.join(root, name)


def _resolve_path(value: str, base_dir: str) -> str:
    if "://" in value or os.path.isabs(value):
        return value
    return os.path.normpath(os.path.join(base_dir, value))


_MERGE_TAG = "tag:yaml.org,2002:merge"


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that rejects duplicate keys instead of keeping the last one,
    and keys that are lists or mappings (YAML allows them; no config field is one).

    Merge keys (`<<: *defaults`) merge as YAML defines them: a key written in
    the mapping wins over a merged one, which is no duplicate; a key written
    twice in one mapping is.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise yaml.constructor.ConstructorError(
                    None, None, "a key must be a name, not a list or mapping", key_node.start_mark
                )
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class _AsWrittenLoader(yaml.SafeLoader):
    """Every scalar as the text written (as YAML's BaseLoader reads it), with
    merge keys merged: no implicit type but the merge key's is resolved."""


_AsWrittenLoader.yaml_implicit_resolvers = {
    first: kept
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    if (kept := [(tag, regexp) for tag, regexp in resolvers if tag == _MERGE_TAG])
}


class _Reader:
    """Reads typed fields from a YAML mapping, naming the file and field on error."""

    def __init__(self, path: str) -> None:
        self.path = path

    def error(self, field: str, message: str) -> ConfigError:
        return ConfigError(f"{self.path}: {field}: {message}")

    def mapping(self, value: Any, field: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.error(field, f"expected a mapping, got {_describe(value)}")
        return value

    def only_keys(self, value: Mapping[str, Any], field: str, allowed: set[str]) -> None:
        """Fails naming every key of `value` not in `allowed` (keys of any type)."""
        unknown = sorted((str(k) for k in value if k not in allowed))
        if unknown:
            names = ", ".join(f"{field}.{k}" if field else k for k in unknown)
            keys = "unknown key" if len(unknown) == 1 else "unknown keys"
            raise self.error(names, f"{keys} (expected one of: {', '.join(sorted(allowed))})")

    def string(self, value: Any, field: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.error(field, f"expected a non-empty string, got {_describe(value)}")
        return value.strip()

    def name(self, value: Any, field: str) -> str:
        text = self.string(value, field)
        if not _NAME_PATTERN.match(text):
            raise self.error(field, f"{text!r} is not a valid name (letters, digits, '_' and '-')")
        return text

    def integer(
        self, value: Any, field: str, minimum: int, maximum: Optional[int] = None, why: str = ""
    ) -> int:
        """An integer in [minimum, maximum]; `why` says where the maximum comes from."""
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or value < minimum
            or (maximum is not None and value > maximum)
        ):
            expected = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum:,}"
            raise self.error(field, f"expected an integer {expected}{why}, got {_describe(value)}")
        return value

    def number(self, value: Any, field: str, low: float, high: float) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not (low <= value <= high)
        ):
            raise self.error(field, f"expected a number in [{low}, {high}], got {_describe(value)}")
        return float(value)

    def sequence(self, value: Any, field: str) -> list[Any]:
        if not isinstance(value, list) or not value:
            raise self.error(field, f"expected a non-empty list, got {_describe(value)}")
        return value


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    return f"{type(value).__name__} {value!r}"


def _read_sources(r: _Reader, raw: Any, base_dir: str) -> tuple[SourceConfig, ...]:
    sources = []
    for i, item in enumerate(r.sequence(raw, "sources")):
        field = f"sources[{i}]"
        item = r.mapping(item, field)
        r.only_keys(item, field, {"name", "path"})
        name = r.name(item.get("name"), f"{field}.name")
        path = _data_path(r, item.get("path"), f"{field}.path", base_dir)
        sources.append(SourceConfig(name=name, path=path))
    names = [s.name for s in sources]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise r.error("sources", f"source name {duplicates[0]!r} is used more than once")
    # One ExampleGen resolves one span for all its input splits (TFX requires
    # every split's pattern to have the same placeholders).
    for i, source in enumerate(sources[1:], start=1):
        if source.spanned != sources[0].spanned:
            spanned, plain = (i, 0) if source.spanned else (0, i)
            raise r.error(
                f"sources[{i}].path",
                f"sources[{spanned}].path names span folders but sources[{plain}].path "
                "does not; the sources of one pipeline arrive as spans all, or none",
            )
    # ExampleGen reads every source from one input base: one filesystem.
    first = _scheme(sources[0].path)
    for i, source in enumerate(sources[1:], start=1):
        if _scheme(source.path) != first:
            raise r.error(
                f"sources[{i}].path",
                f"{source.path} is {_scheme(source.path) or 'a local folder'}, but sources[0].path "
                f"is {first or 'a local folder'}; all sources must be on one filesystem "
                "(all local, or all on the same storage such as gs://)",
            )
    return tuple(sources)


def _data_path(r: _Reader, value: Any, field: str, base_dir: str) -> str:
    """A dataset folder's path, resolved; its span placeholders, if any, checked."""
    path = _resolve_path(r.string(value, field), base_dir)
    problem = span_patterns.check_pattern(path)
    if problem:
        raise r.error(field, f"{value}: {problem}")
    return path


def _read_spans(r: _Reader, raw: Any, sources: Sequence[SourceConfig]) -> SpansConfig:
    if raw is None:
        return SpansConfig()
    raw = r.mapping(raw, "spans")
    r.only_keys(raw, "spans", {"window"})
    window = r.integer(raw.get("window", SpansConfig.window), "spans.window", 1)
    if not sources[0].spanned:
        raise r.error(
            "spans",
            "no source path names span folders (e.g. path: data/web/span-{SPAN}); "
            "remove `spans` or add {SPAN} to the source paths",
        )
    return SpansConfig(window=window)


def _scheme(path: str) -> str:
    """`gs://b/x` -> `gs://`; a local path -> ''."""
    return path.split("://", 1)[0] + "://" if "://" in path else ""


def _read_features(r: _Reader, raw: Any) -> tuple[FeatureColumn, ...]:
    columns = []
    kinds = ", ".join(k.value for k in FeatureKind)
    for i, item in enumerate(r.sequence(raw, "features")):
        field = f"features[{i}]"
        item = r.mapping(item, field)
        r.only_keys(item, field, {"name", "kind", "oov_buckets", "min_frequency"})
        name = r.string(item.get("name"), f"{field}.name")
        kind_text = item.get("kind")
        if kind_text is None:
            raise r.error(f"{field}.kind", f"missing (required; one of: {kinds})")
        try:
            kind = FeatureKind(kind_text)
        except ValueError:
            raise r.error(
                f"{field}.kind", f"unknown feature kind {kind_text!r} (expected one of: {kinds})"
            ) from None
        extras = {k for k in ("oov_buckets", "min_frequency") if k in item}
        if extras and kind != FeatureKind.CATEGORICAL:
            raise r.error(f"{field}.{sorted(extras)[0]}", "only applies to categorical features")
        columns.append(
            FeatureColumn(
                name=name,
                kind=kind,
                oov_buckets=r.integer(item.get("oov_buckets", 1), f"{field}.oov_buckets", 1),
                min_frequency=r.integer(item.get("min_frequency", 1), f"{field}.min_frequency", 1),
            )
        )
    names = [c.name for c in columns]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise r.error("features", f"column {duplicates[0]!r} is listed more than once")
    return tuple(columns)


def _read_split(r: _Reader, raw: Any) -> SplitConfig:
    if raw is None:
        return SplitConfig()
    raw = r.mapping(raw, "split")
    r.only_keys(raw, "split", {"ratios", "seed", "stratify_by", "group_by"})
    seed = r.integer(
        raw.get("seed", SplitConfig.seed),
        "split.seed",
        0,
        MAX_SEED,
        " (the Trainer seeds TensorFlow and NumPy with it, which take 32 bits)",
    )
    stratify_raw = raw.get("stratify_by", [])
    if not isinstance(stratify_raw, list):
        raise r.error("split.stratify_by", f"expected a list, got {_describe(stratify_raw)}")
    stratify_by = tuple(r.string(v, f"split.stratify_by[{i}]") for i, v in enumerate(stratify_raw))
    group_by = raw.get("group_by")
    group_by = r.string(group_by, "split.group_by") if group_by is not None else None
    if "ratios" not in raw:
        return SplitConfig(seed=seed, stratify_by=stratify_by, group_by=group_by)
    ratios_raw = r.mapping(raw["ratios"], "split.ratios")
    ratios = tuple(
        (r.name(name, "split.ratios"), r.number(v, f"split.ratios.{name}", 0.0, 1.0))
        for name, v in ratios_raw.items()
    )
    for name, value in ratios:
        if value <= 0:
            raise r.error(f"split.ratios.{name}", f"every ratio must be > 0, got {value:g}")
    total = sum(v for _, v in ratios)
    if abs(total - 1.0) > 1e-6:
        raise r.error("split.ratios", f"ratios must sum to 1, they sum to {total:g}")
    names = [n for n, _ in ratios]
    for required in ("train", "dev", "test"):
        if required not in names:
            raise r.error("split.ratios", f"a {required!r} split is required")
    return SplitConfig(ratios=ratios, seed=seed, stratify_by=stratify_by, group_by=group_by)


def _string_list(r: _Reader, raw: Any, field: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise r.error(field, f"expected a list, got {_describe(raw)}")
    return tuple(r.string(v, f"{field}[{i}]") for i, v in enumerate(raw))


def _read_cleaning(r: _Reader, raw: Any, fields: dict[str, Any], base_dir: str) -> CleaningConfig:
    if raw is None:
        return CleaningConfig()
    raw = r.mapping(raw, "cleaning")
    r.only_keys(
        raw,
        "cleaning",
        {"spam_list", "id_map", "keep_latest_by", "source_priority", "required_columns"},
    )
    spam_list = id_map = None
    if raw.get("spam_list") is not None:
        item = r.mapping(raw["spam_list"], "cleaning.spam_list")
        r.only_keys(item, "cleaning.spam_list", {"path", "id_column"})
        spam_list = SpamListConfig(
            path=_data_path(r, item.get("path"), "cleaning.spam_list.path", base_dir),
            id_column=r.string(item.get("id_column"), "cleaning.spam_list.id_column"),
        )
    if raw.get("id_map") is not None:
        item = r.mapping(raw["id_map"], "cleaning.id_map")
        r.only_keys(item, "cleaning.id_map", {"path", "alias_column", "canonical_column"})
        id_map = IdMapConfig(
            path=_data_path(r, item.get("path"), "cleaning.id_map.path", base_dir),
            alias_column=r.string(item.get("alias_column"), "cleaning.id_map.alias_column"),
            canonical_column=r.string(
                item.get("canonical_column"), "cleaning.id_map.canonical_column"
            ),
        )
    if (spam_list or id_map) and not fields["id_key"]:
        which = "spam_list" if spam_list else "id_map"
        raise r.error(f"cleaning.{which}", "needs id_key (the column that identifies a person)")
    keep_latest_by = raw.get("keep_latest_by")
    if keep_latest_by is not None:
        keep_latest_by = r.string(keep_latest_by, "cleaning.keep_latest_by")
        if not fields["id_key"]:
            raise r.error("cleaning.keep_latest_by", "needs id_key (rows are merged per id)")
    source_priority = _string_list(r, raw.get("source_priority"), "cleaning.source_priority")
    source_names = [s.name for s in fields["sources"]]
    for i, name in enumerate(source_priority):
        if name not in source_names:
            raise r.error(
                f"cleaning.source_priority[{i}]",
                f"{name!r} is not a source (sources: {', '.join(source_names)})",
            )
    return CleaningConfig(
        spam_list=spam_list,
        id_map=id_map,
        keep_latest_by=keep_latest_by,
        source_priority=source_priority,
        required_columns=_string_list(r, raw.get("required_columns"), "cleaning.required_columns"),
    )


def _read_training(r: _Reader, raw: Any) -> TrainingConfig:
    if raw is None:
        return TrainingConfig()
    raw = r.mapping(raw, "training")
    fields = {f.name for f in dataclasses.fields(TrainingConfig)}
    r.only_keys(raw, "training", fields)
    defaults = TrainingConfig()
    hidden = raw.get("hidden_units", list(defaults.hidden_units))
    hidden = tuple(
        r.integer(v, f"training.hidden_units[{i}]", 1)
        for i, v in enumerate(r.sequence(hidden, "training.hidden_units"))
    )
    return TrainingConfig(
        train_steps=r.integer(
            raw.get("train_steps", defaults.train_steps), "training.train_steps", 1
        ),
        eval_steps=r.integer(raw.get("eval_steps", defaults.eval_steps), "training.eval_steps", 1),
        epochs=r.integer(raw.get("epochs", defaults.epochs), "training.epochs", 1),
        batch_size=r.integer(raw.get("batch_size", defaults.batch_size), "training.batch_size", 1),
        hidden_units=hidden,
        learning_rate=r.number(
            raw.get("learning_rate", defaults.learning_rate), "training.learning_rate", 1e-9, 10.0
        ),
        embedding_dim=r.integer(
            raw.get("embedding_dim", defaults.embedding_dim), "training.embedding_dim", 1
        ),
    )


def _read_evaluation(r: _Reader, raw: Any) -> EvaluationConfig:
    if raw is None:
        return EvaluationConfig()
    raw = r.mapping(raw, "evaluation")
    r.only_keys(raw, "evaluation", {"min_auc", "max_auc_drop", "slice_by"})
    slice_by = raw.get("slice_by", list(EvaluationConfig.slice_by))
    if not isinstance(slice_by, list):
        raise r.error("evaluation.slice_by", f"expected a list, got {_describe(slice_by)}")
    return EvaluationConfig(
        min_auc=r.number(
            raw.get("min_auc", EvaluationConfig.min_auc), "evaluation.min_auc", 0.0, 1.0
        ),
        max_auc_drop=r.number(
            raw.get("max_auc_drop", EvaluationConfig.max_auc_drop),
            "evaluation.max_auc_drop",
            0.0,
            1.0,
        ),
        slice_by=tuple(r.string(v, f"evaluation.slice_by[{i}]") for i, v in enumerate(slice_by)),
    )


def _read_serving(r: _Reader, raw: Any, features: Sequence[FeatureColumn]) -> ServingConfig:
    if raw is None:
        return ServingConfig()
    raw = r.mapping(raw, "serving")
    r.only_keys(raw, "serving", {"skew"})
    skew = r.mapping(raw.get("skew", {}), "serving.skew")
    r.only_keys(
        skew,
        "serving.skew",
        {"mode", "default", "per_feature", "false_alarm_rate", "min_rows", "resamples"},
    )
    mode = skew.get("mode", ServingConfig.skew_mode)
    if mode not in (SKEW_CALIBRATED, SKEW_FIXED):
        raise r.error(
            "serving.skew.mode",
            f"expected {SKEW_CALIBRATED} or {SKEW_FIXED}, got {_describe(mode)}",
        )
    rate = r.number(
        skew.get("false_alarm_rate", ServingConfig.skew_false_alarm_rate),
        "serving.skew.false_alarm_rate",
        1e-6,
        0.5,
    )
    min_rows = r.integer(
        skew.get("min_rows", ServingConfig.skew_min_rows), "serving.skew.min_rows", 1
    )
    resamples = r.integer(
        skew.get("resamples", ServingConfig.skew_resamples), "serving.skew.resamples", 2
    )
    default = r.number(
        skew.get("default", ServingConfig.skew_default), "serving.skew.default", 0.0, 1.0
    )
    per_feature = r.mapping(skew.get("per_feature", {}), "serving.skew.per_feature")
    names = [f.name for f in features]
    thresholds = []
    for name, value in per_feature.items():
        field = f"serving.skew.per_feature.{name}"
        if name not in names:
            raise r.error(field, f"not a feature (features: {', '.join(names)})")
        thresholds.append((name, r.number(value, field, 0.0, 1.0)))
    return ServingConfig(
        skew_mode=mode,
        skew_default=default,
        skew_per_feature=tuple(thresholds),
        skew_false_alarm_rate=rate,
        skew_min_rows=min_rows,
        skew_resamples=resamples,
    )


def _read_label(r: _Reader, raw: Any, written: Any) -> dict[str, Any]:
    """Reads `label: NAME` or `label: {name, classes, positive}`.

    Args:
      r: The reader.
      raw: The `label` value as YAML types it.
      written: The same value with every scalar as written (YAML's BaseLoader):
        an unquoted `yes` is the class "yes", not the boolean true.

    Returns:
      The config fields `label`, `label_classes` and `positive_class`.
    """
    if not isinstance(raw, Mapping):
        return {"label": r.string(raw, "label"), "label_classes": None, "positive_class": None}
    r.only_keys(raw, "label", {"name", "classes", "positive"})
    if "name" not in raw:
        raise r.error("label.name", "missing (required)")
    name = r.string(raw["name"], "label.name")
    classes = None
    if "classes" in raw:
        entries = r.sequence(raw["classes"], "label.classes")
        classes = tuple(
            _class_name(r, entry, as_written, f"label.classes[{i}]")
            for i, (entry, as_written) in enumerate(zip(entries, written["classes"]))
        )
    positive = None
    if "positive" in raw:
        positive = _class_name(r, raw["positive"], written["positive"], "label.positive")
    if classes is not None:
        try:
            LabelSpec(name, classes, positive).check()
        except LabelError as e:
            raise r.error(e.field, str(e)) from None
    return {"label": name, "label_classes": classes, "positive_class": positive}


def _class_name(r: _Reader, value: Any, written: Any, field: str) -> str:
    """A class named in the config: its text, as written when YAML reads it as a boolean."""
    if isinstance(value, (Mapping, list)) or value is None or not class_text(value):
        raise r.error(field, f"expected a class name or number, got {_describe(value)}")
    return str(written).strip() if isinstance(value, bool) else class_text(value)


def _as_written(text: str, label: Any) -> Any:
    """The config's `label` with every scalar as written, when it is a mapping."""
    if not isinstance(label, Mapping):
        return label
    return yaml.load(text, Loader=_AsWrittenLoader)["label"]  # noqa: S506 - a SafeLoader subclass


def _check_columns(r: _Reader, config_fields: dict[str, Any]) -> None:
    """Checks that the label, id and features do not overlap."""
    label, id_key = config_fields["label"], config_fields["id_key"]
    feature_names = {f.name for f in config_fields["features"]}
    if label in feature_names:
        raise r.error("label", f"{label!r} is also listed under features")
    if id_key is not None and id_key in feature_names:
        raise r.error("id_key", f"{id_key!r} is also listed under features")
    if id_key is not None and id_key == label:
        raise r.error("id_key", f"{id_key!r} is also the label")


def _column_names(fields: Mapping[str, Any]) -> list[str]:
    """Every column a run validates: the features, the label, the id and the `source` tag."""
    names = [f.name for f in fields["features"]] + [fields["label"], SOURCE_FEATURE]
    return names + ([fields["id_key"]] if fields["id_key"] else [])


_TOP_LEVEL_KEYS = {
    "name",
    "sources",
    "label",
    "id_key",
    "features",
    "cleaning",
    "split",
    "training",
    "evaluation",
    "output",
    "inventory",
    "serving",
    "gate",
    "drift",
    "schema",
    "spans",
    "schedule",
    "vertex",
    "lineage",
}


def parse_config(text: str, path: str, output_root: Optional[str] = None) -> PipelineConfig:
    """Parses and validates config YAML.

    Args:
      text: The YAML text.
      path: The file it came from: named in errors; relative paths resolve
        against its folder.
      output_root: Overrides `output.root` when given.

    Returns:
      The validated config.

    Raises:
      ConfigError: The YAML is malformed or a field is missing or invalid.
    """
    r = _Reader(path)
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        lines = text.splitlines()
        line = lines[mark.line] if mark and mark.line < len(lines) else ""
        if span_patterns.SPAN_SPEC in line or span_patterns.DATE_SPECS[0] in line:
            problem += (
                " (a path with {SPAN} inside a {...} mapping needs quotes, "
                "e.g. path: 'data/web/span-{SPAN}', or one key per line)"
            )
        raise ConfigError(f"{path}: {where}malformed YAML: {problem}") from None
    raw = r.mapping(raw, "(top level)")
    r.only_keys(raw, "", _TOP_LEVEL_KEYS)
    base_dir = os.path.dirname(os.path.abspath(path))
    for key in ("name", "sources", "label", "features"):
        if key not in raw:
            raise r.error(key, "missing (required)")
    id_key = raw.get("id_key")
    fields: dict[str, Any] = {
        "name": r.name(raw["name"], "name"),
        "sources": _read_sources(r, raw["sources"], base_dir),
        **_read_label(r, raw["label"], _as_written(text, raw["label"])),
        "id_key": r.string(id_key, "id_key") if id_key is not None else None,
        "features": _read_features(r, raw["features"]),
    }
    _check_columns(r, fields)
    check_feature_names(r, fields["features"], fields["label"])
    output_raw = r.mapping(raw.get("output", {}), "output")
    r.only_keys(output_raw, "output", {"root"})
    # A command-line root is relative to where the command runs; MLMD records
    # absolute paths (Pusher's destination), so lineage finds them from anywhere.
    root = (
        _resolve_path(output_root, os.getcwd())
        if output_root
        else _resolve_path(
            r.string(output_raw.get("root", f"outputs/{fields['name']}"), "output.root"), base_dir
        )
    )
    return PipelineConfig(
        **fields,
        cleaning=_read_cleaning(r, raw.get("cleaning"), fields, base_dir),
        split=_read_split(r, raw.get("split")),
        training=_read_training(r, raw.get("training")),
        evaluation=_read_evaluation(r, raw.get("evaluation")),
        serving=_read_serving(r, raw.get("serving"), fields["features"]),
        gate=read_gate(r, raw.get("gate"), _column_names(fields)),
        drift=read_drift(r, raw.get("drift"), [f.name for f in fields["features"]]),
        spans=_read_spans(r, raw.get("spans"), fields["sources"]),
        schedule=read_schedule(r, raw.get("schedule")),
        vertex=read_vertex(r, raw.get("vertex")),
        openlineage=read_lineage(r, raw.get("lineage")),
        output=OutputConfig(root=root),
        inventory=read_inventory(r, raw.get("inventory"), [s.name for s in fields["sources"]]),
        schema=_resolve_path(r.string(raw["schema"], "schema"), base_dir)
        if "schema" in raw
        else None,
        config_path=path,
        config_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def load_config(path: str, output_root: Optional[str] = None) -> PipelineConfig:
    """Reads and validates the YAML config at `path`.

    Args:
      path: A local YAML file.
      output_root: Overrides `output.root` when given.

    Returns:
      The validated config.

    Raises:
      ConfigError: The file is missing or unreadable, or its content is invalid.
    """
    try:
        # newline="": keep "\r\n" so config_hash is the sha256 of the file's bytes.
        with open(path, encoding="utf-8", newline="") as f:
            text = f.read()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read config: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: cannot read config: not UTF-8 text ({e.reason})") from None
    return parse_config(text, path, output_root)
