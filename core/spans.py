"""Span patterns: folders of arriving data named by TFX's `{SPAN}` (or a date).

A spanned path names one folder per span, e.g. `data/web/span-{SPAN}` or
`data/web/{YYYY}-{MM}-{DD}`, optionally with `{VERSION}` (the newest version of
a span is read). These are the placeholders of TFX's ExampleGen, which resolves
the newest span in its driver; this module finds the same folders for the
checks made before TFX starts (preflight) and for a window of several spans
(the ExampleGen executor), so both read spans by one rule. A date is span
number "days since 1970-01-01", as in TFX.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from typing import Mapping, Optional, Sequence

from core import source_folders
from core.errors import InputDataError

SPAN_SPEC = "{SPAN}"
VERSION_SPEC = "{VERSION}"
DATE_SPECS = ("{YYYY}", "{MM}", "{DD}")
_SPECS = (SPAN_SPEC, VERSION_SPEC, *DATE_SPECS)
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_EPOCH = datetime.date(1970, 1, 1)


@dataclasses.dataclass(frozen=True)
class SpanFolder:
    """One span's folder (its newest version when the pattern has `{VERSION}`)."""

    span: int
    version: Optional[int]
    path: str


def is_spanned(path: str) -> bool:
    """Whether `path` names span folders (`{SPAN}` or the three date placeholders)."""
    return SPAN_SPEC in path or all(spec in path for spec in DATE_SPECS)


def check_pattern(path: str) -> Optional[str]:
    """The problem with a path's placeholders, or None when it has none or valid ones.

    Returns:
      A sentence naming the problem: an unknown placeholder, one used twice,
      `{SPAN}` mixed with dates, a partial date, or `{VERSION}` without a span.
    """
    for found in _PLACEHOLDER.findall(path):
        if found not in _SPECS:
            return f"unknown placeholder {found} (expected {{SPAN}}, {{VERSION}} or {{YYYY}}, {{MM}}, {{DD}})"
        if path.count(found) > 1:
            return f"placeholder {found} appears more than once"
    dates = [spec for spec in DATE_SPECS if spec in path]
    if dates and SPAN_SPEC in path:
        return "use {SPAN} or a date ({YYYY}, {MM}, {DD}), not both"
    if dates and len(dates) != len(DATE_SPECS):
        return "a date span needs all of {YYYY}, {MM} and {DD}"
    if VERSION_SPEC in path and not is_spanned(path):
        return "{VERSION} needs {SPAN} (or a date) in the same path"
    return None


def static_root(path: str) -> str:
    """The folder above the first path component holding a placeholder (`path` if none)."""
    if "{" not in path:
        return path
    head = path[: path.index("{")]
    return (head[: head.rfind("/")] or "/") if "/" in head else "."


def date_to_span(year: int, month: int, day: int) -> int:
    """TFX's span number of a date: days since 1970-01-01."""
    return (datetime.date(year, month, day) - _EPOCH).days


def fill(pattern: str, span: int, version: Optional[int]) -> str:
    """The pattern with one span (and version) written in, as TFX writes it.

    A `{SPAN}` becomes the number without padding: `fill` serves patterns
    whose folders `find_spans` listed, which keeps each folder's own text.
    """
    text = pattern.replace(SPAN_SPEC, str(span))
    if all(spec in text for spec in DATE_SPECS):
        date = _EPOCH + datetime.timedelta(days=span)
        text = (
            text.replace("{YYYY}", f"{date.year:04d}")
            .replace("{MM}", f"{date.month:02d}")
            .replace("{DD}", f"{date.day:02d}")
        )
    if version is not None:
        text = text.replace(VERSION_SPEC, str(version))
    return text


def _regex(pattern: str) -> re.Pattern:
    parts = []
    for piece in re.split(r"(\{SPAN\}|\{VERSION\}|\{YYYY\}|\{MM\}|\{DD\})", pattern):
        if piece == SPAN_SPEC:
            parts.append(r"(?P<span>\d+)")
        elif piece == VERSION_SPEC:
            parts.append(r"(?P<version>\d+)")
        elif piece == "{YYYY}":
            parts.append(r"(?P<year>\d{4})")
        elif piece in ("{MM}", "{DD}"):
            parts.append(rf"(?P<{'month' if piece == '{MM}' else 'day'}>\d{{2}})")
        else:
            parts.append(re.escape(piece))
    return re.compile("".join(parts))


