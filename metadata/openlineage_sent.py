"""Which OpenLineage events an endpoint has received, kept in ML Metadata.

An incremental export sends only what an endpoint has not received; the
record of what it has is a custom property of the pipeline's MLMD context
(`openlineage_sent`), so every machine sharing the store shares it, and it
goes where the store goes. Per endpoint it holds the keys of the events sent
(`metadata.openlineage_events.KeyedEvent.key`), execution ids written as
ranges (`1-40,42`) per event state, so a long history stays small.
"""

from __future__ import annotations

import json
from typing import Iterable

from ml_metadata import metadata_store

from core.errors import CascadeError
from metadata import names

PROPERTY = "openlineage_sent"
_EXECUTION = "execution"


def _ranges(ids: Iterable[int]) -> str:
    """[1, 2, 3, 5] -> "1-3,5"."""
    parts: list[str] = []
    start = previous = None
    for i in sorted(set(ids)):
        if previous is not None and i == previous + 1:
            previous = i
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = i
    if start is not None:
        parts.append(str(start) if start == previous else f"{start}-{previous}")
    return ",".join(parts)


def _ids(text: str) -> set[int]:
    """ "1-3,5" -> {1, 2, 3, 5}."""
    found: set[int] = set()
    for part in filter(None, text.split(",")):
        low, _, high = part.partition("-")
        found.update(range(int(low), int(high or low) + 1))
    return found


def _encode(keys: Iterable[str]) -> dict[str, object]:
    executions: dict[str, set[int]] = {}
    others: list[str] = []
    for key in keys:
        kind, _, rest = key.partition("/")
        number, _, state = rest.partition("/")
        if kind == _EXECUTION and number.isdigit():
            executions.setdefault(state, set()).add(int(number))
        else:
            others.append(key)
    return {
        "executions": {state: _ranges(ids) for state, ids in sorted(executions.items())},
        "others": sorted(set(others)),
    }


def _decode(record: dict) -> set[str]:
    keys = set(record.get("others", []))
    for state, text in record.get("executions", {}).items():
        keys.update(f"{_EXECUTION}/{i}/{state}" for i in _ids(text))
    return keys


def _all(store: metadata_store.MetadataStore, pipeline_name: str) -> tuple[object, dict]:
    context = names.pipeline_context(store, pipeline_name)
    if context is None:
        raise CascadeError(f"no pipeline {pipeline_name!r} in the metadata store")
    value = context.custom_properties.get(PROPERTY)
    try:
        recorded = json.loads(value.string_value) if value is not None else {}
    except ValueError:
        recorded = {}
    return context, recorded if isinstance(recorded, dict) else {}


def sent(store: metadata_store.MetadataStore, pipeline_name: str, destination: str) -> set[str]:
    """The keys of the events an endpoint has received.

    Args:
      store: The metadata store.
      pipeline_name: The pipeline the events are of.
      destination: The endpoint, as `record_sent` was given it.

    Raises:
      CascadeError: No such pipeline in the store.
    """
    _, recorded = _all(store, pipeline_name)
    return _decode(recorded.get(destination, {}))


def record_sent(
    store: metadata_store.MetadataStore, pipeline_name: str, destination: str, keys: Iterable[str]
) -> None:
    """Adds event keys to what an endpoint has received.

    Args:
      store: A writable store (the caller holds its write lock).
      pipeline_name: The pipeline the events are of.
      destination: The endpoint (its URL, never with credentials).
      keys: The keys of the events it has just received.

    Raises:
      CascadeError: No such pipeline in the store.
    """
    keys = set(keys)
    if not keys:
        return
    context, recorded = _all(store, pipeline_name)
    recorded[destination] = _encode(_decode(recorded.get(destination, {})) | keys)
    context.custom_properties[PROPERTY].string_value = json.dumps(recorded, sort_keys=True)
    store.put_contexts([context])
