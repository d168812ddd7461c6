"""CleanExamples' id map: read before the Beam job, checked, resolved, held as arrays.

The step reads the id map (alias -> canonical id rows) itself, batch by
batch, before its Beam job starts. Its problems (an alias with several
canonical ids, a cycle, a chain longer than `rules.MAX_ALIAS_HOPS`, a row
with several values in a column) fail the step before any row is cleaned,
naming the ids. Every alias is resolved to the end of its chain once, here,
so a row's canonical id is a single look-up.

The resolved map reaches the workers as one Arrow IPC file in the
execution's temporary folder (`write_id_map`), and each process loads it
once (`load_shared`): two Arrow string columns and a sorted index of
checksums, some 50 bytes per alias with short ids, however many steps read
it. Beam never holds it: no shuffle of pairs, and no side input for its
cache to weigh object by object.

The id map is the one dataset the launching process reads whole. Every
worker holds the whole resolved map to look rows up in it (a broadcast
join), so a map the launcher cannot hold could not be used by a worker
either; in Beam it would cost more, not less (a grouping of its pairs,
then a side input per worker).
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import weakref
import zlib
from typing import Iterator, Mapping, Optional, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import tensorflow as tf
from google.protobuf.message import DecodeError
from tfx.types import artifact
from tfx.v1.dsl.io import fileio

from components.clean_examples import rules
from components.common import columns, examples_io
from components.common.example_features import values_in

_ALIAS = "alias"
_CANONICAL = "canonical"


def _index_key(text: bytes) -> int:
    """An id's place in the look-up index: the CRC-32 of its UTF-8 text, a
    tenth of a fingerprint's cost.

    Ids sharing a checksum are told apart by their text, so this only needs
    to spread them.
    """
    return zlib.crc32(text)


def _index_keys(texts: pa.Array) -> np.ndarray:
    """`_index_key` of every value of a large_string array, read from its buffers
    (no Python string is made)."""
    _, offsets_buffer, data_buffer = texts.buffers()
    if not len(texts):
        return np.zeros(0, dtype=np.int64)
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)
    offsets = offsets[texts.offset : texts.offset + len(texts) + 1].tolist()
    data = memoryview(data_buffer) if data_buffer is not None else memoryview(b"")
    return np.fromiter(
        (_index_key(data[start:end]) for start, end in zip(offsets[:-1], offsets[1:])),
        dtype=np.int64,
        count=len(texts),
    )


def _text_key(text: str) -> int:
    return _index_key(text.encode("utf-8", "surrogatepass"))


class IdMap(Mapping[str, str]):
    """Alias -> the canonical id its chain ends at, as Arrow columns.

    Look-ups go through a sorted array of the aliases' `_index_key`, built
    when the map is made, and every hit is confirmed against the alias' text,
    so two ids sharing a checksum are never merged.

    Args:
      aliases: Distinct aliases (large_string, no nulls).
      canonicals: Each alias' final canonical id, row for row (large_string).
    """

    __slots__ = ("_aliases", "_canonicals", "_keys", "_rows", "__weakref__")

    def __init__(self, aliases: pa.Array, canonicals: pa.Array) -> None:
        self._aliases = aliases
        self._canonicals = canonicals
        keys = _index_keys(aliases)
        self._rows = np.argsort(keys, kind="stable")
        self._keys = keys[self._rows]

    @classmethod
    def empty(cls) -> "IdMap":
        """A map with no alias: every id is its own canonical id."""
        nothing = pa.array([], type=pa.large_string())
        return cls(nothing, nothing)

    @classmethod
    def of(cls, links: Mapping[str, str]) -> "IdMap":
        """Resolves alias -> canonical links given in memory (`resolve`).

        Args:
          links: Alias -> canonical id; chains are followed, self-links ignored.

        Returns:
          The resolved map.

        Raises:
          rules.IdMapError: The links hold a cycle or a chain too long (the
            first problem's message).
        """
        resolved = resolve(
            pa.array(list(links), type=pa.large_string()),
            pa.array(list(links.values()), type=pa.large_string()),
        )
        if resolved.problems:
            raise rules.IdMapError(resolved.problems[0])
        return resolved.id_map

    def canonical_ids(self, ids: Sequence[str]) -> list[str]:
        """Each id's canonical id: its alias' target, or itself when it is no alias.

        Args:
          ids: The ids, as text.

        Returns:
          Their canonical ids, in order: one search of the index for all of them.
        """
        found = list(ids)
        if not len(self._keys) or not found:
            return found
        keys = np.fromiter(map(_text_key, found), dtype=np.int64, count=len(found))
        positions = np.searchsorted(self._keys, keys)
        hits = positions < len(self._keys)
        hits[hits] = self._keys[positions[hits]] == keys[hits]
        for i in np.flatnonzero(hits).tolist():
            row = self._row_of(found[i], int(keys[i]), int(positions[i]))
            if row is not None:
                found[i] = self._canonicals[row].as_py()
        return found

    def _row_of(self, key: str, key_index: int, position: int) -> Optional[int]:
        """The row of alias `key`, scanning the aliases sharing its index key from `position`."""
        while position < len(self._keys) and self._keys[position] == key_index:
            row = int(self._rows[position])
            if self._aliases[row].as_py() == key:
                return row
            position += 1
        return None

    def __getitem__(self, key: str) -> str:
        if isinstance(key, str) and len(self._keys):
            key_index = _text_key(key)
            position = int(np.searchsorted(self._keys, key_index))
            row = self._row_of(key, key_index, position)
            if row is not None:
                return self._canonicals[row].as_py()
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(columns.python_list(self._aliases))

    def __len__(self) -> int:
        return len(self._aliases)

    def __reduce__(self) -> tuple:
        # The index is rebuilt where the map lands rather than sent with it.
        return (IdMap, (self._aliases, self._canonicals))


@dataclasses.dataclass(frozen=True)
class ResolvedIdMap:
    """An id map read and resolved, with what is wrong with it.

    Attributes:
      aliases: The distinct aliases (large_string).
      canonicals: Each alias' final canonical id, row for row (with problems,
        for the part that resolves).
      links: Distinct alias -> canonical links in the input.
      problems: What makes the map unusable, one message each, sorted.
    """

    aliases: pa.Array
    canonicals: pa.Array
    links: int
    problems: list[str]

    @functools.cached_property
    def id_map(self) -> IdMap:
        """The map to look ids up in, its index built on first use (the step
        that resolves the map only writes it)."""
        return IdMap(self.aliases, self.canonicals)


def read_id_map(
    examples: artifact.Artifact, alias_column: str, canonical_column: str
) -> ResolvedIdMap:
    """Reads every split of the id map and resolves it (`resolve`).

    A row lacking either id links nothing. Ids read as `example_features.text_of` writes them.

    Args:
      examples: The id map's Examples.
      alias_column: The feature holding aliases.
      canonical_column: The feature holding canonical ids.

    Returns:
      The resolved map; rows with several values in a column are problems,
      naming the file and row.

    Raises:
      ValueError: A file is not a TFRecord file of tf.Examples (naming it).
    """
    aliases, canonicals, problems = _read_links(examples, alias_column, canonical_column)
    resolved = resolve(aliases, canonicals)
    return dataclasses.replace(resolved, problems=sorted(problems + resolved.problems))


def _read_links(
    examples: artifact.Artifact, alias_column: str, canonical_column: str
) -> tuple[pa.Array, pa.Array, list[str]]:
    """The alias and canonical id of every row holding one of each, and the
    rows holding several (`read_id_map`)."""
    decoder = columns.NarrowDecoder([alias_column, canonical_column])
    aliases: list[pa.Array] = []
    canonicals: list[pa.Array] = []
    problems: list[str] = []
    for split in examples_io.split_names(examples):
        pattern = examples_io.split_file_pattern(examples, split)
        for path in sorted(str(p) for p in fileio.glob(pattern)):
            first_row = 1
            for records in examples_io.read_record_batches(path):
                (alias, alias_lengths), (canonical, canonical_lengths) = _link_columns(
                    records, decoder, (alias_column, canonical_column), path
                )
                for column, lengths in (
                    (alias_column, alias_lengths),
                    (canonical_column, canonical_lengths),
                ):
                    problems += [
                        f"id map row {first_row + i:,} of {path} has {lengths[i]} values "
                        f"in {column!r}; expected one"
                        for i in np.flatnonzero(lengths > 1).tolist()
                    ]
                links = pa.array((alias_lengths == 1) & (canonical_lengths == 1))
                aliases.append(alias.filter(links))
                canonicals.append(canonical.filter(links))
                first_row += len(records)
    return _joined(aliases), _joined(canonicals), problems


def _joined(chunks: list[pa.Array]) -> pa.Array:
    if not chunks:
        return pa.array([], type=pa.large_string())
    return pa.concat_arrays(chunks)


def _link_columns(
    records: list[bytes],
    decoder: columns.NarrowDecoder,
    names: tuple[str, str],
    path: str,
) -> list[tuple[pa.Array, np.ndarray]]:
    """Each named feature's first value as text and its number of values, per record.

    Raises:
      ValueError: A record is not a tf.Example (naming the file).
    """
    batch = decoder.decode(records)
    if batch is not None:
        found = []
        for name in names:
            column = columns.ListColumn(batch, name)
            found.append((column.first_text_array(), column.lengths))
        return found
    try:
        features = [tf.train.Example.FromString(record).features.feature for record in records]
    except DecodeError as e:
        raise ValueError(f"{path}: a record is not a tf.Example ({e})") from e
    found = []
    for name in names:
        values = [values_in(f, name) for f in features]
        texts = pa.array([v[0] if v else None for v in values], type=pa.large_string())
        found.append((texts, np.array([len(v) for v in values], dtype=np.int64)))
    return found


def resolve(aliases: pa.Array, canonicals: pa.Array) -> ResolvedIdMap:
    """Resolves alias -> canonical links, each alias to the end of its chain.

    A link from an id to itself links nothing. Every alias follows its
    links at once, a link per round, as
    `rules.resolve_alias` follows one alias'; the aliases still moving after
    `rules.MAX_ALIAS_HOPS` links are in a cycle or too long a chain, and get
    `rules.resolve_alias`'s message.

    Args:
      aliases: Each link's alias (large_string, no nulls).
      canonicals: Each link's canonical id, row for row.

    Returns:
      The resolved map, the distinct links, and the problems: aliases with
      several canonical ids (`rules.canonical_conflict`; the smallest is
      followed), cycles and chains too long.
    """
    pairs = pa.table({_ALIAS: aliases, _CANONICAL: canonicals})
    pairs = pairs.filter(pc.not_equal(pairs.column(_ALIAS), pairs.column(_CANONICAL)))
    if not pairs.num_rows:
        nothing = pa.array([], type=pa.large_string())
        return ResolvedIdMap(nothing, nothing, 0, [])
    pairs = pairs.take(pc.sort_indices(pairs, [(_ALIAS, "ascending"), (_CANONICAL, "ascending")]))
    alias, canonical = (
        pairs.column(_ALIAS).combine_chunks(),
        pairs.column(_CANONICAL).combine_chunks(),
    )
    same_alias = _same_as_previous(alias)
    distinct = ~(same_alias & _same_as_previous(canonical))
    alias, canonical = alias.filter(pa.array(distinct)), canonical.filter(pa.array(distinct))
    same_alias = _same_as_previous(alias)
    problems = _conflicts(alias, canonical, same_alias)
    first = pa.array(~same_alias)
    alias, canonical = alias.filter(first), canonical.filter(first)

    next_alias = pc.index_in(canonical, value_set=alias).fill_null(-1).to_numpy()
    last = np.arange(len(alias))
    for _ in range(rules.MAX_ALIAS_HOPS - 1):
        step = next_alias[last]
        moving = step >= 0
        if not moving.any():
            break
        last = np.where(moving, step, last)
    stuck = np.flatnonzero(next_alias[last] >= 0)
    if len(stuck):
        problems += _loop_problems(alias, canonical, stuck)
    return ResolvedIdMap(
        alias, canonical.take(pa.array(last)), int(distinct.sum()), sorted(problems)
    )


def _same_as_previous(values: pa.Array) -> np.ndarray:
    """Whether each value equals the one before it (False for the first)."""
    same = np.zeros(len(values), dtype=bool)
    if len(values) > 1:
        same[1:] = pc.equal(values[1:], values[:-1]).to_numpy(zero_copy_only=False)
    return same


def _conflicts(alias: pa.Array, canonical: pa.Array, same_alias: np.ndarray) -> list[str]:
    """`rules.canonical_conflict` of each alias listed with several canonical ids.

    The links are distinct and sorted by alias, so an alias' canonical ids are a run.
    """
    starts = np.flatnonzero(~same_alias)
    ends = np.append(starts[1:], len(alias))
    several = np.flatnonzero(ends - starts > 1)
    return [
        rules.canonical_conflict(alias[start].as_py(), canonical[start:end].to_pylist())
        for start, end in zip(starts[several].tolist(), ends[several].tolist())
    ]


def _loop_problems(alias: pa.Array, canonical: pa.Array, stuck: np.ndarray) -> list[str]:
    """`rules.resolve_alias`'s message for each alias that did not come to rest."""
    links = dict(zip(alias.to_pylist(), canonical.to_pylist()))
    found = set()
    for row in stuck.tolist():
        try:
            rules.resolve_alias(alias[row].as_py(), links)
        except rules.IdMapError as e:
            found.add(str(e))
    return sorted(found)


