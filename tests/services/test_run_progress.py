"""Live progress lines from TFX's own log records (see services.run_progress)."""

from __future__ import annotations

import logging

from services.run_progress import ComponentProgress


def test_each_component_gets_a_start_and_a_finish_line_with_times() -> None:
    ticks = iter([0.0, 1.0, 3.5, 4.0, 4.25])
    said: list[str] = []
    progress = ComponentProgress(12, said.append, clock=lambda: next(ticks))
    logger = logging.getLogger("absl")
    logger.addHandler(progress)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        logger.info("Component %s is running.", "CsvExampleGen")
        logger.info("Going to run a new execution %d", 7)
        logger.info("Component %s is finished.", "CsvExampleGen")
        logger.info("Component %s is running.", "SpamListGen")
        logger.info("A cached execution %d is used.", 3)
        logger.info("Component %s is finished.", "SpamListGen")
    finally:
        logger.removeHandler(progress)
        logger.setLevel(level)
    assert said == [
        "  [ 1/12] CsvExampleGen ...",
        "  [ 1/12] CsvExampleGen ran in 2.5s (run 4s)",
        "  [ 2/12] SpamListGen ...",
        "  [ 2/12] SpamListGen cached in 0.2s (run 4s)",
    ]
    assert progress.execution_ids == [7, 3]
