"""Draws a pipeline's history: training rows (log scale) against the test metric.

One point per run that recorded both, joined in run order and numbered as in
the `history` table, so a user sees whether more data still helps.
"""

from __future__ import annotations

import io

from metadata.history import RunPoint
from metadata.run_results import metric_title


def plot_history(
    pipeline: str, points: list[RunPoint], metric: str, path: str
) -> list[tuple[int, float]]:
    """Writes the plot as a PNG (local or `gs://`).

    Args:
      pipeline: The pipeline's name (the title).
      points: The runs, oldest first (`history.runs_history`).
      metric: The metric's name (the y axis).
      path: Where to write the PNG.

    Returns:
      The plotted (training rows, metric) points, in run order.
    """
    # The Agg canvas draws without a display and without pyplot's global state.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    numbered = [(i, p) for i, p in enumerate(points, 1) if p.training_rows and p.metric is not None]
    xy = [(p.training_rows, p.metric) for _, p in numbered]
    figure = Figure(figsize=(6.4, 4.0), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    if xy:
        axes.plot([x for x, _ in xy], [y for _, y in xy], marker="o", color="#1f77b4")
        for (i, _), (x, y) in zip(numbered, xy):
            axes.annotate(f"#{i}", (x, y), textcoords="offset points", xytext=(4, 6), fontsize=8)
        axes.set_xscale("log")
        # Each run's own row count as a tick reads better than powers of ten.
        axes.minorticks_off()
        axes.set_xticks(sorted({x for x, _ in xy}), [f"{x:,}" for x in sorted({x for x, _ in xy})])
    shown = metric_title(metric)
    axes.set_xlabel("training rows (log scale)")
    axes.set_ylabel(f"test {shown}")
    axes.set_title(f"{pipeline}: test {shown} vs training rows, {len(xy)} runs")
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    if "://" in path:
        # fileio loads TensorFlow (seconds); only a remote path needs it.
        # The module tfx.v1.dsl.io.fileio re-exports; importing tfx.v1 adds ~8 s to a command.
        from tfx.dsl.io import fileio

        with fileio.open(path, "wb") as f:
            f.write(buffer.getvalue())
    else:
        with open(path, "wb") as f:
            f.write(buffer.getvalue())
    return xy
