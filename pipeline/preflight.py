"""Checks the raw CSV sources against the config before any TFX step runs.

TFX would meet these problems minutes later, deep inside a Beam job, as a
traceback; here each one becomes one message naming the file, row and column.
The label and numeric columns are scanned in full (streamed, never held in
memory), which costs seconds per million rows.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import time
import zlib
from typing import Callable, Iterator, Optional, Protocol, Sequence

# The module tfx.v1.dsl.io.fileio re-exports; importing tfx.v1 adds ~8 s to a command.
from tfx.dsl.io import fileio

from components.clean_examples.options import RESERVED_FEATURES
from pipeline import id_map_check
from pipeline.cleaning_preview import CleaningPreview, SpamIds
from pipeline.config import PipelineConfig
from core import csv_contract, source_folders, spans
from core.csv_contract import CSV_EXAMPLE_GEN_CELL_CHARS, TYPE_NAMES, ColumnTypes, duplicate_column
from core.errors import InputDataError
from core.labels import class_text, describe_classes
from core.provenance import SOURCE_FEATURE, SPAN_FEATURE
from pipeline.inventory import LABELLING_METHOD_FEATURE
from transforms.features import FeatureKind

_NUMERIC_KINDS = (FeatureKind.NUMERIC, FeatureKind.SKEWED_NUMERIC, FeatureKind.TIMESTAMP)
# Files from this size on get a progress line before and after their check.
LARGE_FILE_BYTES = 64 * 2**20


@dataclasses.dataclass
class SourceSummary:
    """What preflight saw in one source.

    Attributes:
      files: The files read (of every span read), by the source-folder rule
        (`core.source_folders`).
      label_counts: Rows per label class (the label's stripped text).
      spans: The spans read, oldest first ([] for an unspanned source).
      unread: Each folder read that holds entries that are not read (other
        files, subfolders), with those entries.
    """

    name: str
    files: list[str]
    rows: int = 0
    label_counts: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    types: Optional[ColumnTypes] = dataclasses.field(default=None, repr=False, compare=False)
    spans: list[int] = dataclasses.field(default_factory=list)
    unread: list[source_folders.FolderFiles] = dataclasses.field(default_factory=list)


def _folder_files(path: str, field: str) -> source_folders.FolderFiles:
    """Lists folder `path` by the source-folder rule; `field` names it in errors.

    Raises:
      InputDataError: The folder does not exist, is a file, holds no file
        that is read (naming what it holds), or cannot be listed (e.g. a
        bucket that cannot be reached).
    """
    try:
        exists = fileio.exists(path)
        folder = exists and fileio.isdir(path)
        found = source_folders.list_folder(path) if folder else None
    except Exception as e:  # noqa: BLE001 - each filesystem raises its own errors
        reason = (getattr(e, "message", None) or str(e)).strip().splitlines()[0]
        raise InputDataError(f"{field}: cannot read {path}: {reason}") from None
    if not exists:
        raise InputDataError(f"{field}: input folder {path} does not exist")
    if found is None:
        raise InputDataError(f"{field}: {path} is not a folder (name the folder of CSV files)")
    if not found.read:
        holds = f" (it holds {found.describe_not_read()})" if found.not_read else ""
        raise InputDataError(f"{field}: input folder {path} has no .csv or .csv.gz files{holds}")
    return found


def _csv_files(path: str, field: str) -> list[str]:
    """The files of folder `path` a run reads (see `_folder_files`)."""
    return _folder_files(path, field).read


def _rows(path: str) -> Iterator[tuple[int, Optional[list[str]], list[bytes]]]:
    """Yields (line, cells as text, cells as read) per CSV record, by the CSV contract.

    The first item is the header: (1, its names or None for an empty file, []).
    Records are read as CsvExampleGen reads them (`core.csv_contract`): blank
    ones skipped, each numbered by the line it starts on. Its cell limit
    (131,072 characters) applies, so a longer cell is named here, not in a
    worker. A `.gz` file is decompressed as it is read.

    Raises:
      InputDataError: The file breaks the CSV contract, or a `.gz` file is not gzip.
    """
    try:
        with csv_contract.open_csv(path) as f:
            records = csv_contract.read_csv(f, path)
            _, header = next(records)
            yield 1, header, []
            for line, cells in records:
                yield line, [cell.decode("utf-8") for cell in cells], cells
    except csv_contract.CsvFormatError as e:
        raise _preflight_error(e) from None
    except (OSError, EOFError, zlib.error) as e:
        if not csv_contract.is_gzip(path):
            raise
        raise InputDataError(f"{path}: cannot read it as gzip: {e}") from None


def _preflight_error(error: csv_contract.CsvFormatError) -> InputDataError:
    """A contract error in preflight's words (file, and row when there is one)."""
    if error.kind == "utf8":
        return InputDataError(f"{error.path}: {error.problem.replace('UTF-8', 'UTF-8 text', 1)}")
    if error.kind == "cell_size":
        return InputDataError(
            f"{error.path}: row {error.line}: a cell is longer than "
            f"{CSV_EXAMPLE_GEN_CELL_CHARS:,} characters, the most CsvExampleGen's CSV "
            "reader takes; shorten it"
        )
    if error.kind in ("quotes", "csv"):
        return InputDataError(f"{error.path}: row {error.line}: malformed CSV: {error.problem}")
    return InputDataError(str(error))


def _check_header_names(path: str, header: list[str]) -> None:
    """Fails on header names CsvExampleGen would take differently from what the user sees.

    A byte-order mark is refused by the contract's reader itself, in every reader.

    Raises:
      InputDataError: A repeated name, or a name in quotes.
    """
    repeated = duplicate_column(header)
    if repeated:
        name, first, second = repeated
        raise InputDataError(
            f"{path}: column {name!r} appears twice in the header (columns {first} and "
            f"{second}); one of them would silently win, so rename one"
        )
    quoted = csv_contract.quoted_name(header)
    if quoted is not None:
        raise InputDataError(
            f"{path}: header column {quoted!r} holds quotes, which CsvExampleGen keeps as "
            "part of its name (it splits the header line on commas); write the header "
            "without quotes"
        )


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _check_file(
    path: str,
    config: PipelineConfig,
    summary: SourceSummary,
    on_row: Optional[Callable[[str, list[str], list[str]], None]] = None,
) -> tuple[list[str], set[str]]:
    """Checks one CSV file; returns its header and the columns that had a value.

    `on_row`, if given, is called with (source, header, cells as text) per
    data row that passed the checks.
    """
    rows = _rows(path)
    _, header, _ = next(rows)
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
    added = _added_features(config)
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
        summary.types = ColumnTypes(header)
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
    # Blank lines are skipped, as CsvExampleGen skips them; it reads ",,," as a
    # row with every value (the label too) missing.
    for line, row, cells in rows:
        data_rows += 1
        if len(row) != len(header):
            raise InputDataError(
                f"{path}: row {line}: {len(row)} fields, but the header has {len(header)}"
            )
        label = class_text(row[label_index])
        if not label:
            raise InputDataError(
                f"{path}: row {line}: label column {config.label!r} is empty; "
                "every row needs a label"
            )
        if config.label_classes is not None and label not in config.label_classes:
            raise InputDataError(
                f"{path}: row {line}: label column {config.label!r} is {label!r}, "
                f"which is not one of the classes listed in {config.config_path} "
                f"(label.classes: {describe_classes(config.label_classes)})"
            )
        summary.label_counts[label] += 1
        for name, i in numeric:
            value = row[i].strip()
            if value and not _is_number(value):
                raise InputDataError(
                    f"{path}: row {line}: column {name!r} is {value!r}, "
                    "but the config says it is numeric"
                )
        seen_values.update(name for name, i in index.items() if row[i].strip())
        types.add(cells, path, line)
        if on_row is not None:
            on_row(summary.name, header, row)
    if data_rows == 0:
        raise InputDataError(f"{path}: file has a header but no data rows")
    summary.rows += data_rows
    return header, seen_values


def _added_features(config: PipelineConfig) -> list[str]:
    """The features the pipeline adds to every row: CleanExamples' tags, and
    the span of a spanned source."""
    added = list(RESERVED_FEATURES) + ([LABELLING_METHOD_FEATURE] if config.inventory else [])
    return added + ([SPAN_FEATURE] if config.spanned else [])


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


class RowSink(Protocol):
    """Takes a reference dataset's rows as they are read (cells as read: bytes)."""

    def add(self, header: Sequence[str], row: Sequence[bytes], path: str, line: int) -> None: ...


def _check_reference(
    path: str,
    columns: dict[str, str],
    field: str,
    rows_to: Optional[RowSink] = None,
) -> int:
    """Checks a reference dataset's folder and headers; returns its row count.

    A reference dataset (spam list, id map) may be empty: header-only files are
    fine and make the step a no-op.

    Args:
      path: The dataset's folder.
      columns: Column -> the config option that names it.
      field: The config field of the dataset, for messages.
      rows_to: Takes every data row (the id map's links, the spam list's ids).
    """
    files = _csv_files(_reference_folder(path, field), field)
    rows = 0
    for file_path in files:
        reader = _rows(file_path)
        _, header, _ = next(reader)
        if header is None:
            raise InputDataError(f"{file_path}: file is empty (expected a header line)")
        _check_header_names(file_path, header)
        for column, option in columns.items():
            if column not in header:
                raise InputDataError(
                    f"{file_path}: column {column!r} ({field}.{option}) is not in the header "
                    f"(columns: {', '.join(header)})"
                )
        if rows_to is None:
            rows += sum(1 for _ in reader)
            continue
        for line, _, cells in reader:
            rows += 1
            rows_to.add(header, cells, file_path, line)
    return rows


def _reference_folder(path: str, field: str) -> str:
    """A reference dataset's folder: `path`, or its newest span's folder.

    Raises:
      InputDataError: A span pattern that matches no folder.
    """
    return spans.newest(path, field).path if spans.is_spanned(path) else path


def _reference_paths(config: PipelineConfig) -> list[tuple[str, str]]:
    """(config field, path) of the spam list and the id map the config names."""
    where = f"{config.config_path}: cleaning"
    cleaning = config.cleaning
    found = []
    if cleaning.spam_list:
        found.append((f"{where}.spam_list", cleaning.spam_list.path))
    if cleaning.id_map:
        found.append((f"{where}.id_map", cleaning.id_map.path))
    return found


def check_reference_data(
    config: PipelineConfig, preview: Optional[CleaningPreview] = None
) -> dict[str, int]:
    """Checks the spam list and id map named in the config.

    Args:
      config: The validated config.
      preview: Given its spam ids and aliases, as CleanExamples reads them.

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
        spam = SpamIds(cleaning.spam_list.id_column) if preview is not None else None
        found["spam_list"] = _check_reference(
            cleaning.spam_list.path,
            {cleaning.spam_list.id_column: "id_column"},
            f"{where}.spam_list",
            rows_to=spam,
        )
        if preview is not None and spam is not None:
            preview.spam = spam.ids()
    if cleaning.id_map:
        id_rows = id_map_check.IdMapRows(
            cleaning.id_map.alias_column, cleaning.id_map.canonical_column
        )
        found["id_map"] = _check_reference(
            cleaning.id_map.path,
            {
                cleaning.id_map.alias_column: "alias_column",
                cleaning.id_map.canonical_column: "canonical_column",
            },
            f"{where}.id_map",
            rows_to=id_rows,
        )
        links = id_rows.links()
        id_map_check.check_links(links, f"{where}.id_map")
        if preview is not None:
            preview.aliases = {link.alias: link.canonical for link in links}
    return found


def check_sources(
    config: PipelineConfig,
    report: Optional[Callable[[str], None]] = None,
    large_bytes: int = LARGE_FILE_BYTES,
    on_row: Optional[Callable[[str, list[str], list[str]], None]] = None,
) -> list[SourceSummary]:
    """Checks every source's CSV files against the config.

    Args:
      config: The validated config.
      report: Called with a progress line before and after each file of at
        least `large_bytes` (a large input is checked for many seconds).
      large_bytes: What counts as a large file.
      on_row: Called with (source, header, cells as text) for each data row
        read (e.g. `pipeline.cleaning_preview.CleaningPreview.add_row`).

    Returns:
      Per source: its files (of every span read), row count and rows per label class.

    Raises:
      InputDataError: A folder is missing or empty, a file is empty or malformed,
        lacks a configured column, has a column named like a feature the
        pipeline adds, differs in header from its source's first
        file, has an empty label or one outside `label.classes`, a non-numeric value in a numeric
        column; a span pattern matches no folder, or a span of the window has
        no folder for one source; a column's inferred type differs between sources (see
        `check_type_agreement`); or a configured column has no value anywhere.
    """
    summaries = _sources_read(config)
    columns_with_values: set[str] = set()
    for summary in summaries:
        for path in summary.files:
            size = fileio.stat(path).length if report else 0
            if report and size >= large_bytes:
                report(f"  checking {path} ({size / 2**20:,.0f} MiB) ...")
            started, rows_before = time.monotonic(), summary.rows
            _, seen = _check_file(path, config, summary, on_row)
            if report and size >= large_bytes:
                report(
                    f"  checked {path}: {summary.rows - rows_before:,} rows "
                    f"in {time.monotonic() - started:.1f}s"
                )
            columns_with_values |= seen
    check_type_agreement(
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
    tags = [SOURCE_FEATURE] + ([LABELLING_METHOD_FEATURE] if config.inventory else [])
    tags += [SPAN_FEATURE] if config.spanned else []
    for field, key in named_columns:
        if key not in tags and key not in columns_with_values:
            raise InputDataError(
                f"{config.config_path}: {field}: column {key!r} "
                f"is not in the data (nor a tag: {', '.join(tags)})"
            )
    return summaries


def _sources_read(config: PipelineConfig) -> list[SourceSummary]:
    """Per source, the CSV files a run reads (of every span of the window, when
    spanned), in a summary with nothing counted yet.

    Raises:
      InputDataError: A folder is missing or has no CSV files, a span pattern
        matches no folder, or a span of the window has no folder for one source.
    """
    fields = [
        f"{config.config_path}: sources[{i}] ({source.name})"
        for i, source in enumerate(config.sources)
    ]
    windows = (
        spans.window(
            [(field, s.path) for field, s in zip(fields, config.sources)], config.spans.window
        )
        if config.spanned
        else {}
    )
    summaries = []
    for field, source in zip(fields, config.sources):
        found = windows.get(field, [])
        listed = [_folder_files(path, field) for path in [f.path for f in found] or [source.path]]
        summaries.append(
            SourceSummary(
                name=source.name,
                files=[path for listing in listed for path in listing.read],
                spans=[folder.span for folder in found],
                unread=[listing for listing in listed if listing.not_read],
            )
        )
    return summaries


def folders_not_read(
    config: PipelineConfig, sources: Sequence[SourceSummary]
) -> list[source_folders.FolderFiles]:
    """Every folder a run reads that holds entries it will not read.

    A run reads every `.csv` and `.csv.gz` file (any case) of each folder it
    reads; other files and subfolders there are named here, so the run can
    say so before it starts (`core.source_folders`).

    Args:
      config: The validated config (its spam list and id map are listed).
      sources: What `check_sources` found (their folders are not listed again).

    Returns:
      The sources' folders, then the spam list's and the id map's, each with
      the entries not read; folders whose every entry is read are left out.

    Raises:
      InputDataError: A reference folder is missing or cannot be listed
        (`check_reference_data` says so first).
    """
    found = [listing for summary in sources for listing in summary.unread]
    for field, path in _reference_paths(config):
        listing = _folder_files(_reference_folder(path, field), field)
        if listing.not_read:
            found.append(listing)
    return found


def found_label_classes(summaries: Sequence[SourceSummary]) -> list[str]:
    """The label classes `check_sources` saw, across every source."""
    found: collections.Counter = collections.Counter()
    for summary in summaries:
        found.update(summary.label_counts)
    return list(found)


def scan_label_classes(config: PipelineConfig) -> list[str]:
    """The label classes in the files a run reads, from the label column alone.

    For building a pipeline without a full preflight (a scheduler's DAG file or
    spec, benchmarks); `check_sources` finds the same classes while it checks.

    Raises:
      InputDataError: A folder or file cannot be read, or lacks the label column.
    """
    found: set[str] = set()
    for path in [f for summary in _sources_read(config) for f in summary.files]:
        rows = _rows(path)
        _, header, _ = next(rows)
        if not header or config.label not in header:
            raise InputDataError(f"{path}: no label column {config.label!r} in the header")
        index = header.index(config.label)
        found.update(class_text(row[index]) for _, row, _ in rows if len(row) > index)
    found.discard("")
    return list(found)


def resolve_label_classes(config: PipelineConfig) -> PipelineConfig:
    """The config with its label classes known: as listed, else found by
    `scan_label_classes` (the classes a pipeline built from it is fixed to).

    Raises:
      InputDataError: A source cannot be read, or a file lacks the label column.
      ConfigError: Fewer than two classes were found, or `label.positive` is not
        one of them or names one of three or more.
    """
    if config.label_classes is not None:
        return config
    return config.with_label_classes(scan_label_classes(config))


def _why(cell: csv_contract.Cell) -> str:
    if csv_contract.is_long_integer(cell.value):
        return " (an integer beyond int64 is read as text)"
    return ""


def check_type_agreement(
    sources: Sequence[tuple[str, ColumnTypes]], numeric: Sequence[str]
) -> None:
    """Fails if a column's type differs between sources, or a numeric feature is text.

    CsvExampleGen types each source (one input split) on its own, so one
    column can come out INT in one source and STRING in another, and the run
    would fail minutes later with "Feature had wrong type", naming no file or
    row. The types here are the CSV contract's (`core.csv_contract.ColumnTypes`,
    tfx_bsl's own rule), fed the rows preflight reads anyway.

    Args:
      sources: (source name, its column types), in config order.
      numeric: Columns the config declares numeric.

    Raises:
      InputDataError: Naming the column, and the source, file, row and value
        on each side.
    """
    for name, types in sources:
        for column in numeric:
            kind, cell = types.of(column)
            if kind == csv_contract.STRING and cell is not None:
                raise InputDataError(
                    f"column {column!r} is numeric in the config, but source {name} has text "
                    f"in it ({cell.describe()}){_why(cell)}, so CsvExampleGen would read "
                    "the column as text"
                )
    columns = dict.fromkeys(column for _, types in sources for column in types.header)
    for column in columns:
        typed = [(name, *types.of(column)) for name, types in sources]
        known = [(name, kind, cell) for name, kind, cell in typed if kind != csv_contract.UNKNOWN]
        for (name_a, kind_a, cell_a), (name_b, kind_b, cell_b) in zip(
            known[:1] * len(known), known[1:]
        ):
            if kind_a != kind_b:
                raise InputDataError(
                    f"column {column!r} has {TYPE_NAMES[kind_a]} values in source {name_a} "
                    f"({cell_a.describe()}){_why(cell_a)} but {TYPE_NAMES[kind_b]} values in "
                    f"source {name_b} ({cell_b.describe()}){_why(cell_b)}; CsvExampleGen types "
                    "each source on its own and TFX would fail on the mix, so make them agree"
                )
