"""Runner profiles: the Beam args each profile passes to every Beam step.

  local           Beam's FnApiRunner (the DirectRunner's batch engine), in memory,
                  one worker: least overhead on small data
  local-parallel  FnApiRunner, one worker process per core
  dataflow        Google Cloud Dataflow (Runner v2); the orchestration, the
                  metadata store and the Trainer stay on this machine, the
                  Beam steps run on Dataflow workers, artifacts live on GCS

Files: everything a run writes lives under the config's `output.root`, except
a Dataflow run's artifacts, which go to `<bucket>/cascade/<pipeline>/pipeline`.
Metadata: an embedded SQLite store at `<output.root>/metadata.sqlite` by default.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Iterable, Optional

from core.errors import CascadeError

PROFILES = ("local", "local-parallel", "dataflow")
SETUP_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "setup.py")
DEFAULT_MACHINE_TYPE = "n1-standard-2"
DEFAULT_MAX_WORKERS = 4
# Google Cloud's rules: project ids are 6-30 lowercase letters, digits and
# hyphens, starting with a letter; regions look like `us-central1`.
_PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_REGION = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
_BUCKET = re.compile(r"^gs://[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](/.*)?$")


@dataclasses.dataclass(frozen=True)
class DataflowOptions:
    """Where and how the Beam steps run on Dataflow.

    Attributes:
      project: The Google Cloud project that runs and pays for the jobs.
      region: The Dataflow region, e.g. `us-central1`.
      bucket: A `gs://` location for artifacts, temp and staging files.
      machine_type: Worker machine type.
      max_workers: Autoscaling limit per job.
      sdk_container_image: A custom worker image (optional; by default the
        workers install this project from its sdist, built from setup.py).
    """

    project: str
    region: str
    bucket: str
    machine_type: str = DEFAULT_MACHINE_TYPE
    max_workers: int = DEFAULT_MAX_WORKERS
    sdk_container_image: Optional[str] = None

    def validate(self) -> None:
        """Checks every field without any network call.

        Raises:
          CascadeError: Naming the flag and what is wrong with it.
        """
        if not _PROJECT.match(self.project or ""):
            raise CascadeError(
                f"--project {self.project!r} is not a Google Cloud project id "
                "(6-30 lowercase letters, digits or hyphens, starting with a letter)"
            )
        if not _REGION.match(self.region or ""):
            raise CascadeError(
                f"--region {self.region!r} is not a Dataflow region (e.g. us-central1)"
            )
        if not _BUCKET.match(self.bucket or ""):
            raise CascadeError(
                f"--bucket {self.bucket!r} is not a GCS location: Dataflow workers need "
                "gs://BUCKET[/folder] for artifacts, temp and staging files"
            )
        if self.max_workers < 1:
            raise CascadeError(f"--max-workers must be at least 1, got {self.max_workers}")

    @property
    def root(self) -> str:
        """The bucket location without a trailing slash."""
        return self.bucket.rstrip("/")

    def artifact_root(self, pipeline_name: str) -> str:
        """Where the pipeline's artifacts go on GCS."""
        return f"{self.root}/cascade/{pipeline_name}/pipeline"


def beam_pipeline_args(
    profile: str,
    temp_dir: str,
    dataflow: Optional[DataflowOptions] = None,
    own_job: bool = False,
) -> list[str]:
    """Returns the Beam options for a runner profile.

    Args:
      profile: One of PROFILES.
      temp_dir: Beam's temp location for the local profiles.
      dataflow: Required for the `dataflow` profile.
      own_job: For a Beam job Cascade runs itself (not a TFX step): the local
        profiles then name no setup.py, since local workers import the
        installed project and nothing needs packaging.

    Returns:
      Beam pipeline args. They always name this project's setup.py: remote
      workers install the package from it, and without a dependency flag TFX
      would build a ~50 MB package of itself for every Beam step, even on the
      DirectRunner, which needs none. The local profiles name FnApiRunner, the
      engine the DirectRunner runs batch pipelines on: Beam 2.74's DirectRunner
      first tries the Prism runner, building this project's sdist and fetching
      a Prism binary from GitHub for every Beam step. Offline that fails and
      falls back after about a second a step; online, steps would run on
      another runner than the one the tests use.

    Raises:
      CascadeError: Unknown profile, or `dataflow` without valid options.
    """
    setup = [] if own_job else [f"--setup_file={SETUP_FILE}"]
    if profile == "local":
        return [
            "--runner=FnApiRunner",
            "--direct_running_mode=in_memory",
            "--direct_num_workers=1",
            f"--temp_location={temp_dir}",
            *setup,
        ]
    if profile == "local-parallel":
        return [
            "--runner=FnApiRunner",
            "--direct_running_mode=multi_processing",
            f"--direct_num_workers={os.cpu_count() or 1}",
            f"--temp_location={temp_dir}",
            *setup,
        ]
    if profile == "dataflow":
        if dataflow is None:
            raise CascadeError("the dataflow profile needs --project, --region and --bucket")
        dataflow.validate()
        args = [
            "--runner=DataflowRunner",
            f"--project={dataflow.project}",
            f"--region={dataflow.region}",
            f"--temp_location={dataflow.root}/tmp",
            f"--staging_location={dataflow.root}/staging",
            f"--setup_file={SETUP_FILE}",
            f"--machine_type={dataflow.machine_type}",
            f"--max_num_workers={dataflow.max_workers}",
            "--experiments=use_runner_v2",
        ]
        if dataflow.sdk_container_image:
            args.append(f"--sdk_container_image={dataflow.sdk_container_image}")
        return args
    raise CascadeError(
        f"unknown runner profile {profile!r} (expected one of: {', '.join(PROFILES)})"
    )


def check_on_gcs(
    paths: Iterable[tuple[str, str]],
    reason: str = "with --runner dataflow the workers read the data",
) -> None:
    """Checks that data remote workers read is on GCS.

    Args:
      paths: (what, path) pairs, e.g. ("sources[0].path", "data/demo/web").
      reason: Who reads the data, for the error line.

    Raises:
      CascadeError: The first local path, naming its field.
    """
    for what, path in paths:
        if not str(path).startswith("gs://"):
            raise CascadeError(
                f"{what}: {path} is a local path; {reason}, so it must be on GCS (gs://...)"
            )
