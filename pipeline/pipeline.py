"""The pipeline factory: config in, `tfx.dsl.Pipeline` out; it runs nothing.

Runners (local, local-parallel, and later Dataflow) differ only in the Beam
args, paths and metadata connection they pass here.
"""

from __future__ import annotations

import os
import posixpath
from typing import Any, Optional, Sequence

import tensorflow_data_validation as tfdv
import tensorflow_model_analysis as tfma
from google.protobuf.wrappers_pb2 import BoolValue
from tfx import v1 as tfx

from components.clean_examples.component import CleanExamples
from components.data_gate.baseline import ServedModelStatisticsStrategy
from components.data_gate.component import DataGate
from components.skew_calibration.component import SkewCalibration
from components.source_example_gen import component as source_example_gen
from components.source_example_gen.component import CsvSourceExampleGen
from components.stratified_split.component import StratifiedSplit
from core import source_folders, spans
from core.provenance import SOURCE_FEATURE, SPAN_FEATURE
from core.errors import CascadeError
from pipeline import code_versions, preflight, schema_file, slicing
from pipeline.config import (
    BASELINE_MODEL,
    CANDIDATE_MODEL,
    SKEW_CALIBRATED,
    PipelineConfig,
    SourceConfig,
)
from models.signature_names import LABEL_SIGNATURE, OUTPUT_KEY
from models.training import CUSTOM_CONFIG_KEY as TRAINING_CONFIG_KEY
from pipeline.gate_config import DRIFT_OFF
from pipeline.inventory import LABELLING_METHOD_FEATURE
from transforms import features

PREPROCESSING_FN = "transforms.preprocessing.preprocessing_fn"
RUN_FN = "models.model.run_fn"
# The custom_config key of Transform's and Trainer's code version (see code_versions).
CODE_VERSION = "code_version"
# The split Transform analyzes and the Trainer trains on.
TRAINING_SPLIT = "train"
# The resolver nodes' ids (they run no execution of their own).
BASELINE_MODEL_NODE = "BaselineModel"
SERVED_STATISTICS_NODE = "ServedStatistics"


def _common_base(paths: Sequence[str]) -> str:
    """Returns the deepest folder containing every path (URIs keep their scheme).

    Sources in different buckets share only the scheme's root (`gs://`), which
    ExampleGen joins with each split's `<bucket>/<folder>/<glob>` pattern.

    Raises:
      ValueError: The paths mix local folders and URIs, or URI schemes (the
        config reader reports this first, naming the fields).
    """
    uris = [p for p in paths if "://" in p]
    if not uris:
        return os.path.commonpath([os.path.abspath(p) for p in paths])
    schemes = {p.split("://", 1)[0] for p in paths}
    if len(uris) != len(paths) or len(schemes) != 1:
        raise ValueError(f"sources must all be local folders or all under one URI scheme: {paths}")
    [scheme] = schemes
    common = posixpath.commonpath([p.split("://", 1)[1].strip("/") for p in uris])
    return f"{scheme}://{common}" if common else f"{scheme}://"


def example_gen_input_config(
    sources: Sequence[SourceConfig],
) -> tuple[str, tfx.proto.Input]:
    """Returns (input_base, Input) giving each source its own ExampleGen split.

    One input split per source keeps provenance: every example's split name says
    which source it came from, and ExampleGen fingerprints each source's files.
    Each pattern is the folder and `core.source_folders.EXAMPLE_GEN_GLOB`
    (`web/*.[cC][sS][vV]*`), which matches every `.csv` and `.csv.gz` file in
    any case; the executor reads those of what it matches. A spanned path
    keeps its placeholders in the pattern (`web/span-{SPAN}/*.[cC][sS][vV]*`),
    for TFX's driver to resolve; the input base lies above them.
    """
    base = _common_base([spans.static_root(s.path) for s in sources])
    splits = []
    for source in sources:
        relative = (
            os.path.relpath(source.path, base)
            if "://" not in base
            else (source.path.rstrip("/")[len(base) :].strip("/") or ".")
        )
        glob = source_folders.EXAMPLE_GEN_GLOB
        pattern = glob if relative == "." else posixpath.join(relative, glob)
        splits.append(tfx.proto.Input.Split(name=source.name, pattern=pattern))
    return base, tfx.proto.Input(splits=splits)


