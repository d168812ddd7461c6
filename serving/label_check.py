"""The label column in serving data: not read for scoring, but its values are checked.

Serving data may carry the label (data labelled later, or a copy of training
data). The model's signatures parse only the feature columns, so the label
changes no score. A label value that is not one of the model's classes (a
class the model never learned, or a typo) is counted here, so a scoring can
say in one note which column, which values and how many rows.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable, Optional

from core.labels import LabelSpec, class_text

# Label values that are not classes a note names at most (the first, sorted).
MAX_UNSEEN_SHOWN = 5


@dataclasses.dataclass(frozen=True)
class UnseenClasses:
    """Rows whose label column holds a value that is not one of the model's classes.

    Scoring does not read the label, so these rows are scored as any other;
    the scoring's report says so in one note.

    Attributes:
      column: The label column.
      rows: How many rows hold such a value.
      values: The first distinct such values, sorted as text: at most
        MAX_UNSEEN_SHOWN, plus one when there are more (so the note can say so).
    """

    column: str
    rows: int
    values: tuple[str, ...]

    def note(self) -> str:
        """One line: the column, the values (a few, sorted) and how many rows."""
        shown = ", ".join(repr(v) for v in self.values[:MAX_UNSEEN_SHOWN])
        if len(self.values) > MAX_UNSEEN_SHOWN:
            shown += ", ..."
        rows = "1 row holds" if self.rows == 1 else f"{self.rows:,} rows hold"
        return (
            f"label column {self.column!r}: {rows} a value that is not a class of the model "
            f"({shown}); the label is not read for scoring, so they were scored as any other row"
        )


def label_column(label: LabelSpec) -> Optional[str]:
    """The column serving data may carry the label in, or None when the model
    does not name its label (a model folder without a label file)."""
    return label.name or None


def unseen_classes(label: LabelSpec, values: Iterable[Any]) -> Optional[UnseenClasses]:
    """Counts the label values that are not classes of the model.

    Args:
      label: The model's label with its classes.
      values: One raw label value per row (a CSV cell, a tf.Example's first
        value); None or an empty or blank value is a missing label, not counted.

    Returns:
      The rows with such a value and the first few values, or None when there
      is none (or the model does not name its label).
    """
    column = label_column(label)
    if column is None:
        return None
    classes = set(label.classes)
    rows, seen = 0, set()
    for value in values:
        text = class_text(value) if value is not None else ""
        if text and text not in classes:
            rows += 1
            seen.add(text)
    if not rows:
        return None
    return UnseenClasses(column, rows, tuple(sorted(seen)[: MAX_UNSEEN_SHOWN + 1]))


def merge_unseen(parts: Iterable[Optional[UnseenClasses]]) -> Optional[UnseenClasses]:
    """The counts of several parts of the data (None: a part without such values)
    as one: rows added, values the first few of all. Associative and commutative,
    so Beam can combine chunks in any order."""
    found = [p for p in parts if p is not None]
    if not found:
        return None
    values = sorted({v for p in found for v in p.values})
    return UnseenClasses(
        found[0].column, sum(p.rows for p in found), tuple(values[: MAX_UNSEEN_SHOWN + 1])
    )
