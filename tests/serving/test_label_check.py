"""The model's label as serving reads it, and the label column in serving data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import CascadeError
from core.labels import LabelSpec
from models.signature_names import LABEL_FILE
from serving import label_check
from serving.label_check import MAX_UNSEEN_SHOWN, UnseenClasses, merge_unseen, unseen_classes
from serving.model import UNKNOWN_LABEL, output_columns, read_label

SPECIES = LabelSpec("species", ("Adelie", "Chinstrap", "Gentoo"))
ZERO_ONE = LabelSpec("churned", ("0", "1"))


def _model_folder(tmp_path: Path, label: object) -> Path:
    """A folder holding only a label file with `label` as its JSON (or text, for a str)."""
    path = tmp_path / LABEL_FILE
    path.parent.mkdir(parents=True)
    path.write_text(label if isinstance(label, str) else json.dumps(label))
    return tmp_path


def test_read_label_gives_the_model_folders_label(tmp_path: Path) -> None:
    folder = _model_folder(tmp_path, SPECIES.to_dict())
    assert read_label(str(folder)) == SPECIES


def test_a_model_folder_without_a_label_file_has_an_unnamed_0_1_label(tmp_path: Path) -> None:
    assert read_label(str(tmp_path)) == LabelSpec(UNKNOWN_LABEL, ("0", "1"))
    assert label_check.label_column(read_label(str(tmp_path))) is None


NOT_A_LABEL = (
    ' is not a Cascade label file: expected {"name": ..., "classes": [...], "positive": ...}'
)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            "{not json",
            " is not JSON: Expecting property name enclosed in double quotes: line 1 column 2 "
            "(char 1)",
        ),
        (["species"], NOT_A_LABEL),
        ({"name": "species", "classes": None}, NOT_A_LABEL),
        (
            {"name": "species", "classes": ["Adelie"]},
            ": lists only the class 'Adelie'; a model needs two or more",
        ),
    ],
)
def test_a_broken_label_file_is_named_with_its_problem(
    tmp_path: Path, content: object, problem: str
) -> None:
    folder = _model_folder(tmp_path, content)
    with pytest.raises(CascadeError) as raised:
        read_label(str(folder))
    assert str(raised.value) == f"{folder / LABEL_FILE}{problem}"


def test_output_columns_are_one_score_for_two_classes_and_one_per_class_for_more() -> None:
    assert output_columns(ZERO_ONE) == ["score"]
    assert output_columns(LabelSpec("spam", ("ham", "spam"), positive="spam")) == ["score"]
    assert output_columns(SPECIES) == [
        "score_Adelie",
        "score_Chinstrap",
        "score_Gentoo",
        "predicted",
    ]


def test_values_that_are_not_classes_are_counted_and_missing_ones_are_not() -> None:
    values = [b"Adelie", "Emperor", b" Gentoo ", None, "", "  ", b"King", "Emperor", "adelie"]
    assert unseen_classes(SPECIES, values) == UnseenClasses(
        "species", 4, ("Emperor", "King", "adelie")
    )
    assert unseen_classes(SPECIES, [b"Adelie", None, "Chinstrap"]) is None
    # An integer label's values compare as text, as training compares them.
    assert unseen_classes(ZERO_ONE, [0, 1, b"1", " 0 ", 2, "yes"]) == UnseenClasses(
        "churned", 2, ("2", "yes")
    )
    # A model that does not name its label has no column to look at.
    assert unseen_classes(LabelSpec(UNKNOWN_LABEL, ("0", "1")), ["yes"]) is None


def test_merging_the_counts_of_parts_gives_the_count_of_the_whole() -> None:
    values = [f"class {i}" for i in range(9, 0, -1)] + ["Adelie", "class 3"]
    whole = unseen_classes(SPECIES, values)
    parts = [unseen_classes(SPECIES, values[i : i + 2]) for i in range(0, len(values), 2)]
    assert merge_unseen([None, *parts, None]) == whole
    assert merge_unseen([merge_unseen(parts[:3]), merge_unseen(parts[3:])]) == whole
    assert whole == UnseenClasses("species", 10, tuple(f"class {i}" for i in range(1, 7)))
    assert len(whole.values) == MAX_UNSEEN_SHOWN + 1
    assert merge_unseen([None, None]) is None
    assert merge_unseen([]) is None


def test_the_note_names_the_column_the_values_and_the_rows_in_one_line() -> None:
    assert unseen_classes(SPECIES, ["Emperor"]).note() == (
        "label column 'species': 1 row holds a value that is not a class of the model "
        "('Emperor'); the label is not read for scoring, so they were scored as any other row"
    )
    many = unseen_classes(SPECIES, [f"class {i}" for i in range(1200)])
    assert many.note() == (
        "label column 'species': 1,200 rows hold a value that is not a class of the model "
        "('class 0', 'class 1', 'class 10', 'class 100', 'class 1000', ...); the label is not "
        "read for scoring, so they were scored as any other row"
    )