def reference_example_gen(
    path: str, component_id: str, id_columns: Sequence[str]
) -> CsvSourceExampleGen:
    """An ExampleGen for a reference dataset (spam list, id map), as one split `all`.

    Reference data enters as a dataset, with its own artifact, file
    fingerprint and facts (rows, sha256, the ids it holds) in MLMD, so lineage
    shows which version of a list produced which data.
    """
    return source_example_gen.reference_example_gen(
        path,
        id_columns,
        code_version=code_versions.component_version("components.source_example_gen"),
    ).with_id(component_id)


def cleaning_components(config: PipelineConfig, raw_examples: tfx.dsl.Channel) -> list:
    """Returns [reference ExampleGens..., CleanExamples] for the config's cleaning."""
    cleaning = config.cleaning
    components = []
    spam_list = id_map = None
    if cleaning.spam_list:
        spam_gen = reference_example_gen(
            cleaning.spam_list.path, "SpamListGen", [cleaning.spam_list.id_column]
        )
        components.append(spam_gen)
        spam_list = spam_gen.outputs["examples"]
    if cleaning.id_map:
        id_map_gen = reference_example_gen(
            cleaning.id_map.path,
            "IdMapGen",
            [cleaning.id_map.alias_column, cleaning.id_map.canonical_column],
        )
        components.append(id_map_gen)
        id_map = id_map_gen.outputs["examples"]
    components.append(
        CleanExamples(
            examples=raw_examples,
            id_key=config.id_key,
            spam_list=spam_list,
            spam_id_column=cleaning.spam_list.id_column if cleaning.spam_list else None,
            id_map=id_map,
            alias_column=cleaning.id_map.alias_column if cleaning.id_map else None,
            canonical_column=cleaning.id_map.canonical_column if cleaning.id_map else None,
            keep_latest_by=cleaning.keep_latest_by,
            source_priority=cleaning.source_priority,
            required_columns=cleaning.required_columns,
            label=config.label,
            label_classes=config.label_classes,
            source_tags={
                name: entry.row_tags() for name, entry in (config.inventory or {}).items()
            },
            code_version=code_versions.component_version("components.clean_examples"),
        )
    )
    return components


