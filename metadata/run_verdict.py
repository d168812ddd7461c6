"""Why a run did or did not push a model: gated, not blessed, or pushed.

After a run, the runner reads the gate's and the Evaluator's outputs and
records the verdict on the run's `pipeline_run` context, so `lineage runs`
and `history` say it from the store alone:

- GATED: DataGate stopped the run before Transform; the reason is the first
  line of the message TFX recorded on its failed execution.
- NOT_PUSHED: the Evaluator did not bless the model; the reason names the
  failed threshold, e.g. "test AUC 0.791 vs serving model 0.828 (allowed
  drop 0.010)" (for three or more classes: "test macro AUC ...").
- PUSHED: the model went to the serving folder.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Mapping, Optional

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from metadata import names, run_results

GATED = "GATED"
NOT_PUSHED = "NOT_PUSHED"
PUSHED = "PUSHED"
VERDICT_PROPERTY = "verdict"
REASON_PROPERTY = "verdict_reason"
GATE_COMPONENT = "DataGate"
GATE_REPORT_FILE = "gate.json"
GATE_REPORT_TYPE = "cascade.DataGateReport"
# TFX records a failed executor's ExecutionResult (as JSON) under this property.
EXECUTION_RESULT_PROPERTY = "__execution_result__"


@dataclasses.dataclass(frozen=True)
class RunVerdict:
    """What became of a run's model, and the gate's report.

    Attributes:
      status: GATED, NOT_PUSHED, PUSHED, or "" (the run stopped elsewhere).
      reason: Why, in one line ("" for PUSHED).
      gate: The gate's report lines (anomalies and drift tables), if it ran.
      comparison: How the model compared with the served one, in one line
        ("" when the Evaluator did not run).
      blessing: Which metric the blessing judged and what it asked, in one
        line ("" when the Evaluator did not run).
    """

    status: str
    reason: str
    gate: tuple[str, ...] = ()
    comparison: str = ""
    blessing: str = ""


def gate_failure(store: metadata_store.MetadataStore, run_id: str) -> Optional[str]:
    """The message of the run's failed DataGate execution, or None."""
    context = names.run_context(store, run_id)
    if context is None:
        return None
    for execution in store.get_executions_by_context(context.id):
        if execution.last_known_state != metadata_store_pb2.Execution.FAILED:
            continue
        result = execution.custom_properties.get(EXECUTION_RESULT_PROPERTY)
        if result is None:
            continue
        contexts = store.get_contexts_by_execution(execution.id)
        if names.component_of(contexts, execution) != GATE_COMPONENT:
            continue
        try:
            return str(json.loads(result.string_value).get("resultMessage", ""))
        except ValueError:
            return result.string_value
    return None


def _gate_report_lines(uri: str) -> tuple[str, ...]:
    """A passed gate's tables, read from its `gate.json`."""
    # The module tfx.v1.dsl.io.fileio re-exports; importing tfx.v1 adds ~8 s to a command.
    from tfx.dsl.io import fileio

    from components.data_gate.verdict import Verdict

    path = os.path.join(uri, GATE_REPORT_FILE)
    if not fileio.exists(path):
        return ()
    with fileio.open(path, "r") as f:
        return tuple(Verdict.from_json(json.loads(f.read())).describe())


def _metric_title(key: Any) -> str:
    """How messages name a TFMA metric key: "AUC", "macro AUC", "recall"."""
    name = run_results.metric_title(key.name)
    if key.HasField("aggregation_type") and key.aggregation_type.macro_average:
        return f"macro {name}"
    return name


