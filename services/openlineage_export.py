"""Delivering a pipeline's OpenLineage events: to a file, or to a catalog's HTTP endpoint.

The events (`metadata.openlineage_events`) go out through the
`openlineage-python` client's transports: `FileTransport` writes one JSON
event per line, `HttpTransport` POSTs each to `<url>/<endpoint>` (Marquez's
`api/v1/lineage` by default) with the API key, if any, as a bearer token.
The transports are called directly rather than through `OpenLineageClient`,
so an `openlineage.yml` or `OPENLINEAGE_*` variable meant for another tool
cannot redirect or drop Cascade's events.

A file is a snapshot: it is written anew with every selected event. An
endpoint is sent each event once: what it received is recorded in MLMD
(`metadata.openlineage_sent`), so exporting again, or a run that ends after
a failed delivery, sends only the rest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from typing import Any, Optional

from core.errors import CascadeError
from metadata.openlineage_events import KeyedEvent, Selection
from pipeline.lineage_config import DEFAULT_ENDPOINT, OpenLineageConfig, check_url
from services.store import StoreOptions

# Tries per event: one retry of a refused connection or a gateway error, so
# an endpoint that is down costs a run seconds, not minutes.
_RETRY = {
    "total": 1,
    "connect": 1,
    "read": 0,
    "backoff_factor": 0.2,
    "status_forcelist": [502, 503, 504],
    "allowed_methods": ["POST"],
}


@dataclasses.dataclass(frozen=True)
class Destination:
    """Where events go: a file, or an HTTP endpoint.

    Attributes:
      output: A file for newline-delimited JSON events (None: an endpoint).
      url: The server's base URL (None: a file).
      endpoint: The path under `url` events are POSTed to.
      api_key_env: The environment variable holding the API key, or None.
      timeout_seconds: How long one request may take.
    """

    output: Optional[str] = None
    url: Optional[str] = None
    endpoint: str = DEFAULT_ENDPOINT
    api_key_env: Optional[str] = None
    timeout_seconds: float = 5.0

    def describe(self) -> str:
        """The file, or the URL events are POSTed to (never with the key)."""
        if self.output is not None:
            return self.output
        return f"{self.url.rstrip('/')}/{self.endpoint}".rstrip("/")

    @classmethod
    def from_config(cls, config: OpenLineageConfig) -> Destination:
        """The endpoint a config's `lineage.openlineage` section names."""
        return cls(
            url=config.url,
            endpoint=config.endpoint,
            api_key_env=config.api_key_env,
            timeout_seconds=config.timeout_seconds,
        )


@dataclasses.dataclass(frozen=True)
class ExportRequest:
    """One export.

    Attributes:
      store: The metadata store.
      pipeline: The pipeline whose record is exported.
      namespace: The OpenLineage job namespace.
      destination: The file or endpoint.
      selection: Which runs and executions (all by default).
      resend: Send to an endpoint what it already received too.
    """

    store: StoreOptions
    pipeline: str
    namespace: str
    destination: Destination
    selection: Selection = Selection()
    resend: bool = False


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """What an export did.

    Attributes:
      destination: The file or URL, as messages name it.
      sent: Events written or posted.
      skipped: Events the endpoint had already received.
      runs: OpenLineage runs (executions and pipeline runs) the events sent describe.
    """

    destination: str
    sent: int
    skipped: int
    runs: int


class DeliveryError(CascadeError):
    """Events could not be delivered: the endpoint refused or was unreachable.

    Attributes:
      sent: Events delivered before the failure (recorded as received).
      total: Events there were to deliver.
    """

    def __init__(self, message: str, sent: int, total: int) -> None:
        super().__init__(message)
        self.sent = sent
        self.total = total