def eval_config(config: PipelineConfig) -> tfma.EvalConfig:
    """Returns the Evaluator's config: metrics overall and per slice, and the blessing.

    The slicings are `slicing.slice_plan`'s: a slice with the same rows as a
    computed one is not computed again.

    Two classes: AUC, accuracy, precision and recall. A model is blessed when
    its test AUC reaches `evaluation.min_auc` on the whole test split and on
    every slice, and its overall test AUC is at most `evaluation.max_auc_drop`
    below the baseline's, the latest blessed model (TFX drops the change
    threshold while there is no baseline).

    Three or more classes: accuracy, the confusion matrix, one-vs-rest AUC,
    precision and recall per class, and their macro average (each class
    weighing the same). The blessing bounds apply to the macro AUC of the
    whole test split; per-slice values are reported, not gated (a slice that
    lacks a class has no AUC for it, which TFMA counts as 0).

    The label the metrics compare with is the raw label column for a 0/1
    label whose positive class is 1, else the model's `transform_label`
    signature's output (the class index, or 1 for the positive class), so text
    labels are judged by the same mapping the model was trained with.

    Only the metrics named here are computed. TFMA would otherwise add the
    model's compiled Keras metrics and loss ("default metrics"), which repeat
    AUC and accuracy through a Keras model loaded in each combiner and updated
    per slice: about a third of the Evaluator's time, for numbers no report reads.

    Raises:
      LabelError: The label's classes are not known yet (see
        `PipelineConfig.with_label_classes`).
    """
    evaluation = config.evaluation
    label = config.label_spec
    label.check()
    raw_label = label.binary and label.classes == ("0", "1") and label.positive_class == "1"
    label_fields: dict[str, Any] = (
        {"label_key": config.label}
        if raw_label
        else {
            "label_key": features.label_output_name(config.label),
            "preprocessing_function_names": [LABEL_SIGNATURE],
        }
    )
    model_fields = {"signature_name": "serving_default", "prediction_key": OUTPUT_KEY}
    minimum = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": evaluation.min_auc})
    )
    no_worse = tfma.MetricThreshold(
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER,
            absolute={"value": -evaluation.max_auc_drop},
        )
    )
    overall = [tfma.SlicingSpec()]
    if label.binary:
        metrics_specs = [
            tfma.MetricsSpec(
                metrics=[
                    tfma.MetricConfig(class_name="ExampleCount"),
                    tfma.MetricConfig(class_name="BinaryAccuracy"),
                    tfma.MetricConfig(class_name="Precision"),
                    tfma.MetricConfig(class_name="Recall"),
                    tfma.MetricConfig(
                        class_name="AUC",
                        # Every slice must reach min_auc.
                        threshold=minimum,
                        # The drop is judged on the whole test split: a slice of a
                        # few hundred rows moves by more than that between any two
                        # models.
                        per_slice_thresholds=[
                            tfma.PerSliceMetricThreshold(slicing_specs=overall, threshold=no_worse)
                        ],
                    ),
                ]
            )
        ]
    else:
        class_ids = list(range(len(label.classes)))
        metrics_specs = [
            tfma.MetricsSpec(
                metrics=[
                    tfma.MetricConfig(class_name="ExampleCount"),
                    tfma.MetricConfig(class_name="SparseCategoricalAccuracy"),
                    tfma.MetricConfig(class_name="MultiClassConfusionMatrixPlot"),
                ]
            ),
            # One-vs-rest per class, reported, not gated.
            tfma.MetricsSpec(
                binarize=tfma.BinarizationOptions(class_ids={"values": class_ids}),
                metrics=[
                    tfma.MetricConfig(class_name="AUC"),
                    tfma.MetricConfig(class_name="Precision"),
                    tfma.MetricConfig(class_name="Recall"),
                ],
            ),
            # The blessing: the macro-averaged AUC alone (with class weights and
            # no binarization, TFMA computes the per-class AUCs privately, so
            # the bounds do not apply to each class), on the whole test split.
            # A slice often lacks a class (a species absent from an island),
            # and TFMA counts that class's AUC as 0 in the slice's average, so
            # slices are reported, not gated.
            tfma.MetricsSpec(
                aggregate=tfma.AggregationOptions(
                    macro_average=True, class_weights={i: 1.0 for i in class_ids}
                ),
                metrics=[
                    tfma.MetricConfig(
                        class_name="AUC",
                        per_slice_thresholds=[
                            tfma.PerSliceMetricThreshold(slicing_specs=overall, threshold=t)
                            for t in (minimum, no_worse)
                        ],
                    )
                ],
            ),
        ]
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(name=CANDIDATE_MODEL, **model_fields, **label_fields),
            tfma.ModelSpec(name=BASELINE_MODEL, **model_fields, **label_fields, is_baseline=True),
        ],
        options=tfma.Options(include_default_metrics=BoolValue(value=False)),
        slicing_specs=[tfma.SlicingSpec()]
        + [tfma.SlicingSpec(feature_keys=[key]) for key in slicing.slice_plan(config).feature_keys],
        metrics_specs=metrics_specs,
    )


def needed_by(components: Sequence[Any], target: str) -> list[Any]:
    """`target` and every component it reads from, directly or not, in pipeline order.

    Raises:
      CascadeError: No component has the id `target`.
    """
    by_id = {c.id: c for c in components}
    if target not in by_id:
        raise CascadeError(f"--until {target}: no such component (one of: {', '.join(by_id)})")
    needed = {target}
    pending = [by_id[target]]
    while pending:
        component = pending.pop()
        # Each input channel names the component that produces it; a task
        # dependency (Transform waits for DataGate) names the node itself.
        producers = [getattr(c, "producer_component_id", None) for c in component.inputs.values()]
        producers += [node.id for node in component.upstream_nodes]
        for producer in producers:
            if producer in by_id and producer not in needed:
                needed.add(producer)
                pending.append(by_id[producer])
    return [c for c in components if c.id in needed]