def blessing_reason(evaluation_uri: str, same_as: Optional[Mapping[str, str]] = None) -> str:
    """Why the Evaluator did not bless its model, in one line.

    Reads TFMA's validation result: the blessing metric (the AUC, or for three
    or more classes the macro AUC) below `min_auc`, or more than the allowed
    drop below the baseline (the latest blessed model). A failing slice is
    named with every slice `same_as` names after it (the same rows).

    Args:
      evaluation_uri: A ModelEvaluation artifact's URI.
      same_as: Slice name -> the computed slice with the same rows
        (`run_results.same_slices`).

    Returns:
      The reasons joined with "; ", or "" for a blessed model.
    """
    import tensorflow_model_analysis as tfma

    result = tfma.load_validation_result(evaluation_uri)
    if result.validation_ok:
        return ""
    _, metrics = _overall_blessing_metric(evaluation_uri)
    reasons = []
    for per_slice in result.metric_validations_per_slice:
        where = run_results.slice_name(
            tuple(
                (key.column, getattr(key, key.WhichOneof("kind")))
                for key in per_slice.slice_key.single_slice_keys
            )
        )
        also = [name for name, computed in (same_as or {}).items() if computed == where]
        for on in ["" if where == run_results.OVERALL else f" on {where}"] + [
            f" on {name}" for name in also
        ]:
            reasons.extend(_failure_reasons(per_slice.failures, on, metrics))
    return "; ".join(dict.fromkeys(reasons)) or "the Evaluator did not bless the model"


def _failure_reasons(failures: Any, on: str, metrics: Mapping[str, float]) -> list[str]:
    """One reason per failed threshold of a slice (`on`: " on source=web", or "")."""
    from pipeline.config import BASELINE_MODEL, CANDIDATE_MODEL

    reasons = []
    for failure in failures:
        key, threshold = failure.metric_key, failure.metric_threshold
        if key.is_diff and threshold.HasField("change_threshold"):
            allowed = -threshold.change_threshold.absolute.value
            reasons.append(
                f"test {_metric_title(key)}{on} "
                f"{metrics.get(CANDIDATE_MODEL, float('nan')):.3f} vs serving "
                f"model {metrics.get(BASELINE_MODEL, float('nan')):.3f} "
                f"(allowed drop {allowed:.3f})"
            )
        elif threshold.HasField("value_threshold"):
            reasons.append(
                f"test {_metric_title(key)}{on} "
                f"{failure.metric_value.double_value.value:.3f} below the minimum "
                f"{threshold.value_threshold.lower_bound.value:.3f}"
            )
    return reasons


def comparison(evaluation_uri: str) -> str:
    """The model's overall test blessing metric beside the served model's, on the same
    test split: "test AUC 0.849, the served model's 0.815 on the same test split"."""
    from pipeline.config import BASELINE_MODEL, CANDIDATE_MODEL

    title, values = _overall_blessing_metric(evaluation_uri)
    if BASELINE_MODEL not in values:
        return "nothing: no model was blessed before this one"
    return (
        f"test {title} {values[CANDIDATE_MODEL]:.3f}, the served model's "
        f"{values[BASELINE_MODEL]:.3f} on the same test split"
    )


def blessing(evaluation_uri: str) -> str:
    """Which metric the blessing judged and what it asked, in one line.

    From the thresholds the Evaluator applied (its `eval_config.json`) and the
    candidate's overall value: "test macro AUC 0.912 >= 0.700 (min_auc, overall
    and on every slice; at most 0.010 below the served model's)". TFX drops
    the change threshold when no model was blessed before; the line then
    names none.

    Returns:
      The line, or "" when the evaluation holds no thresholds.
    """
    from pipeline.config import CANDIDATE_MODEL
    from tensorflow_model_analysis.writers.eval_config_writer import load_eval_run

    eval_config = load_eval_run(evaluation_uri)[0]
    if eval_config is None:
        return ""
    minimum = drop = None
    where = "overall and on every slice"
    for spec in eval_config.metrics_specs:
        for metric in spec.metrics:
            if metric.threshold.HasField("value_threshold"):
                minimum = metric.threshold.value_threshold.lower_bound.value
            for per_slice in metric.per_slice_thresholds:
                if per_slice.threshold.HasField("change_threshold"):
                    drop = -per_slice.threshold.change_threshold.absolute.value
                if per_slice.threshold.HasField("value_threshold"):
                    # Three or more classes: the minimum holds for the whole test split.
                    minimum = per_slice.threshold.value_threshold.lower_bound.value
                    where = "overall; slices are reported, not gated"
    if minimum is None:
        return ""
    title, values = _overall_blessing_metric(evaluation_uri)
    value = values.get(CANDIDATE_MODEL)
    if value is None:
        return ""
    relation = ">=" if value >= minimum else "<"
    served = f"; at most {drop:.3f} below the served model's" if drop is not None else ""
    return f"test {title} {value:.3f} {relation} {minimum:.3f} (min_auc, {where}{served})"


