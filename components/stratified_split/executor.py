"""StratifiedSplit's executor: checks the input, runs the Beam split, records counts."""

from __future__ import annotations

import json
from typing import Any, Optional, Sequence

import apache_beam as beam
from absl import logging

# BaseBeamExecutor is not exported by tfx.v1; it gives executors
# `_make_beam_pipeline()`, which applies the pipeline's beam_pipeline_args
# (Dataflow's included).
from tfx.dsl.components.base import base_beam_executor
from tfx.types import artifact, artifact_utils

from components.common import counts, examples_io
from core.labels import sort_classes
from components.stratified_split import beam_batches, beam_split, spec, units
from components.stratified_split.options import SplitOptions

SPLIT_COUNTS_FILE = "split_counts"
UNIT_COUNTS_FILE = "group_counts"
INPUT_COUNTS_FILE = "input_counts"
# How many records per input split are looked at before the Beam job starts.
PEEK_RECORDS = 100
# The split a model trains on (the pipeline's Transform and Trainer read it):
# it must hold two classes or more. Splits named otherwise check the first.
TRAINING_SPLIT = "train"


class SplitInputError(ValueError):
    """The input examples cannot be split as asked (missing feature, empty,
    unlabeled, or fewer than two classes in the training split)."""


def class_counts(
    nested_counts: dict[str, dict[str, int]], options: SplitOptions
) -> dict[str, dict[str, int]]:
    """Rows per split and label class, from the rows per split and stratum.

    Args:
      nested_counts: Split -> stratum -> rows (labelled strata only).
      options: The split's options (its splits, in order, and stratify_by).

    Returns:
      Split -> class -> rows: every split in order, and in each every class
      any split holds (0 where it holds none), classes sorted as
      `core.labels.sort_classes` sorts them.
    """
    per_split: dict[str, dict[str, int]] = {name: {} for name in options.split_names}
    for split, per_stratum in nested_counts.items():
        for stratum, n in per_stratum.items():
            label = units.class_of_stratum(stratum, options.stratify_by)
            per_split[split][label] = per_split[split].get(label, 0) + n
    classes = sort_classes(c for by_class in per_split.values() for c in by_class)
    return {
        split: {c: by_class.get(c, 0) for c in classes} for split, by_class in per_split.items()
    }


def check_classes(per_class: dict[str, dict[str, int]], options: SplitOptions) -> None:
    """Fails unless the training split holds two classes or more.

    The training split is TRAINING_SPLIT, or the first split when none is
    named so. A class may be as small as one row; it counts.

    Raises:
      SplitInputError: Naming the label, the class found (if any) and the split.
    """
    names = options.split_names
    split = TRAINING_SPLIT if TRAINING_SPLIT in names else names[0]
    present = [c for c, n in per_class.get(split, {}).items() if n]
    if len(present) < 2:
        shown = f"only the class {present[0]!r}" if present else "no class"
        raise SplitInputError(
            f"StratifiedSplit: label {options.label!r} has {shown} in the {split} split; "
            "a model needs two or more"
        )


def check_no_split_empty(
    per_split: dict[str, int], strata: dict[str, int], options: SplitOptions
) -> None:
    """Fails if a split got no examples: its ratio is too small for every stratum.

    Args:
      per_split: Examples per split, every split named.
      strata: Examples per stratum.
      options: The split's options (the ratios).

    Raises:
      SplitInputError: Naming the first empty split, its ratio, and the
        largest stratum (none was large enough to give it one).
    """
    ratios = dict(options.ratios)
    for name, n in per_split.items():
        if n == 0:
            largest = max(strata.items(), key=lambda kv: (kv[1], kv[0]))
            raise SplitInputError(
                f"StratifiedSplit: the {name} split got none of the {sum(strata.values()):,} "
                f"examples: each of the {len(strata):,} strata is cut exactly, and at ratio "
                f"{ratios[name]:g} not even the largest ({largest[0]}, {largest[1]:,} examples) "
                f"gives it one; raise its ratio"
            )


