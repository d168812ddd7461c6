"""The `history` command's table: rows per source, growth and metric, with warnings."""

from __future__ import annotations

from metadata.history import RunPoint, growth_warnings


def format_history(pipeline: str, points: list[RunPoint], metric: str) -> str:
    """A table: run, training rows per source and in all, growth, metric."""
    sources = sorted({s for p in points for s in p.training_rows_per_source})
    header = ["#", "run", *sources, "train rows", "growth", f"test {metric}"]
    table = [header]
    for i, p in enumerate(points, 1):
        table.append(
            [
                str(i),
                p.run,
                *(
                    f"{p.training_rows_per_source[s]:,}" if s in p.training_rows_per_source else "-"
                    for s in sources
                ),
                f"{p.training_rows:,}" if p.training_rows is not None else "-",
                f"{p.growth:.2f}x" if p.growth is not None else "-",
                f"{p.metric:.3f}" if p.metric is not None else "-",
            ]
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = [f"Training data and test {metric} of {pipeline}, run by run", ""]
    for line in table:
        cells = [v.ljust(widths[i]) if i == 1 else v.rjust(widths[i]) for i, v in enumerate(line)]
        lines.append("  " + "  ".join(cells))
    if not points:
        lines.append("  (no runs)")
    warnings = growth_warnings(points)
    if warnings:
        lines += [""] + warnings
    return "\n".join(lines)
