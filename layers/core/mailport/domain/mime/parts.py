"""The MIME tree of a raw message, walked iteratively over bounded header blocks: parts in
document order with their parsed (wanted, unfolded, cut) header fields.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import Compat32

from mailport.domain.mime.headers import header_param, to_bytes

__all__ = ["Part", "body_of", "walk", "walk_spans"]

_MAX_DEPTH = 50  # MIME nesting we follow; deeper parts are ignored
_MAX_PARTS = 1000  # parts we look at for attachment names
_MAX_RAW_VALUE = 64 * 1024  # raw characters of one header value we decode at all
_MAX_PARAM_VALUE = 4 * 1024  # ... of Content-Type / Content-Disposition (parameter parsing)
_MAX_PARAMS = 32  # ... and parameters in them (stdlib parsing is quadratic in their count)
_MAX_TOP_HEADER_BLOCK = 2 * 1024 * 1024  # the message's own header block
_MAX_PART_HEADER_BLOCK = 16 * 1024  # a body part's header block
_MAX_FIELDS = 100  # fields of one header block we parse (we read ten kinds)
_MAX_FIELD_BYTES = 2 * _MAX_RAW_VALUE  # raw bytes of one field before unfolding
_MAX_SCAN = 256 * 1024 * 1024  # bytes all multipart bodies together are searched for delimiters
_MAX_DELIMITER_CANDIDATES = 20_000  # delimiter-like lines we look at in one multipart body

# Only the fields we read reach the stdlib parser, picked out by a regex over the raw block:
# the parser is slow per line (a 400,000-line header block takes seconds), ends the header
# block at the first line that is not a field (a real message has "quite Delivered-To: x"),
# and does not know RFC 5322 §4.5's obsolete "Name  : value"; the regex does not care.
_WANTED_FIELD = re.compile(
    rb"^(from|to|cc|subject|date|message-id|content-type|content-disposition|content-id"
    rb"|content-transfer-encoding)[ \t]*:",
    re.IGNORECASE | re.MULTILINE,
)
_FIELD_END = re.compile(rb"\n(?![ \t])")  # a line break not followed by a continuation line
_FOLD = re.compile(rb"\r?\n(?=[ \t])")
_PADDING = re.compile(rb"[ \t]*")


class _RawValues(Compat32):
    """compat32, except that a header value comes back as stored (surrogate-escaped bytes, not
    an ``email.header.Header``) and cut to a bounded length before anyone parses it.
    """

    def header_fetch_parse(self, name: str, value: str) -> str:
        if name.lower() in ("content-type", "content-disposition"):
            # email.message's parameter parser is quadratic in the number of parameters.
            return ";".join(value[:_MAX_PARAM_VALUE].split(";", _MAX_PARAMS)[:_MAX_PARAMS])
        if len(value) <= _MAX_RAW_VALUE:
            return value
        # Cut at white space, so that no half encoded-word shows up as text.
        head = value[:_MAX_RAW_VALUE]
        cut = max(head.rfind(" "), head.rfind("\t"))
        return head[:cut] if cut > 0 else head


_PARSER = BytesHeaderParser(policy=_RawValues())


@dataclass(frozen=True, slots=True)
class Part:
    """A span of the raw message: one MIME part, its nesting depth and its container."""

    start: int
    end: int
    depth: int
    parent: str  # content type of the enclosing multipart; "" for the message itself


def _read_part(raw: bytes, part: Part) -> tuple[Message, int]:
    """The part's headers (parsed from a bounded header block) and where its body starts.
    A part whose header block does not end within the bound is read as having no body.
    """
    cap = _MAX_TOP_HEADER_BLOCK if part.depth == 0 else _MAX_PART_HEADER_BLOCK
    limit = min(part.end, part.start + cap)
    if raw.startswith((b"\r\n", b"\n"), part.start, part.end):  # no headers (RFC 2046 §5.1.1)
        header_end, body_start = part.start, raw.index(b"\n", part.start) + 1
    else:
        header_end, body_start = _header_end(raw, part.start, limit) or (limit, part.end)
    msg = _PARSER.parsebytes(_wanted_fields(raw[part.start : header_end]))
    if part.parent == "multipart/digest":
        msg.set_default_type("message/rfc822")  # RFC 2046 §5.1.5
    return msg, body_start


def body_of(raw: bytes, part: Part) -> bytes:
    """The part's body as sent (transfer encoding not undone): what follows its header block."""
    return raw[_read_part(raw, part)[1] : part.end]


def _header_end(raw: bytes, start: int, limit: int) -> tuple[int, int] | None:
    """Where the header block ends and the body starts: the first empty line, LF or CRLF
    (files saved on Windows mix them). ``bytes.find`` is much faster than a regex here.
    """
    ends = [
        i for i in (raw.find(b"\n\n", start, limit), raw.find(b"\n\r\n", start, limit)) if i >= 0
    ]
    if not ends:
        return None
    newline = min(ends)
    header_end = newline - 1 if newline > start and raw[newline - 1] == ord("\r") else newline
    return header_end, raw.index(b"\n", newline + 1) + 1


