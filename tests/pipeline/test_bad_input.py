"""End-user mistakes through the CLI: `cascade run` (`cli.main.main(["run", ...])`)
must return 2 and print one line `error: ...` naming the file, field or row,
before any TFX step.

Each test builds a small dataset in `tmp_path` (30 rows of the demo's web users
per source) and a config that is the demo's with its paths replaced, breaks one
thing, and runs the CLI with `--output-root` in `tmp_path`. A fixture makes any
attempt to start the pipeline fail the test, so a missed check cannot turn into
a slow TFX run. `run_local.py`, the thin script over `cascade run`, is run once
as a subprocess.
"""

from __future__ import annotations

import csv
import gzip
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from cli.main import main
from metadata import connection
from pipeline import config as config_lib
from pipeline import preflight
from services import pipeline_run
from services import store as store_service

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO_ROOT / "configs" / "demo.yaml"
DEMO_WEB_CSV = REPO_ROOT / "data" / "demo" / "web" / "users.csv"
SOURCES = ("web", "mobile", "partner")
ROWS_PER_SOURCE = 30
LABEL = "looking_for_job"


def _demo_rows() -> tuple[list[str], list[list[str]]]:
    with open(DEMO_WEB_CSV, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [row for _, row in zip(range(ROWS_PER_SOURCE * len(SOURCES)), reader)]
    return header, rows


HEADER, DEMO_ROWS = _demo_rows()
COLUMNS = ", ".join(HEADER)


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


class Project:
    """A tiny dataset and config in a temporary folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.output_root = root / "out"
        self.config_path = root / "cascade.yaml"
        self.csv: dict[str, Path] = {}
        for i, source in enumerate(SOURCES):
            rows = DEMO_ROWS[i * ROWS_PER_SOURCE : (i + 1) * ROWS_PER_SOURCE]
            self.csv[source] = write_csv(root / "data" / source / "users.csv", HEADER, rows)
        self.config: dict[str, Any] = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
        for source in self.config["sources"]:
            source["path"] = f"data/{source['name']}"
        self.reference: dict[str, Path] = {}
        for name, file_name in (("spam_list", "spam_accounts"), ("id_map", "id_map")):
            target = root / "data" / file_name / f"{file_name}.csv"
            target.parent.mkdir(parents=True)
            shutil.copy(REPO_ROOT / "data" / "demo" / file_name / f"{file_name}.csv", target)
            self.reference[name] = target
            self.config["cleaning"][name]["path"] = f"data/{file_name}"
        del self.config["output"]
        self.write_config()

    def write_config(self) -> None:
        self.config_path.write_text(yaml.safe_dump(self.config, sort_keys=False), encoding="utf-8")

    def rows(self, source: str) -> list[list[str]]:
        with open(self.csv[source], newline="", encoding="utf-8") as f:
            return list(csv.reader(f))[1:]

    def edit_rows(self, source: str, edit: Callable[[list[list[str]]], None]) -> None:
        rows = self.rows(source)
        edit(rows)
        write_csv(self.csv[source], HEADER, rows)

    def set_cell(self, source: str, data_row: int, column: str, value: str) -> int:
        """Sets one cell; returns its 1-based line number in the file (header is 1)."""

        def edit(rows: list[list[str]]) -> None:
            rows[data_row][HEADER.index(column)] = value

        self.edit_rows(source, edit)
        return data_row + 2


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


@pytest.fixture(autouse=True)
def no_pipeline_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fails the test instead of starting a TFX run (which would take minutes)."""

    def refuse(*args, **kwargs) -> None:
        raise AssertionError("the pipeline was started (a metadata connection was made)")

    monkeypatch.setattr(connection, "connection_config", refuse)
    monkeypatch.setattr(store_service, "connection_config", refuse)
    monkeypatch.setattr(pipeline_run, "run_pipeline", refuse)


def run_cli(project: Project, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    """Runs the CLI on the project; asserts exit code 2, one stderr line, no output.

    Returns:
      The stderr line without the `error: ` prefix.
    """
    code = main(
        [
            "run",
            "--config",
            str(project.config_path),
            "--output-root",
            str(project.output_root),
            *extra,
        ]
    )
    captured = capsys.readouterr()

    assert code == 2
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    assert captured.err == lines[0] + "\n"
    assert not (project.output_root / "metadata.sqlite").exists()
    assert not project.output_root.exists()
    return lines[0][len("error: ") :]


# ---------------------------------------------------------------------------
# The fixture itself is valid: every failure below comes from the one change.


def test_the_unbroken_project_passes_preflight(project):
    config = config_lib.load_config(str(project.config_path), str(project.output_root))

    summaries = preflight.check_sources(config)

    assert [(s.name, s.files, s.rows) for s in summaries] == [
        (source, [str(project.csv[source])], ROWS_PER_SOURCE) for source in SOURCES
    ]
    assert [dict(s.label_counts) for s in summaries] == [
        {
            value: sum(row[HEADER.index(LABEL)] == value for row in project.rows(source))
            for value in ("0", "1")
        }
        for source in SOURCES
    ]
    assert config.output.root == str(project.output_root)


def test_preflight_reports_progress_on_large_files_only(project):
    config = config_lib.load_config(str(project.config_path), str(project.output_root))
    lines: list[str] = []
    preflight.check_sources(config, report=lines.append)
    assert lines == [], "the small fixture files are checked silently"

    preflight.check_sources(config, report=lines.append, large_bytes=1)
    assert len(lines) == 2 * len(SOURCES)
    for source, (before, after) in zip(SOURCES, zip(lines[0::2], lines[1::2])):
        assert before.startswith(f"  checking {project.csv[source]} (") and before.endswith(") ...")
        assert re.fullmatch(
            rf"  checked {re.escape(str(project.csv[source]))}: {ROWS_PER_SOURCE} rows in \d+\.\ds",
            after,
        )


# ---------------------------------------------------------------------------
# Config problems


def test_feature_column_not_in_csv(project, capsys):
    project.config["features"].append({"name": "salary", "kind": "numeric"})
    project.write_config()

    assert run_cli(project, capsys) == (
        f"{project.csv['web']}: column 'salary' named in {project.config_path} "
        f"(features[9].name) is not in the header (columns: {COLUMNS})"
    )


def test_label_column_not_in_csv(project, capsys):
    project.config["label"] = "wants_job"
    project.write_config()

    assert run_cli(project, capsys) == (
        f"{project.csv['web']}: column 'wants_job' named in {project.config_path} "
        f"(label) is not in the header (columns: {COLUMNS})"
    )


def test_id_key_not_in_csv(project, capsys):
    project.config["id_key"] = "uid"
    project.write_config()

    assert run_cli(project, capsys) == (
        f"{project.csv['web']}: column 'uid' named in {project.config_path} "
        f"(id_key) is not in the header (columns: {COLUMNS})"
    )


def test_malformed_yaml(project, capsys):
    project.config_path.write_text(
        "name: cascade-demo\nsources:\n  - name: web\n    path: data/web\n   label: x\n",
        encoding="utf-8",
    )

    assert run_cli(project, capsys) == (
        f"{project.config_path}: line 5, column 4: malformed YAML: "
        "expected <block end>, but found '<block mapping start>'"
    )


def test_unknown_feature_kind(project, capsys):
    project.config["features"][2]["kind"] = "log_numeric"
    project.write_config()

    assert run_cli(project, capsys) == (
        f"{project.config_path}: features[2].kind: unknown feature kind 'log_numeric' "
        "(expected one of: numeric, skewed_numeric, categorical, timestamp)"
    )


def test_missing_config_file(project, capsys):
    project.config_path.unlink()

    assert run_cli(project, capsys) == (
        f"{project.config_path}: cannot read config: No such file or directory"
    )


BAD_PROFILE = (
    "cascade run: error: argument --profile/--runner: invalid choice: 'nope' "
    "(choose from 'local', 'local-parallel', 'dataflow')"
)


def test_bad_cli_flag(project, capsys):
    with pytest.raises(SystemExit) as excinfo:
        main(["run", "--config", str(project.config_path), "--profile", "nope"])
    captured = capsys.readouterr()

    assert excinfo.value.code == 2
    assert captured.out == ""
    assert captured.err.splitlines()[0].startswith("usage: cascade run ")
    assert captured.err.splitlines()[-1] == BAD_PROFILE
    assert not project.output_root.exists()


def test_run_local_py_is_cascade_run(project):
    """The thin script: a bad flag is argparse's usage and exit 2, a user error one line."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}

    def run_local(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(REPO_ROOT / "run_local.py"), *argv],
            cwd=project.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    bad_flag = run_local("--config", str(project.config_path), "--profile", "nope")
    assert bad_flag.returncode == 2, bad_flag.stderr
    assert bad_flag.stdout == ""
    assert bad_flag.stderr.splitlines()[0].startswith("usage: cascade run ")
    assert bad_flag.stderr.splitlines()[-1] == BAD_PROFILE

    project.config_path.unlink()
    missing = run_local("--config", str(project.config_path), "--output-root", "out")
    assert missing.returncode == 2, missing.stderr
    assert missing.stdout == ""
    assert missing.stderr == (
        f"error: {project.config_path}: cannot read config: No such file or directory\n"
    )
    assert not project.output_root.exists() and not (project.root / "out").exists()


# ---------------------------------------------------------------------------
# Missing or empty inputs


def test_missing_input_folder(project, capsys):
    missing = project.root / "data" / "mobile_2024"
    project.config["sources"][1]["path"] = "data/mobile_2024"
    project.write_config()

    assert run_cli(project, capsys) == (
        f"{project.config_path}: sources[1] (mobile): input folder {missing} does not exist"
    )


def test_input_path_is_a_file(project, capsys):
    project.config["sources"][0]["path"] = "data/web/users.csv"
    project.write_config()

    assert run_cli(project, capsys) == (
        f"{project.config_path}: sources[0] (web): {project.csv['web']} is not a folder "
        "(name the folder of CSV files)"
    )


def test_an_input_folder_that_cannot_be_listed(project, capsys, monkeypatch):
    exists = preflight.fileio.exists
    web = str(project.root / "data" / "web")

    def unreachable(path: str) -> bool:
        if path != web:
            return exists(path)
        # As TensorFlow's GCS filesystem fails without a network: two lines.
        raise OSError(
            "Error executing an HTTP request: libcurl code 6 meaning 'Couldn't resolve host "
            f"name'\n\t when reading metadata of {path}"
        )

    monkeypatch.setattr(preflight.fileio, "exists", unreachable)

    assert run_cli(project, capsys) == (
        f"{project.config_path}: sources[0] (web): cannot read {project.root / 'data' / 'web'}: "
        "Error executing an HTTP request: libcurl code 6 meaning 'Couldn't resolve host name'"
    )


def test_input_folder_without_csv_files(project, capsys):
    folder = project.root / "data" / "partner"
    project.csv["partner"].rename(folder / "users.txt")

    assert run_cli(project, capsys) == (
        f"{project.config_path}: sources[2] (partner): input folder {folder} has no .csv or "
        ".csv.gz files (it holds users.txt (not .csv or .csv.gz))"
    )


def test_empty_csv(project, capsys):
    project.csv["mobile"].write_bytes(b"")

    assert run_cli(project, capsys) == (
        f"{project.csv['mobile']}: file is empty (expected a header line and rows)"
    )


def test_blank_first_line_is_not_skipped_to_find_a_header(project, capsys):
    text = project.csv["web"].read_text(encoding="utf-8")
    project.csv["web"].write_text("\n" + text, encoding="utf-8")

    assert run_cli(project, capsys) == (
        f"{project.csv['web']}: line 1 is empty; the header must be the first line"
    )


def test_header_column_with_surrounding_spaces(project, capsys):
    write_csv(project.csv["web"], [HEADER[0], " " + HEADER[1], *HEADER[2:]], project.rows("web"))

    assert run_cli(project, capsys) == (
        f"{project.csv['web']}: header column ' {HEADER[1]}' has surrounding spaces, "
        "which would become part of its name"
    )


def test_header_only_csv(project, capsys):
    write_csv(project.csv["mobile"], HEADER, [])

    assert run_cli(project, capsys) == (
        f"{project.csv['mobile']}: file has a header but no data rows"
    )


# ---------------------------------------------------------------------------
# Bad values and malformed rows


def set_label(project: Project, label: Any) -> None:
    """Sets the config's `label:` to `label`, written as YAML flow text (unquoted scalars)."""
    text = project.config_path.read_text(encoding="utf-8")
    assert f"label: {LABEL}\n" in text
    project.config_path.write_text(text.replace(f"label: {LABEL}\n", f"label: {label}\n"))


def relabel(project: Project, values: list[str], column: str = LABEL) -> None:
    """Gives the label column of every source the `values` in turn, named `column`."""
    header = [column if name == LABEL else name for name in HEADER]
    index = HEADER.index(LABEL)
    for source in SOURCES:
        rows = project.rows(source)
        for i, row in enumerate(rows):
            row[index] = values[i % len(values)]
        write_csv(project.csv[source], header, rows)


def found_classes(project: Project) -> tuple[str, ...]:
    """The label classes as a run takes them: listed, or found by its preflight."""
    config = config_lib.load_config(str(project.config_path), str(project.output_root))
    summaries = preflight.check_sources(config)
    return config.with_label_classes(preflight.found_label_classes(summaries)).label_classes


@pytest.mark.parametrize("value", ["yes", "2", "1.0"])
def test_a_label_outside_the_listed_classes(project, capsys, value):
    set_label(project, f"{{name: {LABEL}, classes: [0, 1]}}")
    line = project.set_cell("partner", 11, LABEL, value)

    assert line == 13
    assert run_cli(project, capsys) == (
        f"{project.csv['partner']}: row 13: label column 'looking_for_job' is {value!r}, "
        f"which is not one of the classes listed in {project.config_path} "
        "(label.classes: 0, 1)"
    )


def test_an_empty_label_cell(project, capsys):
    project.set_cell("partner", 11, LABEL, " ")

    assert run_cli(project, capsys) == (
        f"{project.csv['partner']}: row 13: label column 'looking_for_job' is empty; "
        "every row needs a label"
    )


def test_one_class_only_in_the_data(project, capsys):
    relabel(project, ["0"])

    assert run_cli(project, capsys) == (
        f"{project.config_path}: label: the input data holds only the class '0' of label "
        "'looking_for_job'; a model needs two or more"
    )


def test_a_positive_class_for_three_classes_found_in_the_data(project, capsys):
    set_label(project, f"{{name: {LABEL}, positive: 1}}")
    project.set_cell("web", 3, LABEL, "2")

    assert run_cli(project, capsys) == (
        f"{project.config_path}: label.positive: '1' names the positive class of a two-class "
        "label, but the input data holds 3 classes of label 'looking_for_job' (0, 1, 2); "
        "leave positive out: each of three or more classes gets its own probability"
    )


def test_a_positive_class_not_in_the_data(project, capsys):
    set_label(project, f"{{name: {LABEL}, positive: yes}}")

    assert run_cli(project, capsys) == (
        f"{project.config_path}: label.positive: 'yes' is not one of the classes of label "
        "'looking_for_job' in the input data (0, 1)"
    )


def test_a_text_label_of_two_classes_with_positive_yes_passes_preflight(project):
    relabel(project, ["yes", "no", "no"])
    set_label(project, f"{{name: {LABEL}, positive: yes}}")  # unquoted: YAML's true

    assert found_classes(project) == ("no", "yes")
    config = config_lib.load_config(str(project.config_path))
    assert config.positive_class == "yes"


def test_a_text_label_of_three_classes_is_found_sorted(project):
    relabel(project, ["Gentoo", "Adelie", "Chinstrap"], column="species")
    set_label(project, "species")

    assert found_classes(project) == ("Adelie", "Chinstrap", "Gentoo")


def test_integer_classes_found_sort_as_numbers(project):
    relabel(project, ["10", "2", "1"])

    assert found_classes(project) == ("1", "2", "10")


@pytest.mark.parametrize("listed", [False, True], ids=["found", "listed"])
def test_a_run_takes_the_classes_its_preflight_found_and_says_them(
    project, capsys, monkeypatch, listed
):
    relabel(project, ["Gentoo", "Adelie", "Chinstrap"], column="species")
    set_label(
        project, "{name: species, classes: [Gentoo, Adelie, Chinstrap]}" if listed else "species"
    )
    ran = []

    def run(request: pipeline_run.RunRequest, say: Callable[[str], None]) -> Any:
        ran.append(request)
        return pipeline_run.RunResult(None, 1.0, None, str(project.output_root / "run.log"))

    monkeypatch.setattr(pipeline_run, "run_pipeline", run)
    monkeypatch.setattr(preflight, "scan_label_classes", None)  # the run reads no file again

    assert main(["run", "--config", str(project.config_path)]) == 0
    [request] = ran
    classes = ("Gentoo", "Adelie", "Chinstrap") if listed else ("Adelie", "Chinstrap", "Gentoo")
    assert request.config.label_classes == classes
    assert preflight.resolve_label_classes(request.config) is request.config
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"Cascade: cascade-demo from {project.config_path}: web 30 rows")
    found = (
        "label species: classes Adelie, Chinstrap, Gentoo (found in the input data; list "
        "them under label.classes to fix them)"
    )
    assert lines[1] != found if listed else lines[1] == found


@pytest.mark.parametrize(
    "column, value", [("age", "thirty"), ("profile_views_30d", "n/a"), ("signup_ts", "inf")]
)
def test_non_numeric_value_in_numeric_column(project, capsys, column, value):
    project.set_cell("web", 4, column, value)

    assert run_cli(project, capsys) == (
        f"{project.csv['web']}: row 6: column {column!r} is {value!r}, "
        "but the config says it is numeric"
    )


def test_text_in_categorical_column_is_fine(project):
    project.set_cell("web", 4, "country", "12345")
    config = config_lib.load_config(str(project.config_path), str(project.output_root))

    assert [s.rows for s in preflight.check_sources(config)] == [30, 30, 30]


@pytest.mark.parametrize(
    "edit, fields", [(lambda row: row.append("extra"), 12), (lambda row: row.pop(), 10)]
)
def test_row_with_wrong_number_of_fields(project, capsys, edit, fields):
    project.edit_rows("mobile", lambda rows: edit(rows[20]))

    assert run_cli(project, capsys) == (
        f"{project.csv['mobile']}: row 22: {fields} fields, but the header has 11"
    )


def test_different_headers_in_one_source(project, capsys):
    swapped = HEADER[:]
    swapped[2], swapped[3] = swapped[3], swapped[2]
    rows = [row[:2] + [row[3], row[2]] + row[4:] for row in project.rows("web")]
    second = write_csv(project.root / "data" / "web" / "users_more.csv", swapped, rows)

    assert run_cli(project, capsys) == (
        f"{second}: header differs from {project.csv['web']} in the same source; "
        "CsvExampleGen reads one header per source"
    )


def test_configured_column_empty_in_every_row(project, capsys):
    for source in SOURCES:
        for row in range(ROWS_PER_SOURCE):
            project.set_cell(source, row, "industry", "")

    assert run_cli(project, capsys) == (
        f"{project.config_path}: column 'industry' (features[5].name) "
        "has no value in any row of any source"
    )


def test_column_empty_in_one_source_only_is_fine(project):
    for row in range(ROWS_PER_SOURCE):
        project.set_cell("partner", row, "industry", "")
    config = config_lib.load_config(str(project.config_path), str(project.output_root))

    assert [s.rows for s in preflight.check_sources(config)] == [30, 30, 30]


def test_not_utf8_csv(project, capsys):
    text = project.csv["web"].read_text(encoding="utf-8").replace(",GB,", ",Espa\u00f1a,", 1)
    project.csv["web"].write_bytes(text.encode("latin-1"))

    message = run_cli(project, capsys)

    assert message == f"{project.csv['web']}: not UTF-8 text (invalid continuation byte)"


def test_row_with_every_field_empty(project, capsys):
    project.edit_rows("web", lambda rows: rows.insert(7, [""] * len(HEADER)))

    assert run_cli(project, capsys) == (
        f"{project.csv['web']}: row 9: label column 'looking_for_job' is empty; "
        "every row needs a label"
    )


def test_blank_lines_are_skipped_like_csv_example_gen_does(project):
    text = project.csv["web"].read_text(encoding="utf-8")
    project.csv["web"].write_text(text.replace("\n", "\n\n", 3) + "\n", encoding="utf-8")
    config = config_lib.load_config(str(project.config_path), str(project.output_root))

    assert [s.rows for s in preflight.check_sources(config)] == [30, 30, 30]


def test_whitespace_only_line_is_a_row_with_one_field(project, capsys):
    text = project.csv["partner"].read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    project.csv["partner"].write_text("".join(lines[:4] + ["   \n"] + lines[4:]), encoding="utf-8")

    assert run_cli(project, capsys) == (
        f"{project.csv['partner']}: row 5: 1 fields, but the header has 11"
    )


def test_demo_data_passes_preflight():
    config = config_lib.load_config(str(DEMO_CONFIG))

    summaries = preflight.check_sources(config)

    assert [(s.name, s.rows) for s in summaries] == [
        ("web", 2500),
        ("mobile", 1500),
        ("partner", 1000),
    ]


def test_a_split_ratio_that_leaves_its_split_empty(project, capsys):
    # The demo stratifies by source: 6 strata of 6 to 24 rows, none of which
    # gives 0.5% a row (StratifiedSplit's own arithmetic).
    project.config["split"]["ratios"] = {"train": 0.985, "dev": 0.005, "test": 0.01}
    project.write_config()

    assert run_cli(project, capsys) == (
        f"{project.config_path}: split.ratios.dev: 0.005 would give the dev split 0 of the 90 "
        "rows: StratifiedSplit cuts each of the 6 strata (label x source) exactly, and not "
        "even the largest (label=0|source=web, 24 rows) gives it one; raise the ratio"
    )


# ---------------------------------------------------------------------------
# Reference datasets (spam list, id map)


def test_spam_list_folder_missing(project, capsys):
    project.config["cleaning"]["spam_list"]["path"] = "data/spam_2023"
    project.write_config()

    assert run_cli(project, capsys) == (
        f"{project.config_path}: cleaning.spam_list: input folder "
        f"{project.root / 'data' / 'spam_2023'} does not exist"
    )


def test_spam_list_without_its_id_column(project, capsys):
    project.config["cleaning"]["spam_list"]["id_column"] = "account"
    project.write_config()

    assert run_cli(project, capsys) == (
        f"{project.reference['spam_list']}: column 'account' "
        f"({project.config_path}: cleaning.spam_list.id_column) is not in the header "
        "(columns: user_id, flagged_reason, flagged_at)"
    )


def test_id_map_without_its_canonical_column(project, capsys):
    project.config["cleaning"]["id_map"]["canonical_column"] = "main_id"
    project.write_config()

    assert run_cli(project, capsys) == (
        f"{project.reference['id_map']}: column 'main_id' "
        f"({project.config_path}: cleaning.id_map.canonical_column) is not in the header "
        "(columns: alias_id, canonical_id)"
    )


def _append_id_map_rows(project, *rows: str) -> int:
    """Appends rows to the fixture's id map; returns the line number of the first."""
    path = project.reference["id_map"]
    first = len(path.read_text().splitlines()) + 1
    with open(path, "a") as f:
        f.write("".join(f"{row}\n" for row in rows))
    return first


def test_id_map_alias_with_two_canonical_ids_names_both_rows(project, capsys):
    line = _append_id_map_rows(project, "zz-alias,zz-one", "zz-other,zz-x", "zz-alias,zz-two")
    path = project.reference["id_map"]

    assert run_cli(project, capsys) == (
        f"{project.config_path}: cleaning.id_map: alias 'zz-alias' has two canonical ids: "
        f"'zz-one' ({path}, row {line}) and 'zz-two' ({path}, row {line + 2}); "
        "give each alias one canonical id"
    )


def test_id_map_cycle_names_its_ids_and_rows(project, capsys):
    line = _append_id_map_rows(project, "zz-b,zz-a", "zz-a,zz-c", "zz-c,zz-b")
    path = project.reference["id_map"]

    assert run_cli(project, capsys) == (
        f"{project.config_path}: cleaning.id_map: id map has a cycle: zz-a -> zz-c -> zz-b -> zz-a "
        f"(zz-a -> zz-c at {path}, row {line + 1}; zz-c -> zz-b at {path}, row {line + 2}; "
        f"zz-b -> zz-a at {path}, row {line})"
    )


def test_id_map_repeating_a_link_or_mapping_an_id_to_itself_is_fine(project):
    _append_id_map_rows(project, "zz-a,zz-b", "zz-a,zz-b", "zz-c,zz-c")
    config = config_lib.load_config(str(project.config_path), str(project.output_root))

    assert preflight.check_reference_data(config)["id_map"] == 238 + 3


def test_a_spam_list_naming_every_id_is_named_before_the_run(project, capsys):
    # CleanExamples would keep no row (it fails the run itself when no
    # preflight ran: tests/components/test_clean_examples_executor.py).
    ids = [row[HEADER.index("user_id")] for source in SOURCES for row in project.rows(source)]
    with open(project.reference["spam_list"], "a") as f:
        f.writelines(f"{user},bot,2026-01-01\n" for user in ids)

    assert run_cli(project, capsys) == (
        f"{project.config_path}: cleaning: CleanExamples would remove all 90 rows: spam 90; "
        "nothing would be left to split or train on"
    )


def test_empty_spam_list_is_accepted(project):
    project.reference["spam_list"].write_text("user_id,flagged_reason,flagged_at\n")
    config = config_lib.load_config(str(project.config_path), str(project.output_root))

    assert preflight.check_reference_data(config) == {"spam_list": 0, "id_map": 238}


def test_required_cleaning_column_not_in_csv(project, capsys):
    project.config["cleaning"]["required_columns"] = ["employment_status", "salary"]
    project.write_config()

    assert run_cli(project, capsys) == (
        f"{project.csv['web']}: column 'salary' named in {project.config_path} "
        f"(cleaning.required_columns[1]) is not in the header (columns: {COLUMNS})"
    )


# ---------------------------------------------------------------------------
# The labelling-method tag exists only with an inventory


def test_slicing_by_labelling_method_needs_an_inventory(project, capsys):
    project.config["evaluation"]["slice_by"] = ["source", "labelling_method"]
    project.write_config()
    config = config_lib.load_config(str(project.config_path), str(project.output_root))
    assert config.inventory is not None
    preflight.check_sources(config)  # the tag is known: no error

    del project.config["inventory"]
    project.write_config()
    message = run_cli(project, capsys)
    assert message == (
        f"{project.config_path}: evaluation.slice_by: column 'labelling_method' "
        "is not in the data (nor a tag: source)"
    )


@pytest.mark.parametrize("column", ["source", "reject_reason", "labelling_method"])
def test_a_column_named_like_an_added_feature(project, capsys, column):
    project.config["features"] = [f for f in project.config["features"] if f["name"] != "age"]
    project.write_config()
    header = [column if c == "age" else c for c in HEADER]
    write_csv(project.csv["mobile"], header, project.rows("mobile"))
    message = run_cli(project, capsys)
    assert message == (
        f"{project.csv['mobile']}: column {column!r} has the name of a feature the pipeline adds "
        "to every row (source, canonical_id, reject_reason, labelling_method); rename the column"
    )


# ---------------------------------------------------------------------------
# Header names and cell sizes: what CsvExampleGen would read differently.


def test_byte_order_mark_in_a_source_is_named_plainly(project, capsys):
    path = project.csv["web"]
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())

    assert run_cli(project, capsys) == (
        f'{path}: the file starts with a UTF-8 byte-order mark (as Excel\'s "CSV UTF-8" '
        f"writes), which CsvExampleGen would make part of the column name {HEADER[0]!r}; "
        "save it as CSV without one"
    )


