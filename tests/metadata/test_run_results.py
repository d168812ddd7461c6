"""Training rows per source, read from real TFDV statistics (as StatisticsGen writes them)."""

from __future__ import annotations

import pytest

from metadata import run_results


def _statistics_folder(tmp_path, counts: dict[str, int]) -> str:
    """Runs TFDV on a CSV with `counts` rows per source; returns the artifact-like folder."""
    import tensorflow_data_validation as tfdv

    data = tmp_path / "train.csv"
    lines = ["source,x"] + [f"{s},1" for s, n in counts.items() for _ in range(n)]
    data.write_text("\n".join(lines) + "\n")
    statistics = tfdv.generate_statistics_from_csv(str(data), output_path=str(tmp_path / "s.pb"))
    split = tmp_path / "statistics" / "Split-train"
    split.mkdir(parents=True)
    (split / "FeatureStats.pb").write_bytes(statistics.SerializeToString())
    return str(tmp_path / "statistics")


@pytest.mark.parametrize("sources", [3, 25])
def test_rows_per_source_are_exact_even_beyond_tfdv_top_20(tmp_path, sources):
    counts = {f"s{i:02d}": i + 1 for i in range(sources)}
    assert run_results.read_rows_per_source(_statistics_folder(tmp_path, counts)) == counts


def test_a_split_without_a_source_feature_has_no_rows_per_source(tmp_path):
    import tensorflow_data_validation as tfdv

    data = tmp_path / "train.csv"
    data.write_text("x\n1\n2\n")
    statistics = tfdv.generate_statistics_from_csv(str(data), output_path=str(tmp_path / "s.pb"))
    split = tmp_path / "statistics" / "Split-train"
    split.mkdir(parents=True)
    (split / "FeatureStats.pb").write_bytes(statistics.SerializeToString())
    assert run_results.read_rows_per_source(str(tmp_path / "statistics")) == {}
