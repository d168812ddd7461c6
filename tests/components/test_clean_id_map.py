"""components.clean_examples.id_map: the id map read, checked and resolved before the job."""

from __future__ import annotations

import pickle
import re

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.clean_examples import id_map, rules
from components.clean_examples.id_map import IdMap, load_shared, read_id_map, resolve
from tests.components.test_clean_examples_executor import make_record, write_examples

IDS = [f"i{n}" for n in range(8)]


def _strings(values) -> pa.Array:
    return pa.array(list(values), type=pa.large_string())


def _expected(links: dict[str, str]) -> tuple[dict[str, str], set[str]]:
    """Each id's canonical id and the problems, one alias at a time (`rules.resolve_alias`)."""
    resolved, problems = {}, set()
    for identifier in IDS:
        try:
            resolved[identifier] = rules.resolve_alias(identifier, links)
        except rules.IdMapError as e:
            problems.add(str(e))
    return resolved, problems


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(IDS), st.sampled_from(IDS), max_size=len(IDS)))
def test_resolving_every_alias_at_once_agrees_with_one_alias_at_a_time(links):
    result = resolve(_strings(links), _strings(links.values()))
    resolved, problems = _expected(links)
    assert set(result.problems) == problems
    assert result.links == sum(alias != canonical for alias, canonical in links.items())
    for identifier, canonical in resolved.items():
        assert result.id_map.get(identifier, identifier) == canonical
        assert result.id_map.canonical_ids([identifier]) == [canonical]


@pytest.mark.parametrize(
    "links, resolves", [(rules.MAX_ALIAS_HOPS, True), (rules.MAX_ALIAS_HOPS + 1, False)]
)
def test_a_chain_resolves_up_to_the_longest_the_rules_follow(links, resolves):
    chain = [f"c{n:03d}" for n in range(links + 1)]
    result = resolve(_strings(chain[:-1]), _strings(chain[1:]))
    if resolves:
        assert result.problems == []
        assert result.id_map.canonical_ids(chain[:3]) == [chain[-1]] * 3
    else:
        assert f"id map chain from 'c000' is longer than {rules.MAX_ALIAS_HOPS} links" in (
            result.problems
        )


def test_repeated_links_count_once_and_an_alias_with_two_targets_is_named():
    result = resolve(_strings(["a", "a", "b", "b", "b"]), _strings(["x", "x", "y", "z", "y"]))
    assert result.links == 3
    assert result.problems == ["id map maps alias 'b' to 2 canonical ids: 'y', 'z'"]


def test_hash_collisions_never_merge_two_ids(monkeypatch):
    monkeypatch.setattr(id_map, "_index_key", lambda text: 7)
    colliding = IdMap.of({"a": "x", "b": "y", "c": "x"})
    assert colliding.canonical_ids(["c", "b", "a", "d", "x"]) == ["x", "y", "x", "d", "x"]
    assert colliding["b"] == "y"
    assert "d" not in colliding


def test_an_empty_map_leaves_every_id_alone():
    empty = IdMap.empty()
    assert empty.canonical_ids(["a", "b"]) == ["a", "b"]
    assert len(empty) == 0 and empty.get("a") is None


def test_a_pickled_map_rebuilds_its_index_and_reads_the_same():
    original = IdMap.of({"m-1": "u1", "p-1": "m-1", "m-2": "u2"})
    copy = pickle.loads(pickle.dumps(original))
    assert dict(copy) == dict(original) == {"m-1": "u1", "p-1": "u1", "m-2": "u2"}


def test_a_written_map_loads_once_per_process_while_held(tmp_path):
    path = str(tmp_path / "id_map.arrow")
    links = {"m-1": "u1", "p-1": "m-1"}
    id_map.write_id_map(resolve(_strings(links), _strings(links.values())), path)
    first = load_shared(path)
    assert load_shared(path) is first
    assert first.canonical_ids(["p-1", "m-1", "u1", "other"]) == ["u1", "u1", "u1", "other"]
    assert len(load_shared(None)) == 0


def test_reading_skips_rows_without_both_ids_and_reads_numbers_as_digits(tmp_path):
    records = [
        make_record(alias="m-1", canonical="u1"),
        make_record(alias="m-2"),
        make_record(canonical="u3"),
        make_record(alias="same", canonical="same"),
        make_record(alias=42, canonical="u42"),
        make_record(alias="m-1", canonical="u1"),
    ]
    examples = write_examples(tmp_path, {"train": records[:3], "eval": records[3:]}, "id_map")
    result = read_id_map(examples, "alias", "canonical")
    assert result.problems == []
    assert result.links == 2
    assert dict(result.id_map) == {"m-1": "u1", "42": "u42"}


def test_integer_ids_read_as_digits_in_a_batch_decoded_as_columns(tmp_path):
    records = [make_record(alias=n, canonical=n + 1000) for n in range(5)]
    examples = write_examples(tmp_path, {"train": records}, "id_map")
    result = read_id_map(examples, "alias", "canonical")
    assert dict(result.id_map) == {str(n): str(n + 1000) for n in range(5)}


def test_a_file_that_is_no_record_file_is_named(tmp_path):
    examples = write_examples(tmp_path, {"train": []}, "id_map")
    broken = tmp_path / "id_map" / "Split-train" / "data_tfrecord-00000-of-00001.gz"
    broken.write_bytes(b"not gzip")
    with pytest.raises(ValueError, match=re.escape(str(broken))):
        read_id_map(examples, "alias", "canonical")


def test_reading_names_the_file_and_row_of_an_id_with_several_values(tmp_path):
    records = [
        make_record(alias="m-1", canonical="u1"),
        make_record(alias=["m-2", "m-3"], canonical="u2"),
    ]
    examples = write_examples(tmp_path, {"train": records}, "id_map")
    result = read_id_map(examples, "alias", "canonical")
    path = tmp_path / "id_map" / "Split-train" / "data_tfrecord-00000-of-00001.gz"
    assert result.problems == [f"id map row 2 of {path} has 2 values in 'alias'; expected one"]
    assert dict(result.id_map) == {"m-1": "u1"}
