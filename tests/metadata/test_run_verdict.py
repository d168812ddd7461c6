"""Why a model was not pushed, read from TFMA's own files (`metadata.run_verdict`)."""

from __future__ import annotations

from pathlib import Path

from metadata.run_verdict import blessing_reason


def _write(path: Path, records: list) -> None:
    import tensorflow as tf

    with tf.io.TFRecordWriter(str(path)) as writer:
        for record in records:
            writer.write(record.SerializeToString())


def _evaluation(folder: Path, failures: list[tuple[str, object]]) -> str:
    """An Evaluator output folder: overall AUC of both models, and the given failures."""
    from tensorflow_model_analysis.proto import metrics_for_slice_pb2, validation_result_pb2

    metrics = metrics_for_slice_pb2.MetricsForSlice()
    for model, auc in (("candidate", 0.7012), ("baseline", 0.7534)):
        item = metrics.metric_keys_and_values.add()
        item.key.name, item.key.model_name = "auc", model
        item.value.double_value.value = auc
    _write(folder / "metrics-00000-of-00001.tfrecord", [metrics])
    result = validation_result_pb2.ValidationResult(validation_ok=not failures)
    for slice_column, failure in failures:
        per_slice = result.metric_validations_per_slice.add()
        if slice_column:
            key = per_slice.slice_key.single_slice_keys.add()
            key.column, key.bytes_value = slice_column, b"web"
        per_slice.failures.append(failure)
    _write(folder / "validations-00000-of-00001.tfrecord", [result])
    return str(folder)


def _failure(is_diff: bool, value: float):
    from tensorflow_model_analysis.proto import validation_result_pb2

    failure = validation_result_pb2.ValidationFailure()
    failure.metric_key.name = "auc"
    failure.metric_key.model_name = "candidate"
    failure.metric_key.is_diff = is_diff
    failure.metric_value.double_value.value = value
    if is_diff:
        failure.metric_threshold.change_threshold.absolute.value = -0.02
    else:
        failure.metric_threshold.value_threshold.lower_bound.value = 0.7
    return failure


def test_a_blessed_model_has_no_reason(tmp_path: Path) -> None:
    assert blessing_reason(_evaluation(tmp_path, [])) == ""


def test_a_drop_names_both_models_auc_and_the_allowed_drop(tmp_path: Path) -> None:
    folder = _evaluation(tmp_path, [("", _failure(is_diff=True, value=-0.0522))])
    assert blessing_reason(folder) == "test AUC 0.701 vs serving model 0.753 (allowed drop 0.020)"


def test_a_slice_below_the_minimum_is_named(tmp_path: Path) -> None:
    folder = _evaluation(
        tmp_path,
        [("source", _failure(is_diff=False, value=0.6123)), ("", _failure(True, -0.0522))],
    )
    assert blessing_reason(folder) == (
        "test AUC on source=web 0.612 below the minimum 0.700; "
        "test AUC 0.701 vs serving model 0.753 (allowed drop 0.020)"
    )


def test_a_failing_slice_is_named_with_the_slices_of_the_same_rows(tmp_path: Path) -> None:
    folder = _evaluation(tmp_path, [("source", _failure(is_diff=False, value=0.6123))])
    same_as = {"labelling_method=in_house": "source=web", "labelling_method=crowd": "source=app"}
    assert blessing_reason(folder, same_as) == (
        "test AUC on source=web 0.612 below the minimum 0.700; "
        "test AUC on labelling_method=in_house 0.612 below the minimum 0.700"
    )


def test_the_comparison_names_both_models_or_says_there_was_none(tmp_path: Path) -> None:
    from metadata.run_verdict import comparison

    folder = _evaluation(tmp_path, [])
    assert comparison(folder) == "test AUC 0.701, the served model's 0.753 on the same test split"


def test_a_first_model_is_compared_with_nothing(tmp_path: Path) -> None:
    import tensorflow as tf  # noqa: F401 - the writer below
    from tensorflow_model_analysis.proto import metrics_for_slice_pb2

    from metadata.run_verdict import comparison

    metrics = metrics_for_slice_pb2.MetricsForSlice()
    item = metrics.metric_keys_and_values.add()
    item.key.name = "auc"
    item.value.double_value.value = 0.8
    _write(tmp_path / "metrics-00000-of-00001.tfrecord", [metrics])
    assert comparison(str(tmp_path)) == "nothing: no model was blessed before this one"


# --- from real TFMA output (tests/metadata/conftest.py) ---------------------------------------


def test_three_classes_are_judged_on_the_macro_auc(penguins_not_blessed: str) -> None:
    from metadata.run_verdict import blessing, comparison

    reasons = blessing_reason(penguins_not_blessed).split("; ")
    # The minimum holds for the whole test split only: slices are not gated.
    assert sorted(reasons) == sorted(
        [
            "test macro AUC 0.850 below the minimum 0.900",
            "test macro AUC 0.850 vs serving model 1.000 (allowed drop 0.010)",
        ]
    )
    assert comparison(penguins_not_blessed) == (
        "test macro AUC 0.850, the served model's 1.000 on the same test split"
    )
    assert blessing(penguins_not_blessed) == (
        "test macro AUC 0.850 < 0.900 "
        "(min_auc, overall; slices are reported, not gated; at most 0.010 below the "
        "served model's)"
    )


def test_a_first_model_is_judged_on_the_minimum_alone(penguins_first: str) -> None:
    from metadata.run_verdict import blessing, comparison

    assert blessing_reason(penguins_first) == ""
    assert comparison(penguins_first) == "nothing: no model was blessed before this one"
    assert blessing(penguins_first) == (
        "test macro AUC 0.850 >= 0.700 (min_auc, overall; slices are reported, not gated)"
    )


def test_two_classes_are_judged_on_the_auc(binary_not_blessed: str) -> None:
    from metadata.run_verdict import blessing, comparison

    assert blessing_reason(binary_not_blessed) == (
        "test AUC 0.900 vs serving model 1.000 (allowed drop 0.010)"
    )
    assert comparison(binary_not_blessed) == (
        "test AUC 0.900, the served model's 1.000 on the same test split"
    )
    assert blessing(binary_not_blessed) == (
        "test AUC 0.900 >= 0.700 "
        "(min_auc, overall and on every slice; at most 0.010 below the served model's)"
    )


def test_an_evaluation_without_its_config_names_no_blessing(tmp_path: Path) -> None:
    from metadata.run_verdict import blessing

    assert blessing(_evaluation(tmp_path, [])) == ""
