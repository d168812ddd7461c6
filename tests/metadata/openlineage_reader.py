"""Reading OpenLineage events back into the `openlineage-python` client's classes.

The Python client serialises events (`Serde`) but ships no deserialiser (the
Java client's `OpenLineageClientUtils.runEventFromJson` has no Python twin),
so the tests rebuild each event from its JSON with the client's own attrs
classes, field by field from their type hints: an event the client could
not have built fails to read, and one that reads back serialises to the
same JSON.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from typing import Any

import attr
from openlineage.client.event_v2 import RunEvent
from openlineage.client.facet_v2 import (
    BaseFacet,
    data_quality_assertions_dataset,
    data_quality_metrics_dataset,
    dataset_version_dataset,
    error_message_run,
    job_type_job,
    output_statistics_output_dataset,
    parent_run,
    schema_dataset,
)
from openlineage.client.serde import Serde

from metadata import openlineage_facets

# The facet class of each key an event's facet mappings may hold.
FACETS = {
    "version": dataset_version_dataset.DatasetVersionDatasetFacet,
    "schema": schema_dataset.SchemaDatasetFacet,
    "dataQualityMetrics": data_quality_metrics_dataset.DataQualityMetricsDatasetFacet,
    "dataQualityAssertions": data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet,
    "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet,
    "parent": parent_run.ParentRunFacet,
    "errorMessage": error_message_run.ErrorMessageRunFacet,
    "jobType": job_type_job.JobTypeJobFacet,
    openlineage_facets.SPLIT_MANIFEST: openlineage_facets.SplitManifestDatasetFacet,
    openlineage_facets.SOURCE_INVENTORY: openlineage_facets.SourceInventoryDatasetFacet,
}


def _structure(kind: Any, value: Any, key: str = "") -> Any:
    if value is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        [kind] = [k for k in typing.get_args(kind) if k is not type(None)]
        return _structure(kind, value, key)
    if origin is list:
        [item] = typing.get_args(kind)
        return [_structure(item, v) for v in value]
    if origin is dict:
        _, item = typing.get_args(kind)
        if isinstance(item, type) and issubclass(item, BaseFacet):
            return {k: _structure(FACETS[k], v) for k, v in value.items()}
        return {k: _structure(item, v, k) for k, v in value.items()}
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind(value)
    if isinstance(kind, type) and attr.has(kind):
        return _attrs(kind, value)
    return value


def _attrs(cls: type, data: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name for f in attr.fields(cls)}
    unknown = set(data) - known
    assert not unknown, f"{cls.__name__} has no field {sorted(unknown)}"
    kwargs = {
        field.alias: _structure(hints[field.name], data[field.name])
        for field in attr.fields(cls)
        if field.init and field.name in data
    }
    built = cls(**kwargs)
    if "_schemaURL" in data:
        assert built._schemaURL == data["_schemaURL"], (cls.__name__, data["_schemaURL"])
    return built


def read_event(line: str) -> RunEvent:
    """One event from its JSON, as the client's `RunEvent` with its facets' classes.

    Raises:
      AssertionError: A field the class does not have, or a `_schemaURL` that
        is not the class's.
      TypeError, ValueError: A value the class refuses.
    """
    data = json.loads(line)
    event = _attrs(RunEvent, data)
    assert event.schemaURL == data["schemaURL"]
    return event


def same_json(event: RunEvent, line: str) -> bool:
    """Whether an event read back serialises to the JSON it was read from."""
    return json.loads(Serde.to_json(event)) == json.loads(line)
