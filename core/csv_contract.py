"""The CSV contract: how every Cascade reader reads a CSV file, in one place.

Training data is read by CsvSourceExampleGen (`components/source_example_gen/
csv_batches.py`) and checked before by preflight (`pipeline/preflight.py`);
serving data by scoring, Beam scoring and the batch transform
(`serving/serving_input.py`). All of them read through this module, which is
stock CsvExampleGen's reader:

- **Header.** The first line, stripped at both ends and split on commas
  (`tfx.utils.io_utils.load_csv_column_names`): quotes and spaces inside a
  name are part of it, and a comma inside quotes still splits.
  `header_names` is that rule for a line already read, pinned to the stock
  function by a test; `read_header` calls the stock function itself.
- **Byte-order mark.** Refused by every reader, with one message. The stock
  reader would make it part of the first column's name, a name nobody sees;
  stripping it would give names stock CsvExampleGen never gives, so training
  and serving read the same names only if neither takes one.
- **Records.** The lines after the header, joined while a record's quotes are
  unbalanced (as stock `_CsvLineBuffer` joins them); each line is decoded as
  UTF-8 on its own, so a bad byte is named by its line. A record's cells come
  from tfx_bsl's CSV line parser (`csv_decoder.ParseCSVLine`, Python's `csv`
  with a comma), as bytes; blank records are skipped.
- **Cell size.** Python's `csv` refuses cells over a process-wide limit.
  Training readers use CsvExampleGen's, Python's default of 131,072
  characters, which its reader keeps in every worker; serving readers lift
  it, since a serving cell never reaches CsvExampleGen. Each read sets its
  limit before parsing.
- **Column types.** tfx_bsl's own rule for one cell (`infer_cell_type`): INT
  for an integer within int64, FLOAT for another number, STRING for other
  text; a column takes the highest type of its cells (`ColumnTypes`).
- **Compression.** A file whose name ends in `.gz` (any case) is gzip,
  decompressed as it is streamed (`open_csv`), as Beam's `ReadFromText` and
  `FileSystems.open` detect it by that suffix; its header is the first line
  of the decompressed text, by the stock rule (`header_names`).

This module imports nothing of Cascade's but `core.errors`.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import gzip
from typing import BinaryIO, Callable, Iterable, Iterator, Optional, Sequence, Union

from tfx_bsl.coders import csv_decoder

from core.errors import InputDataError

ColumnType = csv_decoder.ColumnType
UNKNOWN, INT, FLOAT, STRING = (
    int(ColumnType.UNKNOWN),
    int(ColumnType.INT),
    int(ColumnType.FLOAT),
    int(ColumnType.STRING),
)
TYPE_NAMES = {INT: "integer", FLOAT: "floating-point", STRING: "text"}

# The stock rule for one cell's type. It is private in tfx_bsl (there is no
# public function for one cell), and it is called here rather than copied so
# that every type Cascade infers is CsvExampleGen's by construction;
# tests/core/test_csv_contract.py pins it against stock CsvExampleGen's inference
# on generated cells, so a tfx_bsl upgrade that moves it fails there first.
infer_cell_type = csv_decoder._InferValueType  # noqa: SLF001

# The largest limit the C reader accepts on every platform (a C long).
MAX_CELL_CHARS = 2**31 - 1
# Python's default, which CsvExampleGen's reader keeps.
CSV_EXAMPLE_GEN_CELL_CHARS = 131_072

BYTE_ORDER_MARK = "\ufeff"
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# The shortest decimal integer outside int64 has 19 digits.
_LONG_INTEGER_CHARS = 19


class CsvFormatError(InputDataError, ValueError):
    """A CSV file that cannot be read as CsvExampleGen reads it (names the file and line).

    Args:
      message: The whole message (`at` builds it from the parts).

    Attributes:
      path: The file ("" when the message is all there is).
      line: The line the problem is on (None for the whole file).
      problem: What is wrong, without the file and line.
      kind: Which rule it broke: "utf8", "cell_size", "quotes", "csv" (another
        refusal of the CSV parser), "byte_order_mark", or "cells" (a row's
        cell count, checked by the caller).
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.path = ""
        self.line: Optional[int] = None
        self.problem = message
        self.kind = "csv"

    @classmethod
    def at(cls, path: str, line: Optional[int], problem: str, kind: str) -> "CsvFormatError":
        """The error for `problem` in `path` (on `line`, if given)."""
        error = cls(f"{path}, line {line}: {problem}" if line else f"{path}: {problem}")
        error.path, error.line, error.problem, error.kind = path, line, problem, kind
        return error


