"""Lineage questions that combine several store queries: downstream, upstream, a drawing.

"This dataset was wrong: what did it affect?" (`downstream`) and "where did
this model come from?" (`upstream`) are answered from MLMD alone. Start-up
matters here (a one-line answer from a small file): nothing on these paths
imports TensorFlow, TFX or Beam (tests/e2e/test_lineage_e2e.py checks).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Optional, Sequence

from ml_metadata import metadata_store

from core.errors import CascadeError
from metadata.dataset_versions import DatasetVersion, downstream_by_version
from metadata.lineage import Lineage, LineageGraph


@dataclasses.dataclass(frozen=True)
class DownstreamAnswer:
    """Everything derived from the roots.

    Attributes:
      graph: The artifacts and executions reached.
      title: What was asked, in words.
      versions: For a raw input path, the answer per version of the data each
        ingestion read (a folder may change between runs); else None.
    """

    graph: LineageGraph
    title: str
    versions: Optional[list[DatasetVersion]]


@dataclasses.dataclass(frozen=True)
class UpstreamAnswer:
    """Where something came from, with the config each run used.

    Attributes:
      graph: The artifacts and executions upstream.
      run_configs: Per run id, the config file and its sha256.
    """

    graph: LineageGraph
    run_configs: dict[str, dict[str, Any]]


def downstream(
    store: metadata_store.MetadataStore,
    ref: Optional[str] = None,
    where: Optional[Mapping[str, str]] = None,
    types: Sequence[str] = (),
) -> DownstreamAnswer:
    """What was derived from `ref`, or from the ingested sources `where` selects.

    Args:
      store: The metadata store.
      ref: An artifact id, a URI or a raw input path.
      where: Provenance fields a source must match (e.g. labelling_method=crowd).
      types: Keep only these artifact types (all when empty).

    Raises:
      CascadeError: Neither or both of `ref` and `where`, or nothing matches.
    """
    if bool(ref) == bool(where):
        raise CascadeError("downstream: give either REF or --where FIELD=VALUE")
    lineage = Lineage(store)
    if where:
        roots = lineage.ingested_where(where)
        title = "downstream of sources with " + " and ".join(f"{k}={v}" for k, v in where.items())
    else:
        roots, title = lineage.resolve(ref), f"downstream of {ref}"
    graph = lineage.downstream(roots, types)
    # A raw input path is a dataset that may have changed between runs: the
    # answer is grouped by the version each ingestion read.
    splits = {} if where else lineage.ingested_splits(ref)
    versions = None
    if splits and set(splits) == set(roots):
        versions = downstream_by_version(store, roots, types, splits)
    return DownstreamAnswer(graph, title, versions)


def upstream(store: metadata_store.MetadataStore, ref: str) -> UpstreamAnswer:
    """Where `ref` came from, back to the raw inputs, with each run's config.

    Raises:
      CascadeError: `ref` names nothing in the store.
    """
    lineage = Lineage(store)
    graph = lineage.upstream(lineage.resolve(ref))
    return UpstreamAnswer(graph, lineage.run_configs(graph.runs))


def neighbourhood(
    store: metadata_store.MetadataStore, ref: Optional[str] = None, run: Optional[str] = None
) -> LineageGraph:
    """What to draw: a whole run, or everything upstream and downstream of `ref`.

    Raises:
      CascadeError: Neither or both given, or the ref or run is unknown.
    """
    if bool(ref) == bool(run):
        raise CascadeError("graph: give either REF or --run RUN")
    lineage = Lineage(store)
    if run:
        return lineage.run_graph(run)
    ids = lineage.resolve(ref)
    graph = lineage.upstream(ids)
    below = lineage.downstream(ids)
    graph.artifacts.update(below.artifacts)
    graph.executions.update(below.executions)
    graph.edges |= below.edges
    return graph
