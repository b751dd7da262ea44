"""A big message read by its part map (``mime.partmap``): only the bodies it shows, and the
one part asked for, are fetched (by range); the other parts are listed from the map and the
headers come from the index. The answer is the one reading the whole message gives: the
same ``compose``, over the same leaves and the same content bytes.

Every range fetched is checked against the map (a CRC-32 of the part's header block, and of
the bytes after its end when the fetch reaches them): if the stored bytes are not the ones
the map describes, ``Mismatch``, and the caller reads the whole message instead of showing
text from the wrong place.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

from mailport.domain.message import MessageSummary
from mailport.domain.mime.leaves import decode_transfer
from mailport.domain.mime.partmap import TAIL_BYTES, MappedLeaf, PartMap
from mailport.domain.reading.content import (
    BODY_LIMIT,
    MAX_BYTES_PER_CHAR,
    PREFIX_SLACK,
    PartBytes,
    Reading,
    body,
    compose,
    part_bytes,
)

__all__ = ["Fetch", "Mismatch", "part_mapped", "read_mapped"]

# The stored message's bytes [start, end): fewer past its end.
Fetch = Callable[[int, int], bytes]

_NEEDED = BODY_LIMIT * MAX_BYTES_PER_CHAR + PREFIX_SLACK  # content bytes of a cut body
_NEAR = 64 * 1024  # bodies this close together (text and HTML alternatives) share one fetch
_MARGIN = 4096  # encoded bytes fetched past a cut body's estimate (uneven line lengths)


class Mismatch(Exception):  # a finding, not a failure: the whole read follows
    """The stored bytes are not the ones the map describes."""


def read_mapped(
    summary: MessageSummary,
    part_map: PartMap,
    fetch: Fetch,
    part_url: Callable[[str], str],
    *,
    charset: str | None = None,
    remote: bool = False,
) -> Reading:
    """``content.read`` of the message ``part_map`` maps, its summary the index's; raises
    ``Mismatch`` if the fetched bytes don't match the map.
    """
    by_id = {m.leaf.part_id: m for m in part_map.leaves}
    found = [m.leaf for m in part_map.leaves]
    shown = [
        by_id[leaf.part_id]
        for leaf in (body(found, "text/plain"), body(found, "text/html"))
        if leaf is not None
    ]
    contents = _contents(shown, fetch)
    return compose(
        summary,
        found,
        lambda leaf: contents[leaf.part_id],
        lambda leaf: by_id[leaf.part_id].size,
        part_url,
        charset=charset,
        remote=remote,
    )


def part_mapped(part_map: PartMap, fetch: Fetch, part_id: str) -> PartBytes | None:
    """``content.part`` by the map: one fetch of that part; None if there is no such part.
    Raises ``Mismatch`` as ``read_mapped``.
    """
    mapped = part_map.find(part_id)
    if mapped is None:
        return None
    leaf = mapped.leaf
    chunk = fetch(leaf.start, leaf.end + TAIL_BYTES)
    return part_bytes(leaf, _content(mapped, chunk, fetch, leaf.end + TAIL_BYTES))


def _contents(shown: list[MappedLeaf], fetch: Fetch) -> dict[str, bytes]:
    """The content of each body shown: ranges close together fetched at once."""
    wanted = sorted((m.leaf.start, _first_end(m), m) for m in shown)
    groups: list[tuple[int, int, list[tuple[int, int, MappedLeaf]]]] = []
    for start, end, m in wanted:
        if groups and start - groups[-1][1] <= _NEAR:
            first, last, members = groups[-1]
            groups[-1] = (first, max(last, end), [*members, (start, end, m)])
        else:
            groups.append((start, end, [(start, end, m)]))
    contents: dict[str, bytes] = {}
    for first, last, members in groups:
        got = fetch(first, last)
        for start, end, m in members:
            contents[m.leaf.part_id] = _content(m, got[start - first : end - first], fetch, end)
    return contents


def _first_end(mapped: MappedLeaf) -> int:
    """Where a body's first fetch ends: after the bytes that follow it (the tail the map
    checks) if all of it is needed, else after what should hold ``_NEEDED`` content bytes.
    """
    leaf = mapped.leaf
    whole = leaf.end + TAIL_BYTES
    if mapped.size < _NEEDED:
        return whole
    encoded = leaf.end - leaf.body_start
    estimate = leaf.body_start + _NEEDED * encoded // mapped.size + _MARGIN
    return _or_whole(mapped, estimate)


def _or_whole(mapped: MappedLeaf, end: int) -> int:
    """``end``, or the end of the body's tail if ``end`` would reach into its body's end."""
    return end if end < mapped.leaf.end else mapped.leaf.end + TAIL_BYTES


def _content(mapped: MappedLeaf, chunk: bytes, fetch: Fetch, fetched_to: int) -> bytes:
    """The leaf's content from ``chunk`` (its bytes from its start to ``fetched_to``),
    fetching more while a cut body's prefix holds fewer than ``_NEEDED`` content bytes.
    """
    leaf = mapped.leaf
    header = leaf.body_start - leaf.start
    if zlib.crc32(chunk[:header]) != mapped.header_crc:
        raise Mismatch(leaf.part_id)
    have = chunk[header:]
    whole = leaf.end + TAIL_BYTES
    while True:
        if fetched_to >= whole:
            return _whole(mapped, have)
        decoded = decode_transfer(have, leaf.encoding)
        if decoded is None:
            raise Mismatch(leaf.part_id)  # a prefix can't tell what the whole would give
        if len(decoded) >= _NEEDED:
            return decoded
        more_to = _or_whole(mapped, max(2 * fetched_to - leaf.body_start, fetched_to + _MARGIN))
        have += fetch(fetched_to, more_to)
        fetched_to = more_to


def _whole(mapped: MappedLeaf, have: bytes) -> bytes:
    """The content of a body fetched whole, with the bytes after it: as ``content.read``
    undoes it (as sent where base64 can't be undone), once its tail and size match the map.
    """
    leaf = mapped.leaf
    length = leaf.end - leaf.body_start
    data = have[:length]
    if len(data) < length or zlib.crc32(have[length : length + TAIL_BYTES]) != mapped.tail_crc:
        raise Mismatch(leaf.part_id)
    decoded = decode_transfer(data, leaf.encoding)
    if decoded is None:
        return data
    if len(decoded) != mapped.size:
        raise Mismatch(leaf.part_id)
    return decoded
