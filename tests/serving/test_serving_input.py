"""Serving data checked against the model's raw columns: conversion and clear errors."""

from __future__ import annotations

import re

import pytest
import tensorflow as tf

from serving import serving_input
from models.raw_features import FLOAT, INT64, STRING, RawColumn
from serving.serving_input import ServingInputError

COLUMNS = [
    RawColumn("age", INT64, required=False),
    RawColumn("score", FLOAT, required=False),
    RawColumn("country", STRING, required=False),
    RawColumn("status", STRING, required=True),
]


def _features(record: bytes) -> dict:
    example = tf.train.Example.FromString(record)
    return {
        name: list(getattr(f, f.WhichOneof("kind")).value)
        for name, f in example.features.feature.items()
    }


def test_a_csv_row_becomes_a_typed_example_and_empty_cells_are_missing():
    row = {"age": " 41 ", "score": "0.5", "country": "", "status": "employed", "extra": "x"}
    features = _features(serving_input.csv_row_to_example(row, COLUMNS))
    assert features == {"age": [41], "score": [0.5], "status": [b"employed"]}


def test_text_cells_are_kept_as_is_like_csv_example_gen_reads_training_data():
    row = {"country": " US ", "status": " "}
    features = _features(serving_input.csv_row_to_example(row, COLUMNS))
    assert features == {"country": [b" US "], "status": [b" "]}


@pytest.mark.parametrize(
    "row, message",
    [
        ({"age": "forty", "status": "x"}, "column 'age': 'forty' is not an integer"),
        ({"age": "4.5", "status": "x"}, "column 'age': '4.5' is not an integer"),
        ({"score": "high", "status": "x"}, "column 'score': 'high' is not a finite number"),
        ({"score": "nan", "status": "x"}, "column 'score': 'nan' is not a finite number"),
        ({"score": "-inf", "status": "x"}, "column 'score': '-inf' is not a finite number"),
        ({"age": "3", "status": ""}, "column 'status': no value, but the model needs one"),
        ({"age": "3"}, "column 'status': no value, but the model needs one"),
        (
            {"age": "99999999999999999999", "status": "x"},
            "column 'age': '99999999999999999999' is beyond int64, the integers a tf.Example "
            "holds (as in training, where such a column is read as text)",
        ),
        (
            {"age": "-9223372036854775809", "status": "x"},
            "column 'age': '-9223372036854775809' is beyond int64, the integers a tf.Example "
            "holds (as in training, where such a column is read as text)",
        ),
    ],
)
def test_a_bad_csv_cell_is_named(row, message):
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        serving_input.csv_row_to_example(row, COLUMNS)


def test_check_example_accepts_matching_types_and_names_a_mismatch():
    good = serving_input.csv_row_to_example({"age": "3", "status": "x"}, COLUMNS)
    assert serving_input.check_example(good, COLUMNS) == good
    wrong = tf.train.Example()
    wrong.features.feature["age"].bytes_list.value.append(b"3")
    wrong.features.feature["status"].bytes_list.value.append(b"x")
    with pytest.raises(ValueError, match="column 'age': holds bytes values, the model reads int64"):
        serving_input.check_example(wrong.SerializeToString(), COLUMNS)
    with pytest.raises(ValueError, match="column 'status': no value"):
        serving_input.check_example(tf.train.Example().SerializeToString(), COLUMNS)


def test_reading_a_csv_names_the_file_line_and_column(tmp_path):
    path = tmp_path / "new_users.csv"
    path.write_text('age,status,note\n3,employed,ok\n7,student,"two\nlines"\nold,retired,x\n')
    rows = serving_input.read_csv_examples(str(path), COLUMNS, keep=["note"])
    line, kept, example = next(rows)
    assert (line, kept, _features(example)["age"]) == (2, {"note": "ok"}, [3])
    line, kept, _ = next(rows)
    assert (line, kept) == (3, {"note": "two\nlines"})  # the line the row starts on
    with pytest.raises(
        ServingInputError, match=rf"^{path}, line 5, column 'age': 'old' is not an integer$"
    ):
        next(rows)


