"""The `inventory` table: totals, currencies and sources without an inventory."""

from __future__ import annotations

from cli.inventory import format_inventory
from metadata.inventory_report import Inventory, SourceRow


def _measured(rows: int, labelled: int, rate: float | None) -> dict:
    positives = round(labelled * rate) if rate is not None else 0
    return {
        "rows": rows,
        "labelled": labelled,
        "label_counts": {"0": labelled - positives, "1": positives} if rate is not None else {},
        "positive_rate": rate,
        "files": 1,
        "bytes": 10,
        "sha256": "ab" * 32,
    }


def _declared(cost: float, currency: str = "USD", method: str = "crowd") -> dict:
    return {
        "owner": "team",
        "description": "users",
        "collection_cost": cost,
        "currency": currency,
        "collection_days": 3,
        "labelling_method": method,
        "labeller_qualification": "experts",
        "collected_on": "2026-10-01",
    }


def _table_row(text: str, first: str) -> list[str]:
    return next(line.split() for line in text.splitlines() if line.split()[:1] == [first])


def test_cost_per_labelled_example_uses_labelled_rows_only():
    row = SourceRow("web", _declared(100.0), _measured(60, 50, 0.2))
    assert row.cost_per_labelled_example == 2.0
    assert SourceRow("web", None, _measured(60, 50, 0.2)).cost_per_labelled_example is None
    assert (
        SourceRow("web", _declared(100.0), _measured(5, 0, None)).cost_per_labelled_example is None
    )


def test_totals_sum_cost_rows_and_weight_the_positive_rate():
    inventory = Inventory(
        "p",
        "r",
        1,
        "uri",
        [
            SourceRow("web", _declared(100.0, method="in_house"), _measured(100, 100, 0.1)),
            SourceRow("app", _declared(50.0), _measured(50, 50, 0.4)),
        ],
    )
    total = _table_row(format_inventory(inventory), "total")
    assert total == ["total", "150", "USD", "150", "150", "20.0%", "1.00", "USD"]


def test_mixed_currencies_leave_the_total_cost_blank():
    inventory = Inventory(
        "p",
        "r",
        1,
        "uri",
        [
            SourceRow("web", _declared(100.0), _measured(100, 100, 0.1)),
            SourceRow("app", _declared(50.0, "EUR"), _measured(50, 50, 0.4)),
        ],
    )
    text = format_inventory(inventory)
    assert _table_row(text, "app")[5:7] == ["50", "EUR"]
    assert _table_row(text, "total")[1:3] == ["-", "150"]


def test_without_an_inventory_the_measured_facts_still_show():
    inventory = Inventory("p", "r", 1, "uri", [SourceRow("web", None, _measured(7, 7, None))])
    text = format_inventory(inventory)
    assert _table_row(text, "web") == ["web", "-", "-", "-", "-", "-", "7", "7", "-", "-"]
    assert "no inventory declared" in text


def _classes(counts: dict[str, int], missing: int = 0) -> dict:
    label_counts = {**counts, **({"<missing>": missing} if missing else {})}
    labelled = sum(counts.values())
    return {**_measured(labelled + missing, labelled, None), "label_counts": label_counts}


def test_a_label_that_is_not_0_1_shows_each_sources_class_shares():
    inventory = Inventory(
        "p",
        "r",
        1,
        "uri",
        [
            SourceRow(
                "web", _declared(100.0), _classes({"Gentoo": 36, "Adelie": 44, "Chinstrap": 20})
            ),
            SourceRow("app", _declared(50.0), _classes({"Adelie": 30, "Gentoo": 10}, missing=5)),
        ],
    )
    text = format_inventory(inventory)
    header = _table_row(text, "source")
    assert header[-2:] == ["classes", "cost/label"]
    assert " ".join(_table_row(text, "web")[7:]) == (
        "100 100 Adelie 44% · Chinstrap 20% · Gentoo 36% 1.00 USD"
    )
    assert " ".join(_table_row(text, "app")[7:]) == "45 40 Adelie 75% · Gentoo 25% 1.25 USD"
    # 74 Adelie, 20 Chinstrap and 46 Gentoo of 140 labelled rows.
    assert " ".join(_table_row(text, "total")[3:]) == (
        "145 140 Adelie 53% · Chinstrap 14% · Gentoo 33% 1.07 USD"
    )


def test_integer_classes_sort_by_number_and_a_source_without_labels_shows_a_dash():
    inventory = Inventory(
        "p",
        "r",
        1,
        "uri",
        [
            SourceRow("web", None, _classes({"10": 1, "2": 1, "0": 2})),
            SourceRow("app", None, _classes({}, missing=3)),
        ],
    )
    text = format_inventory(inventory)
    assert " ".join(_table_row(text, "web")[6:]) == "4 4 0 50% · 2 25% · 10 25% -"
    assert _table_row(text, "app")[6:] == ["3", "0", "-", "-"]


def test_a_0_1_label_keeps_the_positive_share_beside_a_source_without_labels():
    inventory = Inventory(
        "p",
        "r",
        1,
        "uri",
        [
            SourceRow("web", None, _measured(100, 100, 0.1)),
            SourceRow("app", None, _classes({}, missing=3)),
        ],
    )
    text = format_inventory(inventory)
    assert _table_row(text, "source")[-2] == "positive"
    assert _table_row(text, "web")[-2] == "10.0%"
    assert _table_row(text, "app")[-2:] == ["-", "-"]


def test_a_source_line_names_what_its_folders_held_that_was_not_read():
    measured = _measured(7, 7, 0.5) | {
        "not_read": [{"folder": "/data/web", "names": ["2025/", "notes.txt"]}]
    }
    inventory = Inventory("p", "r", 1, "uri", [SourceRow("web", None, measured)])

    [line] = [x for x in format_inventory(inventory).splitlines() if x.startswith("  web:")]

    assert line.endswith(
        "; not read in /data/web: 2025/ (a folder), notes.txt (not .csv or .csv.gz)"
    )
    assert inventory.to_json()["sources"][0]["measured"]["not_read"] == measured["not_read"]
