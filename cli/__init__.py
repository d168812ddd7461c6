"""The commands: the only room that parses flags and prints.

Each module is one command (or the shared parts of several): it reads its
flags, calls the library rooms (`pipeline`, `metadata`, `serving`) and turns
their answers, or a `CascadeError`, into text and an exit code.
"""

from core.environment import prepare_tensorflow

# Every command starts here, so tf-keras is chosen before anything imports
# TensorFlow (see core.environment).
prepare_tensorflow()
