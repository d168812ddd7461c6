"""OpenLineage events of the shared demo runs (`two_runs`): written to a file and read
back with the client's classes; posted to a real HTTP server on 127.0.0.1 that
records each request, from which the lineage of the spam list is rebuilt and
compared with `cascade lineage downstream`; sent once; and an endpoint that
refuses is one line."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest

from cli.main import execute, main
from metadata import names
from metadata.openlineage_events import run_id
from tests.e2e import mlmd_queries
from tests.e2e.helpers import run_cascade
from tests.metadata.openlineage_reader import read_event, same_json

pytestmark = pytest.mark.e2e
API_KEY_ENV = "CASCADE_TEST_CATALOG_KEY"
API_KEY = "s3cret-catalog-key"


def _refused_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def metadata(two_runs, tmp_path) -> Path:
    """A copy of the runs' store: what an endpoint received is recorded in it."""
    output_root, _, _ = two_runs
    copy = tmp_path / "metadata.sqlite"
    shutil.copy(output_root / "metadata.sqlite", copy)
    return copy


def _export(demo_slice, metadata, *flags: str) -> str:
    return execute(
        ["lineage", "export", "--openlineage", *flags, "--config", str(demo_slice),
         "--metadata", str(metadata)]
    )  # fmt: skip


def test_the_file_holds_a_start_and_an_end_per_execution_read_back_by_the_client(
    demo_slice, metadata, tmp_path
):
    events_file = tmp_path / "events.jsonl"
    report = _export(demo_slice, metadata, "--output", str(events_file))

    lines = events_file.read_text().splitlines()
    events = [read_event(line) for line in lines]
    assert all(same_json(event, line) for event, line in zip(events, lines))
    store = mlmd_queries.open_store(str(metadata))
    executions = store.get_executions_by_context(names.pipeline_context(store, "cascade-demo").id)
    runs = mlmd_queries.runs(store)
    assert len(events) == 2 * (len(executions) + len(runs))
    assert report == (
        f"wrote {len(events)} OpenLineage events ({len(executions) + len(runs)} runs) "
        f"of pipeline 'cascade-demo' to {events_file}"
    )
    kinds = {(e.job.name, e.eventType.value) for e in events}
    assert ("cascade-demo", "START") in kinds and ("cascade-demo", "COMPLETE") in kinds
    assert ("cascade-demo.CleanExamples", "COMPLETE") in kinds
    split = next(e for e in events if e.job.name == "cascade-demo.StatisticsGen")
    [examples] = split.inputs
    assert examples.facets["cascade_splitManifest"].seed == 42
    assert examples.facets["dataQualityMetrics"].rowCount == sum(
        n for counts in examples.facets["cascade_splitManifest"].splitCounts.values()
        for n in counts.values()
    )  # fmt: skip
    assert "source" in [f.name for f in examples.facets["schema"].fields]
    cleaning = next(e for e in events if e.job.name == "cascade-demo.CleanExamples")
    checked = [d for d in cleaning.inputs if "dataQualityAssertions" in d.inputFacets]
    assert [a.assertion for a in checked[0].inputFacets["dataQualityAssertions"].assertions] == [
        "quarantine:duplicate_merged",
        "quarantine:spam",
    ]


def _graph(received: list[dict]) -> tuple[dict, dict]:
    """From events alone: dataset -> runs reading it, run -> datasets it wrote."""
    readers: dict[tuple[str, str], set[str]] = {}
    written: dict[str, set[tuple[str, str]]] = {}
    for event in received:
        run = event["run"]["runId"]
        for dataset in event.get("inputs", []):
            readers.setdefault((dataset["namespace"], dataset["name"]), set()).add(run)
        for dataset in event.get("outputs", []):
            written.setdefault(run, set()).add((dataset["namespace"], dataset["name"]))
    return readers, written


def _downstream(readers: dict, written: dict, start: tuple[str, str]) -> tuple[set, set]:
    """The datasets written by what read `start`, and every run and dataset below them."""
    roots = {d for run in readers.get(start, ()) for d in written.get(run, ())}
    datasets, runs, frontier = set(roots), set(), set(roots)
    while frontier:
        found = {r for d in frontier for r in readers.get(d, ())} - runs
        runs |= found
        frontier = {d for r in found for d in written.get(r, ())} - datasets
        datasets |= frontier
    return datasets, runs