def _api_key(destination: Destination) -> Optional[str]:
    """The API key from the variable the destination names.

    Raises:
      CascadeError: The variable is named but not set.
    """
    if destination.api_key_env is None:
        return None
    key = os.environ.get(destination.api_key_env, "")
    if not key:
        raise CascadeError(
            f"the API key variable {destination.api_key_env} is not set "
            f"(export it, or leave out --api-key-env / lineage.openlineage.api_key_env)"
        )
    return key


def _transport(destination: Destination, api_key: Optional[str]) -> Any:
    """The client's transport for a destination."""
    if destination.output is not None:
        from openlineage.client.transport.file import FileConfig, FileTransport

        return FileTransport(FileConfig(log_file_path=destination.output, append=True))
    from openlineage.client.transport.http import (
        ApiKeyTokenProvider,
        HttpConfig,
        HttpTransport,
        TokenProvider,
    )

    return HttpTransport(
        HttpConfig(
            url=destination.url,
            endpoint=destination.endpoint,
            timeout=destination.timeout_seconds,
            auth=ApiKeyTokenProvider({"api_key": api_key}) if api_key else TokenProvider({}),
            retry=_RETRY,
        )
    )


def _why(error: Exception, destination: Destination, api_key: Optional[str]) -> str:
    """A failed delivery's reason in a few words (with no key in it)."""
    import requests

    text = str(error).lower()
    # A read timeout after urllib3's retries reaches requests as a ConnectionError.
    if isinstance(error, requests.exceptions.Timeout) or "read timed out" in text:
        reason = f"no answer within {destination.timeout_seconds:g}s"
    elif isinstance(error, requests.exceptions.ConnectionError):
        reason = "connection refused" if "refused" in text else "cannot connect"
    elif isinstance(error, requests.exceptions.HTTPError) and error.response is not None:
        reason = f"the server answered {error.response.status_code} {error.response.reason}"
    else:
        reason = str(error.__cause__ or error) or type(error).__name__
    return reason.replace(api_key, "***") if api_key else reason


def deliver(events: list[KeyedEvent], destination: Destination, on_sent: Any = None) -> int:
    """Sends events in order; stops at the first that cannot be delivered.

    Args:
      events: The events to send.
      destination: The file (written anew) or endpoint.
      on_sent: Called with the keys delivered, also when a later event fails.

    Returns:
      How many were sent (all of them).

    Raises:
      CascadeError: The API key's variable is not set, or the file cannot be written.
      DeliveryError: An event could not be delivered (naming the endpoint and why).
    """
    api_key = _api_key(destination)
    if destination.output is not None and "://" not in destination.output:
        try:
            open(destination.output, "w", encoding="utf-8").close()
        except OSError as e:
            raise CascadeError(f"cannot write {destination.output}: {e.strerror}") from None
    transport = _transport(destination, api_key)
    delivered: list[str] = []
    try:
        stack = contextlib.ExitStack()
        stack.enter_context(_quiet_logs())
        for keyed in events:
            try:
                transport.emit(keyed.event)
            except Exception as e:  # noqa: BLE001 - each transport raises its own errors
                raise DeliveryError(
                    f"OpenLineage events not delivered to {destination.describe()}: "
                    f"{_why(e, destination, api_key)}; {len(delivered)} of {len(events)} sent",
                    len(delivered),
                    len(events),
                ) from None
            delivered.append(keyed.key)
    finally:
        stack.close()
        transport.close()
        if on_sent is not None and delivered:
            on_sent(delivered)
    return len(delivered)


