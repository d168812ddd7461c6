"""components.clean_examples.fact_files: row facts grouped per shard through files."""

from __future__ import annotations

from components.clean_examples import fact_files


def _facts(shard: int, n: int) -> list:
    return [(f"person-{shard}-{i}", ("web", float(i), "1", i)) for i in range(n)]


def test_each_segment_reads_back_its_shards_facts(tmp_path):
    packets = {0: _facts(0, 3), 5: _facts(5, 1), 2: []}
    segments = dict(fact_files.write_segments(str(tmp_path / "facts"), packets))
    assert sorted(segments) == [0, 2, 5]
    assert len({segment.path for segment in segments.values()}) == 1
    for shard, facts in packets.items():
        assert fact_files.read_segment(segments[shard]) == facts


def test_the_writer_flushes_every_so_many_facts_and_at_the_end(tmp_path):
    writer = fact_files.FactWriter(str(tmp_path), flush_facts=4)
    references = writer.add(1, _facts(1, 3))
    assert references == []
    references += writer.add(2, _facts(2, 2))
    assert sorted(shard for shard, _ in references) == [1, 2]
    references += writer.add(1, _facts(1, 1))
    references += writer.flush()
    assert writer.flush() == []
    read: dict[int, list] = {}
    for shard, segment in references:
        read.setdefault(shard, []).extend(fact_files.read_segment(segment))
    assert read == {1: _facts(1, 3) + _facts(1, 1), 2: _facts(2, 2)}
    assert len({segment.path for _, segment in references}) == 2


def test_an_empty_writer_writes_no_file(tmp_path):
    writer = fact_files.FactWriter(str(tmp_path / "never"))
    assert writer.flush() == []
    assert not (tmp_path / "never").exists()
