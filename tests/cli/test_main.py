"""The `cascade` command tree, its exit codes and its start-up (no pipeline runs here).

Exit codes (cli/common.py): 0 done; 1 the work or a strict check failed (its
report on stdout, one `error:` line on stderr); 2 a user error (one `error:`
line) or argparse's usage; 128 + the signal when interrupted (130 for
SIGINT) or when the reader of stdout went away (141).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cli import common
from cli.main import build_parser, execute, main
from core import interrupts
from core.environment import RedactSecrets
from core.errors import CascadeError, CheckFailedError

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = [
    "run", "predict", "skew", "transform", "lineage", "inventory", "history", "schema", "schedule",
]  # fmt: skip
QUESTIONS = ["runs", "show", "downstream", "upstream", "graph", "export"]
# Every leaf command, with the arguments it needs to parse.
LEAVES = [
    ["run"],
    ["predict", "--input", "x.csv"],
    ["skew", "--input", "x.csv"],
    ["transform", "--input", "x.csv", "--output", "out"],
    ["lineage", "runs"],
    ["lineage", "show", "1"],
    ["lineage", "downstream", "1"],
    ["lineage", "upstream", "1"],
    ["lineage", "graph", "1"],
    ["lineage", "export", "--openlineage", "--output", "events.jsonl"],
    ["inventory"],
    ["history"],
    ["schema", "export"],
    ["schedule", "airflow"],
    ["schedule", "vertex", "--output", "spec.json"],
]
SHARED_FLAGS = (
    "--config",
    "--output-root",
    "--metadata",
    "--mysql-host",
    "--mysql-port",
    "--mysql-database",
    "--mysql-user",
    "--mysql-password-file",
    "--mysql-timeout",
)


def _help(capsys: pytest.CaptureFixture, *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--help"])
    assert exit_.value.code == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    return captured.out


def _subcommands(parser: argparse.ArgumentParser) -> list[str]:
    [action] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return list(action.choices)


def _one_error_line(capsys: pytest.CaptureFixture) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def _store(path: Path) -> str:
    """A real (empty) ML Metadata store in a SQLite file."""
    from metadata import connection

    connection.open_store(connection.connection_config(sqlite_path=str(path)), str(path))
    return str(path)


# ---------------------------------------------------------------------------
# The command tree and its help


def test_the_tree_has_every_command_and_lineage_question():
    parser = build_parser()
    assert _subcommands(parser) == COMMANDS
    [action] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert _subcommands(action.choices["lineage"]) == QUESTIONS
    assert sorted({leaf[0] if leaf[0] != "lineage" else leaf[1] for leaf in LEAVES}) == sorted(
        [c for c in COMMANDS if c != "lineage"] + QUESTIONS
    )


def test_the_help_tree_lists_every_command(capsys):
    text = _help(capsys)
    assert text.startswith("usage: cascade [-h] COMMAND ...")
    for command in COMMANDS:
        assert f"\n    {command} " in text or f"\n    {command}\n" in text, command
    assert "exit codes: 0 done, 1 run or strict check failed, 2 user error" in text
    lineage = _help(capsys, "lineage")
    assert lineage.startswith("usage: cascade lineage [-h] QUESTION ...")
    for question in QUESTIONS:
        assert f"\n    {question} " in lineage or f"\n    {question}\n" in lineage, question


@pytest.mark.parametrize("leaf", LEAVES, ids=lambda leaf: " ".join(leaf[:2]))
def test_every_command_takes_the_shared_config_and_store_flags(capsys, leaf):
    command = leaf[:2] if leaf[0] in ("lineage", "schema", "schedule") else leaf[:1]
    text = _help(capsys, *command)
    assert text.startswith(f"usage: cascade {' '.join(command)} ")
    assert "\nconfig and store:\n" in text
    assert "\nshared MySQL metadata store:\n" in text
    for flag in SHARED_FLAGS:
        assert f"  {flag} " in text, flag
    # ... and parses them after the leaf, each to the same destination.
    args = build_parser().parse_args(
        [*leaf, "--config", "c.yaml", "--output-root", "o", "--metadata", "m.sqlite"]
        + ["--mysql-host", "db", "--mysql-port", "3307", "--mysql-timeout", "2.5"]
    )
    assert (args.config, args.output_root, args.metadata) == ("c.yaml", "o", "m.sqlite")
    assert (args.mysql_host, args.mysql_port, args.mysql_user) == ("db", 3307, "cascade")
    assert args.mysql_timeout == 2.5
    assert callable(args.handler)


# ---------------------------------------------------------------------------
# Exit codes through main()


def test_a_user_error_is_one_line_and_exit_2(capsys):
    assert main(["lineage", "runs", "--metadata", "/nonexistent.sqlite"]) == 2
    assert _one_error_line(capsys) == (
        "error: metadata store /nonexistent.sqlite does not exist (run the pipeline first)"
    )
    assert not os.path.exists("/nonexistent.sqlite")


def test_execute_raises_the_user_error_instead(capsys):
    with pytest.raises(CascadeError, match="^metadata store /nonexistent.sqlite does not exist"):
        execute(["lineage", "runs", "--metadata", "/nonexistent.sqlite"])
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["nope"], "cascade: error: argument COMMAND: invalid choice: 'nope'"),
        ([], "cascade: error: the following arguments are required: COMMAND"),
        (["lineage"], "cascade lineage: error: the following arguments are required: QUESTION"),
        (
            ["predict", "--input", "x", "--shards", "3"],
            "cascade predict: error: --shards applies to Beam scoring: "
            "add --profile local|local-parallel|dataflow",
        ),
        (["lineage", "runs", "--nope"], "cascade: error: unrecognized arguments: --nope"),
    ],
)
def test_argparse_errors_print_usage_and_exit_2(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert lines[0].startswith("usage: cascade")
    assert lines[-1].startswith(message), lines[-1]


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv or ["lineage", "runs"]))


def test_a_reported_failure_prints_its_report_then_one_error_line_and_exits_1(capsys):
    def strict_check(args: argparse.Namespace) -> str:
        raise CheckFailedError("skew over the threshold in age (--fail-on-skew)", "the report")

    assert common.report(strict_check, _args()) == 1
    captured = capsys.readouterr()
    assert captured.out == "the report\n"
    assert captured.err == "error: skew over the threshold in age (--fail-on-skew)\n"


def test_a_handlers_answer_is_printed_and_exit_0(capsys):
    assert common.report(lambda args: f"answer for {args.question}", _args()) == 0
    assert capsys.readouterr() == ("answer for runs\n", "")


def test_an_unexpected_error_is_not_swallowed(capsys):
    def broken(args: argparse.Namespace) -> str:
        raise ZeroDivisionError("a bug")

    with pytest.raises(ZeroDivisionError):
        common.report(broken, _args())


def test_a_failed_run_prints_its_summary_and_the_redacted_reason_and_exits_1(
    tmp_path, capsys, monkeypatch
):
    from services import pipeline_run

    def failed_run(request, say):
        say("  [1/1] CsvExampleGen ...")
        reason = pipeline_run.failure_reason(
            RuntimeError("cannot connect with password s3cret"),
            RedactSecrets(["s3cret"]),
        )
        return pipeline_run.RunResult(None, 2.5, reason, str(tmp_path / "run.log"))

    monkeypatch.setattr(
        pipeline_run,
        "check_inputs",
        lambda request, say: pipeline_run.CheckedInputs(request, [], {}),
    )
    monkeypatch.setattr(pipeline_run, "run_pipeline", failed_run)
    assert main(["run", "--output-root", str(tmp_path / "out")]) == 1
    captured = capsys.readouterr()
    assert "  [1/1] CsvExampleGen ...\n" in captured.out
    assert captured.out.endswith("\n  total wall time: 2.5s\n")
    assert "Next:" not in captured.out
    assert captured.err == (
        "error: the pipeline failed: RuntimeError: cannot connect with password ***\n"
        f"       full log: {tmp_path / 'run.log'}\n"
    )


@pytest.mark.parametrize(
    "interruption", [interrupts.Interrupted(signal.SIGINT), KeyboardInterrupt()], ids=repr
)
def test_an_interrupted_command_says_what_it_left_and_exits_130(capsys, interruption):
    def interrupted(args: argparse.Namespace) -> str:
        raise interruption

    assert common.report(interrupted, _args()) == 130
    assert _one_error_line(capsys) == (
        "error: interrupted by SIGINT; its staged output was removed and nothing was recorded"
    )
    run = _args("run")
    assert common.report(interrupted, run) == 130
    assert _one_error_line(capsys) == (
        "error: interrupted by SIGINT; the same command again reuses the steps that finished"
    )


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(),
    reason="signals reach the main thread only",
)
def test_a_real_sigterm_runs_the_commands_cleanup_and_exits_143(capsys):
    cleaned = []

    def waits(args: argparse.Namespace) -> str:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)
            return "not interrupted"
        finally:
            cleaned.append(True)

    before = signal.getsignal(signal.SIGTERM)
    try:
        assert common.report(waits, _args()) == 128 + signal.SIGTERM
    finally:
        # Forget the signal, so no later error in this process is taken for it.
        with interrupts.signals_as_exceptions():
            pass
    assert cleaned == [True]
    assert _one_error_line(capsys) == (
        "error: interrupted by SIGTERM; its staged output was removed and nothing was recorded"
    )
    assert signal.getsignal(signal.SIGTERM) is before


def _cascade() -> list[str]:
    """The `cascade` console script beside this interpreter (as users run it)."""
    script = Path(sys.executable).parent / "cascade"
    if not script.exists():
        pytest.skip(f"{script} is not installed (pip install -e .)")
    return [str(script)]


def test_a_reader_that_went_away_ends_it_as_sigpipe_would_with_141(tmp_path):
    store = _store(tmp_path / "metadata.sqlite")
    # A pipe whose reading end is closed before the command starts: its first
    # write fails, whatever the timing (as `cascade ... | head` once head exits).
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [*_cascade(), "lineage", "runs", "--metadata", store],
            stdout=write_end,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert done.returncode == 128 + signal.SIGPIPE == 141
    assert done.stderr.decode() == ""


# ---------------------------------------------------------------------------
# Start-up (setup.py's console script: tests/project/test_packaging.py)


def test_building_the_parser_imports_no_tensorflow_beam_or_tfx():
    code = (
        "import sys; from cli.main import build_parser; build_parser(); "
        "print(sorted(m for m in ('tensorflow', 'apache_beam', 'tfx') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout == "[]\n", done.stderr
