"""`cascade lineage`: lineage questions answered from ML Metadata.

    cascade lineage runs
    cascade lineage show REF
    cascade lineage downstream REF [--type Model]    # a raw input path: by dataset version
    cascade lineage downstream --where labelling_method=crowd --type Model
    cascade lineage upstream REF
    cascade lineage graph [REF | --run RUN] [-o FILE.dot|.svg|.png] [--format dot|svg|png]
    cascade lineage export --openlineage (--output FILE | --url URL) [--since RUN]

The store is the SQLite file of the config's output root (default: the demo's),
opened read-only, or `--metadata FILE`, or a MySQL store (`--mysql-host ...`).
`--format json` prints the shape documented in README ("Lineage"); `graph`
writes the format its `-o` file's extension names. `export` sends the
pipeline's record as OpenLineage events to a file or a catalog's endpoint
(README, "Lineage in your data catalog"); it reads statistics files, so it
loads TensorFlow's file system layer.

Start-up matters here (a one-line answer from a small file): nothing on these
paths imports TensorFlow, TFX or Beam (tests/e2e/test_lineage_e2e.py checks).
"""

from __future__ import annotations

import argparse
import json
from typing import Any, Sequence

from cli import flags
from cli.lineage_dot import FORMATS, output_format, render, to_dot
from cli.lineage_text import format_artifact, format_graph, format_runs, format_versions
from core.errors import CascadeError
from core.output_paths import check_output_file


def add_format_flag(parser: argparse.ArgumentParser) -> None:
    """Adds `--format text|json` (text is for people; json's shape is in README)."""
    parser.add_argument("--format", choices=("text", "json"), default="text")


def add_commands(commands: Any, shared: argparse.ArgumentParser) -> None:
    """Adds `lineage` and its questions to the `cascade` command tree."""
    lineage = commands.add_parser(
        "lineage",
        help="lineage questions: runs, show, upstream, downstream, graph; export",
        description="Lineage questions answered from ML Metadata (read-only).",
    )
    questions = lineage.add_subparsers(dest="question", required=True, metavar="QUESTION")
    runs = questions.add_parser("runs", parents=[shared], help="pipeline runs and their executions")
    add_format_flag(runs)
    runs.set_defaults(handler=_runs)
    show = questions.add_parser("show", parents=[shared], help="one artifact and what produced it")
    show.add_argument("ref", help="artifact id, URI or path")
    add_format_flag(show)
    show.set_defaults(handler=_show)
    down = questions.add_parser(
        "downstream",
        parents=[shared],
        help="everything derived from REF, or from the sources --where selects",
    )
    down.add_argument("ref", nargs="?", help="artifact id, URI or raw input path")
    down.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="start from ingested data with a source whose provenance matches "
        "(source, owner, labelling_method, ...); repeat to require several",
    )
    down.add_argument("--type", action="append", default=[], help="keep only this artifact type")
    add_format_flag(down)
    down.set_defaults(handler=_downstream)
    up = questions.add_parser("upstream", parents=[shared], help="where REF came from")
    up.add_argument("ref", help="artifact id, URI or path (e.g. the pushed model)")
    add_format_flag(up)
    up.set_defaults(handler=_upstream)
    graph = questions.add_parser(
        "graph", parents=[shared], help="draw the lineage of REF or of a run"
    )
    graph.add_argument("ref", nargs="?", help="artifact id, URI or path")
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
    flags.add_force_flag(graph, "overwrite the picture's file if it exists")
    graph.set_defaults(handler=_graph)
    _add_export(questions, shared)


def _add_export(questions: Any, shared: argparse.ArgumentParser) -> None:
    """Adds `lineage export --openlineage`."""
    export = questions.add_parser(
        "export",
        parents=[shared],
        help="send the pipeline's lineage as OpenLineage events to a file or a catalog",
        description="Export every run and scoring of the config's pipeline as OpenLineage "
        "events: newline-delimited JSON to --output, or POSTed to --url (Marquez, DataHub). "
        "An endpoint receives each event once; what it received is kept in the metadata store.",
    )
    export.add_argument(
        "--openlineage", action="store_true", help="OpenLineage run events (the format; required)"
    )
    where = export.add_mutually_exclusive_group()
    where.add_argument("--output", "-o", metavar="FILE", help="write the events to FILE (anew)")
    where.add_argument(
        "--url",
        metavar="URL",
        help="POST the events to URL/ENDPOINT (default: the config's lineage.openlineage.url)",
    )
    export.add_argument(
        "--endpoint",
        metavar="PATH",
        help="the path under --url (default: the config's, else api/v1/lineage as Marquez)",
    )
    export.add_argument(
        "--api-key-env",
        metavar="NAME",
        help="environment variable holding the API key, sent as a bearer token (never printed)",
    )
    export.add_argument("--namespace", help="OpenLineage job namespace (default: the config's)")
    export.add_argument("--since", metavar="RUN", help="only what came after this run")
    flags.add_force_flag(export, "overwrite the --output file if it exists")
    export.add_argument(
        "--resend", action="store_true", help="send to --url what it has already received too"
    )
    export.set_defaults(handler=_export)


def open_store(args: argparse.Namespace) -> Any:
    """The metadata store the flags name, opened read-only.

    Raises:
      CascadeError: The config is invalid, or the store missing or unreadable.
    """
    return flags.store_options(args).open(read_only=True)


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


