"""The run command: runs Cascade's pipeline from this machine and prints a run summary.

The Beam steps run on Beam's FnApiRunner, the DirectRunner's batch engine
(`--profile local`, the default, or `local-parallel`), or on Google Cloud
Dataflow (`--runner dataflow`); either way the orchestration, the metadata
store and the Trainer run here.

Files: everything under the config's `output.root` (default `outputs/<name>/`);
with Dataflow, artifacts go to `<bucket>/cascade/<name>/pipeline` instead.
Metadata: an embedded SQLite store at `<output.root>/metadata.sqlite`.

    python run_local.py                       # the bundled demo (configs/demo.yaml)
    python run_local.py --config my.yaml      # your own CSV dataset, no code change
    python run_local.py --config gcs.yaml --runner dataflow \
        --project P --region us-central1 --bucket gs://B
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import time
from typing import Any, Optional, Sequence

from cli import flags
from core.environment import RedactSecrets
from core.errors import CascadeError
from metadata import connection
from pipeline import config as config_lib
from pipeline import preflight


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """Parses command-line flags; argparse prints usage and exits 2 on bad ones."""
    parser = argparse.ArgumentParser(prog="run_local.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=flags.DEFAULT_CONFIG, help="pipeline YAML config")
    parser.add_argument("--output-root", help="override the config's output.root")
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
    flags.add_mysql_flags(parser)
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    """Validates inputs, runs the pipeline, prints the summary; returns the exit code."""
    if args.until and args.until not in config_lib.COMPONENT_IDS:
        raise CascadeError(
            f"--until {args.until}: no such component "
            f"(one of: {', '.join(config_lib.COMPONENT_IDS)})"
        )
    config = config_lib.load_config(args.config, output_root=args.output_root)
    dataflow = flags.dataflow_from_args(args)
    if dataflow is not None:
        # Checked before any network call: the workers read the data and write
        # the artifacts, so both must be on GCS; the store and log stay here.
        from pipeline import runners

        runners.check_on_gcs(config.data_paths())
        config = dataclasses.replace(
            config,
            output=dataclasses.replace(
                config.output, artifact_root=dataflow.artifact_root(config.name)
            ),
        )
    sources = preflight.check_sources(config, report=print)
    reference = preflight.check_reference_data(config)
    print(
        f"Cascade: {config.name} from {args.config}: "
        + ", ".join(f"{s.name} {s.rows:,} rows" for s in sources)
        + "".join(f"; {name.replace('_', ' ')} {n:,} rows" for name, n in reference.items())
    )

    from pipeline.output_space import check_output_root

    # Before the log file: it is the first thing the run writes.
    check_output_root(config.output.root, [f for s in sources for f in s.files])
    with flags.writing_to_store(
        args,
        config.output.metadata_path,
        f"run_local.py, pipeline {config.name!r}",
        advice="run again when it has finished, or use another --output-root",
    ):
        return _run_pipeline(args, config, dataflow)


def _run_pipeline(args: argparse.Namespace, config: Any, dataflow: Any) -> int:
    """Runs the checked pipeline with LocalDagRunner and prints its summary and hints."""
    from core.environment import send_logs_to_file, stderr_to_file

    mysql = flags.mysql_from_args(args)
    secrets = [mysql.password()] if mysql else []
    send_logs_to_file(config.output.log_path, args.verbose, secrets=secrets)
    # Heavy imports only once the inputs are known to be good.
    from tfx import v1 as tfx

    from cli.progress import ComponentProgress
    from cli.run_report import format_summary
    from metadata import run_results, run_summary, runs
    from pipeline import runners
    from pipeline.pipeline import create_pipeline

    connection_config = connection.connection_config(
        sqlite_path=config.output.metadata_path, mysql=mysql
    )
    store_name = mysql.describe() if mysql else f"{config.output.metadata_path} (SQLite)"
    pipeline = create_pipeline(
        config,
        metadata_connection_config=connection_config,
        beam_pipeline_args=runners.beam_pipeline_args(
            args.profile, os.path.join(config.output.root, "tmp"), dataflow
        ),
        enable_cache=not args.no_cache,
        until=args.until,
    )
    store = connection.open_store(connection_config, store_name)  # fails fast on a bad server
    others = [p for p in runs.pipelines(store) if p != config.name]
    if others and mysql is None:
        print(
            f"note: the metadata store {config.output.metadata_path} also holds pipeline "
            f"{', '.join(repr(p) for p in others)}; lineage commands pick one with --pipeline"
        )
    print(f"Running {len(pipeline.components)} components (logs: {config.output.log_path}) ...")
    started = time.monotonic()
    started_ms = int(time.time() * 1000)
    failure: Optional[BaseException] = None
    progress = ComponentProgress(len(pipeline.components))
    logging.getLogger().addHandler(progress)
    try:
        with stderr_to_file(config.output.log_path):
            tfx.orchestration.LocalDagRunner().run(pipeline)
    except Exception as e:  # noqa: BLE001 - reported with the summary below
        failure = e
    finally:
        logging.getLogger().removeHandler(progress)
    elapsed = time.monotonic() - started

    run_id = run_summary.run_id_of_executions(
        store, progress.execution_ids
    ) or run_summary.newest_run_since(store, config.name, started_ms)
    if run_id is not None:
        run_summary.record_run_config(store, run_id, config)
        results = run_results.collect(store, run_id)
        run_results.record(store, run_id, results)
        summary = dataclasses.replace(
            run_summary.summarize_run(store, run_id), evaluation=results.evaluation
        )
        print(format_summary(summary, config.output.root, store_name))
    print(f"\n  total wall time: {elapsed:.1f}s")
    if failure is not None:
        print(
            failure_message(failure, config.output.log_path, RedactSecrets(secrets)),
            file=sys.stderr,
        )
        return 1
    pushed = summary.pushed_model if run_id is not None else None
    # The commands below must find this run's store, wherever --output-root put it.
    store_flag = (
        f"--metadata {config.output.metadata_path}"
        if args.output_root
        else f"--config {args.config}"
    )
    config_flags = f"--config {args.config}" + (
        f" --output-root {args.output_root}" if args.output_root else ""
    )
    print("\nNext:")
    print(f"  what went in, at what cost?  .venv/bin/cascade-lineage {store_flag} inventory")
    plot = os.path.join(config.output.root, "history.png")
    print(f"  did more data help?  .venv/bin/cascade-lineage {store_flag} history --plot {plot}")
    if config.cleaning.spam_list:
        print(
            f"  what did the spam list feed?  .venv/bin/cascade-lineage {store_flag} "
            f"downstream {config.cleaning.spam_list.path} --type Model"
        )
    if pushed:
        print(
            f"  where did the model come from?  .venv/bin/cascade-lineage {store_flag} "
            f"upstream {pushed}"
        )
        keep = f" --keep {config.id_key}" if config.id_key else ""
        new_rows = _serving_example(config) or "NEW.csv"
        print(
            "  score new rows with it (skew checked):  .venv/bin/python -m cli.predict "
            f"{config_flags} --input {new_rows}{keep}"
        )
        print(
            "  is new data like the training data?  .venv/bin/python -m cli.skew "
            f"{config_flags} --input {new_rows}"
        )
    return 0


def _serving_example(config: Any) -> Optional[str]:
    """A CSV in a `serving/` folder beside the first source's (the demo ships one), if any."""
    folder = os.path.join(os.path.dirname(config.sources[0].path.rstrip("/")), "serving")
    if "://" in folder or not os.path.isdir(folder):
        return None
    files = sorted(f for f in os.listdir(folder) if f.lower().endswith(".csv"))
    return os.path.join(folder, files[0]) if files else None


def failure_message(failure: BaseException, log_path: str, redact: RedactSecrets) -> str:
    """The one error line of a failed run, naming the log; secrets in it are redacted.

    A failed connection's exception can quote the metadata connection config,
    MySQL password included; the log filter redacts it in the log, and this in
    the console.
    """
    reason = redact.redact(f"{type(failure).__name__}: {failure}")
    return f"\nerror: the pipeline failed: {reason}\n       full log: {log_path}"


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point: one line on stderr and exit code 2 for problems the user can fix."""
    args = parse_args(argv)
    try:
        return run(args)
    except CascadeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "error: interrupted (Ctrl-C); the same command again reuses the steps that finished",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