def test_byte_order_mark_in_the_spam_list_is_named_plainly(project, capsys):
    path = project.reference["spam_list"]
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())

    assert run_cli(project, capsys).startswith(
        f"{path}: the file starts with a UTF-8 byte-order mark"
    )


def test_a_quoted_header_name_is_named_plainly(project, capsys):
    # The CSV contract reads the header as CsvExampleGen does: quotes stay in the name.
    path = project.csv["web"]
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(HEADER[1], f'"{HEADER[1]}"', 1), encoding="utf-8")

    assert run_cli(project, capsys) == (
        f"{path}: header column '\"{HEADER[1]}\"' holds quotes, which CsvExampleGen keeps "
        "as part of its name (it splits the header line on commas); write the header "
        "without quotes"
    )


def test_a_quoted_cell_never_closed_is_named_by_its_row(project, capsys):
    path = project.csv["partner"]
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[4] = lines[4].replace(",", ',"', 1)
    path.write_text("".join(lines), encoding="utf-8")

    assert run_cli(project, capsys) == (
        f"{path}: row 5: malformed CSV: a quoted cell is never closed"
    )


def test_duplicate_header_name_in_a_source(project, capsys):
    path = project.csv["mobile"]
    header = HEADER[:-1] + [HEADER[1]]
    write_csv(path, header, project.rows("mobile"))

    assert run_cli(project, capsys) == (
        f"{path}: column {HEADER[1]!r} appears twice in the header (columns 2 and "
        f"{len(HEADER)}); one of them would silently win, so rename one"
    )


