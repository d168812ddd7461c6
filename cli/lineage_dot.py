"""Lineage graphs as pictures: Graphviz DOT text, rendered to SVG or PNG by `dot`."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Optional

from core.errors import CascadeError
from metadata import artifact_files
from metadata.lineage import LineageGraph


FORMATS = ("dot", "svg", "png")
# Graphviz draws a lineage graph of thousands of nodes in seconds; a render
# still going after this long is stuck, not slow.
RENDER_TIMEOUT_SECONDS = 300


def output_format(output: Optional[str], given: Optional[str]) -> str:
    """The format `graph` writes: the output file's extension names it.

    Args:
      output: The `--output` file, or None for stdout (DOT) or `lineage.FORMAT`.
      given: `--format`, or None.

    Returns:
      One of FORMATS: the extension's (`.dot`, `.svg`, `.png`, any case); else
      `given`; else "dot".

    Raises:
      CascadeError: `given` contradicts the extension, or the extension names
        no format and `given` is None.
    """
    if output is None:
        return given or "dot"
    extension = os.path.splitext(output)[1].lower().lstrip(".")
    if extension in FORMATS:
        if given is not None and given != extension:
            raise CascadeError(
                f"graph: --format {given} does not match --output {output} (a .{extension} "
                "file); drop --format or make the two agree"
            )
        return extension
    if given is None:
        raise CascadeError(
            f"graph: --output {output}: its extension names no format; name the file "
            ".dot, .svg or .png, or give --format"
        )
    return given


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
        if a.files == artifact_files.MISSING:
            label += "\n(files missing)"
            style += ", color=red, penwidth=2" if style else ", style=dashed, color=red"
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


def render(
    dot_text: str,
    image_format: str,
    output: str,
    timeout_seconds: float = RENDER_TIMEOUT_SECONDS,
) -> None:
    """Renders DOT to svg/png with Graphviz's `dot`, within a time limit.

    Args:
      dot_text: The graph in DOT.
      image_format: `svg` or `png`.
      output: The image file to write.
      timeout_seconds: How long `dot` may take; it is stopped after that.

    Raises:
      CascadeError: `dot` is not installed, fails, or does not finish in time.
    """
    dot = shutil.which("dot")
    if dot is None:
        raise CascadeError(
            "graphviz's 'dot' is not installed (Debian: apt-get install graphviz); "
            "write the DOT text instead (an --output FILE.dot, or no --output)"
        )
    try:
        result = subprocess.run(
            [dot, f"-T{image_format}", "-o", output],
            input=dot_text.encode(),
            capture_output=True,
            timeout=timeout_seconds,
        )
    except subprocess.TimeoutExpired:
        raise CascadeError(
            f"dot did not finish drawing {output} within {timeout_seconds:g} s and was "
            "stopped; write the DOT text instead (an --output FILE.dot, or no --output)"
        ) from None
    if result.returncode != 0:
        raise CascadeError(f"dot failed: {result.stderr.decode(errors='replace').strip()}")
