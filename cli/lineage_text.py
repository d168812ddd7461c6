"""Lineage answers as readable text: artifacts, executions by run, and runs."""

from __future__ import annotations

import datetime
import json
from typing import Any, Sequence

from metadata import artifact_files
from metadata.dataset_versions import DatasetVersion
from metadata.lineage import ArtifactInfo, ExecutionInfo, Lineage, LineageGraph

# Parameters shown in text output; --format json shows them all.
KEY_PARAMETERS = (
    "input_base",
    "input_fingerprint",
    "id_key",
    "keep_latest_by",
    "source_priority",
    "required_columns",
    "spam_id_column",
    "ratios",
    "seed",
    "label",
    "stratify_by",
    "group_by",
    "module_path",
    "preprocessing_fn",
    "run_fn",
    "custom_config",
    "train_args",
    "eval_args",
    "code_version",
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
    line = f"#{a.id} {a.type} {a.uri}"
    if a.files == artifact_files.MISSING:
        return line + "  [files missing: not found where it was recorded]"
    if a.files == artifact_files.UNKNOWN:
        return line + "  [files not checked: the filesystem could not be read]"
    return line


def _execution_line(e: ExecutionInfo) -> str:
    where = f"run {', '.join(e.runs)}" if e.runs else "outside pipeline runs"
    return f"{e.component} (execution #{e.id}, {e.state}, {where})"


def format_artifact(lineage: Lineage, artifact_id: int) -> str:
    """`show`: one artifact, its properties and the execution that produced it."""
    a = lineage.artifact(artifact_id)
    lines = [_artifact_line(a), f"  state: {a.state}, files: {a.files}"]
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
    missing = sum(a.files == artifact_files.MISSING for a in graph.artifacts.values())
    if missing:
        lines.append(
            f"files missing: {missing} of these artifacts' files are not found where they "
            "were recorded (deleted, or on another machine's disk)"
        )
    lines.append("runs: " + (", ".join(graph.runs) or "none"))
    return "\n".join(lines)


def version_title(version: DatasetVersion, number: int, total: int) -> str:
    """A version's heading: its place, the first 12 digits of its sha256, its rows
    and when the store first saw it."""
    if version.sha256 is None:
        facts = "no sha256 or rows recorded by its ExampleGen"
    else:
        facts = f"sha256 {version.sha256[:12]}, {version.rows:,} rows"
    return f"version {number} of {total} ({facts}, first seen {_time(version.first_seen_ms)})"


def format_versions(graph: LineageGraph, versions: Sequence[DatasetVersion], title: str) -> str:
    """`downstream PATH`: the whole answer's size, then each version of the dataset
    (first seen first) with what it fed, as `format_graph` lists it."""
    lines = [
        f"{title}: {len(versions)} version{'s' if len(versions) != 1 else ''}, "
        f"{len(graph.artifacts)} artifacts, {len(graph.executions)} executions, "
        f"{len(graph.runs)} runs"
    ]
    for number, version in enumerate(versions, start=1):
        lines.append("")
        lines.append(
            format_graph(version.graph, version_title(version, number, len(versions)), False)
        )
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
        if run.get("reason"):
            lines.append(f"    why: {run['reason']}")
        lines.append(
            "    " + ", ".join(f"{e['component']} {e['state']}" for e in run["executions"])
        )
    return "\n".join(lines)
