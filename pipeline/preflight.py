"""Checks the raw CSV sources against the config before any TFX step runs.

TFX would meet these problems minutes later, deep inside a Beam job, as a
traceback; here each one becomes one message naming the file, row and column.
The label and numeric columns are scanned in full (streamed, never held in
memory), which costs seconds per million rows.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import time
from typing import Callable, Iterator, Optional

# The module tfx.v1.dsl.io.fileio re-exports; importing tfx.v1 adds ~8 s to a command.
from tfx.dsl.io import fileio

from components.clean_examples.options import RESERVED_FEATURES
from pipeline import column_types, id_map_check
from pipeline.config import PipelineConfig
from core.csv_fields import csv_example_gen_cells, duplicate_column
from core.errors import InputDataError
from pipeline.inventory import LABELLING_METHOD_FEATURE
from transforms.features import FeatureKind

_LABEL_VALUES = {"0": 0, "1": 1}
_NUMERIC_KINDS = (FeatureKind.NUMERIC, FeatureKind.SKEWED_NUMERIC, FeatureKind.TIMESTAMP)
# Files from this size on get a progress line before and after their check.
LARGE_FILE_BYTES = 64 * 2**20


@dataclasses.dataclass
class SourceSummary:
    """What preflight saw in one source."""

    name: str
    files: list[str]
    rows: int = 0
    positives: int = 0
    types: Optional[column_types.SourceTypes] = dataclasses.field(
        default=None, repr=False, compare=False
    )


def _csv_files(path: str, field: str) -> list[str]:
    """Returns the CSV files in folder `path`; `field` names it in errors."""
    if not fileio.exists(path):
        raise InputDataError(f"{field}: input folder {path} does not exist")
    if not fileio.isdir(path):
        raise InputDataError(f"{field}: {path} is not a folder (name the folder of CSV files)")
    files = sorted(fileio.glob(path.rstrip("/") + "/*.csv"))
    if not files:
        raise InputDataError(f"{field}: input folder {path} has no *.csv files")
    return [f.decode() if isinstance(f, bytes) else f for f in files]


def _rows(path: str) -> Iterator[list[str]]:
    """Yields the fields of each CSV row, header included.

    The csv module's default cell limit (131,072 characters) applies: it is
    the limit of CsvExampleGen's own CSV reader (tfx_bsl's, also Python's
    `csv`) in every worker, so a longer cell is named here, not in a worker.
    """
    line = 0
    limit = csv_example_gen_cells()
    with fileio.open(path, "r") as f:
        reader = csv.reader(f)
        try:
            for row in reader:
                line = reader.line_num
                yield row
        except UnicodeDecodeError as e:
            raise InputDataError(f"{path}: not UTF-8 text ({e.reason})") from None
        except csv.Error as e:
            if "field larger than field limit" in str(e):
                raise InputDataError(
                    f"{path}: row {line + 1}: a cell is longer than "
                    f"{limit:,} characters, the most CsvExampleGen's CSV "
                    "reader takes; shorten it"
                ) from None
            raise InputDataError(f"{path}: malformed CSV: {e}") from None


def _check_header_names(path: str, header: list[str]) -> None:
    """Fails on header names CsvExampleGen would take differently from what the user sees.

    Raises:
      InputDataError: A byte-order mark before the first name, or a repeated name.
    """
    if header and header[0].startswith("\ufeff"):
        raise InputDataError(
            f'{path}: the file starts with a UTF-8 byte-order mark (as Excel\'s "CSV UTF-8" '
            f"writes), which CsvExampleGen would make part of the column name "
            f"{header[0].lstrip(chr(0xFEFF))!r}; save it as CSV without one"
        )
    repeated = duplicate_column(header)
    if repeated:
        name, first, second = repeated
        raise InputDataError(
            f"{path}: column {name!r} appears twice in the header (columns {first} and "
            f"{second}); one of them would silently win, so rename one"
        )


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _check_file(
    path: str, config: PipelineConfig, summary: SourceSummary
) -> tuple[list[str], set[str]]:
    """Checks one CSV file; returns its header and the columns that had a value."""
    rows = _rows(path)
    header = next(rows, None)
    if header is None:
        raise InputDataError(f"{path}: file is empty (expected a header line and rows)")
    # CsvExampleGen takes line 1, as it is, for the column names.
    if not any(cell.strip() for cell in header):
        raise InputDataError(f"{path}: line 1 is empty; the header must be the first line")
    _check_header_names(path, header)
    padded = [cell for cell in header if cell != cell.strip()]
    if padded:
        raise InputDataError(
            f"{path}: header column {padded[0]!r} has surrounding spaces, "
            "which would become part of its name"
        )
    added = list(RESERVED_FEATURES) + ([LABELLING_METHOD_FEATURE] if config.inventory else [])
    clash = [c for c in header if c in added]
    if clash:
        raise InputDataError(
            f"{path}: column {clash[0]!r} has the name of a feature the pipeline adds to "
            f"every row ({', '.join(added)}); rename the column"
        )
    missing = [c for c in config.required_columns if c not in header]
    if missing:
        raise InputDataError(
            f"{path}: column {missing[0]!r} named in {config.config_path} "
            f"({_config_field(config, missing[0])}) is not in the header "
            f"(columns: {', '.join(header)})"
        )
    if summary.types is None:
        summary.types = column_types.SourceTypes(header)
    elif header != summary.types.header:
        raise InputDataError(
            f"{path}: header differs from {summary.files[0]} in the same source; "
            "CsvExampleGen reads one header per source"
        )
    types = summary.types
    index = {name: i for i, name in enumerate(header)}
    label_index = index[config.label]
    numeric = [(f.name, index[f.name]) for f in config.features if f.kind in _NUMERIC_KINDS]
    seen_values: set[str] = set()
    data_rows = 0
    for line, row in enumerate(rows, start=2):
        # Skip only blank lines, as CsvExampleGen does; it reads ",,," as a row
        # with every value (the label too) missing.
        if not row:
            continue
        data_rows += 1
        if len(row) != len(header):
            raise InputDataError(
                f"{path}: row {line}: {len(row)} fields, but the header has {len(header)}"
            )
        label = row[label_index].strip()
        if label not in _LABEL_VALUES:
            shown = repr(label) if label else "empty"
            raise InputDataError(
                f"{path}: row {line}: label column {config.label!r} is {shown}; "
                "labels must be 0 or 1"
            )
        summary.positives += _LABEL_VALUES[label]
        for name, i in numeric:
            value = row[i].strip()
            if value and not _is_number(value):
                raise InputDataError(
                    f"{path}: row {line}: column {name!r} is {value!r}, "
                    "but the config says it is numeric"
                )
        seen_values.update(name for name, i in index.items() if row[i].strip())
        types.add(row, path, line)
    if data_rows == 0:
        raise InputDataError(f"{path}: file has a header but no data rows")
    summary.rows += data_rows
    return header, seen_values


def _config_field(config: PipelineConfig, column: str) -> str:
    if column == config.label:
        return "label"
    if column == config.id_key:
        return "id_key"
    for i, feature in enumerate(config.features):
        if feature.name == column:
            return f"features[{i}].name"
    if column == config.cleaning.keep_latest_by:
        return "cleaning.keep_latest_by"
    if column in config.cleaning.required_columns:
        return f"cleaning.required_columns[{config.cleaning.required_columns.index(column)}]"
    return "?"


def _check_reference(
    path: str,
    columns: dict[str, str],
    field: str,
    id_map: Optional[tuple[str, str]] = None,
) -> int:
    """Checks a reference dataset's folder and headers; returns its row count.

    A reference dataset (spam list, id map) may be empty: header-only files are
    fine and make the step a no-op.

    Args:
      path: The dataset's folder.
      columns: Column -> the config option that names it.
      field: The config field of the dataset, for messages.
      id_map: (alias column, canonical column) when the dataset is the id
        map: its links are then checked too (see `pipeline.id_map_check`).
    """
    files = _csv_files(path, field)
    rows = 0
    id_rows = id_map_check.IdMapRows(*id_map) if id_map else None
    for file_path in files:
        reader = _rows(file_path)
        header = next(reader, None)
        if header is None:
            raise InputDataError(f"{file_path}: file is empty (expected a header line)")
        _check_header_names(file_path, header)
        for column, option in columns.items():
            if column not in header:
                raise InputDataError(
                    f"{file_path}: column {column!r} ({field}.{option}) is not in the header "
                    f"(columns: {', '.join(header)})"
                )
        if id_rows is None:
            rows += sum(1 for row in reader if row)
            continue
        for line, row in enumerate(reader, start=2):
            rows += bool(row)
            id_rows.add(header, row, file_path, line)
    if id_rows is not None:
        id_map_check.check_links(id_rows.links(), field)
    return rows


def check_reference_data(config: PipelineConfig) -> dict[str, int]:
    """Checks the spam list and id map named in the config.

    Returns:
      Rows per reference dataset, e.g. {"spam_list": 156}.

    Raises:
      InputDataError: A folder is missing or has no CSV files, a configured
        column is not in a file's header, or the id map gives an alias two
        canonical ids or has a cycle.
    """
    found = {}
    cleaning = config.cleaning
    where = f"{config.config_path}: cleaning"
    if cleaning.spam_list:
        found["spam_list"] = _check_reference(
            cleaning.spam_list.path,
            {cleaning.spam_list.id_column: "id_column"},
            f"{where}.spam_list",
        )
    if cleaning.id_map:
        found["id_map"] = _check_reference(
            cleaning.id_map.path,
            {
                cleaning.id_map.alias_column: "alias_column",
                cleaning.id_map.canonical_column: "canonical_column",
            },
            f"{where}.id_map",
            id_map=(cleaning.id_map.alias_column, cleaning.id_map.canonical_column),
        )
    return found


def check_sources(
    config: PipelineConfig,
    report: Optional[Callable[[str], None]] = None,
    large_bytes: int = LARGE_FILE_BYTES,
) -> list[SourceSummary]:
    """Checks every source's CSV files against the config.

    Args:
      config: The validated config.
      report: Called with a progress line before and after each file of at
        least `large_bytes` (a large input is checked for many seconds).
      large_bytes: What counts as a large file.

    Returns:
      Per source: its files, row count and positives.

    Raises:
      InputDataError: A folder is missing or empty, a file is empty or malformed,
        lacks a configured column, has a column named like a feature the
        pipeline adds, differs in header from its source's first
        file, has a label other than 0/1, a non-numeric value in a numeric
        column; a column's inferred type differs between sources (see
        `pipeline.column_types`); or a configured column has no value anywhere.
    """
    summaries = []
    columns_with_values: set[str] = set()
    for i, source in enumerate(config.sources):
        field = f"{config.config_path}: sources[{i}] ({source.name})"
        summary = SourceSummary(name=source.name, files=_csv_files(source.path, field))
        for path in summary.files:
            size = fileio.stat(path).length if report else 0
            if report and size >= large_bytes:
                report(f"  checking {path} ({size / 2**20:,.0f} MiB) ...")
            started, rows_before = time.monotonic(), summary.rows
            _, seen = _check_file(path, config, summary)
            if report and size >= large_bytes:
                report(
                    f"  checked {path}: {summary.rows - rows_before:,} rows "
                    f"in {time.monotonic() - started:.1f}s"
                )
            columns_with_values |= seen
        summaries.append(summary)
    column_types.check_agreement(
        [(s.name, s.types) for s in summaries],
        [f.name for f in config.features if f.kind in _NUMERIC_KINDS],
    )
    empty = [c for c in config.required_columns if c not in columns_with_values]
    if empty:
        raise InputDataError(
            f"{config.config_path}: column {empty[0]!r} ({_config_field(config, empty[0])}) "
            "has no value in any row of any source"
        )
    named_columns = [("evaluation.slice_by", key) for key in config.evaluation.slice_by]
    named_columns += [("split.stratify_by", key) for key in config.split.stratify_by]
    if config.split.group_by:
        named_columns.append(("split.group_by", config.split.group_by))
    tags = ["source"] + ([LABELLING_METHOD_FEATURE] if config.inventory else [])
    for field, key in named_columns:
        if key not in tags and key not in columns_with_values:
            raise InputDataError(
                f"{config.config_path}: {field}: column {key!r} "
                f"is not in the data (nor a tag: {', '.join(tags)})"
            )
    return summaries