def test_a_cell_over_csv_example_gens_limit_is_named(project, capsys):
    line = project.set_cell("partner", 3, "industry", "x" * 200_000)

    assert run_cli(project, capsys) == (
        f"{project.csv['partner']}: row {line}: a cell is longer than 131,072 characters, "
        "the most CsvExampleGen's CSV reader takes; shorten it"
    )


def test_a_cell_at_the_limit_passes_preflight(project):
    project.set_cell("partner", 3, "industry", "x" * 131_072)
    config = config_lib.load_config(str(project.config_path), str(project.output_root))

    assert [s.rows for s in preflight.check_sources(config)] == [ROWS_PER_SOURCE] * len(SOURCES)


# ---------------------------------------------------------------------------
# Column types: CsvExampleGen types each source on its own; they must agree.


def test_a_text_column_with_only_integers_in_one_source(project, capsys):
    def numbered(rows: list[list[str]]) -> None:
        for i, row in enumerate(rows):
            row[HEADER.index("education")] = str(i % 3)

    project.edit_rows("mobile", numbered)
    web = project.rows("web")[0][HEADER.index("education")]

    assert run_cli(project, capsys) == (
        f"column 'education' has text values in source web ({project.csv['web']}, row 2: "
        f"{web!r}) but integer values in source mobile ({project.csv['mobile']}, row 2: '0'); "
        "CsvExampleGen types each source on its own and TFX would fail on the mix, "
        "so make them agree"
    )


