"""The TFRecord file format, read and written many records at a time.

A TFRecord file is a sequence of records, each framed as:

    length     uint64, little-endian
    crc        uint32, masked crc32c of the 8 length bytes
    data       `length` bytes
    crc        uint32, masked crc32c of the data

(the format TensorFlow and Beam's `WriteToTFRecord` write). Beam's own reader
and writer handle one record per call through several small reads or writes;
Cascade's record-heavy steps read a decompressed stream in large chunks and
frame a whole batch of records into one write, with the same checksums.
"""

from __future__ import annotations

import struct
from typing import BinaryIO, Iterable, Iterator

import google_crc32c

HEADER_BYTES = 12  # length + its crc
FOOTER_BYTES = 4  # the data's crc
CHUNK_BYTES = 1 << 22

_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")
_HEADER = struct.Struct("<QI")


class TFRecordFormatError(ValueError):
    """A file is not a valid TFRecord file (the message gives the byte offset)."""


def masked_crc32c(data: bytes) -> int:
    """The TFRecord checksum of `data`: crc32c, rotated and offset by a constant."""
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame(records: Iterable[bytes]) -> bytes:
    """The TFRecord encoding of `records`, one after the other."""
    parts = []
    for record in records:
        length = _LENGTH.pack(len(record))
        parts.append(length)
        parts.append(_CRC.pack(masked_crc32c(length)))
        parts.append(record)
        parts.append(_CRC.pack(masked_crc32c(record)))
    return b"".join(parts)


def read_batches(stream: BinaryIO, batch_records: int) -> Iterator[list[bytes]]:
    """Yields the records of a TFRecord stream, `batch_records` at a time (the last may be short).

    Both checksums of every record are verified.

    Raises:
      TFRecordFormatError: A checksum does not match, or the stream ends inside
        a record (names the record's byte offset in the stream).
    """
    pending = b""
    consumed = 0  # stream offset of pending[0]
    batch: list[bytes] = []
    while True:
        chunk = stream.read(CHUNK_BYTES)
        if not chunk:
            break
        data = pending + chunk if pending else chunk
        offset = 0
        size = len(data)
        while size - offset >= HEADER_BYTES:
            length, length_crc = _HEADER.unpack_from(data, offset)
            end = offset + HEADER_BYTES + length + FOOTER_BYTES
            if end > size:
                if masked_crc32c(data[offset : offset + 8]) != length_crc:
                    raise _corrupt("length", consumed + offset)
                break
            if masked_crc32c(data[offset : offset + 8]) != length_crc:
                raise _corrupt("length", consumed + offset)
            record = data[offset + HEADER_BYTES : end - FOOTER_BYTES]
            (data_crc,) = _CRC.unpack_from(data, end - FOOTER_BYTES)
            if masked_crc32c(record) != data_crc:
                raise _corrupt("data", consumed + offset)
            batch.append(record)
            if len(batch) >= batch_records:
                yield batch
                batch = []
            offset = end
        pending = data[offset:]
        consumed += offset
    if pending:
        raise TFRecordFormatError(
            f"not a valid TFRecord file: it ends inside the record at byte {consumed:,} "
            f"({len(pending):,} bytes of it; truncated?)"
        )
    if batch:
        yield batch


def _corrupt(part: str, offset: int) -> TFRecordFormatError:
    return TFRecordFormatError(
        f"not a valid TFRecord file: the {part} checksum of the record at byte {offset:,} "
        "does not match (corrupt?)"
    )