def check_input(examples: artifact.Artifact, splits: list[str], options: SplitOptions) -> None:
    """Fails early, before any Beam job, on input the split cannot use.

    Raises:
      SplitInputError: Every input split is empty, or a split's examples lack the
        label, a stratification key or the group key.
    """
    peeked = {split: examples_io.peek_examples(examples, split, PEEK_RECORDS) for split in splits}
    if not any(peeked.values()):
        raise SplitInputError(
            f"StratifiedSplit: the input examples are empty (splits {', '.join(splits)} "
            f"of {examples.uri} hold no records)"
        )
    for split, sample in peeked.items():
        if not sample:
            continue
        present = examples_io.features_present(sample)
        for key in options.feature_keys:
            if key not in present:
                role = (
                    "label"
                    if key == options.label
                    else "group_by"
                    if key == options.group_by
                    else "stratify_by"
                )
                raise SplitInputError(
                    f"StratifiedSplit: {role} {key!r} is not a feature of input split "
                    f"{split!r} (features: {', '.join(sorted(present))})"
                )


def _explode(
    placed: tuple[int, units.Unit], names: list[str], options: SplitOptions
) -> list[tuple[int, bytes, tuple[str, str]]]:
    """(split index, record, (split name, the record's own stratum)) per record.

    A group is placed by its majority stratum, but each of its examples is
    counted under its own, so the recorded counts match the written files.
    """
    index, (stratum, _, _, records) = placed
    split = names[index] if index >= 0 else units.UNLABELED
    if len(records) == 1:
        return [(index, records[0], (split, stratum))]
    return [
        (
            index,
            record,
            (split, units.record_stratum(record, options.label, options.stratify_by)),
        )
        for record in records
    ]


def _partition_of_batch(placed: tuple[int, list[bytes]], partitions: int) -> int:
    """The Beam partition of a placed batch: its split, or the last for unlabeled."""
    index, _ = placed
    return index if index >= 0 else partitions - 1


def _partition_of(exploded: tuple[int, bytes, tuple[str, str]], partitions: int) -> int:
    """The Beam partition of an exploded record: its split, or the last for unlabeled."""
    index, _, _ = exploded
    return index if index >= 0 else partitions - 1


def _max_deviation(split_counts: dict[str, int], options: SplitOptions) -> float:
    """Largest gap between a split's share of a stratum and its ratio."""
    per_stratum: dict[str, dict[str, int]] = {}
    for key, n in split_counts.items():
        split, _, stratum = key.partition("/")
        if split in options.split_names and stratum != units.UNLABELED:
            per_stratum.setdefault(stratum, {})[split] = n
    worst = 0.0
    for by_split in per_stratum.values():
        total = sum(by_split.values())
        for name, ratio in options.ratios:
            worst = max(worst, abs(by_split.get(name, 0) / total - ratio))
    return worst