def test_a_numeric_column_with_a_decimal_in_one_source_only(project, capsys):
    line = project.set_cell("partner", 4, "age", "30.5")
    web = project.rows("web")[0][HEADER.index("age")]

    assert run_cli(project, capsys) == (
        f"column 'age' has integer values in source web ({project.csv['web']}, row 2: {web!r}) "
        f"but floating-point values in source partner ({project.csv['partner']}, row {line}: "
        "'30.5'); CsvExampleGen types each source on its own and TFX would fail on the mix, "
        "so make them agree"
    )


def test_an_integer_too_large_for_int64_in_a_numeric_column(project, capsys):
    line = project.set_cell("mobile", 2, "profile_views_30d", "99999999999999999999")

    assert run_cli(project, capsys) == (
        f"column 'profile_views_30d' is numeric in the config, but source mobile has text in it "
        f"({project.csv['mobile']}, row {line}: '99999999999999999999') (an integer beyond "
        "int64 is read as text), so CsvExampleGen would read the column as text"
    )


def test_integers_in_one_file_and_decimals_in_another_of_one_source_agree(project):
    # One source is one split: CsvExampleGen types its files together (as floats).
    extra = project.csv["web"].parent / "more.csv"
    rows = project.rows("web")[:3]
    for row in rows:
        row[HEADER.index("user_id")] += "-more"
    write_csv(extra, HEADER, rows)
    for source in SOURCES:
        project.set_cell(source, 0, "years_experience", "2.5")
    config = config_lib.load_config(str(project.config_path), str(project.output_root))

    assert [s.rows for s in preflight.check_sources(config)] == [ROWS_PER_SOURCE + 3, 30, 30]


