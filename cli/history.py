"""`cascade history`: training rows per source, growth and test metric, run by run.

    cascade history [--metric METRIC] [--plot FILE.png] [--format json]

Did more data help? The table lists each run's spans read (when the sources
arrive as spans), training rows per source and in all, the growth from the run before (with a warning when it is
implausible) and the overall test metric (by default the one the blessing
judges: AUC, or the macro AUC for three or more classes); `--plot` draws rows
against the metric. Read-only; no TensorFlow import.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from cli import flags
from cli.lineage import add_format_flag, open_store
from core.errors import CascadeError
from core.output_paths import check_output_file
from metadata.history import RunPoint, growth_warnings
from metadata.run_results import (
    CLASS_SEPARATOR,
    METRICS,
    MULTI_CLASS_METRICS,
    PER_CLASS_METRICS,
    is_metric,
)

# What --metric accepts (example counts are not a metric to follow).
METRIC_CHOICES = [m for m in dict.fromkeys(METRICS + MULTI_CLASS_METRICS) if m != "example_count"]
PER_CLASS_CHOICES = ", ".join(f"{m}{CLASS_SEPARATOR}CLASS" for m in PER_CLASS_METRICS)


def add_commands(commands: Any, shared: argparse.ArgumentParser) -> None:
    """Adds `history` to the `cascade` command tree."""
    parser = commands.add_parser(
        "history",
        parents=[shared],
        help="training rows per source, growth and test metric, run by run",
        description="Training rows per source, growth and the test metric, run by run.",
    )
    parser.add_argument("--pipeline", help="pipeline name (default: the store's only one)")
    parser.add_argument(
        "--metric",
        type=metric_name,
        help=f"the overall test metric to show: {', '.join(METRIC_CHOICES)}, or per class "
        f"{PER_CLASS_CHOICES} (default auc, or macro_auc for three or more classes)",
    )
    parser.add_argument("--plot", metavar="FILE.png", help="also draw rows vs metric to FILE.png")
    flags.add_force_flag(parser, "overwrite the --plot file if it exists")
    add_format_flag(parser)
    parser.set_defaults(handler=run)


def metric_name(text: str) -> str:
    """The --metric value, checked.

    Raises:
      argparse.ArgumentTypeError: It names no recorded metric (listing them).
    """
    if is_metric(text) and text != "example_count":
        return text
    raise argparse.ArgumentTypeError(
        f"{text!r} is not a recorded metric; choose one of {', '.join(METRIC_CHOICES)}, "
        f"or per class {PER_CLASS_CHOICES} (e.g. recall{CLASS_SEPARATOR}Adelie)"
    )


def run(args: argparse.Namespace) -> str:
    """The table (or JSON), and the plot when --plot is given.

    Raises:
      CascadeError: A bad --plot file (one that exists, without --force), or the
        store or pipeline cannot be found.
    """
    from metadata import history

    if args.plot and not args.plot.lower().endswith(".png"):
        raise CascadeError(f"--plot {args.plot}: the plot is a PNG; name the file *.png")
    if args.plot:
        check_output_file(args.plot, "--plot", args.force)
    store = open_store(args)
    metric = args.metric or history.default_metric(store, args.pipeline)
    name, points = history.runs_history(store, args.pipeline, metric)
    if args.format == "json":
        text = json.dumps(history.to_json(name, points, metric), indent=2)
    else:
        text = format_history(name, points, metric)
    if args.plot:
        from cli.history_plot import plot_history

        try:
            plotted = len(plot_history(name, points, metric, args.plot))
        except OSError as e:
            raise CascadeError(f"--plot {args.plot}: cannot write it: {e.strerror or e}") from e
        if args.format != "json":
            text += f"\n\nwrote {args.plot} ({plotted} run{'s' if plotted != 1 else ''} plotted)"
    return text


def _spans_cell(spans_per_source: dict[str, list[int]]) -> str:
    """The spans a run read: "spans 1-2" when every source read the same ones,
    else per source ("web spans 1-2, mobile span 2"); "-" when unspanned."""
    from core import spans

    if not spans_per_source:
        return "-"
    distinct = {tuple(numbers) for numbers in spans_per_source.values()}
    if len(distinct) == 1:
        return spans.describe(list(distinct.pop()))
    return ", ".join(f"{s} {spans.describe(n)}" for s, n in spans_per_source.items())


def format_history(pipeline: str, points: list[RunPoint], metric: str) -> str:
    """A table: run, the spans read (spanned sources), training rows per source and
    in all, growth, metric."""
    sources = sorted({s for p in points for s in p.training_rows_per_source})
    spanned = any(p.spans_per_source for p in points)
    header = ["#", "run", *(["spans"] if spanned else []), *sources]
    header += ["train rows", "growth", f"test {metric}"]
    table = [header]
    for i, p in enumerate(points, 1):
        table.append(
            [
                str(i),
                p.run,
                *([_spans_cell(p.spans_per_source)] if spanned else []),
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
    left = {1, 2} if spanned else {1}
    for line in table:
        cells = [
            v.ljust(widths[i]) if i in left else v.rjust(widths[i]) for i, v in enumerate(line)
        ]
        lines.append("  " + "  ".join(cells))
    if not points:
        lines.append("  (no runs)")
    warnings = growth_warnings(points)
    if warnings:
        lines += [""] + warnings
    return "\n".join(lines)