def schema_component(
    config: PipelineConfig, statistics: tfx.types.BaseChannel
) -> tfx.types.BaseComponent:
    """The node with id "SchemaGen": the schema inferred from `statistics`, or the
    config's curated schema file.

    With `schema:` in the config, ImportSchemaGen copies that file into the
    pipeline. Its only parameter is the path, so the file's sha256 is set on
    its output as the custom property `schema_sha256`: an output's properties
    are part of TFX's cache key, so an edited file is imported again, and the
    Schema artifact in MLMD says which content it holds.

    Args:
      config: The validated config.
      statistics: StatisticsGen's output, which SchemaGen infers from.

    Returns:
      SchemaGen, or ImportSchemaGen with the id "SchemaGen" (component
      lists, `--until SchemaGen` and run summaries name the node the same).

    Raises:
      InputDataError: The schema file cannot be read (preflight reports
        this first).
    """
    if config.schema is None:
        return tfx.components.SchemaGen(statistics=statistics, infer_feature_shape=True)
    imported = tfx.components.ImportSchemaGen(schema_file=config.schema).with_id("SchemaGen")
    imported.outputs["schema"].additional_custom_properties[schema_file.SCHEMA_SHA256_PROPERTY] = (
        schema_file.content_sha256(config.schema)
    )
    return imported


def statistics_features(config: PipelineConfig) -> list[str]:
    """The features Cascade's StatisticsGen describes: those something reads.

    The model's features and label; the `source`, `span` and labelling-method
    tags (rows per source, spans, the drift and skew checks and the gate read
    them); the split's stratification columns; and every feature of a curated
    schema, so its checks keep their statistics. Ids, the canonical id and
    columns neither the config nor a curated schema names get none: TFDV's
    top-k and unique counts over a million distinct ids take about a quarter
    of StatisticsGen's time, for numbers no check or report reads. So
    ExampleValidator does not see such a column either (a column that appears
    in the data and that no step reads is not an anomaly). The inferred schema
    holds these features, so Transform and serving parse only them.

    Args:
      config: The validated pipeline config.

    Returns:
      The feature names, in config order.

    Raises:
      InputDataError: The curated schema cannot be read (preflight reports
        this first).
    """
    names = [f.name for f in config.features] + [config.label, SOURCE_FEATURE, SPAN_FEATURE]
    if config.inventory:
        names.append(LABELLING_METHOD_FEATURE)
    names += config.split.stratify_by
    if config.schema is not None:
        names += [f.name for f in schema_file.read_schema(config.schema).feature]
    return list(dict.fromkeys(names))


def validation_components(
    config: PipelineConfig,
    split_examples: tfx.dsl.Channel,
    features: Optional[Sequence[str]] = None,
) -> list:
    """StatisticsGen -> SchemaGen -> ExampleValidator on the split examples.

    Args:
      config: The validated pipeline config.
      split_examples: Examples with the splits `config.split.names`.
      features: The features StatisticsGen describes (and so the schema
        holds); None for every feature, as stock TFX does.

    Returns:
      The three components, in running order.
    """
    stats_options = (
        None if features is None else tfdv.StatsOptions(feature_allowlist=list(features))
    )
    statistics_gen = tfx.components.StatisticsGen(
        examples=split_examples, stats_options=stats_options
    )
    schema_gen = schema_component(config, statistics_gen.outputs["statistics"])
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"]
    )
    return [statistics_gen, schema_gen, example_validator]


def baseline_model_resolver() -> tfx.dsl.Resolver:
    """The latest blessed model of the pipeline: the Evaluator's baseline.

    Resolves to nothing before any model is blessed; the Evaluator then
    checks the absolute bounds alone (TFX ignores change thresholds without
    a baseline).
    """
    return tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
    ).with_id(BASELINE_MODEL_NODE)


def served_statistics_resolver() -> tfx.dsl.Resolver:
    """The training statistics of the newest pushed model: drift's reference."""
    return tfx.dsl.Resolver(
        strategy_class=ServedModelStatisticsStrategy,
        pushed_model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.PushedModel),
        statistics=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ExampleStatistics),
    ).with_id(SERVED_STATISTICS_NODE)


