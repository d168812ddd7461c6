"""The label: its column, its classes and, for two classes, the positive one.

A label is any categorical column, integer or text. Its values are compared as
text, stripped (an integer label's `1` is the class "1"), so a CSV cell, a
tf.Example's int64 or bytes value and a YAML list entry name a class the same
way.

The classes are either listed in the config (their order is the model's
class order, and a value outside them is refused) or found in the run's input
data when the pipeline is built, sorted: numerically when every class is an
integer, as text otherwise. Either way a built pipeline has a fixed list, so
the Transform graph, the model's head and the Evaluator's per-class metrics
agree on it.

With two classes the model keeps one sigmoid output, P(positive): the
positive class is the config's `positive`, or else the second class (for a 0/1
label: 1). With three or more the model has a softmax head, one probability
per class.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Iterable, Mapping, Optional, Sequence

# The binary scoring column, P(positive); multi-class scoring writes one
# SCORE_PREFIX + class column per class.
SCORE_COLUMN = "score"
SCORE_PREFIX = "score_"
PREDICTED_COLUMN = "predicted"
_INTEGER = re.compile(r"[+-]?[0-9]+")


class LabelError(ValueError):
    """The label's classes are inconsistent (too few, or `positive` not among them).

    Attributes:
      field: The config field the problem is in (`label`, `label.classes` or
        `label.positive`).
    """

    def __init__(self, message: str, field: str = "label") -> None:
        super().__init__(message)
        self.field = field


def class_text(value: Any) -> str:
    """The class a raw label value names: its text, stripped.

    Args:
      value: A CSV cell, a YAML scalar, or a tf.Example value (int or bytes).

    Returns:
      The class name, e.g. "1" for the integer 1 and "Adelie" for b" Adelie".
    """
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace").strip()
    if isinstance(value, bool):
        return str(int(value))
    return str(value).strip()


def sort_classes(classes: Iterable[str]) -> tuple[str, ...]:
    """Sorts distinct class names: numerically when all are integers, else as text."""
    distinct = set(classes)
    if distinct and all(_INTEGER.fullmatch(c) for c in distinct):
        return tuple(sorted(distinct, key=lambda c: (int(c), c)))
    return tuple(sorted(distinct))


@dataclasses.dataclass(frozen=True)
class LabelSpec:
    """The label column and its classes.

    Attributes:
      name: The label column.
      classes: The classes in model order, or None until they are found in
        the input data (see `with_classes`).
      positive: The positive class of a two-class label as configured, or None
        for the default (the second class).
    """

    name: str
    classes: Optional[tuple[str, ...]] = None
    positive: Optional[str] = None

    @property
    def listed(self) -> bool:
        """Whether the classes are known (listed in the config or already found)."""
        return self.classes is not None

    def _known(self) -> tuple[str, ...]:
        if self.classes is None:
            raise LabelError(
                f"the classes of label {self.name!r} are not known yet; "
                "they are found in the input data when the pipeline is built"
            )
        return self.classes

    @property
    def binary(self) -> bool:
        """Whether the label has exactly two classes (one sigmoid output)."""
        return len(self._known()) == 2

    @property
    def positive_class(self) -> str:
        """The positive class of a two-class label."""
        classes = self._known()
        if len(classes) != 2:
            raise LabelError(f"label {self.name!r} has {len(classes)} classes, not two")
        return self.positive if self.positive is not None else classes[1]

    def with_classes(self, found: Iterable[str]) -> LabelSpec:
        """This label with the classes found in the data, sorted (see `sort_classes`).

        Raises:
          LabelError: Fewer than two classes were found, or `positive` is not
            among them or names one of three or more.
        """
        classes = sort_classes(found)
        spec = dataclasses.replace(self, classes=classes)
        spec.check(found=True)
        return spec

    def check(self, found: bool = False) -> None:
        """Checks the classes: at least two, distinct, and `positive` among them.

        Args:
          found: The classes were found in the input data (not listed), which
            the messages say.

        Raises:
          LabelError: What is wrong, naming the classes and the config field.
        """
        classes = self._known()
        shown = describe_classes(classes)
        if len(classes) < 2:
            only = f"only the class {classes[0]!r}" if classes else "no class"
            if found:
                raise LabelError(
                    f"the input data holds {only} of label {self.name!r}; a model needs two or more"
                )
            raise LabelError(f"lists {only}; a model needs two or more", "label.classes")
        if len(set(classes)) != len(classes):
            repeated = sorted({c for c in classes if classes.count(c) > 1})
            raise LabelError(f"lists {repeated[0]!r} twice", "label.classes")
        if self.positive is None:
            return
        if self.positive not in classes:
            among = (
                f"the classes of label {self.name!r} in the input data"
                if found
                else "label.classes"
            )
            raise LabelError(f"{self.positive!r} is not one of {among} ({shown})", "label.positive")
        if len(classes) != 2:
            held = (
                f"the input data holds {len(classes)} classes of label {self.name!r}"
                if found
                else f"label.classes lists {len(classes)}"
            )
            raise LabelError(
                f"{self.positive!r} names the positive class of a two-class label, but {held} "
                f"({shown}); leave positive out: each of three or more classes gets its own "
                "probability",
                "label.positive",
            )

    def index(self, value: Any) -> Optional[int]:
        """The class index of a raw label value, or None if it is not a class."""
        text = class_text(value)
        classes = self._known()
        return classes.index(text) if text in classes else None

    def target(self, value: Any) -> Optional[int]:
        """What the model learns for a raw label value: for two classes 1 if it is
        the positive class and 0 if not; else its class index. None if not a class."""
        index = self.index(value)
        if index is None or not self.binary:
            return index
        return int(self.classes[index] == self.positive_class)

    def score_columns(self) -> list[str]:
        """The scoring output's probability columns: `score`, or `score_<class>` each."""
        if self.binary:
            return [SCORE_COLUMN]
        return [SCORE_PREFIX + c for c in self._known()]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (custom_config, the model folder); see `from_dict`."""
        return {
            "name": self.name,
            "classes": list(self.classes) if self.classes is not None else None,
            "positive": self.positive,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | str) -> LabelSpec:
        """Reads `to_dict`'s output; a bare string is a label name alone."""
        if isinstance(raw, str):
            return cls(raw)
        classes = raw.get("classes")
        return cls(
            name=str(raw["name"]),
            classes=tuple(str(c) for c in classes) if classes is not None else None,
            positive=raw.get("positive"),
        )


def describe_classes(classes: Sequence[str]) -> str:
    """`Adelie, Chinstrap, Gentoo` for messages."""
    return ", ".join(classes)


def found_classes_line(spec: LabelSpec, kept: str = "") -> str:
    """Says which classes were found in the input data, and how to fix them.

    Args:
      spec: The label, with the classes found.
      kept: Where the found classes are kept, e.g. ", recorded in the DAG file".

    Returns:
      E.g. `label species: classes Adelie, Chinstrap, Gentoo (found in the
      input data; list them under label.classes to fix them)`.
    """
    return (
        f"label {spec.name}: classes {describe_classes(spec._known())} (found in the input "
        f"data{kept}; list them under label.classes to fix them)"
    )
