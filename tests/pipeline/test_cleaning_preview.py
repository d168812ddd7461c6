"""pipeline.cleaning_preview: CleanExamples' removals counted from the rows the preflight reads.

The counts agree with CleanExamples' own rules: a missing id, then a missing
required value, quarantine a row; a row whose id, followed through the id
map, is on the spam list is spam; ids compare as CleanExamples reads them.
"""

from __future__ import annotations

import dataclasses

import pytest

from core import csv_contract
from core.errors import InputDataError
from pipeline.cleaning_preview import CleaningPreview, SpamIds
from pipeline.config import CleaningConfig, load_config
from tests.pipeline.test_config import BASE, _write

HEADER = ["user_id", "age", "country"]


@pytest.fixture
def config(tmp_path):
    config = load_config(str(_write(tmp_path, BASE)))
    cleaning = CleaningConfig(required_columns=("country",))
    return dataclasses.replace(config, cleaning=cleaning)


def _spam(*cells: str) -> set[str]:
    ids = SpamIds("id")
    for line, cell in enumerate(cells, start=2):
        ids.add(["id"], [cell.encode()], "spam.csv", line)
    return ids.ids()


def test_spam_ids_are_read_as_their_column_types_them():
    # A column of integers: 0012 and 12 are one id; with text among them, two.
    assert _spam("0012", "7", "") == {"12", "7"}
    assert _spam("0012", "x7") == {"0012", "x7"}
    assert _spam("1.5", "2") == {"1.5", "2"}


def test_each_row_is_removed_for_its_first_reason(config):
    preview = CleaningPreview(config)
    preview.spam = {"u2", "u3"}
    for row in (
        ["", "30", "DE"],
        ["u1", "30", ""],
        ["u2", "", ""],
        ["u3", "", "FR"],
        ["u4", "", "US"],
    ):
        preview.add_row("web", HEADER, row)
    assert preview.removed("web", csv_contract.STRING) == {
        "missing_id": 1,
        "missing_required:country": 2,  # u2 is spam too, but quarantined first
        "spam": 1,
    }
    preview.check_rows_left({"web": csv_contract.STRING})  # u4 is kept


def test_ids_are_compared_as_their_sources_column_types_them(config):
    preview = CleaningPreview(config)
    preview.spam = {"12"}
    for source in ("ints", "text"):
        for user in ("0012", "12"):
            preview.add_row(source, HEADER, [user, "1", "DE"])
    # In a column of integers both rows read as 12; in a text column only one does.
    assert preview.removed("ints", csv_contract.INT) == {"spam": 2}
    assert preview.removed("text", csv_contract.STRING) == {"spam": 1}


def test_aliases_are_followed_to_the_canonical_id(config):
    preview = CleaningPreview(config)
    preview.spam = {"c"}
    preview.aliases = {"a": "b", "b": "c"}
    for user in ("a", "b", "c", "d"):
        preview.add_row("web", HEADER, [user, "1", "DE"])
    assert preview.removed("web", csv_contract.STRING) == {"spam": 3}


def test_every_row_removed_is_one_line_naming_the_step_and_the_reasons(config):
    preview = CleaningPreview(config)
    preview.spam = {"u1", "u2", "u3"}
    for source, user in (("web", "u1"), ("web", "u2"), ("mobile", "u3"), ("mobile", "")):
        preview.add_row(source, HEADER, [user, "1", "DE"])
    with pytest.raises(InputDataError) as raised:
        preview.check_rows_left({"web": csv_contract.STRING, "mobile": csv_contract.STRING})
    assert str(raised.value) == (
        f"{config.config_path}: cleaning: CleanExamples would remove all 4 rows: spam 3, "
        "missing_id 1; nothing would be left to split or train on"
    )