class Executor(base_beam_executor.BaseBeamExecutor):
    """Reads every input split, places every example, writes the named splits."""

    def Do(  # noqa: N802 - TFX's executor interface
        self,
        input_dict: dict[str, list[artifact.Artifact]],
        output_dict: dict[str, list[artifact.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        """Splits the input examples.

        Args:
          input_dict: `examples`: one Examples artifact.
          output_dict: `split_examples`: one Examples artifact to fill.
          exec_properties: See `spec.StratifiedSplitSpec` and `SplitOptions`.

        Raises:
          ValueError: Invalid options.
          SplitInputError: Empty input, a missing feature, unlabeled examples,
            a split that got no examples, or fewer than two classes in the
            training split.
        """
        options = SplitOptions.from_exec_properties(exec_properties)
        examples = artifact_utils.get_single_instance(input_dict[spec.EXAMPLES_KEY])
        output = artifact_utils.get_single_instance(output_dict[spec.SPLIT_EXAMPLES_KEY])
        input_splits = examples_io.split_names(examples)
        check_input(examples, input_splits, options)

        # Split names first: artifact_utils locates each Split-<name>/ folder by them.
        examples_io.set_output_splits(output, options.split_names, examples)
        files = {
            name: counts.counts_path(output.uri, name)
            for name in (SPLIT_COUNTS_FILE, UNIT_COUNTS_FILE, INPUT_COUNTS_FILE)
        }
        with self._make_beam_pipeline() as pipeline:
            self._split(pipeline, examples, input_splits, options, output, files)
        self._record(output, options, files)

    @staticmethod
    def _split(
        pipeline: beam.Pipeline,
        examples: artifact.Artifact,
        input_splits: list[str],
        options: SplitOptions,
        output: artifact.Artifact,
        files: dict[str, str],
    ) -> None:
        """Builds the split job: counting pass, placement pass, writes and counts.

        Single examples are split batch by batch (`beam_batches`); groups are
        gathered per key first, so they go unit by unit (`beam_split`).
        """
        if options.group_by:
            split_counts, group_counts = Executor._split_groups(
                pipeline, examples, input_splits, options, output, files
            )
        else:
            split_counts = Executor._split_examples(
                pipeline, examples, input_splits, options, output, files
            )
            group_counts = []
        (
            split_counts
            | "FlattenSplitCounts" >> beam.Flatten()
            | "WriteSplitCounts" >> counts.WriteCounted(files[SPLIT_COUNTS_FILE])
        )
        if group_counts:
            (
                group_counts
                | "FlattenGroupCounts" >> beam.Flatten()
                | "WriteGroupCounts" >> counts.WriteCounted(files[UNIT_COUNTS_FILE])
            )

    @staticmethod
    def _split_examples(
        pipeline: beam.Pipeline,
        examples: artifact.Artifact,
        input_splits: list[str],
        options: SplitOptions,
        output: artifact.Artifact,
        files: dict[str, str],
    ) -> list[beam.PCollection]:
        """The batched split of single examples; returns its split-count PCollections."""
        batches = Executor._read(pipeline, examples, input_splits, "Read")
        (
            batches
            | "CountInputInBatch" >> beam.Map(lambda batch: (("examples",), len(batch)))
            | "CountInput" >> counts.WriteCounted(files[INPUT_COUNTS_FILE])
        )
        # A second read streams the placement pass (see beam_split.split_units).
        to_count = Executor._read(pipeline, examples, input_splits, "Reread")
        placed, ranked, placed_counts = beam_batches.split_batches(
            to_count,
            batches,
            options.label,
            options.stratify_by,
            options.seed,
            options.ratio_values,
            options.split_names,
        )
        parts = placed | "PartitionBatchesBySplit" >> beam.Partition(
            _partition_of_batch, len(options.split_names) + 1
        )
        for index, name in enumerate(options.split_names):
            examples_io.write_split_batches(
                parts[index] | f"Take{name.capitalize()}Batches" >> beam.Values(),
                output,
                name,
                "placed_tfrecord",
            )
        ranked_counts = Executor._write_units(
            ranked, "ranked", options, output, options.split_names
        )
        return [placed_counts, ranked_counts]

    @staticmethod
    def _split_groups(
        pipeline: beam.Pipeline,
        examples: artifact.Artifact,
        input_splits: list[str],
        options: SplitOptions,
        output: artifact.Artifact,
        files: dict[str, str],
    ) -> tuple[list[beam.PCollection], list[beam.PCollection]]:
        """The split of groups, unit by unit; returns its split- and group-count PCollections."""
        output_names = options.split_names
        records = Executor._read(pipeline, examples, input_splits, "Read") | (
            "Unbatch" >> beam.FlatMap(lambda batch: batch)
        )
        (
            records
            | "KeyInputRecord" >> beam.Map(lambda _: ("examples",))
            | "CountInput" >> counts.WriteCounts(files[INPUT_COUNTS_FILE])
        )
        group_units = records | "MakeUnits" >> beam_split.ToUnits(
            options.label, options.stratify_by, options.group_by, options.seed
        )
        branches = beam_split.split_units_branches(group_units, group_units, options.ratio_values)
        split_counts, group_counts = [], []
        # Each branch is written on its own so none waits for another (see
        # beam_split.place_units_branches); only the small counts are joined.
        for branch, placed in zip(("placed", "ranked", "unlabeled"), branches):
            label = branch.capitalize()
            group_counts.append(
                placed
                | f"KeyGroups{label}"
                >> beam.MapTuple(
                    lambda i, unit: (
                        output_names[i] if i >= 0 else units.UNLABELED,
                        units.stratum_of_unit(unit),
                    )
                )
                | f"CountGroups{label}" >> beam.combiners.Count.PerElement()
            )
            # Unlabeled units are counted, never written (the step then fails).
            targets = [] if branch == "unlabeled" else options.split_names
            split_counts.append(Executor._write_units(placed, branch, options, output, targets))
        return split_counts, group_counts

    @staticmethod
    def _write_units(
        placed: beam.PCollection,
        branch: str,
        options: SplitOptions,
        output: artifact.Artifact,
        targets: Sequence[str],
    ) -> beam.PCollection:
        """Writes (split index, unit) pairs' records into the `targets` splits.

        Returns:
          ((split name, stratum), n) counts of every record, written or not
          (unlabeled ones are counted only).
        """
        output_names = options.split_names
        label = branch.capitalize()
        exploded = placed | f"Explode{label}" >> beam.FlatMap(_explode, output_names, options)
        split_counts = (
            exploded
            | f"KeySplitStratum{label}"
            >> beam.MapTuple(lambda _index, _record, split_and_stratum: split_and_stratum)
            | f"CountSplitStrata{label}" >> beam.combiners.Count.PerElement()
        )
        parts = exploded | f"PartitionBySplit{label}" >> beam.Partition(
            _partition_of, len(output_names) + 1
        )
        for name in targets:
            records_out = parts[output_names.index(name)] | (
                f"Take{name.capitalize()}{label}"
                >> beam.MapTuple(lambda _index, record, _split_and_stratum: record)
            )
            examples_io.write_split(records_out, output, name, f"{branch}_tfrecord")
        return split_counts

    @staticmethod
    def _read(
        pipeline: beam.Pipeline,
        examples: artifact.Artifact,
        input_splits: list[str],
        label: str,
    ) -> beam.PCollection:
        """Reads every input split as batches of records."""
        reads = [
            examples_io.read_split_batches(pipeline, examples, split, label)
            for split in input_splits
        ]
        return reads | f"{label}FlattenInputSplits" >> beam.Flatten()

    @staticmethod
    def _record(output: artifact.Artifact, options: SplitOptions, files: dict[str, str]) -> None:
        """Checks the accounting and writes it as custom properties of `output`."""
        split_counts = counts.read_counts(files[SPLIT_COUNTS_FILE])
        total_in = counts.read_counts(files[INPUT_COUNTS_FILE]).get("examples", 0)
        total_out = sum(split_counts.values())
        if total_in != total_out:  # an internal invariant, not a user error
            raise RuntimeError(
                f"StratifiedSplit lost examples: read {total_in}, placed {total_out}"
            )
        unlabeled = sum(
            n for k, n in split_counts.items() if k.partition("/")[2] == units.UNLABELED
        )
        if unlabeled:
            raise SplitInputError(
                f"StratifiedSplit: {unlabeled} of {total_in} examples have no value for label "
                f"{options.label!r}; fix the data"
            )
        nested = counts.nest(split_counts)
        ordered = {name: nested.get(name, {}) for name in options.split_names}
        strata: dict[str, int] = {}
        for key, n in split_counts.items():
            stratum = key.partition("/")[2]
            strata[stratum] = strata.get(stratum, 0) + n
        per_split = {name: sum(ordered[name].values()) for name in options.split_names}
        check_no_split_empty(per_split, strata, options)
        per_class = class_counts(ordered, options)
        check_classes(per_class, options)
        small = sorted(s for s, n in strata.items() if n < len(options.ratios))
        deviation = _max_deviation(split_counts, options)
        properties: dict[str, Optional[str]] = {
            "seed": str(options.seed),
            "ratios": json.dumps(dict(options.ratios)),
            "label": options.label,
            "stratify_by": json.dumps(list(options.stratify_by)),
            "group_by": options.group_by or "",
            "split_counts": json.dumps(ordered),
            "class_counts": json.dumps(per_class),
            "stratum_counts": json.dumps(dict(sorted(strata.items()))),
            "input_examples": str(total_in),
            "max_ratio_deviation": f"{deviation:.6f}",
        }
        if options.group_by:
            properties["group_counts"] = json.dumps(
                counts.nest(counts.read_counts(files[UNIT_COUNTS_FILE]))
            )
        for name, value in properties.items():
            output.set_string_custom_property(name, value or "")
        for stratum in small:
            logging.warning(
                "StratifiedSplit: stratum %s has %d examples, fewer than the %d splits; "
                "some splits get none of it",
                stratum,
                strata[stratum],
                len(options.ratios),
            )
        logging.info(
            "StratifiedSplit placed %s examples in %d strata: %s (max deviation from ratios %.4f)",
            f"{total_in:,}",
            len(strata),
            ", ".join(f"{n} {c:,}" for n, c in per_split.items()),
            deviation,
        )
