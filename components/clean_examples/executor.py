"""CleanExamples' executor: checks inputs and the id map, cleans, accounts."""

from __future__ import annotations

import json
import os
import uuid
from typing import Any, Optional

import apache_beam as beam
from absl import logging

# BaseBeamExecutor is not exported by tfx.v1; it gives executors
# `_make_beam_pipeline()`, which applies the pipeline's beam_pipeline_args.
from tfx.dsl.components.base import base_beam_executor
from tfx.types import artifact, artifact_utils
from tfx.v1.dsl.io import fileio

from components.clean_examples import beam_clean, rules, spec
from components.clean_examples.id_map import read_id_map, write_id_map
from components.clean_examples.options import CleanOptions
from components.clean_examples.removals import MergeRemovals, write_removals
from components.common import counts, examples_io

CLEANED_SPLIT = "cleaned"
REJECTED_SPLIT = "rejected"
PEEK_RECORDS = 100
MAX_PROBLEMS_SHOWN = 5
# Compressed input bytes per shard of people in pass 1 (about 25,000 demo rows).
SHARD_BYTES = 2 << 20


class CleaningInputError(ValueError):
    """An input dataset cannot be used as configured (names what and where)."""


def _single(
    input_dict: dict[str, list[artifact.Artifact]], key: str
) -> Optional[artifact.Artifact]:
    artifacts = input_dict.get(key) or []
    return artifact_utils.get_single_instance(artifacts) if artifacts else None


def _require_features(
    examples: artifact.Artifact,
    what: str,
    required: dict[str, str],
    forbidden: tuple[str, ...] = (),
) -> int:
    """Checks sampled examples of every split carry `required` features.

    Args:
      examples: The artifact to check.
      what: How to name the dataset in messages ("source", "spam list", ...).
      required: feature -> the option naming it (for the message).
      forbidden: Features the data must not already have.

    Returns:
      How many records were sampled in all.

    Raises:
      CleaningInputError: A required feature is absent or a forbidden one present.
    """
    sampled = 0
    for split in examples_io.split_names(examples):
        sample = examples_io.peek_examples(examples, split, PEEK_RECORDS)
        sampled += len(sample)
        if not sample:
            continue
        present = examples_io.features_present(sample)
        label = f"{what} {split!r}" if what == "source" else what
        for feature, option in required.items():
            if feature not in present:
                raise CleaningInputError(
                    f"CleanExamples: {option} {feature!r} is not a column of the {label} "
                    f"(columns: {', '.join(sorted(present))})"
                )
        clash = sorted(present & set(forbidden))
        if clash:
            raise CleaningInputError(
                f"CleanExamples: the {label} already has a column {clash[0]!r}, which "
                f"CleanExamples adds; rename it"
            )
    return sampled


def check_inputs(
    examples: artifact.Artifact,
    spam_list: Optional[artifact.Artifact],
    id_map: Optional[artifact.Artifact],
    options: CleanOptions,
) -> None:
    """Fails before any Beam job on columns that are missing or clash.

    Raises:
      CleaningInputError: Naming the dataset, the column and the option.
    """
    required = {c: "required column" for c in options.required_columns}
    if options.id_key:
        required[options.id_key] = "id_key"
    if not _require_features(examples, "source", required, options.added_features):
        raise CleaningInputError(f"CleanExamples: the input examples are empty ({examples.uri})")
    if spam_list is not None:
        _require_features(spam_list, "spam list", {options.spam_id_column: "spam_id_column"})
    if id_map is not None:
        _require_features(
            id_map,
            "id map",
            {options.alias_column: "alias_column", options.canonical_column: "canonical_column"},
        )


def _read_all(pipeline: beam.Pipeline, examples: artifact.Artifact, label: str) -> beam.PCollection:
    reads = [
        examples_io.read_split(pipeline, examples, split, label)
        for split in examples_io.split_names(examples)
    ]
    return reads | f"{label}Flatten" >> beam.Flatten()


