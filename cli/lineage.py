"""The `cascade-lineage` command (also `python -m cli.lineage`).

    cascade-lineage runs
    cascade-lineage show REF
    cascade-lineage downstream REF [--type Model]    # a raw input path: by dataset version
    cascade-lineage downstream --where labelling_method=crowd --type Model
    cascade-lineage upstream REF
    cascade-lineage graph [REF | --run RUN] [-o FILE.dot|.svg|.png] [--format dot|svg|png]
    cascade-lineage inventory [--run RUN]
    cascade-lineage history [--metric auc] [--plot FILE.png]

The store is the SQLite file of the config's output root (default: the demo's),
opened read-only, or `--metadata FILE`, or a MySQL store (`--mysql-host ...`).
`--format json` prints the shape documented in README ("Lineage"); `graph`
writes the format its `-o` file's extension names.

Start-up matters here (a one-line answer from a small file): nothing on these
paths imports TensorFlow, TFX or Beam (tests/e2e/test_lineage_e2e.py checks).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Optional, Sequence

from ml_metadata import metadata_store

from cli import common, flags
from cli.lineage_dot import FORMATS, output_format, render, to_dot
from cli.lineage_text import format_artifact, format_graph, format_runs, format_versions
from core.errors import CascadeError
from metadata import run_results
from metadata.dataset_versions import downstream_by_version
from metadata.lineage import Lineage


def _store_from_args(args: argparse.Namespace) -> metadata_store.MetadataStore:
    """The metadata store the flags name, opened read-only."""
    path = args.metadata
    if path is None and flags.mysql_from_args(args) is None:
        from pipeline import config as config_lib

        path = config_lib.load_config(args.config).output.metadata_path
    return flags.store_from_args(args, path or "", read_only=True)


def _where(conditions: Sequence[str]) -> dict[str, str]:
    """["labelling_method=crowd"] -> {"labelling_method": "crowd"}.

    Raises:
      CascadeError: A condition without `=`, or a field given twice.
    """
    parsed: dict[str, str] = {}
    for condition in conditions:
        key, sep, value = condition.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CascadeError(
                f"--where {condition!r}: expected FIELD=VALUE, e.g. labelling_method=crowd"
            )
        if key in parsed:
            raise CascadeError(
                f"--where {condition!r}: {key} is already required to be {parsed[key]!r} "
                "(conditions combine with AND; run one command per value)"
            )
        parsed[key] = value.strip()
    return parsed


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """Parses the command line; argparse exits 2 with usage on bad flags."""
    parser = argparse.ArgumentParser(
        prog="cascade-lineage", description="Lineage questions answered from ML Metadata."
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--metadata", help="SQLite metadata file (opened read-only)")
    where.add_argument(
        "--config", default=flags.DEFAULT_CONFIG, help="pipeline config whose store to read"
    )
    flags.add_mysql_flags(parser)
    commands = parser.add_subparsers(dest="command", required=True)

    def with_format(sub: argparse.ArgumentParser, choices=("text", "json")) -> None:
        sub.add_argument("--format", choices=choices, default=choices[0])

    with_format(commands.add_parser("runs", help="pipeline runs and their executions"))
    show = commands.add_parser("show", help="one artifact and what produced it")
    show.add_argument("ref")
    with_format(show)
    down = commands.add_parser(
        "downstream", help="everything derived from REF, or from the sources --where selects"
    )
    down.add_argument("ref", nargs="?")
    down.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="start from ingested data with a source whose provenance matches "
        "(source, owner, labelling_method, ...); repeat to require several",
    )
    down.add_argument("--type", action="append", default=[], help="keep only this artifact type")
    with_format(down)
    up = commands.add_parser("upstream", help="where REF came from")
    up.add_argument("ref")
    with_format(up)
    graph = commands.add_parser("graph", help="draw the lineage of REF or of a run")
    graph.add_argument("ref", nargs="?")
    graph.add_argument("--run", help="draw a whole run instead")
    graph.add_argument(
        "--output",
        "-o",
        help="file to write, in the format its extension names: .dot, .svg or .png "
        "(default: stdout for dot)",
    )
    graph.add_argument(
        "--format",
        choices=FORMATS,
        help="dot, svg or png (default: from --output's extension, else dot); "
        "refused when it contradicts the extension",
    )
    inventory = commands.add_parser(
        "inventory", help="each source's declared inventory beside its measured facts"
    )
    inventory.add_argument("--pipeline", help="pipeline name (default: the store's only one)")
    inventory.add_argument("--run", help="a run id (default: the latest run)")
    with_format(inventory)
    history = commands.add_parser(
        "history", help="training rows per source, growth and test metric, run by run"
    )
    history.add_argument("--pipeline", help="pipeline name (default: the store's only one)")
    history.add_argument(
        "--metric",
        default="auc",
        choices=[m for m in run_results.METRICS if m != "example_count"],
        help="the overall test metric to show (default auc)",
    )
    history.add_argument("--plot", metavar="FILE.png", help="also draw rows vs metric to FILE.png")
    with_format(history)
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> str:
    """Runs one command; returns what to print.

    Raises:
      CascadeError: A bad REF, store or option, with a message naming it.
    """
    if args.command == "graph":
        # Checked before the store is opened: a wrong flag fails at once.
        if bool(args.ref) == bool(args.run):
            raise CascadeError("graph: give either REF or --run RUN")
        if args.output:
            flags.check_output_file(args.output, "--output")
        image_format = output_format(args.output, args.format)
        if not args.output and image_format != "dot":
            flags.check_output_file(f"lineage.{image_format}", "--output")
    store = _store_from_args(args)
    lineage = Lineage(store)
    as_json = getattr(args, "format", "text") == "json"
    if args.command == "inventory":
        from cli.inventory_table import format_inventory
        from metadata import inventory_report

        found = inventory_report.read_inventory(store, args.pipeline, args.run)
        if as_json:
            return json.dumps(found.to_json(), indent=2)
        return format_inventory(found)
    if args.command == "history":
        return _history(store, args)
    if args.command == "runs":
        runs = lineage.runs()
        return json.dumps(runs, indent=2) if as_json else format_runs(runs)
    if args.command == "show":
        ids = lineage.resolve(args.ref)
        if as_json:
            return json.dumps([lineage.artifact(i).__dict__ for i in ids], indent=2, default=str)
        return "\n\n".join(format_artifact(lineage, i) for i in ids)
    if args.command == "downstream":
        if bool(args.ref) == bool(args.where):
            raise CascadeError("downstream: give either REF or --where FIELD=VALUE")
        if args.where:
            conditions = _where(args.where)
            roots = lineage.ingested_where(conditions)
            title = "downstream of sources with " + " and ".join(
                f"{k}={v}" for k, v in conditions.items()
            )
        else:
            roots, title = lineage.resolve(args.ref), f"downstream of {args.ref}"
        graph = lineage.downstream(roots, args.type)
        # A raw input path is a dataset that may have changed between runs:
        # the answer is grouped by the version each ingestion read.
        splits = {} if args.where else lineage.ingested_splits(args.ref)
        if splits and set(splits) == set(roots):
            versions = downstream_by_version(store, roots, args.type, splits)
            if as_json:
                answer = {**graph.to_json(), "versions": [v.to_json() for v in versions]}
                return json.dumps(answer, indent=2, default=str)
            return format_versions(graph, versions, title)
        if as_json:
            return json.dumps(graph.to_json(), indent=2, default=str)
        return format_graph(graph, title, parameters=False)
    if args.command == "upstream":
        graph = lineage.upstream(lineage.resolve(args.ref))
        configs = lineage.run_configs(graph.runs)
        if as_json:
            return json.dumps({**graph.to_json(), "run_configs": configs}, indent=2, default=str)
        lines = [format_graph(graph, f"upstream of {args.ref}", parameters=True)]
        for run_id, config in configs.items():
            if config["config_hash"]:
                lines.append(
                    f"  run {run_id}: config {config['config_path']} "
                    f"(sha256 {config['config_hash']})"
                )
        return "\n".join(lines)
    # graph
    if args.run:
        graph = lineage.run_graph(args.run)
    else:
        ids = lineage.resolve(args.ref)
        graph = lineage.upstream(ids)
        below = lineage.downstream(ids)
        graph.artifacts.update(below.artifacts)
        graph.executions.update(below.executions)
        graph.edges |= below.edges
    dot_text = to_dot(graph)
    if image_format == "dot":
        if args.output:
            with open(args.output, "w", encoding="utf-8") as f:
                f.write(dot_text)
            return f"wrote {args.output}"
        return dot_text.rstrip("\n")
    output = args.output or f"lineage.{image_format}"
    render(dot_text, image_format, output)
    return f"wrote {output}"


def _history(store: metadata_store.MetadataStore, args: argparse.Namespace) -> str:
    """`history`: the table (or JSON), and the plot when --plot is given."""
    from cli.history_table import format_history
    from metadata import history

    if args.plot and not args.plot.lower().endswith(".png"):
        raise CascadeError(f"--plot {args.plot}: the plot is a PNG; name the file *.png")
    if args.plot:
        flags.check_output_file(args.plot, "--plot")
    name, points = history.runs_history(store, args.pipeline, args.metric)
    if args.format == "json":
        text = json.dumps(history.to_json(name, points, args.metric), indent=2)
    else:
        text = format_history(name, points, args.metric)
    if args.plot:
        from cli.history_plot import plot_history

        try:
            plotted = len(plot_history(name, points, args.metric, args.plot))
        except OSError as e:
            raise CascadeError(f"--plot {args.plot}: cannot write it: {e.strerror or e}") from e
        if args.format != "json":
            text += f"\n\nwrote {args.plot} ({plotted} run{'s' if plotted != 1 else ''} plotted)"
    return text


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point: prints the answer; exit 2 with one `error:` line on user errors."""
    return common.report(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
