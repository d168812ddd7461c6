"""The run summary `run_local.py` prints, as text: components, cleaning, splits, metrics."""

from __future__ import annotations

from typing import Optional

from metadata.run_results import CLASS_SEPARATOR, PER_CLASS_METRICS, metric_title
from metadata.run_summary import RunSummary
from metadata.run_verdict import GATED, NOT_PUSHED, RunVerdict

# The stratum part naming the label class (StratifiedSplit's `label=<class>`).
LABEL_PART = "label"


def _by_key(per_stratum: dict[str, int], skip: tuple[str, ...] = ()) -> str:
    """Totals per stratum component: {"label=1|source=web": 3} -> "label 1: 3 | source web: 3".

    Args:
      per_stratum: Stratum -> rows.
      skip: Components left out (the label, when the classes have a table of their own).
    """
    totals: dict[str, dict[str, int]] = {}
    for stratum, n in per_stratum.items():
        for part in stratum.split("|"):
            key, _, value = part.partition("=")
            if key in skip:
                continue
            totals.setdefault(key, {})
            totals[key][value] = totals[key].get(value, 0) + n
    return " | ".join(
        f"{key} " + ", ".join(f"{value}: {n:,}" for value, n in sorted(values.items()))
        for key, values in totals.items()
    )


def _cleaning_lines(accounting: dict, rejected_uri: Optional[str]) -> list[str]:
    """The cleaning accounting: rows in, kept and removed per reason."""
    per_source = ", ".join(
        f"{source} {accounting['kept_per_source'].get(source, 0):,} of {n:,}"
        for source, n in accounting["rows_in_per_source"].items()
    )
    removed = ", ".join(f"{reason} {n:,}" for reason, n in accounting["removed_per_reason"].items())
    lines = [
        f"  cleaning: kept {accounting['kept']:,} of {accounting['rows_in']:,} rows ({per_source})",
        f"            removed: {removed or 'none'}; "
        f"{accounting['label_conflicts']:,} label conflicts among merged rows",
    ]
    if accounting.get("spam_ids") is not None:
        lines.append(
            f"            spam list: {accounting['spam_ids']:,} ids "
            f"({accounting['spam_ids_not_in_data']:,} not in the data)"
        )
    if rejected_uri:
        lines.append(f"            removed rows, each with its reject_reason: {rejected_uri}")
    return lines


def _small_strata_lines(small: dict[str, dict[str, int]]) -> list[str]:
    """The strata too small for every split to get a row: their rows, and where they went."""
    width = max(len(stratum) for stratum in small)
    lines = ["  small strata (fewer rows than there are splits, so some splits get none):"]
    for stratum, per_split in small.items():
        rows = sum(per_split.values())
        went = ", ".join(f"{split} {n:,}" for split, n in per_split.items())
        unit = "row" if rows == 1 else "rows"
        lines.append(f"    {stratum:<{width}}  {rows:>2,} {unit}: {went}")
    return lines


def _class_lines(class_counts: dict[str, dict[str, int]]) -> list[str]:
    """Rows per label class: per split, in all, and each class's share."""
    splits = list(class_counts)
    classes = list(dict.fromkeys(c for by_class in class_counts.values() for c in by_class))
    totals = {c: sum(by_class.get(c, 0) for by_class in class_counts.values()) for c in classes}
    rows = sum(totals.values())
    width = max([len(c) for c in classes] + [len("class")])
    columns = [max(len(split), 7) for split in splits]
    lines = [
        "  rows per class:",
        f"    {'class':<{width}}"
        + "".join(f"  {split:>{w}}" for split, w in zip(splits, columns))
        + f"  {'all':>7}  share",
    ]
    for c in classes:
        cells = "".join(
            f"  {class_counts[split].get(c, 0):>{w},}" for split, w in zip(splits, columns)
        )
        share = totals[c] / rows if rows else 0.0
        lines.append(f"    {c:<{width}}{cells}  {totals[c]:>7,}  {share:>5.0%}")
    return lines


_METRIC_COLUMNS = ("auc", "binary_accuracy", "precision", "recall")
_MULTI_CLASS_COLUMNS = ("accuracy", "macro_auc")


def _value_cell(value: Optional[float], width: int) -> str:
    return f"{value:>{width}.3f}" if value is not None else f"{'-':>{width}}"


def _evaluation_lines(evaluation: dict[str, dict[str, float]]) -> list[str]:
    """The test metrics per slice: overall, per source, per labelling method.

    Two classes: AUC, accuracy, precision and recall. Three or more: accuracy
    and the macro AUC per slice, then each class's one-vs-rest AUC,
    precision and recall on the whole test split.
    """
    overall = next(iter(evaluation.values()), {})
    multi_class = any(key in overall for key in _MULTI_CLASS_COLUMNS)
    columns = _MULTI_CLASS_COLUMNS if multi_class else _METRIC_COLUMNS
    width = max(len(name) for name in evaluation) + 2
    header = f"    {'slice':<{width}}{'examples':>8}" + "".join(
        f"{metric_title(key):>11}" for key in columns
    )
    lines = ["  test metrics by slice (Evaluator):", header]
    for name, metrics in evaluation.items():
        count = metrics.get("example_count")
        row = f"    {name:<{width}}{int(count) if count is not None else '-':>8}"
        row += "".join(_value_cell(metrics.get(key), 11) for key in columns)
        lines.append(row)
    if multi_class:
        lines += [""] + _per_class_lines(overall)
    return lines