def model_components(
    config: PipelineConfig,
    split_examples: tfx.dsl.Channel,
    schema: tfx.dsl.Channel,
    baseline_model: Optional[tfx.dsl.Channel] = None,
) -> list:
    """Transform -> Trainer -> Evaluator -> Pusher, from split examples and a schema.

    Args:
      config: The validated pipeline config.
      split_examples: Examples with the splits `config.split.names`.
      schema: The schema Transform and the Trainer read.
      baseline_model: The model the Evaluator compares with (None: absolute
        bounds only).

    Returns:
      The four components, in running order.
    """
    feature_config = features.to_custom_config(config.features, config.label_spec)
    transform = tfx.components.Transform(
        examples=split_examples,
        schema=schema,
        preprocessing_fn=PREPROCESSING_FN,
        splits_config=tfx.proto.SplitsConfig(
            analyze=[TRAINING_SPLIT], transform=list(config.split.names)
        ),
        # StatisticsGen has described every split already; Transform's own
        # pre- and post-transform statistics would be two more TFDV passes.
        disable_statistics=True,
        custom_config={
            **feature_config,
            CODE_VERSION: code_versions.code_version([PREPROCESSING_FN.rsplit(".", 1)[0]]),
        },
    )

    training = config.training
    trainer = tfx.components.Trainer(
        run_fn=RUN_FN,
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema,
        train_args=tfx.proto.TrainArgs(splits=[TRAINING_SPLIT], num_steps=training.train_steps),
        eval_args=tfx.proto.EvalArgs(splits=["dev"], num_steps=training.eval_steps),
        custom_config={
            **feature_config,
            CODE_VERSION: code_versions.code_version([RUN_FN.rsplit(".", 1)[0]]),
            "seed": config.split.seed,
            TRAINING_CONFIG_KEY: training.to_custom_config(),
        },
    )

    evaluator = tfx.components.Evaluator(
        examples=split_examples,
        model=trainer.outputs["model"],
        baseline_model=baseline_model,
        eval_config=eval_config(config),
        example_splits=["test"],
    )
    same_slices = slicing.slice_plan(config).same_as_json()
    if same_slices:
        # The slices named after a computed one, for the readers of its metrics.
        evaluator.outputs["evaluation"].additional_custom_properties[
            slicing.SAME_SLICES_PROPERTY
        ] = same_slices

    pusher = tfx.components.Pusher(
        model=trainer.outputs["model"],
        model_blessing=evaluator.outputs["blessing"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(
                base_directory=config.output.serving_model_dir
            )
        ),
    )
    return [transform, trainer, evaluator, pusher]


def training_components(config: PipelineConfig, split_examples: tfx.dsl.Channel) -> list:
    """Stock TFX from split examples to a pushed model: no gate, no baseline.

    StatisticsGen -> SchemaGen -> ExampleValidator -> Transform -> Trainer ->
    Evaluator -> Pusher. The stock-TFX side of `benchmarks.pipeline_benchmark`
    trains exactly this on CsvExampleGen's hash split.

    Args:
      config: The validated pipeline config.
      split_examples: Examples with the splits `config.split.names`.

    Returns:
      The seven components, in running order.
    """
    config = preflight.resolve_label_classes(config)
    checks = validation_components(config, split_examples)
    return checks + model_components(config, split_examples, checks[1].outputs["schema"])


