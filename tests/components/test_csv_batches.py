"""Batched CSV ingestion gives stock CsvExampleGen's examples, and names bad rows.

`csv_batches` reads, types and encodes rows a batch at a time. These tests
check it against the stock per-row path (tfx_bsl's CSV parser and
`ColumnTypeInferrer`, and CsvExampleGen's own row-to-example DoFn) on
generated files: numbers of every form the type rule meets, text with commas,
quotes and line breaks, empty cells and blank lines.
"""

from __future__ import annotations

import csv
import io

import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

# The stock row-to-example DoFn is private to CsvExampleGen's executor; it is
# the reference these tests compare with.
from tfx.components.example_gen.csv_example_gen import executor as stock_executor
from tfx.utils import io_utils
from tfx_bsl.coders import csv_decoder

from components.common.example_features import canonical_bytes
from components.source_example_gen import csv_batches
from components.source_example_gen import executor as source_executor

NAMES = ["a", "b", "c"]

cells = st.one_of(
    st.just(""),
    st.integers(-(2**70), 2**70).map(str),
    st.integers(0, 10**20).map(lambda n: f"00{n}"),
    st.floats(allow_nan=True, allow_infinity=True, width=64).map(repr),
    st.sampled_from(["1e5", "-.5", "5.", ".", " 7 ", "+3", "1_000", "nan", "-inf", "1e999", "٣"]),
    st.text(alphabet=st.sampled_from('ab,"\n x1.-é'), max_size=6),
)
columns = st.lists(st.lists(cells, min_size=len(NAMES), max_size=len(NAMES)), max_size=12)


def _csv_file(tmp_path_factory, rows, blank_after=()) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(NAMES)
    for i, row in enumerate(rows):
        writer.writerow(row)
        if i in blank_after:
            out.write("\n")
    path = tmp_path_factory.mktemp("csv") / "rows.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return str(path)


def _stock(path: str) -> tuple[dict[str, int], list[tf.train.Example]]:
    """Stock CsvExampleGen's column types and examples for one file, row by row."""
    with open(path, encoding="utf-8") as f:
        f.readline()
        records, pending = [], ""
        for line in f:
            pending += line
            if pending.count('"') % 2 == 0:
                records.append(pending)
                pending = ""
    parse = csv_decoder.ParseCSVLine(delimiter=",")
    parse.setup()
    rows = [cells for record in records for cells, _ in parse.process(record)]
    inferrer = csv_decoder.ColumnTypeInferrer(NAMES, skip_blank_lines=True)
    accumulator = inferrer.create_accumulator()
    for row in rows:
        accumulator = inferrer.add_input(accumulator, row)
    infos = inferrer.extract_output(accumulator)
    to_example = stock_executor._ParsedCsvToTfExample()  # noqa: SLF001
    examples = [example for row in rows for example in to_example.process(row, infos)]
    return {info.name: int(info.type) for info in infos}, examples


@settings(max_examples=150, deadline=None)
@given(columns, st.integers(1, 5), st.sets(st.integers(0, 11)))
def test_batches_give_the_stock_types_and_examples(tmp_path_factory, rows, per_batch, blanks):
    path = _csv_file(tmp_path_factory, rows, blanks)
    stock_types, stock_examples = _stock(path)
    assert csv_batches.read_header(path) == NAMES
    batches = list(csv_batches.read_row_batches(path, len(NAMES), per_batch))
    types = csv_batches.merge_types([csv_batches.infer_types(rows, NAMES) for rows in batches])
    unknown = int(csv_batches.ColumnType.UNKNOWN)
    assert {name: types.get(name, unknown) for name in NAMES} == stock_types
    ours = [
        canonical_bytes(tf.train.Example.FromString(record))
        for batch in batches
        for record in csv_batches.encode(batch, NAMES, types)
    ]
    # Bytes, not messages: NaN values compare unequal to themselves.
    assert ours == [canonical_bytes(example) for example in stock_examples]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b,c\n1,2,3\n4,5\n", "line 3: 2 cells where the header has 3 columns"),
        ('a,b,c\n1,2,3\n4,"5,6\n', "line 3: a quoted cell is never closed"),
        ("a,b,c\n1,2,3\n4,\xff,6\n", "line 3: not UTF-8"),
        ("a,b,c\n1,2,3\n" + "x" * 131_073 + ",5,6\n", "line 3: field larger than field limit"),
    ],
)
def test_a_bad_row_is_named_by_file_and_line(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(csv_batches.CsvFormatError, match=message) as caught:
        list(csv_batches.read_row_batches(str(path), 3))
    assert str(path) in str(caught.value)


def test_label_texts_read_as_facts_reads_the_example():
    from components.source_example_gen import facts

    rows = [[b"1"], [b""], [b"0.1"], [b"yes"], [b"2.0"]]
    for column_type in (csv_batches.ColumnType.FLOAT, csv_batches.ColumnType.STRING):
        typed = [r for r in rows if column_type == csv_batches.ColumnType.STRING or r != [b"yes"]]
        examples = [
            tf.train.Example.FromString(record)
            for record in csv_batches.encode(typed, ["label"], {"label": int(column_type)})
        ]
        assert csv_batches.label_texts(typed, 0, column_type) == [
            facts.label_value(example, "label") for example in examples
        ]


@pytest.mark.parametrize(
    ("header", "names"),
    [
        ('"a",b', ['"a"', "b"]),  # quotes kept
        ("a, b ,c", ["a", " b ", "c"]),  # inner spaces kept
        ('"x,y",b', ['"x', 'y"', "b"]),  # a quoted comma still splits
        (" a,b\r", ["a", "b"]),  # the line stripped
    ],
)
def test_the_header_is_read_as_csv_example_gen_reads_it(tmp_path, header, names):
    path = tmp_path / "h.csv"
    path.write_text(header + "\n1,2\n")
    assert io_utils.load_csv_column_names(str(path)) == names  # the stock reader
    assert csv_batches.read_header(str(path)) == names


def test_a_byte_order_mark_is_refused_by_the_header_and_the_row_reader(tmp_path):
    # The CSV contract's one rule: stock would name the column "\ufeffuser_id".
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfuser_id,age\nu1,3\n")
    message = "the column name 'user_id'; save it as CSV without one"
    with pytest.raises(csv_batches.CsvFormatError, match=message):
        csv_batches.read_header(str(path))
    with pytest.raises(csv_batches.CsvFormatError, match=message):
        list(csv_batches.read_row_batches(str(path), 2))
    with pytest.raises(csv_batches.CsvFormatError, match=message):
        source_executor._header("web", [str(path)])  # noqa: SLF001


def test_a_header_naming_a_column_twice_is_refused(tmp_path):
    path = tmp_path / "twice.csv"
    path.write_text("user_id,age,age\nu1,3,4\n")
    with pytest.raises(csv_batches.CsvFormatError, match="names the column 'age' more than once"):
        source_executor._header("web", [str(path)])  # noqa: SLF001