def write_id_map(resolved: ResolvedIdMap, path: str) -> None:
    """Writes the resolved map as one Arrow IPC file.

    Args:
      resolved: The resolved map.
      path: Where to write it (any `fileio` path; its folder must exist).
    """
    table = pa.table({_ALIAS: resolved.aliases, _CANONICAL: resolved.canonicals})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    with fileio.open(path, "wb") as f:
        f.write(sink.getvalue().to_pybytes())


# Maps loaded in this process by path, while some step holds them.
_LOADED: "weakref.WeakValueDictionary[str, IdMap]" = weakref.WeakValueDictionary()
_LOADING = threading.Lock()


def load_shared(path: Optional[str]) -> IdMap:
    """The map `write_id_map` stored at `path`, loaded once per process.

    Every step of a worker that reads the map holds the same one, so a
    process keeps one copy however many steps read it.

    Args:
      path: The file, or None for an empty map (no id map configured).

    Returns:
      The map, shared with every other holder in this process.

    Raises:
      OSError, pyarrow.ArrowInvalid: The file cannot be read as `write_id_map` wrote it.
    """
    if path is None:
        return IdMap.empty()
    with _LOADING:
        loaded = _LOADED.get(path)
        if loaded is None:
            with fileio.open(path, "rb") as f:
                table = pa.ipc.open_file(pa.py_buffer(f.read())).read_all()
            loaded = IdMap(
                table.column(_ALIAS).combine_chunks(), table.column(_CANONICAL).combine_chunks()
            )
            _LOADED[path] = loaded
    return loaded
