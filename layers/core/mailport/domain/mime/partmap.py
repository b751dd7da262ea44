"""A big message's part map: its leaves (``mime.leaves``), each with its content's size and
checksums of the bytes around it, made at import from the walk the summary needs anyway, so
that reading the message later fetches only the ranges it shows, never the whole object.

Only messages over ``MAP_THRESHOLD`` get one: below it a whole read costs about what a
ranged one does (one request, at most a megabyte), and ordinary mail pays no byte and no
request more. The map is kept to ``MAX_MAP_BYTES`` of UTF-8 (``encode_map``); a message
whose map would be larger has none, and is read whole, as every message was before.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import Message

from mailport.domain.message import MessageSummary
from mailport.domain.mime.leaves import Leaf, content_size, leaves_of
from mailport.domain.mime.parts import Part, walk_spans
from mailport.domain.mime.sniff import check_is_message, content_start
from mailport.domain.mime.summary import summarize, summary_of

__all__ = [
    "MAP_THRESHOLD",
    "MAX_MAP_BYTES",
    "MAX_MAP_LEAVES",
    "TAIL_BYTES",
    "MappedLeaf",
    "PartMap",
    "decode_map",
    "encode_map",
    "part_map_of",
    "summarize_mapped",
]

MAP_THRESHOLD = 1_000_000  # bytes of a message over which it gets a part map
MAX_MAP_LEAVES = 64  # leaves a map holds at most (more: no map)
# UTF-8 bytes of an encoded map at most. A message item is ~0.8-1 KB without one: with it, a
# big message's item stays under the 4 KB one read unit covers, and writing it costs at most
# three write units more, once, for that message alone.
MAX_MAP_BYTES = 3_000
TAIL_BYTES = 16  # bytes after a part (its delimiter line) its tail checksum covers
_VERSION = 1
_FIELDS = 13


@dataclass(frozen=True, slots=True)
class MappedLeaf:
    """A leaf, its content's size, and CRC-32s of its header block ``[start, body_start)``
    and of the ``TAIL_BYTES`` after its end (fewer at the message's end): a read by the map
    checks them, and reads the whole message if the stored bytes don't match.
    """

    leaf: Leaf
    size: int
    header_crc: int
    tail_crc: int


@dataclass(frozen=True, slots=True)
class PartMap:
    """Every leaf of a message, in document order."""

    leaves: tuple[MappedLeaf, ...]

    def find(self, part_id: str) -> MappedLeaf | None:
        """The leaf with this MIME path, or None."""
        return next((m for m in self.leaves if m.leaf.part_id == part_id), None)


def summarize_mapped(raw: bytes) -> tuple[MessageSummary, PartMap | None]:
    """``summarize``, and for a message over ``MAP_THRESHOLD`` its part map (None if it
    would be over the bounds) from the same walk. Raises ``NotAMessage`` as ``summarize``.
    """
    if len(raw) <= MAP_THRESHOLD:
        return summarize(raw), None
    check_is_message(raw, len(raw))
    spans = list(walk_spans(raw, content_start(raw)))  # at most the walk's 1,000 parts
    summary = summary_of(raw, ((part, msg) for part, msg, _ in spans))
    return summary, _part_map(raw, spans)


def part_map_of(raw: bytes) -> PartMap | None:
    """The map of any message, whatever its size (``summarize_mapped`` makes one only over
    ``MAP_THRESHOLD``): for checks that reading by a map answers as reading whole does.
    """
    return _part_map(raw, walk_spans(raw, content_start(raw)))


def _part_map(raw: bytes, spans: Iterable[tuple[Part, Message, int]]) -> PartMap | None:
    mapped: list[MappedLeaf] = []
    for leaf in leaves_of(spans):
        if len(mapped) == MAX_MAP_LEAVES:
            return None
        mapped.append(
            MappedLeaf(
                leaf,
                content_size(raw, leaf.body_start, leaf.end, leaf.encoding),
                zlib.crc32(raw[leaf.start : leaf.body_start]),
                zlib.crc32(raw[leaf.end : leaf.end + TAIL_BYTES]),
            )
        )
    found = PartMap(tuple(mapped))
    text = encode_map(found)
    return found if text is not None and len(text.encode("utf-8")) <= MAX_MAP_BYTES else None


def encode_map(found: PartMap) -> str | None:
    """The map as stored: compact JSON, a version then one row per leaf, offsets as
    lengths (fewer digits). None if it can't be UTF-8 (a header's undecodable bytes).
    """
    rows: list[object] = [_VERSION]
    for m in found.leaves:
        leaf = m.leaf
        rows.append(
            [
                leaf.part_id,
                leaf.content_type,
                leaf.filename,
                int(leaf.is_attachment),
                leaf.content_id,
                leaf.charset,
                leaf.encoding,
                leaf.start,
                leaf.body_start - leaf.start,
                leaf.end - leaf.body_start,
                m.size,
                m.header_crc,
                m.tail_crc,
            ]
        )
    text = json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return text


def decode_map(text: object) -> PartMap | None:
    """A stored map; None for anything else (no map, another version, a damaged one): the
    message is then read whole.
    """
    if not isinstance(text, str):
        return None
    try:
        rows = json.loads(text)
        if not isinstance(rows, list) or not rows or rows[0] != _VERSION:
            return None
        return PartMap(tuple(_row(row) for row in rows[1:]))
    except ValueError:
        return None


def _row(row: object) -> MappedLeaf:
    """One leaf from its stored row; ``ValueError`` if it is not one ``encode_map`` wrote."""
    if not isinstance(row, list) or len(row) != _FIELDS:
        raise ValueError(row)
    part_id, kind, name, is_attachment, content_id, charset, encoding = row[:7]
    numbers = row[7:]
    texts = (part_id, kind, name, encoding)
    optional = (content_id, charset)
    if (
        not all(isinstance(t, str) for t in texts)
        or not all(o is None or isinstance(o, str) for o in optional)
        or is_attachment not in (0, 1)
        or not all(type(n) is int and n >= 0 for n in numbers)
    ):
        raise ValueError(row)
    start, header, body, size, header_crc, tail_crc = numbers
    leaf = Leaf(
        part_id=part_id,
        content_type=kind,
        filename=name,
        is_attachment=bool(is_attachment),
        content_id=content_id,
        charset=charset,
        encoding=encoding,
        start=start,
        body_start=start + header,
        end=start + header + body,
    )
    return MappedLeaf(leaf, size, header_crc, tail_crc)
