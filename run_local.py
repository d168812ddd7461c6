"""Runs Cascade's pipeline from this machine and prints a run summary.

The Beam steps run on Beam's FnApiRunner (`--profile local`, the default, or
`local-parallel`) or on Google Cloud Dataflow (`--runner dataflow`); the
orchestration, the metadata store and the Trainer run here.

Files: everything under the config's `output.root` (default `outputs/<name>/`).
Metadata: an embedded SQLite store at `<output.root>/metadata.sqlite`.

    python run_local.py                       # the bundled demo (configs/demo.yaml)
    python run_local.py --config my.yaml      # your own CSV dataset, no code change

The command itself lives in `cli.run_pipeline`.
"""

import sys

from cli.run_pipeline import main

if __name__ == "__main__":
    sys.exit(main())
