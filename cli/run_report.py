"""The run summary `run_local.py` prints, as text: components, cleaning, splits, metrics."""

from __future__ import annotations

from typing import Optional

from metadata.run_summary import RunSummary
from metadata.run_verdict import GATED, NOT_PUSHED, RunVerdict


def _by_key(per_stratum: dict[str, int]) -> str:
    """Totals per stratum component: {"label=1|source=web": 3} -> "label 1: 3 | source web: 3"."""
    totals: dict[str, dict[str, int]] = {}
    for stratum, n in per_stratum.items():
        for part in stratum.split("|"):
            key, _, value = part.partition("=")
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


_METRIC_COLUMNS = (
    ("AUC", "auc"),
    ("accuracy", "binary_accuracy"),
    ("precision", "precision"),
    ("recall", "recall"),
)


def _evaluation_lines(evaluation: dict[str, dict[str, float]]) -> list[str]:
    """The test metrics per slice: overall, per source, per labelling method."""
    width = max(len(name) for name in evaluation) + 2
    header = f"    {'slice':<{width}}{'examples':>8}" + "".join(
        f"{title:>11}" for title, _ in _METRIC_COLUMNS
    )
    lines = ["  test metrics by slice (Evaluator):", header]
    for name, metrics in evaluation.items():
        count = metrics.get("example_count")
        row = f"    {name:<{width}}{int(count) if count is not None else '-':>8}"
        for _, key in _METRIC_COLUMNS:
            value = metrics.get(key)
            row += f"{value:>11.3f}" if value is not None else f"{'-':>11}"
        lines.append(row)
    return lines


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
        lines.append("")
        lines.append("  rows per split:")
        for split, per_stratum in summary.split_counts.items():
            lines.append(f"    {split:<6} {sum(per_stratum.values()):>7,}  {_by_key(per_stratum)}")
    if summary.small_strata:
        lines += [""] + _small_strata_lines(summary.small_strata)
    if verdict is not None and verdict.gate:
        lines += ["", "  data gate:"] + [f"  {line}" for line in verdict.gate]
    if summary.evaluation:
        lines += [""] + _evaluation_lines(summary.evaluation)
    lines += [
        "",
        f"  outputs:        {output_root}",
        f"  metadata store: {store_name}",
        f"  pushed model:   {_pushed_line(summary, verdict)}",
    ]
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
