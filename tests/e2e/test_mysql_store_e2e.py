"""The pipeline and the lineage command on a shared MySQL store (a real MariaDB)."""

from __future__ import annotations

import json
import os
import re

import pytest
from ml_metadata.proto import metadata_store_pb2

from cli.main import execute, main
from metadata import connection as metadata
from core.errors import CascadeError
from tests.e2e import mariadb
from tests.e2e.helpers import (
    COMPONENTS,
    finish_all,
    renamed_config,
    run_cascade,
    start_cascade,
)

pytestmark = pytest.mark.e2e

CONCURRENT_DATABASE = "cascade_concurrent"
UNTIL = "StatisticsGen"
RAN = COMPONENTS[: COMPONENTS.index(UNTIL) + 1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from mariadb.start_mariadb(tmp_path_factory.mktemp("mariadb"))


def _mysql_flags(options: metadata.MySqlOptions) -> list[str]:
    return [
        "--mysql-host",
        options.host,
        "--mysql-port",
        str(options.port),
        "--mysql-database",
        options.database,
        "--mysql-user",
        options.user,
    ]


@pytest.fixture(scope="module")
def mysql_run(server, demo_slice, tmp_path_factory, monkeypatch_module):
    monkeypatch_module.setenv(metadata.PASSWORD_ENV, mariadb.PASSWORD)
    output = tmp_path_factory.mktemp("mysql_out")
    result = run_cascade(
        ["run", "--config", str(demo_slice), "--output-root", str(output), *_mysql_flags(server)]
    )
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    return server, output, result


def _runs(flags: list[str]) -> list[dict]:
    """The store's runs as `cascade lineage runs --format json` lists them."""
    return json.loads(execute(["lineage", "runs", *flags, "--format", "json"]))


def _assert_only_the_demo_run(runs: list[dict], stdout: str) -> None:
    """`runs` is exactly the one run `mysql_run` printed: every step complete."""
    [run_id] = re.findall(r"^Run (\S+)$", stdout, re.MULTILINE)
    assert [(r["run"], r["pipeline"], r["status"]) for r in runs] == [
        (run_id, "cascade-demo", "COMPLETE")
    ]
    executions = runs[0]["executions"]
    assert sorted(e["component"] for e in executions) == sorted(COMPONENTS)
    assert [e["state"] for e in executions] == ["COMPLETE"] * len(COMPONENTS)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_run_records_to_mysql_and_never_shows_the_password(mysql_run):
    server, output, result = mysql_run
    assert f"metadata store: {server.describe()}" in result.stdout
    assert not (output / "metadata.sqlite").exists()
    log = (output / "run.log").read_text(errors="replace")
    for text in (result.stdout, result.stderr, log):
        assert mariadb.PASSWORD not in text


def test_lineage_through_mysql_matches_mlmd(mysql_run, demo_slice):
    server, _, result = mysql_run
    flags = _mysql_flags(server)
    _assert_only_the_demo_run(_runs(flags), result.stdout)

    spam_folder = str(demo_slice.parent / "data" / "spam_accounts")
    answer = json.loads(execute(["lineage", "downstream", spam_folder, *flags, "--format", "json"]))
    store = metadata.open_store(metadata.connection_config(mysql=server), server.describe())
    query = metadata_store_pb2.LineageSubgraphQueryOptions(
        starting_artifacts=metadata_store_pb2.LineageSubgraphQueryOptions.StartingNodes(
            filter_query=" OR ".join(f"id = {i}" for i in answer["roots"])
        ),
        max_num_hops=100,
        direction=metadata_store_pb2.LineageSubgraphQueryOptions.DOWNSTREAM,
    )
    graph = store.get_lineage_subgraph(query, ["artifacts", "executions"])
    assert {a["id"] for a in answer["artifacts"]} == {a.id for a in graph.artifacts}
    assert {e["id"] for e in answer["executions"]} == {e.id for e in graph.executions}
    assert {e["component"] for e in answer["executions"]} >= {"CleanExamples", "Trainer", "Pusher"}


def test_wrong_password_is_one_clear_error(server, capsys, monkeypatch):
    monkeypatch.setenv(metadata.PASSWORD_ENV, "wrong-password")
    code = main(["lineage", "runs", *_mysql_flags(server)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"error: cannot open the metadata store {server.describe()}: ")
    assert err.count("\n") == 1 and "wrong-password" not in err


def test_password_file_is_read(mysql_run, tmp_path, monkeypatch):
    server, _, result = mysql_run
    monkeypatch.delenv(metadata.PASSWORD_ENV, raising=False)
    secret = tmp_path / "password"
    secret.write_text(mariadb.PASSWORD + "\n")
    os.chmod(secret, 0o600)
    flags = [*_mysql_flags(server), "--mysql-password-file", str(secret)]
    # With the password from the file alone, the store's one run is read in full.
    _assert_only_the_demo_run(_runs(flags), result.stdout)
    # A wrong password in the file is refused: the file really is what is used.
    secret.write_text("wrong\n")
    with pytest.raises(CascadeError, match=r"^cannot open the metadata store mysql://"):
        execute(["lineage", "runs", *flags])


def test_unreachable_server_is_one_clear_error(capsys, monkeypatch):
    monkeypatch.setenv(metadata.PASSWORD_ENV, "hunter2-not-shown")
    port = mariadb._free_port()  # nothing listens there
    code = main(["lineage", "runs", "--mysql-host", "127.0.0.1", "--mysql-port", str(port)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(
        f"error: cannot open the metadata store mysql://cascade@127.0.0.1:{port}/cascade_metadata: "
    )
    assert "is the server running" in err
    assert err.count("\n") == 1 and "hunter2" not in err


@pytest.fixture(scope="module")
def two_at_once(server, demo_slice, tmp_path_factory, monkeypatch_module):
    """Two pipelines run at the same moment into one MariaDB database of their own."""
    monkeypatch_module.setenv(metadata.PASSWORD_ENV, mariadb.PASSWORD)
    flags = [*_mysql_flags(server)]
    flags[flags.index("--mysql-database") + 1] = CONCURRENT_DATABASE
    configs = {
        "cascade-demo": demo_slice,
        "cascade-other": renamed_config(demo_slice, "cascade-other-mysql"),
    }
    processes = {}
    for name, config in configs.items():
        output = tmp_path_factory.mktemp(f"mysql_concurrent_{name}")
        processes[name] = start_cascade(
            ["run", "--config", str(config), "--output-root", str(output), "--until", UNTIL] + flags
        )
    return flags, finish_all(processes)


def test_two_pipelines_run_at_once_on_one_store_and_both_complete(two_at_once):
    flags, results = two_at_once
    for name, (code, stdout, stderr) in results.items():
        assert code == 0, f"{name}: {stderr[-3000:]}{stdout[-3000:]}"
        assert "waiting for the metadata store" not in stdout  # MySQL takes both at once
    runs = _runs(flags)
    assert sorted(r["pipeline"] for r in runs) == ["cascade-demo", "cascade-other-mysql"]
    for run in runs:
        assert run["status"] == "COMPLETE", run
        # LocalDagRunner may run the two reference-data ExampleGens either way round.
        assert sorted(e["component"] for e in run["executions"]) == sorted(RAN)
        _, stdout, _ = results[
            "cascade-demo" if run["pipeline"] == "cascade-demo" else "cascade-other"
        ]
        assert f"Run {run['run']}\n" in stdout
