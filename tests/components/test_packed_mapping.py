"""components.common.packed_mapping: dict side inputs sized in one step."""

from __future__ import annotations

import pickle

import apache_beam as beam
from apache_beam.runners.worker import statecache
from apache_beam.testing.util import assert_that, equal_to

from components.common.packed_mapping import PackedMapping, PackMapping
from tests import local_beam


def test_reads_as_the_dict_it_packs():
    packed = PackedMapping.of({"a": 1, 7: ("x", 2)})
    assert dict(packed) == {"a": 1, 7: ("x", 2)}
    assert packed["a"] == 1 and packed.get("b") is None and 7 in packed and len(packed) == 2


def test_pickles_to_the_same_mapping_before_and_after_it_is_read():
    packed = PackedMapping.of({str(i): i for i in range(1_000)})
    before = pickle.loads(pickle.dumps(packed))
    assert packed["999"] == 999
    after = pickle.loads(pickle.dumps(packed))
    assert dict(before) == dict(after) == {str(i): i for i in range(1_000)}


def test_mappings_of_the_same_bytes_share_one_dict_in_a_process():
    blob = pickle.dumps(PackedMapping.of({f"alias-{i}": i for i in range(100)}))
    first, second = pickle.loads(blob), pickle.loads(blob)
    other = PackedMapping.of({"alias-0": -1})
    assert first["alias-7"] == second["alias-7"] == 7 and other["alias-0"] == -1
    # Private: which dict each reads is what this test is about.
    assert first._unpacked() is second._unpacked()
    assert other._unpacked() is not first._unpacked()


def test_beams_cache_sizes_it_by_its_blob_not_entry_by_entry():
    mapping = {f"alias-{i}": f"person-{i}" for i in range(20_000)}
    packed = PackedMapping.of(mapping)
    # The same bytes, measured as one object: the walk does not reach the entries.
    assert statecache.get_deep_size(packed) < 2 * len(
        pickle.dumps(mapping, pickle.HIGHEST_PROTOCOL)
    )
    assert statecache.get_deep_size(mapping) > statecache.get_deep_size(packed)


def test_a_side_input_of_packed_pairs_serves_lookups_and_is_empty_without_pairs():
    with beam.Pipeline(options=local_beam.options()) as p:
        pairs = p | "Pairs" >> beam.Create([("a", 1), ("b", 2)])
        none = p | "NoPairs" >> beam.Create([])
        keys = p | "Keys" >> beam.Create(["a", "b", "c"])
        found = keys | "Find" >> beam.Map(
            lambda k, m, empty: (k, m.get(k), len(empty)),
            beam.pvalue.AsSingleton(pairs | "PackPairs" >> PackMapping()),
            beam.pvalue.AsSingleton(none | "PackNone" >> PackMapping()),
        )
        assert_that(found, equal_to([("a", 1, 0), ("b", 2, 0), ("c", None, 0)]))
