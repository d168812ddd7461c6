"""Every command that writes refuses to replace what is there unless given --force.

Each case gives a command an output that exists (a user's file, or a folder
holding one) and checks the one error line (exit 2), that nothing was touched,
and that it fails before any work (no store, model or data is needed to get
there). The staging folders and the --force runs are tested where each
command's work is: `tests/core/test_output_paths.py`, `tests/models/test_model.py`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ml_metadata.proto import metadata_store_pb2 as pb

from cli.main import main

ROOT = Path(__file__).resolve().parents[2]
DEMO_CONFIG = str(ROOT / "configs" / "demo.yaml")
USERS = "the user's own\n"


def _one_error_line(capsys: pytest.CaptureFixture) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert captured.out == ""
    return lines[0]


@pytest.fixture
def users_files(tmp_path: Path) -> dict[str, Path]:
    """A user's file, a user's folder holding `tmp/notes.txt`, and a new input CSV."""
    existing = tmp_path / "mine.out"
    existing.write_text(USERS)
    folder = tmp_path / "proj"
    (folder / "tmp").mkdir(parents=True)
    (folder / "tmp" / "notes.txt").write_text(USERS)
    source = tmp_path / "new.csv"
    source.write_text("age\n3\n")
    return {"file": existing, "folder": folder, "input": source, "store": tmp_path / "m.sqlite"}


FILE_EXISTS = "error: --output {path} exists; pass --force to overwrite it, or name another file"
FOLDER_HOLDS = (
    "error: --output {path} is a folder that holds files already (tmp/); name a new or empty "
    "folder, or pass --force to write into it (files of other names there are kept)"
)


@pytest.mark.parametrize(
    "argv, target, message",
    [
        (["predict", "--input", "{input}", "--output", "{file}"], "file", FILE_EXISTS),
        (
            ["predict", "--input", "{input}", "--output", "{folder}", "--profile", "local",
             "--shards", "2"],
            "folder", FOLDER_HOLDS,
        ),
        (["transform", "--input", "{input}", "--output", "{folder}"], "folder", FOLDER_HOLDS),
        (["skew", "--input", "{input}", "--output", "{folder}"], "folder", FOLDER_HOLDS),
        (
            ["skew", "--input", "{input}", "--output", "{file}"],
            "file", "error: --output {path} is a file; name a folder",
        ),
        (["lineage", "graph", "1", "-o", "{file}", "--metadata", "{store}"], "file", FILE_EXISTS),
        (
            ["history", "--plot", "{file}.png", "--metadata", "{store}"],
            "file.png",
            "error: --plot {path} exists; pass --force to overwrite it, or name another file",
        ),
        (["lineage", "export", "--openlineage", "--output", "{file}"], "file", FILE_EXISTS),
        (["schema", "export", "--output", "{file}"], "file", FILE_EXISTS),
    ],
    ids=["predict", "predict-shards", "transform", "skew", "skew-file", "graph", "history-plot",
         "openlineage-export", "schema-export"],
)  # fmt: skip
def test_an_existing_output_is_refused_without_force(users_files, capsys, argv, target, message):
    users_files["file.png"] = users_files["file"].with_name("mine.out.png")
    users_files["file.png"].write_text(USERS)
    paths = {name: str(path) for name, path in users_files.items()}

    code = main([*[arg.format(**paths) for arg in argv], "--config", DEMO_CONFIG])

    assert code == 2
    assert _one_error_line(capsys) == message.format(path=users_files[target])
    assert users_files["file"].read_text() == USERS
    assert (users_files["folder"] / "tmp" / "notes.txt").read_text() == USERS
    assert sorted(p.name for p in users_files["folder"].iterdir()) == ["tmp"]
    assert not users_files["store"].exists()


def test_predicts_skew_check_folder_beside_the_output_is_refused_too(users_files, capsys):
    output = users_files["folder"] / "predictions.csv"
    checks = users_files["folder"] / "predictions.checks"
    checks.mkdir()

    code = main(["predict", "--config", DEMO_CONFIG, "--input", str(users_files["input"]),
                 "--output", str(output)])  # fmt: skip

    assert code == 2
    assert _one_error_line(capsys) == (
        f"error: --output {output}: the skew check's folder beside it, {checks}, exists; pass "
        "--force to replace its statistics and anomalies, or name another --output"
    )


def test_the_default_picture_file_of_a_graph_is_not_replaced_either(
    users_files, capsys, monkeypatch
):
    monkeypatch.chdir(users_files["folder"])
    Path("lineage.svg").write_text(USERS)

    code = main(
        ["lineage", "graph", "1", "--format", "svg", "--metadata", str(users_files["store"])]
    )

    assert code == 2
    assert _one_error_line(capsys) == (
        "error: the default --output lineage.svg exists; pass --force to overwrite it, or name "
        "another file"
    )
    assert Path("lineage.svg").read_text() == USERS


def test_force_replaces_the_file_a_graph_is_written_to(users_files, capsys):
    from metadata import connection

    store = str(users_files["store"])
    opened = connection.open_store(connection.connection_config(sqlite_path=store), store)
    type_id = opened.put_artifact_type(pb.ArtifactType(name="Examples"))
    opened.put_artifacts([pb.Artifact(type_id=type_id, uri="/out/examples/1")])
    dot_file = users_files["file"].with_name("lineage.dot")
    dot_file.write_text(USERS)
    argv = ["lineage", "graph", "1", "-o", str(dot_file), "--metadata", store]

    assert main(argv) == 2
    capsys.readouterr()
    assert main([*argv, "--force"]) == 0

    assert dot_file.read_text().startswith("digraph lineage {\n")
