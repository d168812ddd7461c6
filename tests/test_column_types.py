"""Preflight's column typing follows tfx_bsl's CSV type inference exactly."""

from __future__ import annotations

import pytest

# The private inference function CsvExampleGen uses: the oracle these rules copy.
from tfx_bsl.coders import csv_decoder

from pipeline import column_types

CELLS = [
    "", "0", "-7", " 12 ", "1_000", "9223372036854775807", "9223372036854775808",
    "-9223372036854775809", "99999999999999999999.5", "3.5", "1e5", "nan", "inf", "-0.0",
    " ", "abc", "12abc", "0x10", "１２",
]  # fmt: skip
ORACLE = {
    csv_decoder.ColumnType.UNKNOWN: column_types.UNKNOWN,
    csv_decoder.ColumnType.INT: column_types.INT,
    csv_decoder.ColumnType.FLOAT: column_types.FLOAT,
    csv_decoder.ColumnType.STRING: column_types.STRING,
}


@pytest.mark.parametrize("cell", CELLS)
def test_cell_type_is_tfx_bsl_type(cell: str) -> None:
    expected = ORACLE[csv_decoder._InferValueType(cell.encode())]
    assert column_types.cell_type(cell) == expected


def test_a_column_takes_the_widest_type_its_cells_need_and_where_it_first_did() -> None:
    types = column_types.SourceTypes(["a", "b", "c"])
    for line, row in enumerate(
        [["1", "", "x"], ["2.5", "3", "y"], ["4", "12345678901234567890", ""]], 2
    ):
        types.add(row, "f.csv", line)
    assert types.of("a") == (column_types.FLOAT, column_types.Cell("f.csv", 3, "2.5"))
    assert types.of("b") == (
        column_types.STRING,
        column_types.Cell("f.csv", 4, "12345678901234567890"),
    )
    assert types.of("c") == (column_types.STRING, column_types.Cell("f.csv", 2, "x"))
    assert types.of("absent") == (column_types.UNKNOWN, None)
