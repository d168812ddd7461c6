"""Growing the data run by run: `history` with its 10x warning and plot.

Three real runs into one store on a growing slice of the demo data: 3x from
the first to the second run, about 12x from the second to the third. Before
the third run the partner feed's labelling changes from crowd to outsourced,
so provenance filters see the change.
"""

from __future__ import annotations

import json

import pytest
from PIL import Image

from metadata import history
from cli.history_plot import plot_history
from cli.main import execute
from tests.e2e import mlmd_queries
from tests.e2e.helpers import DEMO_DATA, copy_rows, demo_config_in, run_cascade

pytestmark = pytest.mark.e2e
# Rows per source in each run.
GROWTH = [
    {"web": 40, "mobile": 30, "partner": 30},
    {"web": 120, "mobile": 90, "partner": 90},
    {"web": 1600, "mobile": 1100, "partner": 900},
]


@pytest.fixture(scope="module")
def grown(tmp_path_factory):
    """Runs the pipeline three times on growing data; returns the store's path."""
    root = tmp_path_factory.mktemp("growth")
    text = demo_config_in(root, train_steps=60, min_auc=0.0)
    config = root / "growth.yaml"
    for i, rows in enumerate(GROWTH):
        if i == 2:
            text = text.replace("labelling_method: crowd", "labelling_method: outsourced")
        config.write_text(text)
        for source, n in rows.items():
            copy_rows(DEMO_DATA / source / "users.csv", root / "data" / source / "users.csv", n)
        result = run_cascade(["run", "--config", str(config)])
        assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    return root / "outputs" / "metadata.sqlite"


def _cli(store_path, *args) -> str:
    """`cascade ARGS --metadata STORE`, in this process: the report."""
    return execute([*args, "--metadata", str(store_path)])


def test_history_lists_every_run_with_rows_per_source_growth_and_metric(grown):
    store_path = grown
    shown = json.loads(_cli(store_path, "history", "--format", "json"))
    runs = shown["runs"]
    assert len(runs) == 3
    totals = [r["training_rows"] for r in runs]
    assert totals[0] < totals[1] < totals[2]
    for run, rows in zip(runs, GROWTH):
        assert set(run["training_rows_per_source"]) == set(rows)
        assert 0.0 <= run["metric"] <= 1.0
    assert runs[0]["growth"] is None
    assert runs[1]["growth"] == pytest.approx(totals[1] / totals[0])
    assert 2 < runs[1]["growth"] < 4 and runs[2]["growth"] > 10


def test_the_10x_warning_fires_on_the_12x_run_and_not_on_the_3x_one(grown):
    store_path = grown
    shown = json.loads(_cli(store_path, "history", "--format", "json"))
    runs = shown["runs"]
    assert len(shown["warnings"]) == 1
    assert f"run {runs[2]['run']} grew the training data" in shown["warnings"][0]
    assert f"over run {runs[1]['run']}" in shown["warnings"][0]
    text = _cli(store_path, "history")
    assert text.splitlines()[-1] == shown["warnings"][0]


def test_history_plot_is_a_png_with_one_point_per_run(grown, tmp_path):
    store_path = grown
    png = tmp_path / "history.png"
    text = _cli(store_path, "history", "--plot", str(png))
    assert text.endswith(f"wrote {png} (3 runs plotted)")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(png) as image:
        image.verify()
    name, points = history.runs_history(mlmd_queries.open_store(str(store_path)), None)
    plotted = plot_history(name, points, "auc", str(tmp_path / "again.png"))
    assert plotted == [(p.training_rows, p.metric) for p in points]


def test_provenance_filter_follows_the_labelling_change(grown):
    store_path = grown
    crowd = json.loads(
        _cli(
            store_path,
            "lineage",
            "downstream",
            "--where",
            "labelling_method=crowd",
            "--type",
            "Model",
            "--format",
            "json",
        )
    )
    runs = [r["run"] for r in json.loads(_cli(store_path, "history", "--format", "json"))["runs"]]
    # Runs 1 and 2 trained on crowd-labelled partner data; run 3's partner data was outsourced.
    assert crowd["runs"] == sorted(runs[:2])
    assert len([a for a in crowd["artifacts"] if a["type"] == "Model"]) == 2
    inventory = json.loads(_cli(store_path, "inventory", "--format", "json"))
    partner = next(s for s in inventory["sources"] if s["source"] == "partner")
    assert partner["declared"]["labelling_method"] == "outsourced"
    assert partner["measured"]["rows"] == GROWTH[2]["partner"]
