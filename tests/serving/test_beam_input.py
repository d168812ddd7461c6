"""Serving input on Beam: files cut into chunks of rows, rows checked as one process checks them."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import apache_beam as beam
import tensorflow as tf

from core.labels import LabelSpec
from models.raw_features import FLOAT, INT64, STRING, RawColumn
from serving import serving_input
from serving.beam_input import DIGESTS, ERRORS, ROWS, UNSEEN, CheckedExamples, ReadChunks
from serving.label_check import UnseenClasses, merge_unseen
from tests import local_beam

COLUMNS = [
    RawColumn("age", INT64, required=True),
    RawColumn("amount", FLOAT, required=False),
    RawColumn("note", STRING, required=False),
]


def _save(values: list, path: str) -> None:
    with open(path, "wb") as f:
        pickle.dump(values, f)


def _run(files: list[Path], chunk_rows: int, out: Path) -> tuple[list, list, list]:
    """Reads and checks `files`; returns (scored (key, example) pairs, errors, digests)."""
    with beam.Pipeline(options=local_beam.options()) as pipeline:
        read = (
            pipeline
            | beam.Create(list(enumerate(str(f) for f in files)))
            | "Read"
            >> beam.ParDo(ReadChunks(COLUMNS, ["note"], chunk_rows)).with_outputs(
                ERRORS, DIGESTS, main=ROWS
            )
        )
        checked = read[ROWS] | "Check" >> beam.ParDo(
            CheckedExamples(COLUMNS, ["note"])
        ).with_outputs(ERRORS, main=ROWS)
        outputs = {
            "rows": checked[ROWS] | "Pairs" >> beam.FlatMap(lambda batch: list(zip(*batch))),
            "errors": (read[ERRORS], checked[ERRORS]) | beam.Flatten(),
            "digests": read[DIGESTS],
        }
        for name, values in outputs.items():
            (
                values
                | f"All{name}" >> beam.combiners.ToList()
                | f"Save{name}" >> beam.Map(_save, str(out / f"{name}.pickle"))
            )
    found = {}
    for name in outputs:
        with open(out / f"{name}.pickle", "rb") as f:
            found[name] = pickle.load(f)
    return found["rows"], found["errors"], found["digests"]


def _features(example: bytes) -> dict:
    features = tf.train.Example.FromString(example).features.feature
    return {name: getattr(f, f.WhichOneof("kind")).value[0] for name, f in features.items()}


def test_rows_keep_their_line_numbers_across_chunks_and_quoted_newlines(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    # A quoted cell over two lines, a bad cell in the third chunk.
    source.write_text(
        'age,amount,note\n1,0.5,a\n2,,"two\nlines"\n3,1.5,c\n4,2.5,d\nx,1,e\n6,,f\n',
        encoding="utf-8",
    )
    rows, errors, digests = _run([source], 2, tmp_path)
    lines = {number: (kept, _features(example)) for (_, number, kept), example in rows}
    assert sorted(lines) == [2, 3, 5, 6, 8]
    assert lines[3] == (("two\nlines",), {"age": 2, "note": b"two\nlines"})
    assert lines[8] == (("f",), {"age": 6, "note": b"f"})
    assert errors == [(str(source), 7, "line 7, column 'age': 'x' is not an integer")]
    # Digests count every row, the bad one too, and hash the file as stored.
    assert digests == [(str(source), hashlib.sha256(source.read_bytes()).hexdigest(), 6)]


def test_beam_rows_are_the_single_process_rows(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("age,amount,note\n" + "".join(f"{i}, {i / 4},n{i}\n" for i in range(50)))
    rows, errors, _ = _run([source], 7, tmp_path)
    single = serving_input.read_csv_examples(str(source), COLUMNS, ["note"])
    assert errors == []
    # Serialized map order may differ between two protos with the same features.
    assert {number: (kept, _features(example)) for (_, number, kept), example in rows} == {
        line: ((kept["note"],), _features(example)) for line, kept, example in single
    }


def test_a_bad_file_is_one_problem_and_has_no_digest(tmp_path: Path) -> None:
    no_age = tmp_path / "no_age.csv"
    no_age.write_text("amount,note\n1,a\n")
    short_row = tmp_path / "short.csv"
    short_row.write_text("age,amount,note\n1,2,a\n3,4\n")
    good = tmp_path / "good.csv"
    good.write_text("age,amount,note\n1,2,a\n")
    # The CSV contract refuses a byte-order mark in every reader, Beam's too.
    bom = tmp_path / "bom.csv"
    bom.write_text("\ufeffage,amount,note\n1,2,a\n", encoding="utf-8")
    _, errors, digests = _run([no_age, short_row, good, bom], 1, tmp_path)
    assert sorted(errors) == [
        (
            str(bom),
            0,
            'the file starts with a UTF-8 byte-order mark (as Excel\'s "CSV UTF-8" writes), '
            "which CsvExampleGen would make part of the column name 'age'; save it as CSV "
            "without one",
        ),
        (str(no_age), 0, "missing required column 'age' (the model needs a value in every row)"),
        (str(short_row), 3, "line 3: 2 cells, but the header has 3 columns"),
    ]
    assert [path for path, _, _ in digests] == [str(good)]


def test_label_values_that_are_not_classes_are_counted_in_csv_and_tfrecord_rows(
    tmp_path: Path,
) -> None:
    label = LabelSpec("species", ("Adelie", "Chinstrap", "Gentoo"))
    table = tmp_path / "a.csv"
    table.write_text("age,species,note\n1,Adelie,a\n2,Emperor,b\n3,,c\n4, Gentoo ,d\n5,King,e\n")
    records = tmp_path / "b.tfrecord"
    with tf.io.TFRecordWriter(str(records)) as writer:
        for age, species in ((6, b"Emperor"), (7, b"Chinstrap"), (8, None), (9, b"Rockhopper")):
            feature = {"age": tf.train.Feature(int64_list=tf.train.Int64List(value=[age]))}
            if species is not None:
                feature["species"] = tf.train.Feature(
                    bytes_list=tf.train.BytesList(value=[species])
                )
            example = tf.train.Example(features=tf.train.Features(feature=feature))
            writer.write(example.SerializeToString())
    with beam.Pipeline(options=local_beam.options()) as pipeline:
        read = (
            pipeline
            | beam.Create(list(enumerate([str(table), str(records)])))
            | "Read"
            >> beam.ParDo(ReadChunks(COLUMNS, [], 2)).with_outputs(ERRORS, DIGESTS, main=ROWS)
        )
        checked = read[ROWS] | "Check" >> beam.ParDo(
            CheckedExamples(COLUMNS, [], label)
        ).with_outputs(ERRORS, UNSEEN, main=ROWS)
        (
            checked[UNSEEN]
            | "CountUnseen" >> beam.CombineGlobally(merge_unseen)
            | "Save" >> beam.Map(_save, str(tmp_path / "unseen.pickle"))
        )
    with open(tmp_path / "unseen.pickle", "rb") as f:
        unseen = pickle.load(f)
    # Blank and absent labels are missing, not unseen; " Gentoo " is Gentoo.
    assert unseen == UnseenClasses("species", 4, ("Emperor", "King", "Rockhopper"))