def find_spans(pattern: str) -> dict[int, SpanFolder]:
    """Every span folder of a spanned path that holds CSV files.

    A folder counts when ExampleGen's glob (`core.source_folders`) matches a
    file in it, so this finds the spans TFX's driver finds.

    Args:
      pattern: A folder path with placeholders (local or a URI).

    Returns:
      Span number -> its folder (of the newest version), by span.
    """
    # The module tfx.v1.dsl.io.fileio re-exports (tfx.v1 adds seconds to a
    # command); imported here so `describe` costs the read-only commands nothing.
    from tfx.dsl.io import fileio

    glob = _PLACEHOLDER.sub("*", pattern).rstrip("/") + "/" + source_folders.EXAMPLE_GEN_GLOB
    regex = _regex(pattern.rstrip("/"))
    found: dict[int, SpanFolder] = {}
    for file_path in fileio.glob(glob):
        text = file_path.decode() if isinstance(file_path, bytes) else file_path
        folder = text.rsplit("/", 1)[0]
        match = regex.fullmatch(folder)
        if not match:
            continue
        groups = match.groupdict()
        if groups.get("span") is not None:
            span = int(groups["span"])
        else:
            try:
                span = date_to_span(int(groups["year"]), int(groups["month"]), int(groups["day"]))
            except ValueError:
                continue  # not a calendar date: not a span folder
        version = int(groups["version"]) if groups.get("version") is not None else None
        known = found.get(span)
        if known is None or (version or 0) > (known.version or 0):
            found[span] = SpanFolder(span, version, folder)
    return dict(sorted(found.items()))


def newest(pattern: str, field: str) -> SpanFolder:
    """The newest span folder of one spanned path (a spam list's, an id map's).

    Raises:
      InputDataError: The pattern matches no folder with CSV files (naming the
        field, the pattern and the folder searched).
    """
    found = find_spans(pattern)
    if not found:
        raise InputDataError(_matches_nothing(pattern, field))
    return found[max(found)]


def _matches_nothing(pattern: str, field: str) -> str:
    return (
        f"{field}: span pattern {pattern[len(static_root(pattern)) :].lstrip('/')} matches "
        f"no folder of .csv or .csv.gz files in {static_root(pattern)}"
    )


def window(
    patterns: Sequence[tuple[str, str]],
    size: int,
    newest_span: Optional[int] = None,
) -> dict[str, list[SpanFolder]]:
    """The newest `size` spans of several sources, which every source must have.

    Args:
      patterns: (field naming the source in messages, its spanned path).
      size: How many spans to take (fewer when fewer exist).
      newest_span: Take spans up to this one (the span TFX's driver chose);
        None: up to the newest found.

    Returns:
      Field -> its span folders in the window, oldest first.

    Raises:
      InputDataError: A pattern matches no folder, or a span of the window has
        no folder for one source (naming the source, the span and a source
        that has it).
    """
    found: dict[str, Mapping[int, SpanFolder]] = {}
    for field, pattern in patterns:
        spans = find_spans(pattern)
        if not spans:
            raise InputDataError(_matches_nothing(pattern, field))
        found[field] = spans
    every = sorted({s for spans in found.values() for s in spans})
    if newest_span is not None:
        every = [s for s in every if s <= newest_span]
    chosen = every[-size:]
    for span in chosen:
        having = [field for field, spans in found.items() if span in spans]
        for (field, pattern), spans in zip(patterns, found.values()):
            if span not in spans:
                raise InputDataError(
                    f"{field}: no folder for span {span} ({fill(pattern, span, None)} "
                    f"has no .csv or .csv.gz files), but {having[0]} has one; every source needs "
                    "each span it reads"
                )
    return {field: [spans[s] for s in chosen] for field, spans in found.items()}


def describe(numbers: Sequence[int]) -> str:
    """Spans as people read them: "span 3", "spans 1-3", "spans 1, 3" ("" for none)."""
    found = sorted(set(numbers))
    if not found:
        return ""
    if len(found) == 1:
        return f"span {found[0]}"
    if found == list(range(found[0], found[-1] + 1)):
        return f"spans {found[0]}-{found[-1]}"
    return "spans " + ", ".join(str(n) for n in found)
