"""The CSV contract is stock CsvExampleGen's reader: header, records, cells and types.

The references are the stock pieces themselves: `io_utils.load_csv_column_names`
for the header, stock CsvExampleGen's record reader and tfx_bsl's line parser
for the cells, and tfx_bsl's `ColumnTypeInferrer` (the combiner CsvExampleGen
types a split with) for the column types, on generated files.
"""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

# Private to CsvExampleGen's executor and tfx_bsl: the references the contract
# must equal.
from tfx.components.example_gen.csv_example_gen import executor as stock_executor
from tfx.utils import io_utils
from tfx_bsl.coders import csv_decoder

from core import csv_contract

cells = st.one_of(
    st.just(""),
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True, width=64).map(repr),
    st.sampled_from(
        [
            " 12 ",
            "1_000",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775809",
            "99999999999999999999.5",
            "1e5",
            "-.5",
            "5.",
            ".",
            "+3",
            "nan",
            "-inf",
            "1e999",
            " ",
            "abc",
            "12abc",
            "0x10",
            "１２",
            "٣",
        ]
    ),  # fmt: skip
    st.text(alphabet=st.sampled_from('ab,"\n x1.-é'), max_size=6),
)
NAMES = ["a", "b", "c"]


def _write(tmp_path_factory, text: str) -> str:
    path = tmp_path_factory.mktemp("csv") / "f.csv"
    path.write_bytes(text.encode("utf-8"))
    return str(path)


def _stock_rows_and_types(path: str) -> tuple[list[list[bytes]], dict[str, int]]:
    """Stock CsvExampleGen's parsed rows and column types for one file."""
    reader = stock_executor._ReadCsvRecordsFromTextFile()  # noqa: SLF001
    parse = csv_decoder.ParseCSVLine(delimiter=",")
    parse.setup()
    rows = [cells for record in reader.process(path) for cells, _ in parse.process(record)]
    inferrer = csv_decoder.ColumnTypeInferrer(NAMES, skip_blank_lines=True)
    accumulator = inferrer.create_accumulator()
    for row in rows:
        accumulator = inferrer.add_input(accumulator, row)
    types = {info.name: int(info.type) for info in inferrer.extract_output(accumulator)}
    return [row for row in rows if row], types


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(cells, min_size=3, max_size=3), max_size=10))
def test_rows_and_types_are_stock_csv_example_gens(tmp_path_factory, rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(NAMES)
    writer.writerows(rows)
    path = _write(tmp_path_factory, out.getvalue())
    stock_rows, stock_types = _stock_rows_and_types(path)

    with open(path, "rb") as f:
        read = list(csv_contract.read_csv(f, path))
    assert read[0] == (1, NAMES)
    ours = [cells for _, cells in read[1:]]
    assert ours == stock_rows
    types = csv_contract.ColumnTypes(NAMES)
    for line, row in read[1:]:
        types.add(row, path, line)
    assert dict(zip(NAMES, types.types)) == stock_types


def test_the_type_rule_is_tfx_bsls_own_function():
    assert csv_contract.infer_cell_type is csv_decoder._InferValueType  # noqa: SLF001
    assert csv_contract.ColumnType is csv_decoder.ColumnType


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from('ab ,"\t\r\ufeffé'), max_size=12))
def test_header_names_are_the_stock_readers(tmp_path_factory, line):
    path = _write(tmp_path_factory, line.replace("\r", "") + "\n1,2\n")
    assert csv_contract.header_names(line.replace("\r", "")) == io_utils.load_csv_column_names(path)


@pytest.mark.parametrize(
    ("header", "names"),
    [
        ('"a",b', ['"a"', "b"]),  # quotes are part of the name
        ("a, b ,c", ["a", " b ", "c"]),  # inner spaces too
        ('"x,y",b', ['"x', 'y"', "b"]),  # a quoted comma still splits
        (" a,b\r", ["a", "b"]),  # the line is stripped
    ],
)
def test_header_quotes_and_spaces_are_kept_as_the_stock_reader_keeps_them(tmp_path, header, names):
    path = tmp_path / "h.csv"
    path.write_text(header + "\n1,2\n")
    assert io_utils.load_csv_column_names(str(path)) == names
    assert csv_contract.read_header(str(path)) == names
    with open(path, "rb") as f:
        assert next(csv_contract.read_csv(f, str(path))) == (1, names)
    assert csv_contract.quoted_name(names) == (names[0] if '"' in names[0] else None)


