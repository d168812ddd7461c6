"""CleanExamples: a class-style Beam component between ExampleGen and the split.

Tags every row with its source, maps alias ids to canonical ones, drops rows of
spam accounts, merges one person's rows across sources (keeping the most recent),
and quarantines invalid rows. Every input row ends up in exactly one of two
outputs: `cleaned_examples` (one split, `cleaned`) or `rejected_examples` (one
split, `rejected`, each row with a `reject_reason`). The counts are recorded on
the cleaned artifact in MLMD. The spam list and id map are datasets (their own
ExampleGens), so lineage shows which list produced which cleaned data.
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

from tfx import v1 as tfx

# BeamExecutorSpec is not exported by tfx.v1.
from tfx.dsl.components.base import executor_spec
from tfx.types import standard_artifacts

from components.clean_examples import executor, spec
from components.clean_examples.options import CleanOptions


class CleanExamples(tfx.types.BaseBeamComponent):
    """Removes spam, merges people across sources and quarantines invalid rows."""

    SPEC_CLASS = spec.CleanExamplesSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(
        self,
        examples: tfx.dsl.Channel,
        id_key: Optional[str] = None,
        spam_list: Optional[tfx.dsl.Channel] = None,
        spam_id_column: Optional[str] = None,
        id_map: Optional[tfx.dsl.Channel] = None,
        alias_column: Optional[str] = None,
        canonical_column: Optional[str] = None,
        keep_latest_by: Optional[str] = None,
        source_priority: Sequence[str] = (),
        required_columns: Sequence[str] = (),
        label: Optional[str] = None,
        label_classes: Optional[Sequence[str]] = None,
        source_tags: Optional[Mapping[str, Mapping[str, str]]] = None,
        code_version: Optional[str] = None,
    ) -> None:
        """Builds the component; inconsistent options fail here.

        Args:
          examples: Raw examples, one split per source.
          id_key: The column identifying a person (None: no spam match, no merge).
          spam_list: Examples listing spam account ids.
          spam_id_column: The spam list's id column.
          id_map: Examples mapping alias ids to canonical ids.
          alias_column: The id map's alias column.
          canonical_column: The id map's canonical column.
          keep_latest_by: Keep the most recent of one person's rows by this column.
          source_priority: Ties on recency go to the source listed first.
          required_columns: Quarantine rows missing any of these.
          label: Count label conflicts among merged rows.
          label_classes: The label's classes (listed in the config or found
            in the data when the pipeline is built): a row whose label is
            none of them is quarantined as `label_not_a_class`. None: any
            label is kept.
          source_tags: Source -> {feature: value} added to its rows beside
            `source` (e.g. the labelling method, for sliced evaluation).
          code_version: A fingerprint of the code; a new one invalidates TFX's cache.

        Raises:
          ValueError: Inconsistent options (e.g. a spam list without id columns).
        """
        options = CleanOptions(
            id_key=id_key,
            required_columns=tuple(required_columns),
            keep_latest_by=keep_latest_by,
            source_priority=tuple(source_priority),
            label=label,
            label_classes=tuple(label_classes or ()),
            spam_id_column=spam_id_column,
            alias_column=alias_column,
            canonical_column=canonical_column,
            has_spam_list=spam_list is not None,
            has_id_map=id_map is not None,
            source_tags={k: dict(v) for k, v in (source_tags or {}).items()},
        )
        super().__init__(
            spec=spec.CleanExamplesSpec(
                examples=examples,
                spam_list=spam_list,
                id_map=id_map,
                code_version=code_version,
                **options.to_exec_properties(),
                cleaned_examples=tfx.dsl.Channel(type=standard_artifacts.Examples),
                rejected_examples=tfx.dsl.Channel(type=standard_artifacts.Examples),
            )
        )
