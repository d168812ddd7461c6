"""Real TFMA evaluations the metadata tests read, each written once per session."""

from __future__ import annotations

import pytest

from tests.metadata.tfma_evaluations import Row, evaluate

PENGUINS = ("Adelie", "Chinstrap", "Gentoo")


def _probabilities(predicted: int) -> list[float]:
    return [0.8 if k == predicted else 0.1 for k in range(len(PENGUINS))]


def penguin_rows(with_baseline: bool) -> list[Row]:
    """10 rows per class, half from each source; the candidate takes the next
    class for 2 rows of each (one per source), the baseline is always right.

    So the candidate's accuracy is 24/30 = 0.8, each class's precision and
    recall 8/10, and each class's one-vs-rest AUC 0.85 (scores 0.8 or 0.1:
    (8 x 18 + ties (8 x 2 + 2 x 18) / 2) / (10 x 20)), overall and per source.
    """
    return [
        Row(
            label=y,
            candidate=_probabilities((y + 1) % 3 if i < 2 else y),
            baseline=_probabilities(y) if with_baseline else None,
            source=i % 2,
        )
        for y in range(len(PENGUINS))
        for i in range(10)
    ]


def binary_rows() -> list[Row]:
    """20 rows, 10 per class; the candidate is wrong on one of each (AUC,
    accuracy, precision and recall 0.9), the baseline always right."""
    rows = []
    for i in range(20):
        label = i % 2
        right = i not in (0, 1)
        score = 0.8 if (label == 1) == right else 0.2
        rows.append(Row(label, score, float(label), source=(i // 2) % 2))
    return rows


@pytest.fixture(scope="session")
def penguins_not_blessed(tmp_path_factory) -> str:
    """Three classes, compared with a better served model, below min_auc 0.9."""
    folder = tmp_path_factory.mktemp("penguins_not_blessed")
    return evaluate(folder / "run", PENGUINS, penguin_rows(with_baseline=True), min_auc=0.9)


@pytest.fixture(scope="session")
def penguins_first(tmp_path_factory) -> str:
    """Three classes, no model blessed before, min_auc 0.7: blessed."""
    folder = tmp_path_factory.mktemp("penguins_first")
    return evaluate(folder / "run", PENGUINS, penguin_rows(with_baseline=False), min_auc=0.7)


@pytest.fixture(scope="session")
def binary_not_blessed(tmp_path_factory) -> str:
    """A 0/1 label, more than 0.01 below the served model's AUC."""
    folder = tmp_path_factory.mktemp("binary_not_blessed")
    return evaluate(folder / "run", ("0", "1"), binary_rows(), min_auc=0.7)