def test_posted_events_rebuild_what_the_spam_list_fed(demo_slice, metadata, catalog, monkeypatch):
    monkeypatch.setenv(API_KEY_ENV, API_KEY)
    url = f"http://127.0.0.1:{catalog.server_port}"
    report = _export(demo_slice, metadata, "--url", url, "--api-key-env", API_KEY_ENV)

    assert API_KEY not in report
    assert {path for path, _, _ in catalog.received} == {"/api/v1/lineage"}
    assert {key for _, key, _ in catalog.received} == {f"Bearer {API_KEY}"}
    received = [json.loads(body) for _, _, body in catalog.received]
    assert report.startswith(f"sent {len(received)} OpenLineage events")
    spam_list = demo_slice.parent / "data" / "spam_accounts"
    datasets, runs = _downstream(*_graph(received), ("file", str(spam_list)))

    answer = json.loads(
        execute(["lineage", "downstream", str(spam_list), "--format", "json",
                 "--config", str(demo_slice), "--metadata", str(metadata)])
    )  # fmt: skip
    store = mlmd_queries.open_store(str(metadata))
    pipeline = names.pipeline_context(store, "cascade-demo")
    assert datasets == {("file", a["uri"]) for a in answer["artifacts"]}
    assert runs == {run_id(pipeline, "execution", str(e["id"])) for e in answer["executions"]}
    assert len(runs) >= 2 * 9  # both runs' steps from CleanExamples to Pusher


def test_exporting_again_sends_nothing_twice(demo_slice, metadata, catalog):
    url = f"http://127.0.0.1:{catalog.server_port}"
    first = _export(demo_slice, metadata, "--url", url)
    sent = len(catalog.received)
    again = _export(demo_slice, metadata, "--url", url)

    assert len(catalog.received) == sent
    assert again == (
        f"sent 0 OpenLineage events (0 runs) of pipeline 'cascade-demo' to {url}/api/v1/lineage; "
        f"{sent} it had already received were not sent again"
    )
    assert first.startswith(f"sent {sent} ")
    run_ids = [json.loads(body)["run"]["runId"] + json.loads(body)["eventType"]
               for _, _, body in catalog.received]  # fmt: skip
    assert len(run_ids) == len(set(run_ids))
    _export(demo_slice, metadata, "--url", url, "--resend")
    assert len(catalog.received) == 2 * sent


def test_since_the_first_run_exports_the_second_only(demo_slice, metadata, catalog):
    store = mlmd_queries.open_store(str(metadata))
    first, second = mlmd_queries.runs(store)[:2]
    url = f"http://127.0.0.1:{catalog.server_port}"
    _export(demo_slice, metadata, "--url", url, "--since", first.name)

    pipeline = names.pipeline_context(store, "cascade-demo")
    parents = {
        json.loads(body)["run"]["facets"].get("parent", {}).get("run", {}).get("runId")
        for _, _, body in catalog.received
    }
    assert run_id(pipeline, "run", first.name) not in parents
    assert run_id(pipeline, "run", second.name) in parents


def test_a_refused_endpoint_is_one_error_line_for_export(demo_slice, metadata, capsys):
    url = f"http://127.0.0.1:{_refused_port()}"
    argv = ["lineage", "export", "--openlineage", "--url", url, "--config", str(demo_slice),
            "--metadata", str(metadata)]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(
        f"error: OpenLineage events not delivered to {url}/api/v1/lineage: connection refused; "
        "0 of "
    )


def test_a_refused_endpoint_is_one_warning_line_and_the_check_stands(
    two_runs, demo_slice, metadata, tmp_path
):
    """A skew check (recorded like a scoring) with the config's endpoint down."""
    url = f"http://127.0.0.1:{_refused_port()}"
    config = tmp_path / "with_catalog.yaml"
    config.write_text(
        demo_slice.read_text().replace("data/", f"{demo_slice.parent}/data/")
        + f"\nlineage:\n  openlineage:\n    url: {url}\n    timeout_seconds: 2\n"
    )
    serving = demo_slice.parent / "data" / "serving" / "new_users.csv"
    result = run_cascade(
        ["skew", "--input", str(serving), "--config", str(config), "--metadata", str(metadata),
         "--output", str(tmp_path / "checks")]
    )  # fmt: skip

    assert result.returncode == 0, result.stderr[-3000:]
    warnings = [line for line in result.stderr.splitlines() if "OpenLineage" in line]
    assert warnings == [
        f"warning: OpenLineage events not delivered to {url}/api/v1/lineage: connection refused; "
        "0 of 2 sent; `cascade lineage export --openlineage` sends the rest"
    ]
    assert "recorded in ML Metadata: execution" in result.stdout


def test_a_finished_run_posts_its_own_events_to_the_configs_endpoint(demo_slice, metadata, catalog):
    """What `cascade run` calls once the run is recorded (services.pipeline_run)."""
    import dataclasses

    from pipeline.config import load_config
    from services.openlineage_export import emit_after_run

    config = load_config(str(demo_slice))
    endpoint = f"http://127.0.0.1:{catalog.server_port}"
    config = dataclasses.replace(
        config, openlineage=dataclasses.replace(config.openlineage, url=endpoint)
    )
    store = mlmd_queries.open_store(str(metadata))
    second = mlmd_queries.runs(store)[1]

    assert emit_after_run(store, config, second.name) is None
    received = [json.loads(body) for _, _, body in catalog.received]
    executions = store.get_executions_by_context(second.id)
    assert len(received) == 2 * (len(executions) + 1)
    assert received[0]["job"]["name"] == "cascade-demo" and received[0]["eventType"] == "START"
    assert emit_after_run(store, config, second.name) is None  # nothing left to send
    assert len(catalog.received) == len(received)