def allow_large_cells() -> None:
    """Lifts the csv module's cell size limit (process-wide: call before each read)."""
    csv.field_size_limit(MAX_CELL_CHARS)


def csv_example_gen_cells() -> int:
    """Sets the csv module's cell limit to CsvExampleGen's; returns it (call before each read)."""
    csv.field_size_limit(CSV_EXAMPLE_GEN_CELL_CHARS)
    return CSV_EXAMPLE_GEN_CELL_CHARS


def header_names(line: str) -> list[str]:
    """The column names in a file's first line, by the stock reader's rule.

    `io_utils.load_csv_column_names` reads a path; this is its rule for a line
    a reader has already taken from its stream (tested to agree with it).
    """
    return line.strip().split(",")


def is_gzip(path: str) -> bool:
    """Whether a file is read as gzip: its name ends in `.gz`, in any case."""
    return path.lower().endswith(".gz")


@contextlib.contextmanager
def open_csv(
    path: str, wrap: Optional[Callable[[BinaryIO], BinaryIO]] = None
) -> Iterator[BinaryIO]:
    """Opens a CSV file for reading its lines as bytes; a `.gz` file is decompressed.

    Args:
      path: The file (any `fileio` path, `gs://` included).
      wrap: Applied to the file's own bytes before they are decompressed
        (a `core.hashing.HashingReader` hashes the file as stored).

    Yields:
      A binary file object whose lines are the CSV text's.
    """
    # The module tfx.v1.dsl.io.fileio re-exports; importing tfx.v1 adds ~8 s to a command.
    from tfx.dsl.io import fileio

    with fileio.open(path, "rb") as raw:
        stream = wrap(raw) if wrap is not None else raw
        if not is_gzip(path):
            yield stream
            return
        with gzip.GzipFile(fileobj=stream, mode="rb") as unzipped:
            yield unzipped


def read_header(path: str) -> list[str]:
    """The column names of a CSV file, read by the stock reader itself.

    A gzipped file's names are its decompressed first line's, by the stock
    rule (`header_names`): the stock reader reads no gzip.

    Raises:
      CsvFormatError: The file starts with a byte-order mark, or its first
        line is not UTF-8.
      OSError, EOFError: A `.gz` file that is not gzip, or is cut short.
    """
    # Not in tfx.v1; imported here, as it imports TensorFlow.
    from tfx.utils import io_utils

    try:
        if is_gzip(path):
            with open_csv(path) as f:
                names = header_names(f.readline().decode("utf-8"))
        else:
            names = io_utils.load_csv_column_names(path)
    except UnicodeDecodeError as e:
        raise CsvFormatError.at(path, 1, f"not UTF-8 ({e.reason})", "utf8") from None
    check_byte_order_mark(path, names)
    return names


def check_byte_order_mark(path: str, names: Sequence[str]) -> None:
    """Refuses a header that starts with a UTF-8 byte-order mark.

    Raises:
      CsvFormatError: Naming the file and the column the mark would be part of.
    """
    if names and names[0].startswith(BYTE_ORDER_MARK):
        raise CsvFormatError.at(
            path,
            None,
            'the file starts with a UTF-8 byte-order mark (as Excel\'s "CSV UTF-8" writes), '
            "which CsvExampleGen would make part of the column name "
            f"{names[0].lstrip(BYTE_ORDER_MARK)!r}; save it as CSV without one",
            "byte_order_mark",
        )


def duplicate_column(header: Sequence[str]) -> tuple[str, int, int] | None:
    """The first name the header repeats, with its two 1-based positions, or None."""
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if name in seen:
            return name, seen[name], position
        seen[name] = position
    return None


def quoted_name(header: Sequence[str]) -> Optional[str]:
    """The first header name that holds a double quote (which the stock reader keeps), or None."""
    return next((name for name in header if '"' in name), None)