def _raise_id_map_problems(problems: list[str]) -> None:
    """Fails the step on aliases with several targets, cycles, or rows with several ids.

    Args:
      problems: The id map's problems (`id_map.ResolvedIdMap`), sorted.

    Raises:
      CleaningInputError: Naming the first few problems and the ids involved.
    """
    if problems:
        shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN])
        more = (
            f" (and {len(problems) - MAX_PROBLEMS_SHOWN} more)"
            if len(problems) > MAX_PROBLEMS_SHOWN
            else ""
        )
        raise CleaningInputError(f"CleanExamples: {shown}{more}")


def _prepare_id_map(
    id_map: Optional[artifact.Artifact], options: CleanOptions, scratch: Optional[str]
) -> tuple[Optional[str], Optional[int]]:
    """Reads, checks and resolves the id map, and writes it where the workers load it.

    Args:
      id_map: The id map's Examples, or None without one.
      options: Its columns.
      scratch: The step's scratch folder (there is one whenever there is an id map).

    Returns:
      (the resolved map's file, the map's distinct links); (None, None) without an id map.

    Raises:
      CleaningInputError: The map is inconsistent (`_raise_id_map_problems`),
        or a file of it is no TFRecord file of tf.Examples (naming it).
    """
    if id_map is None:
        return None, None
    try:
        resolved = read_id_map(id_map, options.alias_column, options.canonical_column)
    except ValueError as e:
        raise CleaningInputError(f"CleanExamples: the id map cannot be read: {e}") from e
    _raise_id_map_problems(resolved.problems)
    fileio.makedirs(scratch)
    path = os.path.join(scratch, "id_map.arrow")
    write_id_map(resolved, path)
    logging.info(
        "CleanExamples: the id map links %s aliases (%s distinct links), each resolved "
        "to the end of its chain",
        f"{len(resolved.aliases):,}",
        f"{resolved.links:,}",
    )
    return path, resolved.links


def all_removed_message(rows_in: int, removed: dict[str, int]) -> str:
    """The step's failure when it kept no row: how many it read, and why each went.

    Args:
      rows_in: The rows read (at least one).
      removed: Rows per reason (see `rules`), summing to `rows_in`.
    """
    return (
        f"CleanExamples removed all {rows_in:,} rows: {rules.describe_removals(removed)}; "
        "nothing is left to split or train on"
    )


def _remove_folder(folder: str) -> None:
    """Removes the step's scratch files (the resolved id map, pass 1's facts
    and decisions); a failure is logged, so it never hides the step's own
    outcome (the folder sits in the execution's temporary space)."""
    try:
        if fileio.exists(folder):
            fileio.rmtree(folder)
    except Exception as error:  # noqa: BLE001 - any filesystem's error
        logging.warning("CleanExamples could not remove its scratch files at %s: %s", folder, error)


