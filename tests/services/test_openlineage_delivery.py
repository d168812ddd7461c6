"""services.openlineage_export.deliver: an endpoint that never answers is given up on in time."""

from __future__ import annotations

import time
import uuid

import pytest
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState

from metadata.openlineage_events import KeyedEvent
from services.openlineage_export import DeliveryError, Destination, deliver
from tests import loopback


def _events(n: int) -> list[KeyedEvent]:
    return [
        KeyedEvent(
            f"run/r{i}/START",
            RunEvent(
                eventType=RunState.START,
                eventTime="2026-01-01T00:00:00Z",
                run=Run(runId=str(uuid.uuid4())),
                job=Job(namespace="cascade", name="demo"),
                producer="https://example.com/cascade",
            ),
        )
        for i in range(n)
    ]


def test_a_hung_endpoint_stops_the_delivery_at_its_timeout_naming_it():
    sent = []
    with loopback.silent() as server:
        url = f"http://127.0.0.1:{server.port}"
        started = time.monotonic()
        with pytest.raises(DeliveryError) as raised:
            deliver(_events(20), Destination(url=url, timeout_seconds=0.5), on_sent=sent.extend)
        # One request's timeout, not one per event: the first failure ends it.
        assert time.monotonic() - started < 5
    assert str(raised.value) == (
        f"OpenLineage events not delivered to {url}/api/v1/lineage: no answer within 0.5s; "
        "0 of 20 sent"
    )
    assert sent == []
