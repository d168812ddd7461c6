"""Live progress of a pipeline run: one line as each component starts and finishes.

TFX's LocalDagRunner runs the components one after another and says so only
in its log ("Component X is running." / "Component X is finished.", and the
launcher's "A cached execution N is used."), which the run sends to its log
file. `ComponentProgress` is a logging handler that watches for those records
and says a short line for each, with the elapsed time, so a
run of many minutes is never silent. The messages are matched by their format
strings in TFX 1.16 (pinned); `tests/e2e` checks the lines a real run prints.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

_STARTED = "Component %s is running."
_FINISHED = "Component %s is finished."
_CACHED = "A cached execution %d is used."
_NEW = "Going to run a new execution %d"


class ComponentProgress(logging.Handler):
    """Says `[i/n] <component> ...` and `... ran in 12.3s (run 40s)` lines.

    It also keeps the ids of the executions the run made or reused, which
    name the run in MLMD afterwards.

    Args:
      total: How many components the run has.
      say: Takes each line (the command prints it to the terminal, not the log).
      clock: Seconds, monotonic (tests pass a fake one).
    """

    def __init__(
        self,
        total: int,
        say: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(level=logging.INFO)
        self._total = total
        self._say = say
        self._clock = clock
        self._count = 0
        self._started: dict[str, tuple[int, float]] = {}
        self._cached = False
        self._run_started = clock()
        self.execution_ids: list[int] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == _STARTED and record.args:
            self._start(str(record.args[0]))
        elif record.msg == _CACHED:
            self._cached = True
            self._keep_execution(record)
        elif record.msg == _NEW:
            self._keep_execution(record)
        elif record.msg == _FINISHED and record.args:
            self._finish(str(record.args[0]))

    def _keep_execution(self, record: logging.LogRecord) -> None:
        if record.args and isinstance(record.args[0], int):
            self.execution_ids.append(record.args[0])

    def _start(self, component: str) -> None:
        self._count += 1
        self._cached = False
        self._started[component] = (self._count, self._clock())
        self._say(f"  [{self._count:>{len(str(self._total))}}/{self._total}] {component} ...")

    def _finish(self, component: str) -> None:
        now = self._clock()
        number, started = self._started.get(component, (self._count, now))
        how = "cached" if self._cached else "ran"
        self._say(
            f"  [{number:>{len(str(self._total))}}/{self._total}] {component} {how} "
            f"in {now - started:.1f}s (run {now - self._run_started:.0f}s)"
        )