def people_shards(input_bytes: int) -> int:
    """How many shards pass 1 groups people into, for an input of `input_bytes`.

    One shard per SHARD_BYTES of (compressed) input: each holds the facts of
    some tens of thousands of rows, whatever the input's size, so deciding a
    shard holds a bounded share of the facts in memory.
    """
    return max(1, -(-input_bytes // SHARD_BYTES))


class Executor(base_beam_executor.BaseBeamExecutor):
    """Runs CleanExamples: reads and checks the id map, then cleans in one Beam job."""

    def Do(  # noqa: N802 - TFX's executor interface
        self,
        input_dict: dict[str, list[artifact.Artifact]],
        output_dict: dict[str, list[artifact.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        """Cleans the examples.

        Args:
          input_dict: `examples` (one split per source); optional `spam_list`
            and `id_map` Examples.
          output_dict: `cleaned_examples`, `rejected_examples`.
          exec_properties: CleanOptions' fields (see `spec`).

        Raises:
          CleaningInputError: A missing or clashing column, empty input, an
            inconsistent id map (naming the ids), or every row removed
            (naming the reasons with their counts).
        """
        options = CleanOptions.from_exec_properties(
            exec_properties,
            has_spam_list=bool(input_dict.get(spec.SPAM_LIST_KEY)),
            has_id_map=bool(input_dict.get(spec.ID_MAP_KEY)),
        )
        examples = artifact_utils.get_single_instance(input_dict[spec.EXAMPLES_KEY])
        spam_list = _single(input_dict, spec.SPAM_LIST_KEY)
        id_map = _single(input_dict, spec.ID_MAP_KEY)
        cleaned = artifact_utils.get_single_instance(output_dict[spec.CLEANED_KEY])
        rejected = artifact_utils.get_single_instance(output_dict[spec.REJECTED_KEY])
        check_inputs(examples, spam_list, id_map, options)

        examples_io.set_output_splits(cleaned, [CLEANED_SPLIT], examples)
        examples_io.set_output_splits(rejected, [REJECTED_SPLIT], examples)
        row_counts_file = counts.counts_path(cleaned.uri, "row_counts")
        extra_file = counts.counts_path(cleaned.uri, "extra_counts")
        scratch = (
            os.path.join(self._get_tmp_dir(), f"clean-{uuid.uuid4().hex}")
            if options.id_key
            else None
        )
        try:
            id_map_file, id_map_links = _prepare_id_map(id_map, options, scratch)
            with self._make_beam_pipeline() as pipeline:
                self._clean(
                    pipeline,
                    examples,
                    spam_list,
                    options,
                    cleaned,
                    rejected,
                    row_counts_file,
                    extra_file,
                    scratch,
                    id_map_file,
                )
        finally:
            if scratch:
                _remove_folder(scratch)
        self._record(
            cleaned,
            rejected,
            options,
            row_counts_file,
            extra_file,
            spam_list is not None,
            id_map_links,
            examples_io.split_names(examples),
        )

    @staticmethod
    def _clean(
        pipeline: beam.Pipeline,
        examples: artifact.Artifact,
        spam_list: Optional[artifact.Artifact],
        options: CleanOptions,
        cleaned: artifact.Artifact,
        rejected: artifact.Artifact,
        row_counts_file: str,
        extra_file: str,
        scratch: Optional[str],
        id_map_file: Optional[str],
    ) -> None:
        """Builds both cleaning passes (see beam_clean).

        Pass 1 (`_decide`) writes its row facts and its decisions under
        `scratch`, which the caller removes after the job; it is None without
        `id_key`, where nothing is grouped per person. `id_map_file` is the
        resolved id map (`id_map.write_id_map`), which every pass loads once
        per worker process.
        """
        sources = examples_io.split_names(examples)
        extras: list[beam.PCollection] = []
        if options.id_key:
            removals_file = Executor._decide(
                pipeline, examples, spam_list, options, scratch, id_map_file, extras
            )
        else:
            removals_file = pipeline | "NoRemovals" >> beam.Create([None])
        removals_side = beam.pvalue.AsSingleton(removals_file)

        row_counts, copies, ties = [], [], []
        for source in sources:
            name = source.capitalize()
            routed = examples_io.read_split_batches(
                pipeline, examples, source, "Read"
            ) | f"Route{name}" >> beam.ParDo(
                beam_clean.RouteRows(options, id_map_file), source, removals_side
            ).with_outputs(
                beam_clean.KEPT,
                beam_clean.REJECTED,
                beam_clean.COPIES,
                beam_clean.TIES,
                counts.COUNTS,
            )
            copies.append(routed[beam_clean.COPIES])
            ties.append(routed[beam_clean.TIES])
            row_counts.append(routed[counts.COUNTS])
            Executor._write_rows(routed, cleaned, rejected, name)
        shared = (
            copies
            | "FlattenCopies" >> beam.Flatten()
            | "GroupCopies" >> beam.GroupByKey()
            | "ShareOutCopies"
            >> beam.FlatMap(beam_clean.share_out_copies, options).with_outputs(
                beam_clean.KEPT, beam_clean.REJECTED, counts.COUNTS
            )
        )
        row_counts.append(shared[counts.COUNTS])
        Executor._write_rows(shared, cleaned, rejected, "Copies")
        settled = (
            ties
            | "FlattenTies" >> beam.Flatten()
            | "GroupTies" >> beam.GroupByKey()
            | "ResolveTies"
            >> beam.FlatMap(beam_clean.resolve_ties, options).with_outputs(
                beam_clean.KEPT, beam_clean.REJECTED, counts.COUNTS
            )
        )
        row_counts.append(settled[counts.COUNTS])
        Executor._write_rows(settled, cleaned, rejected, "Ties")
        (
            row_counts
            | "FlattenRowCounts" >> beam.Flatten()
            | "WriteRowCounts" >> counts.WriteCounted(row_counts_file)
        )
        if extras:
            (
                extras
                | "FlattenExtras" >> beam.Flatten()
                | "CountExtras" >> counts.WriteCounts(extra_file)
            )

    @staticmethod
    def _decide(
        pipeline: beam.Pipeline,
        examples: artifact.Artifact,
        spam_list: Optional[artifact.Artifact],
        options: CleanOptions,
        scratch: str,
        id_map_file: Optional[str],
        extras: list[beam.PCollection],
    ) -> beam.PCollection:
        """Pass 1: each person's rows and spam listings, decided per shard of people.

        Args:
          pipeline: The Beam pipeline.
          examples: The rows, a split per source.
          spam_list: The spam list, or None.
          options: The cleaning options (with `id_key`).
          scratch: The step's scratch folder: fact files, and the decisions.
          id_map_file: The resolved id map, or None.
          extras: Count keys are appended here (conflicts, spam ids).

        Returns:
          One element: the path of the decisions' file (`removals.write_removals`),
          written once every shard is decided.
        """
        sources = examples_io.split_names(examples)
        shards = people_shards(examples_io.total_bytes(examples, sources))
        facts_folder = os.path.join(scratch, "facts")
        people = [
            examples_io.read_split_batches(pipeline, examples, source, "Decide")
            | f"Facts{source.capitalize()}"
            >> beam.ParDo(
                beam_clean.WriteRowFacts(options, shards, facts_folder, id_map_file), source
            )
            for source in sources
        ]
        if spam_list is not None:
            people.append(
                _read_all(pipeline, spam_list, "Spam")
                | "ParseSpamIds" >> beam.FlatMap(beam_clean.spam_ids, options)
                | "MarkSpam" >> beam.ParDo(beam_clean.MarkSpam(shards, id_map_file))
            )
        decided = (
            people
            | "FlattenPeople" >> beam.Flatten()
            | "GroupPeopleByShard" >> beam.GroupByKey()
            | "DecidePerPerson"
            >> beam.FlatMap(beam_clean.decide_shard, options.source_priority).with_outputs(
                beam_clean.CONFLICTS,
                beam_clean.UNMATCHED_SPAM,
                beam_clean.SPAM_PEOPLE,
                main="removals",
            )
        )
        extras += [
            decided[beam_clean.CONFLICTS]
            | "KeyConflict" >> beam.Map(lambda _: ("label_conflicts",)),
            decided[beam_clean.UNMATCHED_SPAM]
            | "KeyUnmatched" >> beam.Map(lambda _: ("spam_ids_not_in_data",)),
        ]
        if spam_list is not None:
            extras.append(
                decided[beam_clean.SPAM_PEOPLE] | "KeySpamId" >> beam.Map(lambda _: ("spam_ids",))
            )
        return (
            decided.removals
            | "MergeRemovals" >> beam.CombineGlobally(MergeRemovals())
            | "WriteRemovals" >> beam.Map(write_removals, os.path.join(scratch, "removals.npz"))
        )

    @staticmethod
    def _write_rows(
        outputs: beam.pvalue.DoOutputsTuple,
        cleaned: artifact.Artifact,
        rejected: artifact.Artifact,
        label: str,
    ) -> None:
        """Writes one branch's batches of tagged KEPT and REJECTED rows.

        Each branch writes its own files (named after it), so no branch waits
        for another.
        """
        file_name = f"{label.lower()}_tfrecord"
        examples_io.write_split_batches(outputs[beam_clean.KEPT], cleaned, CLEANED_SPLIT, file_name)
        examples_io.write_split_batches(
            outputs[beam_clean.REJECTED], rejected, REJECTED_SPLIT, file_name
        )

    @staticmethod
    def _record(
        cleaned: artifact.Artifact,
        rejected: artifact.Artifact,
        options: CleanOptions,
        row_counts_file: str,
        extra_file: str,
        has_spam_list: bool,
        id_map_links: Optional[int],
        sources: list[str],
    ) -> None:
        """Checks rows in == kept + rejected per source; records and logs the accounting.

        Raises:
          RuntimeError: A row was lost or duplicated (an internal invariant).
          CleaningInputError: No row was kept (after the accounting is
            recorded and logged), naming the reasons with their counts.
        """
        row_counts = counts.nest(counts.read_counts(row_counts_file))
        extra = counts.read_counts(extra_file)
        rows_in = dict(row_counts.get(beam_clean.ROWS_IN, {}))
        per_source = counts.nest(row_counts.get(beam_clean.OUTCOME, {}))
        for source in sources:  # an empty source is reported with zeros, not left out
            rows_in.setdefault(source, 0)
            per_source.setdefault(source, {})
        accounted = {s: sum(v.values()) for s, v in per_source.items()}
        if accounted != rows_in:
            raise RuntimeError(
                f"CleanExamples lost track of rows: read {rows_in}, accounted for {accounted}"
            )
        kept = {s: v.get(rules.KEPT, 0) for s, v in per_source.items()}
        removed: dict[str, int] = {}
        for by_outcome in per_source.values():
            for outcome, n in by_outcome.items():
                if outcome != rules.KEPT:
                    removed[outcome] = removed.get(outcome, 0) + n
        accounting = {
            "rows_in": sum(rows_in.values()),
            "rows_in_per_source": rows_in,
            "kept": sum(kept.values()),
            "kept_per_source": kept,
            "removed_per_reason": dict(sorted(removed.items())),
            "outcomes_per_source": per_source,
            "label_conflicts": extra.get("label_conflicts", 0),
            "spam_ids": extra.get("spam_ids", 0) if has_spam_list else None,
            "spam_ids_not_in_data": extra.get("spam_ids_not_in_data", 0) if has_spam_list else None,
            "id_map_aliases": id_map_links,
        }
        for artifact_ in (cleaned, rejected):
            artifact_.set_string_custom_property(
                "accounting", json.dumps(accounting, sort_keys=True)
            )
        for name in ("rows_in", "kept", "label_conflicts"):
            cleaned.set_int_custom_property(name, int(accounting[name]))
        cleaned.set_int_custom_property("rejected", sum(removed.values()))
        rejected.set_int_custom_property("rejected", sum(removed.values()))
        cleaned.set_string_custom_property("options", options.to_json())
        if has_spam_list and not accounting["spam_ids"]:
            logging.warning("CleanExamples: the spam list is empty (0 ids); no row removed as spam")
        logging.info(
            "CleanExamples kept %s of %s rows; removed %s; %s label conflicts among merged rows",
            f"{accounting['kept']:,}",
            f"{accounting['rows_in']:,}",
            ", ".join(f"{n:,} {reason}" for reason, n in sorted(removed.items())) or "none",
            f"{accounting['label_conflicts']:,}",
        )
        if not accounting["kept"]:
            raise CleaningInputError(all_removed_message(accounting["rows_in"], removed))