def _per_class_lines(overall: dict[str, float]) -> list[str]:
    """Each class's one-vs-rest AUC, precision and recall on the whole test split."""
    classes = list(
        dict.fromkeys(
            name.partition(CLASS_SEPARATOR)[2] for name in overall if CLASS_SEPARATOR in name
        )
    )
    width = max([len(c) for c in classes] + [len("class")]) + 2
    header = f"    {'class':<{width}}" + "".join(
        f"{metric_title(m):>11}" for m in PER_CLASS_METRICS
    )
    lines = ["  test metrics by class (overall, each class against the rest):", header]
    for c in classes:
        lines.append(
            f"    {c:<{width}}"
            + "".join(
                _value_cell(overall.get(f"{m}{CLASS_SEPARATOR}{c}"), 11) for m in PER_CLASS_METRICS
            )
        )
    return lines


def _confusion_lines(matrix: dict[str, dict[str, float]]) -> list[str]:
    """The overall test confusion matrix: a row per actual class, a column per predicted one."""
    actual = list(matrix)
    predicted = list(dict.fromkeys(p for row in matrix.values() for p in row))
    corner = "actual \\ predicted"
    width = max([len(a) for a in actual] + [len(corner)])
    columns = [max(len(p), 6) for p in predicted]
    lines = [
        "  test confusion matrix (overall; rows: actual class, columns: predicted class):",
        f"    {corner:<{width}}" + "".join(f"  {p:>{w}}" for p, w in zip(predicted, columns)),
    ]
    for a in actual:
        cells = "".join(
            f"  {_count_text(matrix[a].get(p, 0)):>{w}}" for p, w in zip(predicted, columns)
        )
        lines.append(f"    {a:<{width}}{cells}")
    return lines


def _count_text(n: float) -> str:
    """A row count: `1,204`, or `12.5` when the rows were weighted."""
    return f"{int(n):,}" if float(n).is_integer() else f"{n:,.1f}"


def _spans_by_source(spans_read: dict[str, list[int]]) -> list[str]:
    """One text per source, e.g. `web spans 1-2`, in the order they were ingested."""
    from core import spans

    return [f"{source} {spans.describe(numbers)}" for source, numbers in spans_read.items()]


def format_summary(
    summary: RunSummary,
    output_root: str,
    store_name: str,
    verdict: Optional[RunVerdict] = None,
) -> str:
    """Renders a run summary as a short plain-text table and pointers.

    Args:
      summary: The run as MLMD holds it.
      output_root: Where its files are.
      store_name: Its metadata store, as messages name it.
      verdict: The data gate's tables and what became of the model, if known.
    """
    width = max([len(c.component_id) for c in summary.components] + [9])
    lines = [f"Run {summary.run_id}", ""]
    lines.append(f"  {'component':<{width}}  {'status':<9} {'wall time':>9}")
    for c in summary.components:
        lines.append(f"  {c.component_id:<{width}}  {c.state:<9} {c.seconds:>8.1f}s")
    if summary.spans:
        lines += ["", "  spans read: " + "; ".join(_spans_by_source(summary.spans))]
    if summary.cleaning:
        lines += [""] + _cleaning_lines(summary.cleaning, summary.rejected_uri)
    if summary.split_counts:
        # With a table per class, the per-split line names the other strata keys.
        skip = (LABEL_PART,) if summary.class_counts else ()
        lines.append("")
        lines.append("  rows per split:")
        for split, per_stratum in summary.split_counts.items():
            line = f"    {split:<6} {sum(per_stratum.values()):>7,}  {_by_key(per_stratum, skip)}"
            lines.append(line.rstrip())
    if summary.class_counts:
        lines += [""] + _class_lines(summary.class_counts)
    if summary.small_strata:
        lines += [""] + _small_strata_lines(summary.small_strata)
    if verdict is not None and verdict.gate:
        lines += ["", "  data gate:"] + [f"  {line}" for line in verdict.gate]
    if summary.evaluation:
        lines += [""] + _evaluation_lines(summary.evaluation)
    if summary.confusion_matrix:
        lines += [""] + _confusion_lines(summary.confusion_matrix)
    lines += [
        "",
        f"  outputs:        {output_root}",
        f"  metadata store: {store_name}",
        f"  pushed model:   {_pushed_line(summary, verdict)}",
    ]
    if verdict is not None and verdict.blessing:
        lines.append(f"  blessing:       {verdict.blessing}")
    if verdict is not None and verdict.comparison:
        lines.append(f"  compared with:  {verdict.comparison}")
    return "\n".join(lines)


def _pushed_line(summary: RunSummary, verdict: Optional[RunVerdict]) -> str:
    """Where the model went, or plainly why it was not pushed."""
    if summary.pushed_model:
        return summary.pushed_model
    if verdict is not None and verdict.status == GATED:
        return "none (the data gate stopped the run before Transform)"
    if verdict is not None and verdict.status == NOT_PUSHED and verdict.reason:
        return f"none: not pushed: {verdict.reason}"
    return "none (not blessed by the Evaluator)"