def test_a_row_with_too_few_or_too_many_cells_is_named(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("age,status\n3,employed\n4\n")
    with pytest.raises(
        ServingInputError, match=rf"^{path}, line 3: 1 cells, but the header has 2 columns$"
    ):
        list(serving_input.read_csv_examples(str(path), COLUMNS))
    path.write_text("age,status\n3,employed,extra\n")
    with pytest.raises(ServingInputError, match=r"line 2: 3 cells, but the header has 2"):
        list(serving_input.read_csv_examples(str(path), COLUMNS))


def test_a_missing_or_binary_file_is_one_clear_error(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(ServingInputError, match=rf"^{missing}: cannot read it as CSV"):
        list(serving_input.read_csv_examples(str(missing), COLUMNS))
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"age,status\n\xff\xfe\x00,x\n")
    with pytest.raises(ServingInputError, match=rf"^{binary}, line 2: cannot read it as CSV"):
        list(serving_input.read_csv_examples(str(binary), COLUMNS))


def test_a_byte_order_mark_is_refused_as_in_training_data(tmp_path):
    # The CSV contract's one rule for a byte-order mark: every reader refuses it.
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffstatus,age\nemployed,3\n".encode("utf-8"))
    message = (
        f'{bom}: the file starts with a UTF-8 byte-order mark (as Excel\'s "CSV UTF-8" '
        "writes), which CsvExampleGen would make part of the column name 'status'; "
        "save it as CSV without one"
    )
    with pytest.raises(ServingInputError) as raised:
        serving_input.read_header(str(bom))
    assert str(raised.value) == message
    with pytest.raises(ServingInputError) as raised:
        list(serving_input.read_csv_examples(str(bom), COLUMNS))
    assert str(raised.value) == message


def test_header_names_keep_their_quotes_as_csv_example_gen_reads_them(tmp_path):
    source = tmp_path / "quoted.csv"
    source.write_text('"status",age\nemployed,3\n')
    assert serving_input.read_header(str(source)) == ['"status"', "age"]
    with pytest.raises(ServingInputError) as raised:
        list(serving_input.read_csv_examples(str(source), COLUMNS))
    assert str(raised.value) == (
        f"{source}: missing required column 'status' (the model needs a value in every row); "
        "the header names '\"status\"' with its quotes, as CsvExampleGen reads a header"
    )


def test_blank_lines_are_skipped_as_csv_example_gen_skips_them(tmp_path):
    source = tmp_path / "blank.csv"
    source.write_text("status,age\n\nemployed,3\n\n")
    [(line, _, example)] = serving_input.read_csv_examples(str(source), COLUMNS)
    assert (line, _features(example)) == (3, {"status": [b"employed"], "age": [3]})


def test_reading_a_csv_without_a_required_column_or_header_fails_up_front(tmp_path):
    missing = tmp_path / "missing.csv"
    missing.write_text("age,country\n3,US\n")
    with pytest.raises(ServingInputError, match=r"missing required column 'status'"):
        list(serving_input.read_csv_examples(str(missing), COLUMNS))
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ServingInputError, match=r"the file is empty; expected a header row"):
        list(serving_input.read_csv_examples(str(empty), COLUMNS))
    with pytest.raises(ServingInputError, match=r"no column 'user_id' to keep"):
        list(serving_input.read_csv_examples(str(missing), COLUMNS[:3], keep=["user_id"]))


def test_a_header_without_rows_yields_nothing(tmp_path):
    path = tmp_path / "header_only.csv"
    path.write_text("age,status\n")
    assert list(serving_input.read_csv_examples(str(path), COLUMNS)) == []


def test_a_repeated_header_name_is_refused_naming_both_columns(tmp_path):
    source = tmp_path / "new.csv"
    source.write_text("status,age,status\nok,3,no\n")
    with pytest.raises(ServingInputError) as raised:
        list(serving_input.read_csv_examples(str(source), COLUMNS))
    assert str(raised.value) == (
        f"{source}: column 'status' appears twice in the header (columns 1 and 3); rename one"
    )