def test_id_map_ids_compare_as_cleaning_reads_them(project, capsys):
    # Integer columns: CsvExampleGen makes "0012" and "12" the same id.
    project.reference["id_map"].write_text("alias_id,canonical_id\n0012,5\n12,6\n")
    path = project.reference["id_map"]

    assert run_cli(project, capsys) == (
        f"{project.config_path}: cleaning.id_map: alias '12' has two canonical ids: '5' "
        f"({path}, row 2) and '6' ({path}, row 3); give each alias one canonical id"
    )


def test_id_map_with_one_id_written_two_ways_is_no_conflict(project):
    project.reference["id_map"].write_text("alias_id,canonical_id\n7,007\n8,7\n8,07\n")
    config = config_lib.load_config(str(project.config_path), str(project.output_root))

    assert preflight.check_reference_data(config)["id_map"] == 3


# ---------------------------------------------------------------------------
# Source folders: every .csv and .csv.gz file (any case) is read; the rest is named.


def _csv_text(rows: list[list[str]]) -> bytes:
    lines = [",".join(HEADER)] + [",".join(row) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def test_gzipped_and_capitalized_files_are_read_and_the_rest_named_before_the_run(project, capsys):
    web = project.root / "data" / "web"
    rows = project.rows("web")
    (web / "more.csv.gz").write_bytes(gzip.compress(_csv_text(rows[:5])))
    write_csv(web / "EXTRA.CSV", HEADER, rows[5:8])
    write_csv(web / "2025" / "users.csv", HEADER, rows[:2])
    (web / "notes.txt").write_text("where the export came from\n")
    config = config_lib.load_config(str(project.config_path), str(project.output_root))

    summaries = preflight.check_sources(config)

    assert (summaries[0].rows, summaries[0].files) == (
        ROWS_PER_SOURCE + 5 + 3,
        [str(web / "EXTRA.CSV"), str(web / "more.csv.gz"), str(web / "users.csv")],
    )
    [unread] = preflight.folders_not_read(config, summaries)
    assert (unread.folder, unread.not_read) == (str(web), ["2025/", "notes.txt"])
    # `cascade run` says so in one line before anything runs (the fixture stops the run).
    argv = ["run", "--config", str(project.config_path), "--output-root", str(project.output_root)]
    with pytest.raises(AssertionError, match="the pipeline was started"):
        main(argv)
    captured = capsys.readouterr()
    assert captured.err == (
        f"warning: {web}: not read: 2025/ (a folder), notes.txt (not .csv or .csv.gz)\n"
    )
    assert captured.out.startswith(f"Cascade: cascade-demo from {project.config_path}: web 38 rows")


def test_a_gz_file_that_is_not_gzip_is_named(project, capsys):
    bad = project.root / "data" / "web" / "more.csv.gz"
    bad.write_bytes(_csv_text(project.rows("web")))

    assert run_cli(project, capsys) == (
        f"{bad}: cannot read it as gzip: Not a gzipped file (b'us')"
    )


def test_the_spam_list_and_id_map_folders_follow_the_source_folder_rule(project):
    spam = project.reference["spam_list"]
    (spam.parent / "MORE.CSV.GZ").write_bytes(gzip.compress(b"user_id\nzz-1\nzz-2\n"))
    (project.reference["id_map"].parent / "README").write_text("how the ids were joined\n")
    config = config_lib.load_config(str(project.config_path), str(project.output_root))
    spam_rows = sum(1 for _ in open(spam, encoding="utf-8")) - 1

    assert preflight.check_reference_data(config) == {"spam_list": spam_rows + 2, "id_map": 238}
    [unread] = preflight.folders_not_read(config, preflight.check_sources(config))
    assert unread.warning() == (
        f"{project.reference['id_map'].parent}: not read: README (not .csv or .csv.gz)"
    )