def _runs(args: argparse.Namespace) -> str:
    """`lineage runs`: every run, newest last, with its executions' states."""
    from metadata.lineage import Lineage

    runs = Lineage(open_store(args)).runs()
    return json.dumps(runs, indent=2) if args.format == "json" else format_runs(runs)


def _show(args: argparse.Namespace) -> str:
    """`lineage show REF`: the artifacts REF names and what produced each."""
    from metadata.lineage import Lineage

    lineage = Lineage(open_store(args))
    ids = lineage.resolve(args.ref)
    if args.format == "json":
        return json.dumps([lineage.artifact(i).__dict__ for i in ids], indent=2, default=str)
    return "\n\n".join(format_artifact(lineage, i) for i in ids)


def _downstream(args: argparse.Namespace) -> str:
    """`lineage downstream`: what REF (or the sources --where selects) fed."""
    from services import lineage_queries

    if bool(args.ref) == bool(args.where):
        raise CascadeError("downstream: give either REF or --where FIELD=VALUE")
    where = _where(args.where) if args.where else None
    answer = lineage_queries.downstream(open_store(args), args.ref, where, args.type)
    if args.format == "json":
        body = answer.graph.to_json()
        if answer.versions is not None:
            body["versions"] = [v.to_json() for v in answer.versions]
        return json.dumps(body, indent=2, default=str)
    if answer.versions is not None:
        return format_versions(answer.graph, answer.versions, answer.title)
    return format_graph(answer.graph, answer.title, parameters=False)


def _upstream(args: argparse.Namespace) -> str:
    """`lineage upstream REF`: where REF came from, and the config of each run."""
    from services import lineage_queries

    answer = lineage_queries.upstream(open_store(args), args.ref)
    if args.format == "json":
        body = {**answer.graph.to_json(), "run_configs": answer.run_configs}
        return json.dumps(body, indent=2, default=str)
    lines = [format_graph(answer.graph, f"upstream of {args.ref}", parameters=True)]
    for run_id, config in answer.run_configs.items():
        if config["config_hash"]:
            lines.append(
                f"  run {run_id}: config {config['config_path']} (sha256 {config['config_hash']})"
            )
    return "\n".join(lines)


def _graph(args: argparse.Namespace) -> str:
    """`lineage graph`: a DOT, SVG or PNG drawing of REF's neighbourhood or of a run."""
    from services import lineage_queries

    # Checked before the store is opened: a wrong flag fails at once.
    if bool(args.ref) == bool(args.run):
        raise CascadeError("graph: give either REF or --run RUN")
    if args.output:
        check_output_file(args.output, "--output", args.force)
    image_format = output_format(args.output, args.format)
    if not args.output and image_format != "dot":
        check_output_file(f"lineage.{image_format}", "the default --output", args.force)
    graph = lineage_queries.neighbourhood(open_store(args), args.ref, args.run)
    dot_text = to_dot(graph)
    if image_format == "dot":
        if args.output:
            try:
                with open(args.output, "w", encoding="utf-8") as f:
                    f.write(dot_text)
            except OSError as e:
                raise CascadeError(
                    f"--output {args.output}: cannot write it: {e.strerror}"
                ) from None
            return f"wrote {args.output}"
        return dot_text.rstrip("\n")
    output = args.output or f"lineage.{image_format}"
    render(dot_text, image_format, output)
    return f"wrote {output}"


def _export(args: argparse.Namespace) -> str:
    """`lineage export --openlineage`: the pipeline's events to a file or an endpoint."""
    from metadata.openlineage_events import Selection
    from pipeline.lineage_config import check_env_name, check_url
    from services import openlineage_export

    if not args.openlineage:
        raise CascadeError("export: give --openlineage (the format; the only one)")
    config = flags.load_config(args)
    section = config.openlineage
    if args.output:
        check_output_file(args.output, "--output", args.force)
        if args.resend or args.url or args.endpoint or args.api_key_env:
            raise CascadeError(
                "--output writes every selected event to the file; "
                "--endpoint, --api-key-env and --resend apply to --url"
            )
    url = args.url or (None if args.output else section.url)
    if not args.output and url is None:
        raise CascadeError(
            "export: give --output FILE or --url URL (or name lineage.openlineage.url in the config)"
        )
    if url is not None and check_url(url):
        raise CascadeError(f"--url: {check_url(url)}")
    api_key_env = args.api_key_env or (None if args.url else section.api_key_env)
    if api_key_env and check_env_name(api_key_env):
        raise CascadeError(f"--api-key-env: {check_env_name(api_key_env)}")
    destination = openlineage_export.Destination(
        output=args.output,
        url=url,
        endpoint=(args.endpoint or section.endpoint).strip("/"),
        api_key_env=api_key_env,
        timeout_seconds=section.timeout_seconds,
    )
    result = openlineage_export.export(
        openlineage_export.ExportRequest(
            store=flags.store_options(args, config),
            pipeline=config.name,
            namespace=args.namespace or section.namespace,
            destination=destination,
            selection=Selection(since_run=args.since),
            resend=args.resend,
        )
    )
    verb = "wrote" if args.output else "sent"
    line = (
        f"{verb} {result.sent} OpenLineage events ({result.runs} runs) of pipeline "
        f"{config.name!r} to {result.destination}"
    )
    if result.skipped:
        line += f"; {result.skipped} it had already received were not sent again"
    return line
