"""DOT output of a lineage graph: labels, escaping, edges and the highlighted root;
`graph`'s format from its output file's extension."""

import os

import pytest
from ml_metadata.proto import metadata_store_pb2 as pb

from cli import lineage_dot
from cli.lineage_dot import to_dot
from cli.main import execute, main
from core.errors import CascadeError
from metadata.lineage import ArtifactInfo, ExecutionInfo, LineageGraph


def _graph() -> LineageGraph:
    graph = LineageGraph(roots=[3])
    graph.artifacts[3] = ArtifactInfo(3, "Examples", '/out/Spam"List/examples/3', "LIVE", {}, {}, 1)
    graph.artifacts[4] = ArtifactInfo(
        4, "Examples", "/out/CleanExamples/cleaned_examples/4", "LIVE", {}, {}, 2
    )
    graph.executions[2] = ExecutionInfo(2, "CleanExamples", "t", "COMPLETE", ("run-1",), {}, 0, 1)
    graph.edges = {("input", 3, 2), ("output", 2, 4), ("input", 99, 2)}
    return graph


def test_dot_has_labelled_nodes_edges_and_the_root_highlighted():
    dot = to_dot(_graph())

    assert dot.startswith("digraph lineage {\n") and dot.endswith("}\n")
    assert '  a3 [shape=ellipse, label="#3 Examples\\nexamples/3", style=filled' in dot
    assert '  a4 [shape=ellipse, label="#4 Examples\\ncleaned_examples/4"];' in dot
    assert '  e2 [shape=box, label="CleanExamples #2\\nCOMPLETE"];' in dot
    assert "  a3 -> e2;" in dot and "  e2 -> a4;" in dot
    # An edge to an artifact outside the graph is left out.
    assert "a99" not in dot


def test_dot_escapes_quotes_and_backslashes():
    graph = _graph()
    graph.artifacts[3] = ArtifactInfo(3, 'Od"d\\Type', "/x/y/3", "LIVE", {}, {}, 1)

    assert 'label="#3 Od\\"d\\\\Type\\ny/3"' in to_dot(graph)


def test_graph_and_plot_into_a_missing_folder_name_it_before_any_work(tmp_path, capsys):
    from metadata import connection

    store = tmp_path / "metadata.sqlite"
    connection.open_store(connection.connection_config(sqlite_path=str(store)), str(store))
    missing = tmp_path / "no_such_folder"
    for argv, flag, name in (
        (["lineage", "graph", "1", "--output", str(missing / "g.dot")], "--output", "g.dot"),
        (
            ["lineage", "graph", "1", "--format", "svg", "--output", str(tmp_path)],
            "--output",
            None,
        ),
        (["history", "--plot", str(missing / "h.png")], "--plot", "h.png"),
    ):
        assert main([*argv, "--metadata", str(store)]) == 2
        [line] = capsys.readouterr().err.strip().splitlines()
        if name is None:
            assert line == f"error: {flag} {tmp_path} is a folder; name a file"
        else:
            assert line == (
                f"error: {flag} {missing / name}: folder {missing} does not exist; create it first"
            )
    assert not missing.exists()


def test_graph_plot_and_schema_into_a_read_only_folder_name_it_before_any_work(
    tmp_path, read_only_folder, capsys
):
    from metadata import connection

    store = tmp_path / "metadata.sqlite"
    connection.open_store(connection.connection_config(sqlite_path=str(store)), str(store))
    for argv, flag, name in (
        (["lineage", "graph", "1", "--output"], "--output", "g.dot"),
        (["lineage", "graph", "1", "--output"], "--output", "g.svg"),
        (["history", "--plot"], "--plot", "h.png"),
        (["lineage", "export", "--openlineage", "--output"], "--output", "events.jsonl"),
    ):
        # Artifact 1 does not exist: an answer would be that error, not this one.
        assert main([*argv, str(read_only_folder / name), "--metadata", str(store)]) == 2
        assert capsys.readouterr().err == (
            f"error: {flag} {read_only_folder / name}: cannot write it: Read-only file system\n"
        )


@pytest.mark.parametrize(
    "output, given, expected",
    [
        (None, None, "dot"),
        (None, "svg", "svg"),
        ("lineage.png", None, "png"),
        ("out/lineage.SVG", None, "svg"),
        ("lineage.dot", "dot", "dot"),
        ("lineage.gv", "dot", "dot"),
        ("lineage", "png", "png"),
    ],
)
def test_the_graph_format_comes_from_the_output_files_extension(output, given, expected):
    assert lineage_dot.output_format(output, given) == expected


