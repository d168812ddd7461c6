"""The ExampleGen driver for a window of spans.

TFX's FileBasedDriver resolves `{SPAN}` to the newest span (one span per
ExampleGen) and fingerprints that span's files; the fingerprint decides whether
a cached ingestion is reused. With a window of several spans the executor reads
older spans too, so their files join the fingerprint here: a changed file in
any span of the window ingests again.
"""

from __future__ import annotations

import os
from typing import Any

# FileBasedDriver is the stock ExampleGen driver; drivers are not exported by
# tfx.v1. io_utils.generate_fingerprint is the fingerprint that driver uses.
from tfx.components.example_gen import driver, utils
from tfx.dsl.io import fileio
from tfx.orchestration import data_types
from tfx.utils import io_utils

from components.source_example_gen import executor, span_window
from core import source_folders, spans


class SpanWindowDriver(driver.FileBasedDriver):
    """FileBasedDriver whose fingerprint covers every span of the window."""

    def resolve_exec_properties(
        self,
        exec_properties: dict[str, Any],
        pipeline_info: data_types.PipelineInfo,
        component_info: data_types.ComponentInfo,
    ) -> dict[str, Any]:
        """Resolves the newest span as the stock driver does, then adds the
        fingerprints of the window's older spans.

        Raises:
          ValueError: From the stock driver (no span, splits on different spans).
          core.errors.InputDataError: A span of the window lacks one source.
        """
        exec_properties = super().resolve_exec_properties(
            exec_properties, pipeline_info, component_info
        )
        setting = span_window.from_settings(executor.read_custom_config(exec_properties))
        if setting is None or setting.size <= 1:
            return exec_properties
        newest = exec_properties[utils.SPAN_PROPERTY_NAME]
        # By source name: the custom config's mapping comes back in no fixed
        # order, and the fingerprint must be the same text for the same files.
        folders = spans.window(sorted(setting.patterns.items()), setting.size, newest)
        fingerprints = [exec_properties.get(utils.FINGERPRINT_PROPERTY_NAME) or ""]
        for source, found in sorted(folders.items()):
            for folder in found:
                if folder.span == newest:
                    continue
                pattern = os.path.join(folder.path, source_folders.EXAMPLE_GEN_GLOB)
                if fileio.glob(pattern):
                    fingerprints.append(
                        io_utils.generate_fingerprint(f"{source}:{folder.span}", pattern)
                    )
        exec_properties[utils.FINGERPRINT_PROPERTY_NAME] = "\n".join(fingerprints)
        return exec_properties
