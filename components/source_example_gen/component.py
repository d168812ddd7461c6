"""CsvSourceExampleGen: CsvExampleGen that also measures and describes each source.

Its output holds the stock CsvExampleGen's examples; on top, the output
artifact carries each source's measured facts and declared inventory as MLMD
custom properties (see `executor`). Reference datasets (spam list, id map)
are ingested by the same component (`reference_example_gen`), so they carry
the same facts, measured the same way, plus the ids they hold.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from google.protobuf import any_pb2, struct_pb2
from tfx import v1 as tfx

# FileBasedExampleGen (the base CsvExampleGen builds on, the one that takes a
# custom_config) and BeamExecutorSpec are not exported by tfx.v1.
from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec

from components.source_example_gen import executor, span_window
from components.source_example_gen.driver import SpanWindowDriver
from core import source_folders, spans


class CsvSourceExampleGen(FileBasedExampleGen):
    """Ingests CSV sources, one split each, recording facts and inventory per source."""

    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)
    DRIVER_CLASS = SpanWindowDriver

    def __init__(
        self,
        input_base: str,
        input_config: tfx.proto.Input,
        label: Optional[str] = None,
        inventory: Optional[Mapping[str, Mapping[str, Any]]] = None,
        code_version: Optional[str] = None,
        id_columns: Sequence[str] = (),
        reference: bool = False,
        span_window_size: int = 1,
        range_config: Any = None,
    ) -> None:
        """Builds the component.

        Args:
          input_base: The folder the split patterns are relative to.
          input_config: One input split per source; each becomes an output
            split of the same name (a single source too). A split's pattern
            is `<folder>/<glob>`: every file of the folder that
            `core.source_folders` reads is read (`.csv` and `.csv.gz`, any
            case), and its other entries are recorded as not read.
          label: The label column, whose balance is measured per source; None
            for a dataset without one (a reference dataset).
          inventory: Source name -> declared fields (JSON-able), or None.
          code_version: A fingerprint of the code; a new one invalidates TFX's
            cache (the custom config is part of the cache key).
          id_columns: Columns whose distinct ids are counted and digested.
          reference: Record the facts as a reference dataset's
            (`reference_facts`, one split) instead of per source.
          span_window_size: With `{SPAN}` patterns, read the newest this
            many spans (TFX's driver resolves the newest; the executor reads
            the older ones of the window too).
          range_config: TFX's RangeConfig of the (newest) span to read, or a
            string RuntimeParameter holding one as JSON (a scheduler fills it
            in per run); None reads the newest span.
        """
        settings = struct_pb2.Struct()
        settings.update({"inventory": dict(inventory or {}), "id_columns": list(id_columns)})
        if label:
            settings.update({"label": label})
        if reference:
            settings.update({"reference": True})
        if code_version:
            settings.update({"code_version": code_version})
        settings.update(span_window.settings(input_base, input_config, span_window_size))
        packed = any_pb2.Any()
        packed.Pack(settings)
        output_config = None
        if len(input_config.splits) == 1:
            # With one input split, ExampleGen would hash it into train/eval;
            # one output split named after the source keeps the provenance.
            output_config = tfx.proto.Output(
                split_config=tfx.proto.SplitConfig(
                    splits=[
                        tfx.proto.SplitConfig.Split(
                            name=input_config.splits[0].name, hash_buckets=1
                        )
                    ]
                )
            )
        super().__init__(
            input_base=input_base,
            input_config=input_config,
            output_config=output_config,
            custom_config=tfx.proto.CustomConfig(custom_config=packed),
            range_config=range_config,
        )


# The one split of a reference dataset, as CleanExamples reads it.
REFERENCE_SPLIT = "all"


def reference_example_gen(
    path: str, id_columns: Sequence[str], code_version: Optional[str] = None
) -> CsvSourceExampleGen:
    """Ingests a reference dataset (spam list, id map): every `.csv` and
    `.csv.gz` file in `path` (any case; see `core.source_folders`) as one
    split `all`, with its rows, content sha256 and ids recorded.

    Args:
      path: The dataset's folder; with `{SPAN}` (see `core.spans`), the newest
        span's folder.
      id_columns: The columns holding ids (the spam ids; aliases and canonical ids).
      code_version: As for CsvSourceExampleGen.
    """
    base = spans.static_root(path)
    folder = path[len(base) :].strip("/")
    glob = source_folders.EXAMPLE_GEN_GLOB
    pattern = f"{folder}/{glob}" if folder else glob
    return CsvSourceExampleGen(
        input_base=base,
        input_config=tfx.proto.Input(
            splits=[tfx.proto.Input.Split(name=REFERENCE_SPLIT, pattern=pattern)]
        ),
        code_version=code_version,
        id_columns=id_columns,
        reference=True,
    )
