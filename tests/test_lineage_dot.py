"""DOT output of a lineage graph: labels, escaping, edges and the highlighted root."""

from metadata.lineage import ArtifactInfo, ExecutionInfo, LineageGraph
from cli.lineage import to_dot


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
    from cli import lineage as lineage_cli
    from metadata import connection

    store = tmp_path / "metadata.sqlite"
    connection.open_store(connection.connection_config(sqlite_path=str(store)), str(store))
    missing = tmp_path / "no_such_folder"
    for argv, flag, name in (
        (["graph", "1", "--output", str(missing / "g.dot")], "--output", "g.dot"),
        (["graph", "1", "--format", "svg", "--output", str(tmp_path)], "--output", None),
        (["history", "--plot", str(missing / "h.png")], "--plot", "h.png"),
    ):
        assert lineage_cli.main(["--metadata", str(store), *argv]) == 2
        [line] = capsys.readouterr().err.strip().splitlines()
        if name is None:
            assert line == f"error: {flag} {tmp_path} is a folder; name a file"
        else:
            assert line == (
                f"error: {flag} {missing / name}: folder {missing} does not exist; create it first"
            )
    assert not missing.exists()
