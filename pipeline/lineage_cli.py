"""The `cascade-lineage` command (also `python -m pipeline.lineage`).

    cascade-lineage runs
    cascade-lineage show REF
    cascade-lineage downstream REF [--type Model]
    cascade-lineage downstream --where labelling_method=crowd --type Model
    cascade-lineage upstream REF
    cascade-lineage graph [REF | --run RUN] --format dot|svg|png [--output FILE]
    cascade-lineage inventory [--run RUN]
    cascade-lineage history [--metric auc] [--plot FILE.png]

The store is the SQLite file of the config's output root (default: the demo's),
opened read-only, or `--metadata FILE`, or a MySQL store (`--mysql-host ...`).
`--format json` prints the shape documented in README ("Lineage").
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
from typing import Any, Optional, Sequence

from ml_metadata import metadata_store

from pipeline import cli, metadata, run_results
from pipeline.errors import CascadeError
from pipeline.lineage import ArtifactInfo, ExecutionInfo, Lineage, LineageGraph

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CONFIG = os.path.join(ROOT, "configs", "demo.yaml")
# Parameters shown in text output; --format json shows them all.
KEY_PARAMETERS = (
    "input_base",
    "input_fingerprint",
    "options",
    "splits",
    "seed",
    "label_key",
    "stratify_keys",
    "group_key",
    "module_path",
    "preprocessing_fn",
    "run_fn",
    "custom_config",
    "train_args",
    "eval_args",
)
MAX_VALUE_CHARS = 160


def _time(ms: int) -> str:
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M:%S UTC"
    )


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


def _artifact_line(a: ArtifactInfo) -> str:
    return f"#{a.id} {a.type} {a.uri}"


def _execution_line(e: ExecutionInfo) -> str:
    where = f"run {', '.join(e.runs)}" if e.runs else "outside pipeline runs"
    return f"{e.component} (execution #{e.id}, {e.state}, {where})"


def format_artifact(lineage: Lineage, artifact_id: int) -> str:
    """`show`: one artifact, its properties and the execution that produced it."""
    a = lineage.artifact(artifact_id)
    lines = [_artifact_line(a), f"  state: {a.state}"]
    for title, values in (("properties", a.properties), ("custom properties", a.custom_properties)):
        if values:
            lines.append(f"  {title}:")
            lines += [f"    {k}: {_short(v)}" for k, v in values.items()]
    if a.producer is not None:
        lines.append(f"  produced by: {_execution_line(lineage.execution(a.producer))}")
    else:
        lines.append("  produced by: nothing recorded (an imported artifact)")
    return "\n".join(lines)


def format_graph(graph: LineageGraph, title: str, parameters: bool) -> str:
    """A readable listing: each execution with what it read and wrote, by run."""
    inputs: dict[int, list[int]] = {}
    outputs: dict[int, list[int]] = {}
    for kind, src, dst in graph.edges:
        if kind == "input":
            inputs.setdefault(dst, []).append(src)
        else:
            outputs.setdefault(src, []).append(dst)
    lines = [
        f"{title}: {len(graph.artifacts)} artifacts, {len(graph.executions)} executions, "
        f"{len(graph.runs)} runs"
    ]
    for root in graph.roots:
        if root in graph.artifacts:
            lines.append(f"  from {_artifact_line(graph.artifacts[root])}")
    for e in sorted(graph.executions.values(), key=lambda x: (x.start_ms, x.id)):
        lines.append("")
        lines.append(_execution_line(e))
        for artifact_id in sorted(inputs.get(e.id, [])):
            if artifact_id in graph.artifacts:
                lines.append(f"    read  {_artifact_line(graph.artifacts[artifact_id])}")
        for artifact_id in sorted(outputs.get(e.id, [])):
            if artifact_id in graph.artifacts:
                lines.append(f"    wrote {_artifact_line(graph.artifacts[artifact_id])}")
        if parameters:
            for key in KEY_PARAMETERS:
                if key in e.parameters and e.parameters[key] not in ("", None):
                    lines.append(f"    {key}: {_short(e.parameters[key])}")
    by_type: dict[str, int] = {}
    for a in graph.artifacts.values():
        by_type[a.type] = by_type.get(a.type, 0) + 1
    lines.append("")
    lines.append("artifacts by type: " + ", ".join(f"{t} {n}" for t, n in sorted(by_type.items())))
    lines.append("runs: " + (", ".join(graph.runs) or "none"))
    return "\n".join(lines)


def format_runs(runs: list[dict[str, Any]]) -> str:
    """`runs`: one block per run, oldest first."""
    if not runs:
        return "no runs in the metadata store"
    lines = []
    for run in runs:
        lines.append(
            f"{run['run']}  {run['pipeline']}  {run['status']}  started {_time(run['start_ms'])}"
        )
        if run.get("config_hash"):
            lines.append(f"    config {run['config_path']} (sha256 {run['config_hash'][:12]})")
        lines.append(
            "    " + ", ".join(f"{e['component']} {e['state']}" for e in run["executions"])
        )
    return "\n".join(lines)


def to_dot(graph: LineageGraph) -> str:
    """The lineage graph in Graphviz DOT: artifacts as ellipses, executions as boxes."""

    def quote(text: str) -> str:
        escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return '"' + escaped + '"'

    lines = ["digraph lineage {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];']
    for a in sorted(graph.artifacts.values(), key=lambda x: x.id):
        style = ', style=filled, fillcolor="#ffd6d6"' if a.id in graph.roots else ""
        # The URI's last two parts name the output: e.g. "cleaned_examples/4".
        label = f"#{a.id} {a.type}\n{'/'.join(a.uri.rstrip('/').split('/')[-2:])}"
        lines.append(f"  a{a.id} [shape=ellipse, label={quote(label)}{style}];")
    for e in sorted(graph.executions.values(), key=lambda x: x.id):
        label = f"{e.component} #{e.id}\n{e.state}"
        lines.append(f"  e{e.id} [shape=box, label={quote(label)}];")
    for kind, src, dst in sorted(graph.edges):
        if kind == "input" and src in graph.artifacts and dst in graph.executions:
            lines.append(f"  a{src} -> e{dst};")
        elif kind == "output" and src in graph.executions and dst in graph.artifacts:
            lines.append(f"  e{src} -> a{dst};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(dot_text: str, image_format: str, output: str) -> None:
    """Renders DOT to svg/png with Graphviz's `dot`.

    Raises:
      CascadeError: `dot` is not installed or fails.
    """
    dot = shutil.which("dot")
    if dot is None:
        raise CascadeError(
            "graphviz's 'dot' is not installed (Debian: apt-get install graphviz); "
            "use --format dot for the text form"
        )
    result = subprocess.run(
        [dot, f"-T{image_format}", "-o", output], input=dot_text.encode(), capture_output=True
    )
    if result.returncode != 0:
        raise CascadeError(f"dot failed: {result.stderr.decode(errors='replace').strip()}")


def _store_from_args(args: argparse.Namespace) -> metadata_store.MetadataStore:
    """The metadata store the flags name, opened read-only."""
    path = args.metadata
    if path is None and metadata.mysql_from_args(args) is None:
        from pipeline import config as config_lib

        path = config_lib.load_config(args.config).output.metadata_path
    return metadata.store_from_args(args, path or "", read_only=True)


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
        "--config", default=DEFAULT_CONFIG, help="pipeline config whose store to read"
    )
    metadata.add_mysql_flags(parser)
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
    graph.add_argument("--output", "-o", help="file to write (default: stdout for dot)")
    with_format(graph, ("dot", "svg", "png"))
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
    store = _store_from_args(args)
    lineage = Lineage(store)
    as_json = getattr(args, "format", "text") == "json"
    if args.command == "inventory":
        from pipeline import inventory_report

        found = inventory_report.read_inventory(store, args.pipeline, args.run)
        if as_json:
            return json.dumps(found.to_json(), indent=2)
        return inventory_report.format_inventory(found)
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
    if bool(args.ref) == bool(args.run):
        raise CascadeError("graph: give either REF or --run RUN")
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
    if args.format == "dot":
        if args.output:
            with open(args.output, "w", encoding="utf-8") as f:
                f.write(dot_text)
            return f"wrote {args.output}"
        return dot_text.rstrip("\n")
    output = args.output or f"lineage.{args.format}"
    render(dot_text, args.format, output)
    return f"wrote {output}"


def _history(store: metadata_store.MetadataStore, args: argparse.Namespace) -> str:
    """`history`: the table (or JSON), and the plot when --plot is given."""
    from pipeline import history

    if args.plot and not args.plot.lower().endswith(".png"):
        raise CascadeError(f"--plot {args.plot}: the plot is a PNG; name the file *.png")
    name, points = history.runs_history(store, args.pipeline, args.metric)
    if args.format == "json":
        text = json.dumps(history.to_json(name, points, args.metric), indent=2)
    else:
        text = history.format_history(name, points, args.metric)
    if args.plot:
        from pipeline.history_plot import plot_history

        try:
            plotted = len(plot_history(name, points, args.metric, args.plot))
        except OSError as e:
            raise CascadeError(f"--plot {args.plot}: cannot write it: {e.strerror or e}") from e
        if args.format != "json":
            text += f"\n\nwrote {args.plot} ({plotted} run{'s' if plotted != 1 else ''} plotted)"
    return text


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point: prints the answer; exit 2 with one `error:` line on user errors."""
    return cli.report(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
