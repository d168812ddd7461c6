"""Runs Cascade's pipeline from this machine: the same as `cascade run`.

    python run_local.py                       # the bundled demo (configs/demo.yaml)
    python run_local.py --config my.yaml      # your own CSV dataset, no code change

Every flag of `cascade run` applies (`cascade run --help`).
"""

import sys

from cli.main import main

if __name__ == "__main__":
    sys.exit(main(["run", *sys.argv[1:]]))