def _wanted_fields(block: bytes) -> bytes:
    """The fields we read from a header block, each unfolded onto one line (RFC 5322 §2.2.3:
    remove the CRLF, keep the white space) and cut to a bounded length.
    """
    lines: list[bytes] = []
    for name in itertools.islice(_WANTED_FIELD.finditer(block), _MAX_FIELDS):
        end = _FIELD_END.search(block, name.end())
        stop = min(end.start() if end else len(block), name.end() + _MAX_FIELD_BYTES)
        value = block[name.end() : stop]
        if b"\n" in value:
            value = _FOLD.sub(b"", value)
        value = value.rstrip(b"\r")
        lines.append(name.group(1) + b":" + value)
    return b"\n".join(lines)


def walk(raw: bytes, start: int) -> Iterator[tuple[Part, Message]]:
    """Parts in document order, root first; iterative (no recursion), at most _MAX_PARTS
    parts and _MAX_DEPTH levels. Embedded messages (message/rfc822) are not entered: the
    forwarded message is one attachment, its own attachments are not this message's.
    """
    for part, msg, _ in walk_spans(raw, start):
        yield part, msg


def walk_spans(raw: bytes, start: int) -> Iterator[tuple[Part, Message, int]]:
    """``walk``, with where each part's body starts (what ``body_of`` would find again)."""
    stack = [Part(start, len(raw), 0, "")]
    seen = scanned = 0
    while stack and seen < _MAX_PARTS:
        part = stack.pop()
        seen += 1
        msg, body_start = _read_part(raw, part)
        yield part, msg, body_start
        boundary = _boundary(msg) if msg.get_content_maintype() == "multipart" else b""
        # Each level searches its whole body, so deep nesting of a large body multiplies the
        # work; past the scan budget, deeper structure is ignored like past the depth limit.
        scanned += part.end - body_start
        if boundary and part.depth < _MAX_DEPTH and scanned <= _MAX_SCAN:
            budget = _MAX_PARTS - seen - len(stack)
            spans = _split_multipart(raw, body_start, part.end, boundary, budget)
            kind = msg.get_content_type()
            stack.extend(Part(s, e, part.depth + 1, kind) for s, e in reversed(spans))


def _split_multipart(
    raw: bytes, start: int, end: int, boundary: bytes, budget: int
) -> list[tuple[int, int]]:
    """Spans of the body parts between boundary delimiter lines (RFC 2046 §5.1.1). Preamble
    and epilogue are skipped; a missing close delimiter (truncated mail) ends the last part at
    the end of the body. Lines that start like a delimiter but are not one are counted, so a
    body crafted from them costs bounded work.
    """
    delimiter = b"--" + boundary
    needle = b"\n" + delimiter  # a delimiter starts a line; the body starts after a newline
    spans: list[tuple[int, int]] = []
    part_start = -1
    pos = start
    for _ in range(_MAX_DELIMITER_CANDIDATES):
        if len(spans) >= budget:
            break
        found = raw.find(needle, max(pos - 1, 0), end) + 1
        if found <= 0:
            break
        line_end = _delimiter_line_end(raw, found + len(delimiter), end)
        if line_end < 0:  # a longer boundary that starts with this one, or text
            pos = found + 1
            continue
        if part_start >= 0:
            spans.append((part_start, _before_line_break(raw, found, part_start)))
        part_start = -1 if raw.startswith(b"--", found + len(delimiter)) else line_end
        if part_start < 0:
            return spans
        pos = line_end
    if 0 <= part_start < end and len(spans) < budget:
        spans.append((part_start, end))
    return spans


def _delimiter_line_end(raw: bytes, pos: int, end: int) -> int:
    """End of a delimiter line (after its line break) whose delimiter ends at ``pos``, or -1
    when the line holds more than the delimiter, "--" and transport padding (white space).
    """
    if raw.startswith(b"--", pos):
        pos += 2
    padding = _PADDING.match(raw, pos, end)
    pos = padding.end() if padding else pos
    if pos >= end:
        return end
    if raw.startswith(b"\r\n", pos):
        return pos + 2
    return pos + 1 if raw[pos] in b"\r\n" else -1


def _before_line_break(raw: bytes, pos: int, floor: int) -> int:
    # The line break before a delimiter belongs to the delimiter (RFC 2046 §5.1.1).
    if pos > floor and raw[pos - 1] == ord("\n"):
        pos -= 1
    if pos > floor and raw[pos - 1] == ord("\r"):
        pos -= 1
    return pos


def _boundary(msg: Message) -> bytes:
    """The multipart boundary as bytes, b"" if none (RFC 2046 §5.1.1: no trailing space)."""
    value = header_param(msg, "content-type", "boundary")
    text = value[2] if isinstance(value, tuple) else value or ""
    return to_bytes(text.rstrip())