def test_a_format_that_contradicts_the_extension_is_refused():
    with pytest.raises(CascadeError) as raised:
        lineage_dot.output_format("lineage.png", "dot")
    assert str(raised.value) == (
        "graph: --format dot does not match --output lineage.png (a .png file); "
        "drop --format or make the two agree"
    )
    with pytest.raises(CascadeError) as raised:
        lineage_dot.output_format("lineage.jpg", None)
    assert str(raised.value) == (
        "graph: --output lineage.jpg: its extension names no format; name the file "
        ".dot, .svg or .png, or give --format"
    )


@pytest.fixture
def one_artifact_store(tmp_path) -> str:
    """A SQLite store holding artifact #1."""
    from metadata import connection

    path = str(tmp_path / "metadata.sqlite")
    store = connection.open_store(connection.connection_config(sqlite_path=path), path)
    type_id = store.put_artifact_type(pb.ArtifactType(name="Examples"))
    [artifact_id] = store.put_artifacts([pb.Artifact(type_id=type_id, uri="/out/examples/1")])
    assert artifact_id == 1
    return path


def test_graph_writes_the_format_its_output_file_names(one_artifact_store, tmp_path, monkeypatch):
    from cli import lineage as lineage_command

    rendered = []
    monkeypatch.setattr(
        lineage_command, "render", lambda text, fmt, out: rendered.append((text[:16], fmt, out))
    )

    def graph(*argv: str) -> str:
        return execute(["lineage", *argv, "--metadata", one_artifact_store])

    dot_file = tmp_path / "lineage.dot"
    assert graph("graph", "1", "-o", str(dot_file)) == f"wrote {dot_file}"
    assert dot_file.read_text().startswith("digraph lineage {\n")
    for name, given in (("lineage.png", []), ("lineage.svg", []), ("l.PNG", ["--format", "png"])):
        output = str(tmp_path / name)
        assert graph("graph", "1", "-o", output, *given) == f"wrote {output}"
    assert rendered == [
        ("digraph lineage ", "png", str(tmp_path / "lineage.png")),
        ("digraph lineage ", "svg", str(tmp_path / "lineage.svg")),
        ("digraph lineage ", "png", str(tmp_path / "l.PNG")),
    ]
    # Not PNG or SVG files holding DOT text.
    assert not (tmp_path / "lineage.png").exists() and not (tmp_path / "lineage.svg").exists()


@pytest.mark.parametrize(
    "output, given, message",
    [
        ("lineage.png", "dot", "--format dot does not match --output {out} (a .png file)"),
        ("lineage.svg", "png", "--format png does not match --output {out} (a .svg file)"),
        ("lineage.dot", "svg", "--format svg does not match --output {out} (a .dot file)"),
        ("lineage.jpg", None, "--output {out}: its extension names no format"),
    ],
)
def test_graph_refuses_a_format_its_output_file_contradicts(
    one_artifact_store, tmp_path, capsys, output, given, message
):
    out = str(tmp_path / output)
    argv = ["lineage", "graph", "1", "-o", out, "--metadata", one_artifact_store]
    assert main(argv + (["--format", given] if given else [])) == 2
    captured = capsys.readouterr()
    [line] = captured.err.strip().splitlines()
    assert line.startswith("error: graph: " + message.format(out=out))
    assert captured.out == ""
    assert not (tmp_path / output).exists()


def test_a_dot_that_never_finishes_is_stopped_and_named(tmp_path, monkeypatch):
    # A real program named `dot` first on the PATH that never finishes drawing.
    stuck = tmp_path / "bin" / "dot"
    stuck.parent.mkdir()
    stuck.write_text("#!/bin/sh\nexec sleep 600\n")
    stuck.chmod(0o755)
    monkeypatch.setenv("PATH", f"{stuck.parent}{os.pathsep}{os.environ['PATH']}")
    output = tmp_path / "lineage.svg"
    with pytest.raises(CascadeError) as raised:
        lineage_dot.render(to_dot(_graph()), "svg", str(output), timeout_seconds=1)
    assert str(raised.value) == (
        f"dot did not finish drawing {output} within 1 s and was stopped; write the DOT "
        "text instead (an --output FILE.dot, or no --output)"
    )