def _overall_blessing_metric(evaluation_uri: str) -> tuple[str, dict[str, float]]:
    """The metric the blessing judges, overall: (its title, model name -> value).

    That is the AUC of a two-class label, or the macro-averaged AUC of three
    or more classes: the one AUC not of a single class (per-class AUCs carry
    a class id).
    """
    import tensorflow_model_analysis as tfma

    from pipeline.config import CANDIDATE_MODEL

    title, found = "AUC", {}
    for metrics in tfma.load_metrics(evaluation_uri):
        if tfma.slicer.deserialize_slice_key(metrics.slice_key):
            continue
        for item in metrics.metric_keys_and_values:
            key = item.key
            if key.name == "auc" and not key.is_diff and not key.HasField("sub_key"):
                # A lone model (no baseline) is unnamed: it is the candidate.
                found[key.model_name or CANDIDATE_MODEL] = item.value.double_value.value
                title = _metric_title(key)
    return title, found


def collect(store: metadata_store.MetadataStore, run_id: str) -> RunVerdict:
    """Reads what became of the run's model from its DataGate, Evaluator and Pusher."""
    failure = gate_failure(store, run_id)
    if failure is not None:
        from components.data_gate.verdict import first_line

        return RunVerdict(GATED, first_line(failure), tuple(failure.splitlines()))
    outputs = run_results.outputs_by_component(store, run_id)
    gate = [a for a in outputs.get(GATE_COMPONENT, []) if a.type == GATE_REPORT_TYPE]
    lines = _gate_report_lines(max(gate, key=lambda a: a.id).uri) if gate else ()
    pushed = [a for a in outputs.get("Pusher", []) if a.type == names.PUSHED_MODEL]
    evaluation = [a for a in outputs.get("Evaluator", []) if a.type == names.MODEL_EVALUATION]
    newest = max(evaluation, key=lambda a: a.id) if evaluation else None
    evaluated = newest.uri if newest else None
    compared = comparison(evaluated) if evaluated else ""
    judged = blessing(evaluated) if evaluated else ""
    if not pushed:
        return RunVerdict("", "", lines, compared, judged)
    if names.was_pushed(max(pushed, key=lambda a: a.id)):
        return RunVerdict(PUSHED, "", lines, compared, judged)
    reason = blessing_reason(evaluated, run_results.same_slices(newest)) if newest else ""
    return RunVerdict(NOT_PUSHED, reason, lines, compared, judged)


def record(store: metadata_store.MetadataStore, run_id: str, verdict: RunVerdict) -> None:
    """Writes the status and reason on the run's context."""
    context = names.run_context(store, run_id)
    if context is None or not verdict.status:
        return
    context.custom_properties[VERDICT_PROPERTY].string_value = verdict.status
    context.custom_properties[REASON_PROPERTY].string_value = verdict.reason
    store.put_contexts([context])


def recorded(context: metadata_store_pb2.Context) -> tuple[str, str]:
    """(status, reason) as `record` wrote them on a run context; ("", "") if not."""
    props: Any = context.custom_properties
    status = props[VERDICT_PROPERTY].string_value if VERDICT_PROPERTY in props else ""
    reason = props[REASON_PROPERTY].string_value if REASON_PROPERTY in props else ""
    return status, reason
