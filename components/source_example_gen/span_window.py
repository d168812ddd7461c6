"""Which spans an ingestion reads: the sources' span patterns and the window size.

The component writes both into its custom config (TFX's driver replaces the
input config's patterns with the newest span's folders, so the patterns are
kept here); the driver and the executor read them back.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
from typing import Any, Mapping, Optional

from tfx import v1 as tfx

from core import spans

PATTERNS_KEY = "span_patterns"
WINDOW_KEY = "span_window"


@dataclasses.dataclass(frozen=True)
class SpanWindow:
    """The newest `size` spans of each source's folder pattern.

    Attributes:
      patterns: Source -> the folder pattern of its spans (absolute, or a URI).
      size: How many of the newest spans to read.
    """

    patterns: dict[str, str]
    size: int


def settings(input_base: str, input_config: tfx.proto.Input, size: int) -> dict[str, Any]:
    """The custom-config entries of a spanned input config ({} when unspanned).

    Args:
      input_base: The folder the split patterns are relative to.
      input_config: One split per source, each pattern `<folder>/<glob>`.
      size: The window: how many of the newest spans to read.
    """
    patterns = {
        split.name: os.path.join(input_base, posixpath.dirname(split.pattern))
        for split in input_config.splits
        if spans.is_spanned(split.pattern)
    }
    if not patterns:
        return {}
    return {PATTERNS_KEY: patterns, WINDOW_KEY: size}


def from_settings(values: Mapping[str, Any]) -> Optional[SpanWindow]:
    """Reads what `settings` wrote; None for unspanned sources."""
    patterns = values.get(PATTERNS_KEY)
    if not patterns:
        return None
    return SpanWindow(dict(patterns), int(values.get(WINDOW_KEY, 1)))
