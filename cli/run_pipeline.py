"""`cascade run`: runs the pipeline from this machine and prints a run summary.

    cascade run                                  # the bundled demo (configs/demo.yaml)
    cascade run --config my.yaml                 # your own CSV dataset, no code change
    cascade run --config gcs.yaml --runner dataflow \\
        --project P --region us-central1 --bucket gs://B

See `services.pipeline_run` for what a run does and where it writes.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
from typing import Any, Optional

from cli import flags
from core import spans
from core.errors import RunFailedError
from core.labels import found_classes_line


def add_commands(commands: Any, shared: argparse.ArgumentParser) -> None:
    """Adds `run` to the `cascade` command tree."""
    parser = commands.add_parser(
        "run",
        parents=[shared],
        help="run the pipeline and print a run summary",
        description="Run Cascade's pipeline (ingest, clean, split, transform, train, "
        "evaluate, push) and print a run summary.",
    )
    flags.add_runner_flags(parser)
    parser.add_argument(
        "--no-cache", action="store_true", help="re-run every step instead of reusing outputs"
    )
    parser.add_argument(
        "--until",
        metavar="COMPONENT",
        help="run only COMPONENT and the components whose outputs it reads, directly or not "
        "(e.g. Transform)",
    )
    parser.add_argument("--verbose", action="store_true", help="echo TFX/Beam logs to stderr")
    parser.set_defaults(
        handler=run,
        on_interrupt="the same command again reuses the steps that finished",
    )


def _say(line: str) -> None:
    """Prints a progress line at once (a run is long; the terminal should not lag)."""
    print(line, flush=True)


def run(args: argparse.Namespace) -> str:
    """Validates the inputs, runs the pipeline; returns the summary and what to try next.

    Raises:
      CascadeError: A config, data, store or flag problem, before anything runs.
      RunFailedError: A step failed (the summary of what ran is its report).
    """
    from cli.run_report import format_summary
    from metadata import run_verdict
    from services import pipeline_run

    config = flags.load_config(args)
    request = pipeline_run.prepare(
        pipeline_run.RunRequest(
            config=config,
            store=flags.store_options(args, config),
            profile=args.profile,
            dataflow=flags.dataflow_from_args(args),
            use_cache=not args.no_cache,
            until=args.until,
            verbose=args.verbose,
        )
    )
    checked = pipeline_run.check_inputs(request, _say)
    request = checked.request
    for folder in checked.not_read:
        print(f"warning: {folder.warning()}", file=sys.stderr, flush=True)
    _say(
        f"Cascade: {config.name} from {args.config}: "
        + ", ".join(
            f"{s.name} {s.rows:,} rows" + (f" ({spans.describe(s.spans)})" if s.spans else "")
            for s in checked.sources
        )
        + "".join(
            f"; {name.replace('_', ' ')} {n:,} rows" for name, n in checked.reference_rows.items()
        )
    )
    if request.config.label_classes != config.label_classes:  # found, not listed
        _say(found_classes_line(request.config.label_spec))
    result = pipeline_run.run_pipeline(request, _say)
    if result.lineage_warning:
        print(f"warning: {result.lineage_warning}", file=sys.stderr, flush=True)
    lines = []
    if result.summary is not None:
        lines.append(
            format_summary(
                result.summary,
                request.config.output.root,
                request.store.describe(),
                result.verdict,
            )
        )
    lines.append(f"\n  total wall time: {result.seconds:.1f}s")
    if result.verdict is not None and result.verdict.status == run_verdict.GATED:
        raise RunFailedError(
            f"the data gate stopped the run: {result.verdict.reason.split(': ', 1)[-1]}; "
            "nothing was trained or pushed (the anomalies stay recorded in ML Metadata)",
            "\n".join(lines),
        )
    if result.failure is not None:
        raise RunFailedError(
            f"the pipeline failed: {result.failure}\n       full log: {result.log_path}",
            "\n".join(lines),
        )
    pushed = result.summary.pushed_model if result.summary is not None else None
    return "\n".join(lines + next_steps(args, request.config, pushed))


def next_steps(args: argparse.Namespace, config: Any, pushed: Optional[str]) -> list[str]:
    """The "Next:" lines: the commands that answer a user's next questions about this run.

    Each names the same config and store flags the run was given, so it finds
    this run's store wherever `--output-root`, `--metadata` or `--mysql-*` put it.
    """
    store = "".join(f" {flag} {shlex.quote(value)}" for flag, value in _store_flags(args))
    plot = shlex.quote(os.path.join(config.output.root, "history.png"))
    cascade = cascade_invocation()
    lines = [
        "\nNext:",
        f"  what went in, at what cost?  {cascade} inventory{store}",
        f"  did more data help?  {cascade} history{store} --plot {plot}",
    ]
    if config.cleaning.spam_list:
        lines.append(
            f"  what did the spam list feed?  {cascade} lineage downstream "
            # A spanned list's folder of spans: what every span's ExampleGen read.
            f"{shlex.quote(spans.static_root(config.cleaning.spam_list.path))} --type Model{store}"
        )
    if pushed:
        lines.append(
            f"  where did the model come from?  {cascade} lineage upstream {shlex.quote(pushed)}{store}"
        )
        keep = f" --keep {config.id_key}" if config.id_key else ""
        new_rows = shlex.quote(_serving_example(config) or "NEW.csv")
        lines.append(
            f"  score new rows with it (skew checked):  {cascade} predict --input {new_rows}{keep}"
            f"{store}"
        )
        lines.append(
            f"  is new data like the training data?  {cascade} skew --input {new_rows}{store}"
        )
    return lines


def cascade_invocation() -> str:
    """How to type `cascade` here: the word itself if the PATH finds this environment's
    console script, else that script's path (e.g. `.venv/bin/cascade` from the project)."""
    script = os.path.join(os.path.dirname(sys.executable), "cascade")
    found = shutil.which("cascade")
    if not os.path.exists(script) or (found and os.path.samefile(found, script)):
        return "cascade"
    relative = os.path.relpath(script)
    return script if relative.startswith("..") else relative


def _store_flags(args: argparse.Namespace) -> list[tuple[str, str]]:
    """The config and store flags the run was given, as (flag, value) pairs (no password)."""
    given = [("--config", args.config)]
    for flag in ("output_root", "metadata", "mysql_host"):
        if getattr(args, flag):
            given.append((f"--{flag.replace('_', '-')}", getattr(args, flag)))
    if args.mysql_host:
        given += [
            ("--mysql-port", str(args.mysql_port)),
            ("--mysql-database", args.mysql_database),
            ("--mysql-user", args.mysql_user),
        ]
        if args.mysql_password_file:
            given.append(("--mysql-password-file", args.mysql_password_file))
        if args.mysql_timeout != flags.DEFAULT_TIMEOUT_SECONDS:
            given.append(("--mysql-timeout", f"{args.mysql_timeout:g}"))
    if args.config == flags.DEFAULT_CONFIG:
        given = given[1:]
    return given


def _serving_example(config: Any) -> Optional[str]:
    """A CSV in a `serving/` folder beside the first source's (the demo ships one), if any."""
    folder = os.path.join(os.path.dirname(config.sources[0].path.rstrip("/")), "serving")
    if "://" in folder or not os.path.isdir(folder):
        return None
    files = sorted(f for f in os.listdir(folder) if f.lower().endswith(".csv"))
    return os.path.join(folder, files[0]) if files else None