@contextlib.contextmanager
def _quiet_logs() -> Any:
    """Keeps the HTTP library's retry warnings and the client's logs off the terminal
    while delivering: a failure is reported once, by the caller."""
    loggers = [logging.getLogger(name) for name in ("urllib3", "openlineage")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def export(request: ExportRequest) -> ExportResult:
    """Builds a pipeline's events and delivers those the destination has not received.

    Raises:
      CascadeError: No such pipeline or run, an unusable URL or file, an
        unset key variable, or a delivery that failed (`DeliveryError`: what
        was sent before it stays recorded, so the next export sends the rest).
    """
    from metadata import openlineage_events, openlineage_sent

    destination = request.destination
    if destination.url is not None:
        problem = check_url(destination.url)
        if problem:
            raise CascadeError(f"--url: {problem}")
    _api_key(destination)  # an unset variable fails before the store is read
    to_endpoint = destination.output is None
    store = request.store.open(read_only=not to_endpoint)
    held = request.store.writing("cascade lineage export") if to_endpoint else _nothing()
    with held:
        events = openlineage_events.build_events(
            store, request.pipeline, request.namespace, request.selection
        )
        key = destination.describe()
        received = (
            openlineage_sent.sent(store, request.pipeline, key)
            if to_endpoint and not request.resend
            else set()
        )
        pending = [e for e in events if e.key not in received]

        def remember(keys: list[str]) -> None:
            if to_endpoint:
                openlineage_sent.record_sent(store, request.pipeline, key, keys)

        sent = deliver(pending, destination, remember)
    return ExportResult(
        destination=key,
        sent=sent,
        skipped=len(events) - len(pending),
        runs=len({e.event.run.runId for e in pending}),
    )


def _nothing() -> Any:
    import contextlib

    return contextlib.nullcontext()


def emit_after(
    store: Any, pipeline: str, config: OpenLineageConfig, selection: Selection
) -> Optional[str]:
    """Posts a finished run's or scoring's events to the config's endpoint, if it names one.

    Never raises: whatever goes wrong (the endpoint down, a key variable
    unset, a record that cannot be read) is one warning line, and the run or
    scoring it follows stands. The caller holds the store's write lock.

    Args:
      store: The open, writable metadata store.
      pipeline: The pipeline's name.
      config: The config's `lineage.openlineage` section.
      selection: The run or scoring just recorded.

    Returns:
      None when nothing was to be sent or all was; else the warning, one line.
    """
    if config.url is None:
        return None
    from metadata import openlineage_events, openlineage_sent

    destination = Destination.from_config(config)
    key = destination.describe()
    total = 0
    try:
        events = openlineage_events.build_events(store, pipeline, config.namespace, selection)
        received = openlineage_sent.sent(store, pipeline, key)
        pending = [e for e in events if e.key not in received]
        total = len(pending)
        deliver(
            pending,
            destination,
            lambda keys: openlineage_sent.record_sent(store, pipeline, key, keys),
        )
    except DeliveryError as e:
        return f"{e}; `cascade lineage export --openlineage` sends the rest"
    except Exception as e:  # noqa: BLE001 - a delivery never fails the run it reports
        detail = str(e).splitlines()[0] if str(e) else type(e).__name__
        return (
            f"OpenLineage events not delivered to {key}: {detail}; 0 of {total} sent; "
            "`cascade lineage export --openlineage` sends them"
        )
    return None


def emit_after_run(store: Any, config: Any, run_id: str) -> Optional[str]:
    """Posts a finished pipeline run's events to the config's endpoint (see `emit_after`).

    Args:
      store: The open, writable metadata store (its write lock held).
      config: The run's `pipeline.config.PipelineConfig`.
      run_id: The run (its `pipeline_run` context name).

    Returns:
      None, or why not every event was delivered (one line; the run stands).
    """
    return emit_after(store, config.name, config.openlineage, Selection(run=run_id))


def emit_after_execution(store: Any, config: Any, execution_id: int) -> Optional[str]:
    """Posts a recorded scoring's, skew check's or batch transform's events to the endpoint.

    Args:
      store: The open, writable metadata store (its write lock held).
      config: The `pipeline.config.PipelineConfig` naming the pipeline and endpoint.
      execution_id: The recorded execution.

    Returns:
      None, or why they were not delivered (one line; the record stands).
    """
    return emit_after(
        store, config.name, config.openlineage, Selection(execution_ids=(execution_id,))
    )