def read_csv(
    lines: Iterable[bytes], path: str, large_cells: bool = False
) -> Iterator[tuple[int, Union[list[str], list[bytes], None]]]:
    """Reads a CSV file by the contract: (1, header names), then (line, cells) per record.

    The header is None for a file without a first line; cells are bytes, and
    the line is the one the record starts on. Blank records are left out.
    Every row's cell count is the caller's to check (each names it its way).

    Args:
      lines: The file's lines as bytes, line endings kept (a binary file
        object, or a hashing reader over one).
      path: The file, for messages.
      large_cells: Lift the cell size limit (serving); otherwise CsvExampleGen's.

    Raises:
      CsvFormatError: The file starts with a byte-order mark; a line is not
        UTF-8; a quoted cell is never closed; or the CSV parser refuses a
        record (a cell over the size limit).
    """
    if large_cells:
        allow_large_cells()
    else:
        csv_example_gen_cells()
    parse = csv_decoder.ParseCSVLine(delimiter=",")
    parse.setup()
    lines = iter(lines)
    first = next(lines, None)
    if first is None:
        yield 1, None
        return
    try:
        header = header_names(first.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise CsvFormatError.at(path, 1, f"not UTF-8 ({e.reason})", "utf8") from None
    check_byte_order_mark(path, header)
    yield 1, header
    for line, record in _records(lines, path):
        try:
            [(cells, _)] = parse.process(record)
        except csv.Error as e:
            kind = "cell_size" if "field larger than field limit" in str(e) else "csv"
            raise CsvFormatError.at(path, line, str(e), kind) from None
        if cells:
            yield line, cells


def _records(lines: Iterator[bytes], path: str) -> Iterator[tuple[int, str]]:
    """(line number, record) after the header: lines joined while a record's quotes
    are unbalanced, as the stock reader (`_CsvLineBuffer`) joins them."""
    pending: list[str] = []
    quotes = 0
    start = 0
    for line_number, raw in enumerate(lines, start=2):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise CsvFormatError.at(path, line_number, f"not UTF-8 ({e.reason})", "utf8") from None
        if not pending:
            start = line_number
            if '"' not in line:
                yield start, line
                continue
        pending.append(line)
        quotes += line.count('"')
        if quotes % 2 == 0:
            yield start, "".join(pending)
            pending, quotes = [], 0
    if pending:
        raise CsvFormatError.at(path, start, "a quoted cell is never closed", "quotes")


def is_long_integer(cell: str) -> bool:
    """Whether a cell is an integer outside int64 (which CsvExampleGen reads as text)."""
    try:
        return not _INT64_MIN <= int(cell) <= _INT64_MAX
    except ValueError:
        return False


@dataclasses.dataclass(frozen=True)
class Cell:
    """Where a column first took its type."""

    path: str
    line: int
    value: str

    def describe(self) -> str:
        return f"{self.path}, row {self.line}: {self.value[:40]!r}"


class ColumnTypes:
    """The type CsvExampleGen gives each column of one input split, fed row by row.

    Each cell is typed by `infer_cell_type`; a column's type is the highest
    of its cells', and the cell that first set it is kept for messages.

    Args:
      header: The split's column names.
    """

    def __init__(self, header: Sequence[str]) -> None:
        self.header = list(header)
        self.types = [UNKNOWN] * len(header)
        self.first: list[Optional[Cell]] = [None] * len(header)
        self._open = list(range(len(header)))  # columns not yet STRING

    def add(self, row: Sequence[bytes], path: str, line: int) -> None:
        """Raises each column's type to what this row's cells (as read: bytes) need."""
        closed = False
        for i in self._open:
            cell = row[i]
            if not cell:
                continue
            current = self.types[i]
            if current == FLOAT and len(cell) < _LONG_INTEGER_CHARS and cell.isascii():
                # Most cells of a FLOAT column: only text can raise it further,
                # and a short ASCII cell that parses as a float is no text.
                try:
                    float(cell)
                    continue
                except ValueError:
                    found = STRING
            else:
                found = int(infer_cell_type(cell))
            if found > current:
                self.types[i] = found
                self.first[i] = Cell(path, line, cell.decode("utf-8"))
                closed = closed or found == STRING
        if closed:
            self._open = [i for i in self._open if self.types[i] != STRING]

    def of(self, column: str) -> tuple[int, Optional[Cell]]:
        """(type, the cell that set it) of one column; UNKNOWN if the split lacks it."""
        if column not in self.header:
            return UNKNOWN, None
        i = self.header.index(column)
        return self.types[i], self.first[i]