def create_pipeline(
    config: PipelineConfig,
    metadata_connection_config: Optional[tfx.orchestration.metadata.ConnectionConfigType],
    beam_pipeline_args: Sequence[str],
    enable_cache: bool = True,
    until: Optional[str] = None,
    span_range: Any = None,
) -> tfx.dsl.Pipeline:
    """Builds Cascade's pipeline from a validated config.

    Args:
      config: The validated pipeline config. When its label classes are
        neither listed nor found already (as `cascade run`'s preflight finds
        them), they are found here, in the label column of the files a run
        reads (`preflight.resolve_label_classes`).
      metadata_connection_config: Where MLMD lives (SQLite file or MySQL).
      beam_pipeline_args: Beam options for every Beam-based component.
      enable_cache: Reuse outputs of executions whose inputs and parameters match.
      until: Only this component and those it needs (e.g. "Transform").
      span_range: The span the sources' ExampleGen reads: a string
        RuntimeParameter holding TFX's RangeConfig as JSON, filled in by a
        scheduler per run (`scheduling.airflow_dag`); None reads the newest.

    Returns:
      The pipeline: CsvExampleGen (+ SpamListGen, IdMapGen) -> CleanExamples ->
      StratifiedSplit -> StatisticsGen (-> SkewCalibration, in calibrated skew
      mode) -> SchemaGen -> ExampleValidator -> DataGate (anomalies, and
      drift from the served model's training statistics, resolved by
      ServedStatistics unless `drift.on_breach` is off) -> Transform ->
      Trainer -> Evaluator (against the latest blessed model) -> Pusher.

    Raises:
      CascadeError: `until` names no component of the pipeline.
      ConfigError: The label's classes are not known and the input data
        holds fewer than two (or not the configured positive class).
      InputDataError: The classes are to be found and a source cannot be read.
    """
    config = preflight.resolve_label_classes(config)
    input_base, input_config = example_gen_input_config(config.sources)
    # The node keeps the stock id: its output is CsvExampleGen's, plus per-source
    # facts and inventory as custom properties.
    example_gen = CsvSourceExampleGen(
        input_base=input_base,
        input_config=input_config,
        label=config.label,
        inventory={name: entry.to_json() for name, entry in (config.inventory or {}).items()},
        code_version=code_versions.component_version("components.source_example_gen"),
        span_window_size=config.spans.window,
        range_config=span_range,
    ).with_id("CsvExampleGen")

    cleaning = cleaning_components(config, example_gen.outputs["examples"])
    clean = cleaning[-1]
    split = StratifiedSplit(
        examples=clean.outputs["cleaned_examples"],
        label=config.label,
        ratios=config.split.ratios,
        stratify_by=config.split.stratify_by,
        group_by=config.split.group_by,
        seed=config.split.seed,
        code_version=code_versions.component_version("components.stratified_split"),
    )
    split_examples = split.outputs["split_examples"]

    statistics_gen, schema_gen, example_validator = validation_components(
        config, split_examples, statistics_features(config)
    )
    statistics = statistics_gen.outputs["statistics"]
    calibration = []
    if config.serving.skew_mode == SKEW_CALIBRATED:
        calibration = [
            SkewCalibration(
                statistics=statistics,
                examples=split_examples,
                features=[f.name for f in config.features],
                split=TRAINING_SPLIT,
                seed=config.split.seed,
                resamples=config.serving.skew_resamples,
                code_version=code_versions.component_version("components.skew_calibration"),
            )
        ]
    # With drift off nothing reads the served model's statistics; without the
    # resolver, a newly pushed model leaves DataGate's cache key as it was.
    served = [served_statistics_resolver()] if config.drift.on_breach != DRIFT_OFF else []
    gate = DataGate(
        statistics=statistics,
        anomalies=example_validator.outputs["anomalies"],
        schema=schema_gen.outputs["schema"],
        features=[f.name for f in config.features],
        allow_anomalies_json=config.gate.to_json(),
        drift_json=config.drift.to_json(),
        baseline_statistics=served[0].outputs["statistics"] if served else None,
        calibration=calibration[0].outputs["calibration"] if calibration else None,
        split=TRAINING_SPLIT,
        code_version=code_versions.component_version("components.data_gate"),
    ).with_id("DataGate")
    baseline = baseline_model_resolver()
    model_half = model_components(
        config, split_examples, schema_gen.outputs["schema"], baseline.outputs["model"]
    )
    # Transform waits for the gate, and a gated run ends there. It reads the
    # schema from SchemaGen, not through the gate, so a gate that ran again
    # (a new model was pushed since) leaves Transform's and the Trainer's
    # cache keys as they were.
    model_half[0].add_upstream_node(gate)

    components = [
        example_gen,
        *cleaning,
        split,
        statistics_gen,
        *calibration,
        schema_gen,
        example_validator,
        *served,
        gate,
        baseline,
        *model_half,
    ]
    return tfx.dsl.Pipeline(
        pipeline_name=config.name,
        pipeline_root=config.output.pipeline_root,
        components=components if until is None else needed_by(components, until),
        enable_cache=enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=list(beam_pipeline_args),
    )
