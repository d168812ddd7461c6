"""Lineage queries on a large store: thousands of pipeline runs of the demo's main path.

Synthesizes, through the MLMD API, a SQLite store holding N runs of Cascade's
pipeline (the 12 steps on the path from the raw files to the pushed model,
15 output artifacts each, with their events and contexts; not the demo's
SkewCalibration, DataGate and two resolvers; every tenth run ingests a new
spam list, the others reuse the last one's outputs, as cached runs do), then
times the lineage commands on an artifact in the middle:

  downstream   of a spam-list artifact (everything it fed, across runs)
  upstream     of a pushed model (back to the raw files)
  resolve      a raw input path to the ExampleGen outputs that read it
  runs         listing every run with its executions

Downstream and upstream use MLMD's lineage subgraph query, batched past its
caps of about 100 starting nodes and 100 hops (see `metadata.subgraph`).
Target: downstream and upstream answer in <= 2 s each. `--repeat K` times
each query K times on the same store and reports the median.

    .venv/bin/python -m benchmarks.lineage_benchmark --runs 1000 10000 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from typing import Optional, Sequence

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PIPELINE = "cascade-demo"
# (component, inputs as (key, producing component, its output key), outputs as (key, type))
SHAPE = [
    ("CsvExampleGen", [], [("examples", "Examples")]),
    ("SpamListGen", [], [("examples", "Examples")]),
    ("IdMapGen", [], [("examples", "Examples")]),
    (
        "CleanExamples",
        [
            ("examples", "CsvExampleGen", "examples"),
            ("spam_list", "SpamListGen", "examples"),
            ("id_map", "IdMapGen", "examples"),
        ],
        [("cleaned_examples", "Examples"), ("rejected_examples", "Examples")],
    ),
    (
        "StratifiedSplit",
        [("examples", "CleanExamples", "cleaned_examples")],
        [("split_examples", "Examples")],
    ),
    (
        "StatisticsGen",
        [("examples", "StratifiedSplit", "split_examples")],
        [("statistics", "ExampleStatistics")],
    ),
    ("SchemaGen", [("statistics", "StatisticsGen", "statistics")], [("schema", "Schema")]),
    (
        "ExampleValidator",
        [("statistics", "StatisticsGen", "statistics"), ("schema", "SchemaGen", "schema")],
        [("anomalies", "ExampleAnomalies")],
    ),
    (
        "Transform",
        [("examples", "StratifiedSplit", "split_examples"), ("schema", "SchemaGen", "schema")],
        [("transform_graph", "TransformGraph"), ("transformed_examples", "Examples")],
    ),
    (
        "Trainer",
        [
            ("examples", "Transform", "transformed_examples"),
            ("transform_graph", "Transform", "transform_graph"),
        ],
        [("model", "Model")],
    ),
    (
        "Evaluator",
        [("examples", "StratifiedSplit", "split_examples"), ("model", "Trainer", "model")],
        [("evaluation", "ModelEvaluation"), ("blessing", "ModelBlessing")],
    ),
    (
        "Pusher",
        [("model", "Trainer", "model"), ("model_blessing", "Evaluator", "blessing")],
        [("pushed_model", "PushedModel")],
    ),
]
RAW = {
    "CsvExampleGen": "data/demo",
    "SpamListGen": "data/demo/spam_accounts",
    "IdMapGen": "data/demo/id_map",
}


def _type_ids(store: metadata_store.MetadataStore) -> tuple[dict, dict, dict]:
    artifact_types = {}
    for _, _, outputs in SHAPE:
        for _, type_name in outputs:
            if type_name not in artifact_types:
                artifact_types[type_name] = store.put_artifact_type(pb.ArtifactType(name=type_name))
    execution_types = {
        component: store.put_execution_type(pb.ExecutionType(name=f"bench.{component}"))
        for component, _, _ in SHAPE
    }
    context_types = {
        name: store.put_context_type(pb.ContextType(name=name))
        for name in ("pipeline", "pipeline_run", "node")
    }
    return artifact_types, execution_types, context_types


def _event(kind: int, key: str) -> pb.Event:
    event = pb.Event(type=kind)
    event.path.steps.add().key = key
    return event


def synthesize(path: str, runs: int) -> dict:
    """Writes `runs` runs into a new SQLite store; returns ids to query."""
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = path
    store = metadata_store.MetadataStore(config)
    artifact_types, execution_types, context_types = _type_ids(store)
    [pipeline_id] = store.put_contexts(
        [pb.Context(type_id=context_types["pipeline"], name=PIPELINE)]
    )
    node_contexts = [
        pb.Context(type_id=context_types["node"], name=f"{PIPELINE}.{c}") for c, _, _ in SHAPE
    ]
    for context, context_id in zip(node_contexts, store.put_contexts(node_contexts)):
        context.id = context_id
    node_of = {component: node_contexts[i] for i, (component, _, _) in enumerate(SHAPE)}
    reused: dict[tuple[str, str], int] = {}
    # Every artifact as stored: put_execution writes the protos it is given, so
    # an event to an existing artifact must carry the whole artifact, or its
    # type, URI and state would be overwritten with empty values.
    stored: dict[int, pb.Artifact] = {}
    picked: dict = {}
    for run in range(runs):
        run_context = pb.Context(type_id=context_types["pipeline_run"], name=f"run-{run:05d}")
        [run_context.id] = store.put_contexts([run_context])
        store.put_parent_contexts(
            [pb.ParentContext(child_id=run_context.id, parent_id=pipeline_id)]
        )
        produced: dict[tuple[str, str], int] = {}
        for component, inputs, outputs in SHAPE:
            cached = component in ("CsvExampleGen", "IdMapGen") and run > 0
            cached = cached or (component == "SpamListGen" and run % 10 != 0)
            execution = pb.Execution(
                type_id=execution_types[component],
                last_known_state=pb.Execution.CACHED if cached else pb.Execution.COMPLETE,
            )
            if component in RAW:
                execution.custom_properties["input_base"].string_value = os.path.join(
                    ROOT, RAW[component]
                )
            pairs = []
            for key, producer, producer_key in inputs:
                artifact = stored[produced[(producer, producer_key)]]
                pairs.append((artifact, _event(pb.Event.INPUT, key)))
            for key, type_name in outputs:
                if cached:
                    artifact = stored[reused[(component, key)]]
                else:
                    artifact = pb.Artifact(
                        type_id=artifact_types[type_name],
                        uri=f"/bench/{component}/{key}/{run}",
                        state=pb.Artifact.LIVE,
                    )
                pairs.append((artifact, _event(pb.Event.OUTPUT, key)))
            contexts = [run_context, node_of[component]]
            _, artifact_ids, _ = store.put_execution(execution, pairs, contexts)
            for (artifact, _), artifact_id in zip(pairs, artifact_ids):
                if artifact_id not in stored:
                    artifact.id = artifact_id
                    stored[artifact_id] = artifact
            for (key, _), artifact_id in zip(outputs, artifact_ids[len(inputs) :]):
                produced[(component, key)] = artifact_id
                reused[(component, key)] = artifact_id
        if run == runs // 2:
            picked = {
                "spam_list": produced[("SpamListGen", "examples")],
                "pushed_model": produced[("Pusher", "pushed_model")],
            }
    return picked


def _timed(action, repeat: int = 1) -> tuple[float, object]:
    """(median seconds of `repeat` calls of `action`, the last call's result)."""
    times = []
    for _ in range(repeat):
        started = time.monotonic()
        result = action()
        times.append(time.monotonic() - started)
    return statistics.median(times), result


def _measure(runs: int, repeat: int) -> list[tuple[str, float, object]]:
    """Synthesizes a store of `runs` runs and times the queries on it, `repeat` times each."""
    from metadata import connection
    from metadata.lineage import Lineage

    with tempfile.TemporaryDirectory() as work:
        path = os.path.join(work, "metadata.sqlite")
        build_seconds, picked = _timed(lambda: synthesize(path, runs))
        print(f"store: {runs:,} runs synthesized in {build_seconds:.0f} s", file=sys.stderr)
        config = connection.connection_config(sqlite_path=path, read_only=True)
        lineage = Lineage(connection.open_store(config, path))
        rows = []
        seconds, down = _timed(lambda: lineage.downstream([picked["spam_list"]]), repeat)
        rows.append(("downstream of a spam-list artifact", seconds, down))
        seconds, up = _timed(lambda: lineage.upstream([picked["pushed_model"]]), repeat)
        rows.append(("upstream of a pushed model", seconds, up))
        spam_path = os.path.join(ROOT, RAW["SpamListGen"])
        seconds, ids = _timed(lambda: lineage.resolve(spam_path), repeat)
        rows.append((f"resolve a raw path ({len(ids)} artifacts)", seconds, None))
        seconds, listed = _timed(lineage.runs, repeat)
        rows.append((f"runs ({len(listed):,} runs)", seconds, None))
    return rows


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Builds a store per size, times the queries and prints one table."""
    sys.path.insert(0, ROOT)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=1, help="times per query; median reported")
    args = parser.parse_args(argv)
    if any(r <= 0 for r in args.runs) or args.repeat <= 0:
        parser.error("--runs and --repeat must be positive")
    from benchmarks.measure import load_note

    loads = []
    print("| runs in store | query | seconds | artifacts | executions | runs |")
    print("|---:|---|---:|---:|---:|---:|")
    for runs in args.runs:
        loads.append(f"{runs:,} runs: {load_note()} before the store was built")
        for name, seconds, graph in _measure(runs, args.repeat):
            cells = (
                ["", "", ""]
                if graph is None
                else [str(len(graph.artifacts)), str(len(graph.executions)), str(len(graph.runs))]
            )
            print(f"| {runs:,} | {name} | {seconds:.2f} | " + " | ".join(cells) + " |")
    repeats = f"median of {args.repeat} calls per query; " if args.repeat > 1 else ""
    print(f"\n{repeats}{'; '.join(loads)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
