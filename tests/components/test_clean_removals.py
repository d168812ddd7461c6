"""components.clean_examples.removals: pass 1's decisions as sorted arrays."""

from __future__ import annotations

import pickle

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to

from components.clean_examples import rules
from components.clean_examples.removals import (
    MergeRemovals,
    Removals,
    load_removals,
    write_removals,
)
from tests import local_beam

DECISIONS = {
    2**64 - 1: (0, 1, rules.SPAM),
    7: (1, 2, rules.DUPLICATE_MERGED),
    3: (-1, 0, rules.DUPLICATE_MERGED),
}
# What the table keeps of each: (rows kept, reason).
KEPT = {fp: (kept, reason) for fp, (kept, _, reason) in DECISIONS.items()}


def test_each_fingerprint_finds_its_decision_and_others_find_none():
    table = Removals.of(DECISIONS.items())
    assert len(table) == 3
    for fingerprint, kept in KEPT.items():
        assert table.get(fingerprint) == kept
        assert table[fingerprint] == kept
    assert table.get(5) is None
    assert table.get(0) is None
    with pytest.raises(KeyError, match="^8$"):
        table[8]


def test_positions_answer_a_whole_batch_at_once():
    table = Removals.of(DECISIONS.items())
    positions = table.positions([3, 4, 2**64 - 1, 0, 7]).tolist()
    assert positions[1] == positions[3] == -1
    assert [table.at(p) for p in (positions[0], positions[2], positions[4])] == [
        KEPT[3],
        KEPT[2**64 - 1],
        KEPT[7],
    ]


def test_an_empty_table_finds_nothing():
    table = Removals.of([])
    assert len(table) == 0
    assert table.positions([1, 2]).tolist() == [-1, -1]
    assert table.get(1) is None


def test_an_unknown_reason_is_refused_naming_it():
    with pytest.raises(ValueError, match="'kept'"):
        Removals.of([(1, (0, 1, "kept"))])


def test_a_table_survives_pickling():
    table = pickle.loads(pickle.dumps(Removals.of(DECISIONS.items())))
    assert {fp: table[fp] for fp in KEPT} == KEPT


def _as_text(table: Removals) -> dict:
    # Text keys: Beam's coders take integers below 2**63 only.
    return {str(fp): table.at(i) for i, fp in enumerate(table.fingerprints.tolist())}


def test_merging_per_shard_tables_in_beam_gives_one_sorted_table():
    parts = [Removals.of([item]) for item in DECISIONS.items()]
    with beam.Pipeline(options=local_beam.options()) as pipeline:
        merged = (
            pipeline
            | beam.Create(parts)
            | beam.CombineGlobally(MergeRemovals())
            | beam.Map(
                lambda t: (sorted(t.fingerprints.tolist()) == t.fingerprints.tolist(), _as_text(t))
            )
        )
        assert_that(merged, equal_to([(True, {str(fp): d for fp, d in KEPT.items()})]))


def test_merging_no_tables_in_beam_gives_an_empty_table():
    with beam.Pipeline(options=local_beam.options()) as pipeline:
        merged = pipeline | beam.Create([]) | beam.CombineGlobally(MergeRemovals()) | beam.Map(len)
        assert_that(merged, equal_to([0]))


def test_a_written_table_loads_once_per_process_with_every_decision(tmp_path):
    path = str(tmp_path / "scratch" / "removals.npz")
    assert write_removals(Removals.of(DECISIONS.items()), path) == path
    loaded = load_removals(path)
    assert load_removals(path) is loaded
    assert {fp: loaded.get(fp) for fp in KEPT} == KEPT
    assert loaded.get(5) is None


def test_no_file_is_no_decisions():
    assert len(load_removals(None)) == 0
