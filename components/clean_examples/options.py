"""CleanExamples' options, validated when the pipeline is built."""

from __future__ import annotations

import dataclasses
import functools
import json
from typing import Any, Mapping, Optional

from components.clean_examples import spec
from core.provenance import SOURCE_FEATURE

CANONICAL_ID_FEATURE = "canonical_id"
REJECT_REASON_FEATURE = "reject_reason"
RESERVED_FEATURES = (SOURCE_FEATURE, CANONICAL_ID_FEATURE, REJECT_REASON_FEATURE)


@dataclasses.dataclass(frozen=True)
class CleanOptions:
    """What CleanExamples does; each step applies only when its inputs are given.

    Attributes:
      id_key: The column identifying a person. Without it there is nothing to
        merge or match against a spam list; rows are only tagged and checked.
      required_columns: Rows missing any of these are quarantined.
      keep_latest_by: Among one person's rows, the most recent by this column
        is kept.
      source_priority: Ties on recency go to the source listed first.
      label: Used to count label conflicts among merged rows.
      label_classes: The label's classes; a row whose label is none of them
        is quarantined (`label_not_a_class`). Empty: any label is kept.
      spam_id_column: The spam list's id column (required with a spam list).
      alias_column: The id map's alias column (required with an id map).
      canonical_column: The id map's canonical column (required with an id map).
      has_spam_list: Whether a spam list input is wired.
      has_id_map: Whether an id map input is wired.
      source_tags: Source -> {feature: value} added to each of its rows beside
        `source`, e.g. {"web": {"labelling_method": "in_house"}}, so later steps
        (the Evaluator's slices) can group rows by what is known of their source.
    """

    id_key: Optional[str] = None
    required_columns: tuple[str, ...] = ()
    keep_latest_by: Optional[str] = None
    source_priority: tuple[str, ...] = ()
    label: Optional[str] = None
    label_classes: tuple[str, ...] = ()
    spam_id_column: Optional[str] = None
    alias_column: Optional[str] = None
    canonical_column: Optional[str] = None
    has_spam_list: bool = False
    has_id_map: bool = False
    source_tags: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)

    @functools.cached_property  # read per row: computed once
    def added_features(self) -> tuple[str, ...]:
        """Every feature CleanExamples adds to rows (an input column must not have one)."""
        tags = sorted({name for tags in self.source_tags.values() for name in tags})
        return RESERVED_FEATURES + tuple(t for t in tags if t not in RESERVED_FEATURES)

    def tags_of(self, source: str) -> tuple[tuple[str, str], ...]:
        """The (feature, value) pairs added to `source`'s rows, `source` first."""
        tags = self._tags_by_source.get(source)
        if tags is None:
            tags = ((SOURCE_FEATURE, source), *sorted(self.source_tags.get(source, {}).items()))
            self._tags_by_source[source] = tags
        return tags

    @functools.cached_property
    def _tags_by_source(self) -> dict[str, tuple[tuple[str, str], ...]]:
        return {}

    def __post_init__(self) -> None:
        _validate(self)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "CleanOptions":
        raw = json.loads(text)
        for key in ("required_columns", "source_priority", "label_classes"):
            raw[key] = tuple(raw.get(key) or ())
        return cls(**raw)

    def to_exec_properties(self) -> dict[str, Any]:
        """The component's execution parameters (JSON strings for lists and mappings).

        Whether a spam list or id map is wired is not a parameter: the executor
        sees its inputs.
        """
        return {
            spec.ID_KEY: self.id_key,
            spec.REQUIRED_COLUMNS_KEY: json.dumps(list(self.required_columns)),
            spec.KEEP_LATEST_BY_KEY: self.keep_latest_by,
            spec.SOURCE_PRIORITY_KEY: json.dumps(list(self.source_priority)),
            spec.LABEL_KEY: self.label,
            spec.LABEL_CLASSES_KEY: json.dumps(list(self.label_classes))
            if self.label_classes
            else None,
            spec.SPAM_ID_COLUMN_KEY: self.spam_id_column,
            spec.ALIAS_COLUMN_KEY: self.alias_column,
            spec.CANONICAL_COLUMN_KEY: self.canonical_column,
            spec.SOURCE_TAGS_KEY: json.dumps(self.source_tags, sort_keys=True),
        }

    @classmethod
    def from_exec_properties(
        cls, properties: Mapping[str, Any], has_spam_list: bool, has_id_map: bool
    ) -> "CleanOptions":
        """Reads what `to_exec_properties` wrote (None/absent optionals allowed).

        Raises:
          ValueError: The options are inconsistent (see `_validate`).
        """
        return cls(
            id_key=properties.get(spec.ID_KEY) or None,
            required_columns=tuple(json.loads(properties.get(spec.REQUIRED_COLUMNS_KEY) or "[]")),
            keep_latest_by=properties.get(spec.KEEP_LATEST_BY_KEY) or None,
            source_priority=tuple(json.loads(properties.get(spec.SOURCE_PRIORITY_KEY) or "[]")),
            label=properties.get(spec.LABEL_KEY) or None,
            label_classes=tuple(json.loads(properties.get(spec.LABEL_CLASSES_KEY) or "[]")),
            spam_id_column=properties.get(spec.SPAM_ID_COLUMN_KEY) or None,
            alias_column=properties.get(spec.ALIAS_COLUMN_KEY) or None,
            canonical_column=properties.get(spec.CANONICAL_COLUMN_KEY) or None,
            has_spam_list=has_spam_list,
            has_id_map=has_id_map,
            source_tags=json.loads(properties.get(spec.SOURCE_TAGS_KEY) or "{}"),
        )


def _validate(options: CleanOptions) -> None:
    """Raises ValueError naming the first inconsistent option."""
    if (options.has_spam_list or options.has_id_map) and not options.id_key:
        raise ValueError("CleanExamples: a spam list or id map needs id_key")
    if options.has_spam_list and not options.spam_id_column:
        raise ValueError("CleanExamples: spam_id_column (the spam list's id column) is required")
    if options.has_id_map and not (options.alias_column and options.canonical_column):
        raise ValueError(
            "CleanExamples: alias_column and canonical_column (the id map's columns) are required"
        )
    if options.keep_latest_by and not options.id_key:
        raise ValueError("CleanExamples: keep_latest_by only applies with an id_key")
    if options.label_classes and not options.label:
        raise ValueError("CleanExamples: label_classes only applies with a label")
    named = [options.id_key, options.keep_latest_by, options.label, *options.required_columns]
    clash = sorted({n for n in named if n in options.added_features})
    if clash:
        raise ValueError(
            f"CleanExamples: column {clash[0]!r} clashes with a feature CleanExamples adds "
            f"({', '.join(options.added_features)})"
        )
    for source, tags in options.source_tags.items():
        reserved = sorted(set(tags) & set(RESERVED_FEATURES))
        if reserved:
            raise ValueError(
                f"CleanExamples: source_tags of {source!r} sets {reserved[0]!r}, "
                "which CleanExamples sets itself"
            )
    if len(set(options.source_priority)) != len(options.source_priority):
        raise ValueError(
            f"CleanExamples: source_priority repeats a source: {options.source_priority}"
        )
