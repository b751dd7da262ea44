"""POP3 answers as values: pure functions from bytes, no sockets (tested with bytes).

Status lines (RFC 1939 §3), LIST and UIDL listings (§7), CAPA (RFC 2449 §5) and the
byte-stuffing of multi-line answers. Malformed input is a ``RemoteProtocolError`` whose
message caps what the server said at ``TEXT_CAP`` characters.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping

from mailport.catalogue import say
from mailport.domain.remote import RemoteProtocolError, server_text, xoauth2_reason

__all__ = [
    "TEXT_CAP",
    "UnsafeField",
    "body_end",
    "cap",
    "parse_capa",
    "parse_list",
    "parse_reply",
    "parse_uidl",
    "unstuff",
    "xoauth2_error",
    "xoauth2_response",
]

TEXT_CAP = 200
_MAX_DIGITS = 18
_UIDL_TOKEN = re.compile(rb"[\x21-\x7e]{1,512}")
_REPLY_KINDS = ("+OK", "-ERR", "+")  # "+" last: it prefixes "+OK"
_SASL_FORBIDDEN = "\x00\x01\r\n"  # XOAUTH2 separates its fields with ^A


def cap(text: str | bytes) -> str:
    """Server text fit for an error message: decoded, one line, at most ``TEXT_CAP`` chars."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return server_text(text, TEXT_CAP)


def parse_reply(line: bytes) -> tuple[str, str]:
    """A status line as ``(kind, text)``: kind is "+OK", "-ERR" or "+" (a SASL continuation)."""
    for kind in _REPLY_KINDS:
        if line.startswith(kind.encode()):
            return kind, cap(line[len(kind) :])
    raise RemoteProtocolError(say("remote.pop3_unexpected_reply", said=cap(line)))


def unstuff(data: bytes) -> bytes:
    """Undo RFC 1939 byte-stuffing: a line starting with "." loses that first ".".

    ``data`` is a multi-line body without its terminating "." line.
    """
    if data.startswith(b"."):
        data = data[1:]
    return data.replace(b"\n.", b"\n")


def body_end(buf: bytes | bytearray, start: int) -> int:
    """Offset of the terminating "." line in ``buf`` (a body from offset 0), or -1.

    ``start`` is where to search from (what was searched before cannot hold it).
    """
    if buf.startswith(b".\r\n"):
        return 0
    i = buf.find(b"\n.\r\n", start)
    return i + 1 if i >= 0 else -1


def _number(field: bytes, line: bytes, what: str) -> int:
    if not field.isdigit() or len(field) > _MAX_DIGITS:
        raise _malformed(line, what)
    return int(field)


def _malformed(line: bytes, what: str) -> RemoteProtocolError:
    return RemoteProtocolError(say("remote.pop3_malformed_line", command=what, said=cap(line)))


def _numbered(line: bytes, what: str) -> tuple[int, bytes]:
    """``(message number, second field)`` of a listing line."""
    fields = line.split()
    if len(fields) < 2:  # noqa: PLR2004
        raise _malformed(line, what)
    number = _number(fields[0], line, what)
    if number < 1:
        raise _malformed(line, what)
    return number, fields[1]


def _add(out: Mapping[int, object], number: int, line: bytes, what: str) -> None:
    if number in out:
        raise RemoteProtocolError(
            say("remote.pop3_duplicate", number=number, command=what, said=cap(line))
        )


def parse_uidl(lines: Iterable[bytes]) -> dict[int, str]:
    """A UIDL listing (``"1 QhdPYR:00WBw1Ph7x7"`` lines) as ``{number: uidl}``."""
    out: dict[int, str] = {}
    for line in lines:
        number, token = _numbered(line, "UIDL")
        if len(line.split()) != 2 or not _UIDL_TOKEN.fullmatch(token):  # noqa: PLR2004
            raise _malformed(line, "UIDL")
        _add(out, number, line, "UIDL")
        out[number] = token.decode("ascii")
    return out


def parse_list(lines: Iterable[bytes]) -> dict[int, int]:
    """A LIST scan listing (``"1 1234"`` lines) as ``{number: size in octets}``."""
    out: dict[int, int] = {}
    for line in lines:
        number, size = _numbered(line, "LIST")
        _add(out, number, line, "LIST")
        out[number] = _number(size, line, "LIST")
    return out


def parse_capa(lines: Iterable[bytes]) -> frozenset[str]:
    """A CAPA listing as the set of capability names (upper case, arguments dropped)."""
    return frozenset(line.split()[0].decode("ascii", "replace").upper() for line in lines if line)


class UnsafeField(ValueError):
    """A SASL field holds a separator; ``field`` names it ("user name", "token"), never its
    value.
    """

    def __init__(self, field: str) -> None:
        super().__init__(f"the {field} contains a control character")
        self.field = field


def xoauth2_response(user: str, token: str) -> bytes:
    r"""The SASL XOAUTH2 client response, base64 (Google's "OAuth 2.0 Mechanism" page, Microsoft
    Learn's "Authenticate an IMAP, POP or SMTP connection using OAuth"):
    ``base64("user=" + user + "\x01auth=Bearer " + token + "\x01\x01")``.

    ``UnsafeField`` (naming the field, never its value) when a field holds a separator.
    """
    for what, value in (("user name", user), ("token", token)):
        if any(c in value for c in _SASL_FORBIDDEN):
            raise UnsafeField(what)
    return base64.b64encode(f"user={user}\x01auth=Bearer {token}\x01\x01".encode())


def xoauth2_error(challenge: str) -> str:
    """What a failed XOAUTH2's "+" challenge (base64 JSON) says, as short text
    (``xoauth2_reason``); ``""`` when it is not base64.
    """
    try:
        details = base64.b64decode(challenge.strip(), validate=True)
    except binascii.Error:
        return ""
    return xoauth2_reason(details)