def test_a_cell_over_128_kib_is_read(tmp_path):
    source = tmp_path / "new.csv"
    source.write_text(f"status,country\nok,{'x' * 200_000}\n")
    [(line, _, example)] = serving_input.read_csv_examples(str(source), COLUMNS)
    country = tf.train.Example.FromString(example).features.feature["country"]
    assert (line, len(country.bytes_list.value[0])) == (2, 200_000)


def test_an_integer_at_the_ends_of_int64_is_read():
    row = {"age": "-9223372036854775808", "status": "x"}
    assert _features(serving_input.csv_row_to_example(row, COLUMNS))["age"] == [-(2**63)]
    row = {"age": "9223372036854775807", "status": "x"}
    assert _features(serving_input.csv_row_to_example(row, COLUMNS))["age"] == [2**63 - 1]


def test_an_integer_beyond_int64_in_a_file_names_the_line_and_column(tmp_path):
    path = tmp_path / "new.csv"
    path.write_text("age,status\n3,x\n18446744073709551616,y\n")
    with pytest.raises(
        ServingInputError,
        match=f"^{path}, line 3, column 'age': '18446744073709551616' is beyond int64",
    ):
        list(serving_input.read_csv_examples(str(path), COLUMNS))


@pytest.mark.parametrize("name", ["new.csv.gz", "NEW.CSV.GZ"])
def test_a_gzipped_csv_reads_as_the_csv_and_is_hashed_as_stored(tmp_path, name):
    import gzip
    import hashlib

    text = b"age,score,status,id\n3,0.5,x,a\n\n4,,y,b\n"
    plain, zipped = tmp_path / "new.csv", tmp_path / name
    plain.write_bytes(text)
    zipped.write_bytes(gzip.compress(text))
    digests = hashlib.sha256(), hashlib.sha256()

    read = [
        list(serving_input.read_csv_examples(str(path), COLUMNS, ["id"], digest))
        for path, digest in zip((plain, zipped), digests)
    ]

    assert serving_input.is_csv(str(zipped)) and serving_input.is_csv(str(tmp_path / "A.CSV"))
    assert not serving_input.is_csv(str(tmp_path / "records.gz"))
    # Serialized map order may differ between two protos with the same features.
    assert [(line, kept, _features(x)) for line, kept, x in read[0]] == [
        (line, kept, _features(x)) for line, kept, x in read[1]
    ]
    assert [line for line, _, _ in read[1]] == [2, 4]
    assert serving_input.read_header(str(zipped)) == ["age", "score", "status", "id"]
    assert digests[1].hexdigest() == hashlib.sha256(zipped.read_bytes()).hexdigest()


def test_a_gz_file_that_is_not_gzip_is_one_clear_error(tmp_path):
    path = tmp_path / "new.csv.gz"
    path.write_text("age,status\n3,x\n")
    with pytest.raises(
        ServingInputError, match=f"^{path}: cannot read it as CSV: Not a gzipped file"
    ):
        serving_input.read_header(str(path))


def test_a_subfolder_of_the_input_is_refused_rather_than_left_out(tmp_path):
    (tmp_path / "a.csv").write_text("age,status\n3,x\n")
    (tmp_path / "2025").mkdir()
    (tmp_path / "2025" / "b.csv").write_text("age,status\n4,y\n")

    with pytest.raises(ServingInputError) as folder:
        serving_input.input_files(str(tmp_path))
    with pytest.raises(ServingInputError) as pattern:
        serving_input.input_files(f"{tmp_path}/*")

    assert str(folder.value) == (
        f"{tmp_path}: the folder holds the folder {tmp_path}/2025, which would not be read "
        f"(subfolders are not); name the files to read with a glob e.g. {tmp_path}/*.csv"
    )
    assert str(pattern.value) == (
        f"{tmp_path}/* matches the folder {tmp_path}/2025, which would not be read "
        "(subfolders are not); name the files to read with a glob that matches files only"
    )
    assert serving_input.input_files(f"{tmp_path}/*.csv") == [str(tmp_path / "a.csv")]