def test_a_byte_order_mark_is_refused_by_both_header_reads(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfuser_id,age\nu1,3\n")
    message = (
        f'{path}: the file starts with a UTF-8 byte-order mark (as Excel\'s "CSV UTF-8" '
        "writes), which CsvExampleGen would make part of the column name 'user_id'; "
        "save it as CSV without one"
    )
    with pytest.raises(csv_contract.CsvFormatError) as raised:
        csv_contract.read_header(str(path))
    assert (str(raised.value), raised.value.kind) == (message, "byte_order_mark")
    with open(path, "rb") as f, pytest.raises(csv_contract.CsvFormatError) as raised:
        list(csv_contract.read_csv(f, str(path)))
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("text", "line", "kind", "problem"),
    [
        ('a,b\n1,2\n3,"4\n', 3, "quotes", "a quoted cell is never closed"),
        ("a,b\n1,2\n\xff,2\n", 3, "utf8", "not UTF-8 (invalid start byte)"),
        ("a,b\n1,2\n" + "x" * 131_073 + ",2\n", 3, "cell_size", "field larger than field limit"),
    ],
)
def test_a_bad_record_is_named_by_line_and_rule(tmp_path, text, line, kind, problem):
    path = tmp_path / "bad.csv"
    path.write_bytes(text.encode("latin-1"))
    with open(path, "rb") as f, pytest.raises(csv_contract.CsvFormatError) as raised:
        list(csv_contract.read_csv(f, str(path)))
    error = raised.value
    assert (error.path, error.line, error.kind) == (str(path), line, kind)
    assert error.problem.startswith(problem)
    assert str(error).startswith(f"{path}, line {line}: {problem}")


def test_the_cell_limit_is_csv_example_gens_unless_lifted(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("a,b\n" + "x" * 200_000 + ",2\n")
    with open(path, "rb") as f:
        [(_, header), (line, cells)] = list(csv_contract.read_csv(f, str(path), large_cells=True))
    assert (header, line, len(cells[0])) == (["a", "b"], 2, 200_000)
    with open(path, "rb") as f, pytest.raises(csv_contract.CsvFormatError, match="line 2"):
        list(csv_contract.read_csv(f, str(path)))


def test_blank_lines_are_skipped_and_rows_numbered_by_their_first_line(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text('a,b\n\n1,"x\ny"\n\n2,z\n')
    with open(path, "rb") as f:
        assert list(csv_contract.read_csv(f, str(path))) == [
            (1, ["a", "b"]),
            (3, [b"1", b"x\ny"]),
            (6, [b"2", b"z"]),
        ]


def test_an_empty_file_has_no_header(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with open(path, "rb") as f:
        assert list(csv_contract.read_csv(f, str(path))) == [(1, None)]


def test_a_column_takes_the_widest_type_its_cells_need_and_where_it_first_did():
    types = csv_contract.ColumnTypes(["a", "b", "c"])
    for line, row in enumerate(
        [[b"1", b"", b"x"], [b"2.5", b"3", b"y"], [b"4", b"12345678901234567890", b""]], 2
    ):
        types.add(row, "f.csv", line)
    assert types.of("a") == (csv_contract.FLOAT, csv_contract.Cell("f.csv", 3, "2.5"))
    assert types.of("b") == (
        csv_contract.STRING,
        csv_contract.Cell("f.csv", 4, "12345678901234567890"),
    )
    assert types.of("c") == (csv_contract.STRING, csv_contract.Cell("f.csv", 2, "x"))
    assert types.of("absent") == (csv_contract.UNKNOWN, None)


def test_a_repeated_name_is_found_with_both_positions():
    assert csv_contract.duplicate_column(["a", "b", "a"]) == ("a", 1, 3)
    assert csv_contract.duplicate_column(["a", "b"]) is None


def test_a_gzipped_file_reads_as_the_same_file_uncompressed(tmp_path):
    import gzip

    text = b'a,b\n1,"x\ny"\n\n2,z\n'
    plain, zipped = tmp_path / "f.csv", tmp_path / "f.CSV.GZ"
    plain.write_bytes(text)
    zipped.write_bytes(gzip.compress(text))

    def read(path) -> list:
        with csv_contract.open_csv(str(path)) as f:
            return list(csv_contract.read_csv(f, str(path)))

    assert read(zipped) == read(plain) == [(1, ["a", "b"]), (2, [b"1", b"x\ny"]), (5, [b"2", b"z"])]
    assert csv_contract.read_header(str(zipped)) == csv_contract.read_header(str(plain))
    assert csv_contract.read_header(str(plain)) == io_utils.load_csv_column_names(str(plain))


def test_a_gzip_file_is_hashed_as_stored(tmp_path):
    import gzip
    import hashlib

    from core.hashing import HashingReader

    zipped = tmp_path / "f.csv.gz"
    zipped.write_bytes(gzip.compress(b"a\n1\n"))
    digest = hashlib.sha256()
    with csv_contract.open_csv(str(zipped), wrap=lambda raw: HashingReader(raw, digest)) as f:
        assert f.read() == b"a\n1\n"
    assert digest.hexdigest() == hashlib.sha256(zipped.read_bytes()).hexdigest()
