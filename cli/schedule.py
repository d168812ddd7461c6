"""`cascade schedule`: the pipeline for a production orchestrator.

    cascade schedule airflow [--dags-folder DIR]   # a DAG file Airflow picks up
    cascade schedule vertex --project P --region R --bucket gs://B --output spec.json

`airflow` writes a small DAG file that builds the DAG from the config each time
Airflow parses it (`scheduling.airflow_dag`): one task per TFX component, the
config's `schedule:` for when and how often to retry, the same store and Beam
profile as `cascade run`. `vertex` compiles the pipeline into a Vertex AI
Pipelines / Kubeflow Pipelines v2 spec, offline (`scheduling.vertex_spec`).
Label classes the config does not list are found in the input data once, by
either command, and kept in the file or spec; the output says them.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from cli import flags
from core.output_paths import check_output_file


def add_commands(commands: Any, shared: argparse.ArgumentParser) -> None:
    """Adds `schedule airflow` and `schedule vertex` to the `cascade` command tree."""
    schedule = commands.add_parser(
        "schedule",
        help="the pipeline for Airflow or Vertex AI Pipelines",
        description="Write the pipeline for a production orchestrator: an Airflow DAG "
        "file, or a Vertex AI Pipelines spec.",
    )
    actions = schedule.add_subparsers(dest="action", required=True, metavar="ACTION")
    airflow = actions.add_parser(
        "airflow",
        parents=[shared],
        help="write an Airflow DAG file for the config (needs the airflow extra)",
        description="Write a DAG file that Airflow picks up from its dags folder: one task "
        "per TFX component, scheduled and retried as the config's `schedule:` says.",
    )
    airflow.add_argument(
        "--dags-folder",
        metavar="DIR",
        help="Airflow's dags folder (default: $AIRFLOW__CORE__DAGS_FOLDER, else "
        "$AIRFLOW_HOME/dags, else ~/airflow/dags)",
    )
    flags.add_force_flag(airflow, "overwrite an existing DAG file")
    flags.add_runner_flags(airflow, help_text="Beam runner profile of the scheduled runs")
    airflow.set_defaults(handler=run_airflow)

    vertex = actions.add_parser(
        "vertex",
        parents=[shared],
        help="compile a Vertex AI Pipelines spec, offline (needs the vertex extra)",
        description="Compile the pipeline into a Vertex AI Pipelines (Kubeflow Pipelines "
        "v2) spec with TFX's KubeflowV2DagRunner; the Beam steps run on Dataflow. "
        "Nothing is submitted.",
    )
    vertex.add_argument(
        "--output", "-o", required=True, metavar="FILE", help="the spec to write (JSON)"
    )
    vertex.add_argument(
        "--image", help="the container image of every step (default: the config's vertex.image)"
    )
    flags.add_force_flag(vertex, "overwrite --output if it exists")
    flags.add_runner_flags(vertex, default="dataflow", help_text=argparse.SUPPRESS)
    vertex.set_defaults(handler=run_vertex)


def default_dags_folder() -> str:
    """Airflow's dags folder as Airflow finds it from the environment."""
    configured = os.environ.get("AIRFLOW__CORE__DAGS_FOLDER")
    if configured:
        return configured
    home = os.environ.get("AIRFLOW_HOME") or os.path.join(os.path.expanduser("~"), "airflow")
    return os.path.join(home, "dags")


def run_airflow(args: argparse.Namespace) -> str:
    """Writes the DAG file; returns what it holds and how to run it.

    Raises:
      CascadeError: The config has problems, the dags folder does not exist,
        the file exists without --force, a Dataflow flag is wrong, or the
        label classes to be found cannot be (see `dag_file.write_dag_file`).
    """
    from scheduling import dag_file

    config = flags.load_config(args)
    result = dag_file.write_dag_file(
        dag_file.DagFileRequest(
            config=config,
            config_path=os.path.abspath(args.config),
            output_root=args.output_root,
            store=flags.store_options(args, config),
            profile=args.profile,
            dataflow=flags.dataflow_from_args(args),
            dags_folder=args.dags_folder or default_dags_folder(),
            force=args.force,
        )
    )
    return "\n".join(result.report_lines())


def run_vertex(args: argparse.Namespace) -> str:
    """Compiles the Vertex AI spec; returns what it holds and what a user still needs.

    Raises:
      CascadeError: No image, a bad Dataflow flag, an existing --output without
        --force, the vertex extra is not installed, or the label classes to be
        found cannot be (see `vertex_spec.compile_spec`).
    """
    from scheduling import vertex_spec

    check_output_file(args.output, "--output", args.force)
    config = flags.load_config(args)
    result = vertex_spec.compile_spec(
        vertex_spec.VertexSpecRequest(
            config=config,
            dataflow=flags.dataflow_from_args(args),
            output=args.output,
            image=args.image,
            force=args.force,
        )
    )
    return "\n".join(result.report_lines())
