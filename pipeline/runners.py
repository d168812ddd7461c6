"""Runner profiles: the Beam args each profile passes to every Beam step.

Files: everything a run writes lives under the config's `output.root`.
Metadata: an embedded SQLite store at `<output.root>/metadata.sqlite` by default.
"""

from __future__ import annotations

import os

from pipeline.errors import CascadeError

PROFILES = ("local", "local-parallel")
SETUP_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "setup.py")


def beam_pipeline_args(profile: str, temp_dir: str) -> list[str]:
    """Returns the Beam options for a runner profile.

    Args:
      profile: `local` (DirectRunner, in-memory, one worker: least overhead on
        small data) or `local-parallel` (DirectRunner, one process per core).
      temp_dir: Beam's temp location.

    Returns:
      Beam pipeline args. They always name this project's setup.py: remote
      workers install the package from it, and without a dependency flag TFX
      would build a ~50 MB package of itself for every Beam step, even on the
      DirectRunner, which needs none.

    Raises:
      CascadeError: Unknown profile.
    """
    common = [f"--temp_location={temp_dir}", f"--setup_file={SETUP_FILE}"]
    if profile == "local":
        return ["--direct_running_mode=in_memory", "--direct_num_workers=1", *common]
    if profile == "local-parallel":
        return [
            "--direct_running_mode=multi_processing",
            f"--direct_num_workers={os.cpu_count() or 1}",
            *common,
        ]
    raise CascadeError(
        f"unknown runner profile {profile!r} (expected one of: {', '.join(PROFILES)})"
    )
