"""IMAP answers as values: pure functions, no sockets (tested with bytes).

LIST lines to folders (RFC 3501 §7.2.2, special-use RFC 6154, modified UTF-7 or UTF-8
names), FETCH responses to sizes and messages, EXAMINE's UIDVALIDITY/UIDNEXT/EXISTS, server
text fit for an error message and what in it says "try later"; the other way, the UID sets,
FETCH chunks and quoted mailbox names that commands are built from. Tokenising is
imapclient's ``response_parser``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import re
from collections.abc import Container, Mapping, Sequence
from typing import Any

from imapclient.imap_utf7 import decode as decode_utf7  # type: ignore[import-untyped]
from imapclient.response_parser import (  # type: ignore[import-untyped]
    parse_fetch_response,
    parse_response,
)

from mailport.domain.remote import ImapFolder, ImapMessage, server_text

__all__ = [
    "MAX_TEXT",
    "SPECIAL_USE",
    "backoff_s",
    "by_uid",
    "decode_name",
    "examined",
    "folder_from_list",
    "is_transient",
    "parse_list",
    "parse_message",
    "plan_chunks",
    "quote_name",
    "scrub",
    "search_uids",
    "sizes_of",
    "special_use",
    "text",
    "throttle_s",
    "uid_set",
]

MAX_TEXT = 200  # server text kept in error messages

SPECIAL_USE = frozenset(
    {"\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Important", "\\Junk", "\\Sent", "\\Trash"}
)
_SPECIAL_BY_UPPER = {flag.upper(): flag for flag in SPECIAL_USE}
_UNSELECTABLE = frozenset({"\\NOSELECT", "\\NONEXISTENT"})
_TRANSIENT_MARKERS = (
    "[UNAVAILABLE]",
    "[INUSE]",
    "[LIMIT]",
    "TOO MANY",
    "MAXIMUM NUMBER OF CONNECTIONS",
    "TRY AGAIN",
    "THROTTLED",  # Microsoft 365
    "BANDWIDTH LIMITS",  # Gmail: "Account exceeded command or bandwidth limits"
)
_BACKOFF = re.compile(r"backoff time:\s*(\d+)\s*milliseconds", re.IGNORECASE)
# Answers that mean "slow down" without saying for how long, and how long we then wait.
# Gmail: "Account exceeded command or bandwidth limits" (its daily download, reset over
# hours) and "[ALERT] Too many simultaneous connections" (15 an account); RFC 5530's
# [UNAVAILABLE] and [INUSE]; Microsoft 365's "Request is throttled" without a hint. Not
# RFC 5530's [LIMIT]: an implementation limit, which no wait lifts (retried, then failed).
_THROTTLES = (
    ("BANDWIDTH LIMITS", 1800.0),
    ("SIMULTANEOUS CONNECTIONS", 60.0),
    ("TOO MANY CONNECTIONS", 60.0),
    ("MAXIMUM NUMBER OF CONNECTIONS", 60.0),
    ("[UNAVAILABLE]", 60.0),
    ("[INUSE]", 60.0),
    ("THROTTLED", 60.0),
)


# -- commands -------------------------------------------------------------------------


def uid_set(uids: Sequence[int]) -> str:
    """A compact IMAP UID set: ``[1, 2, 3, 7, 9, 10]`` → ``"1:3,7,9:10"``."""
    ordered = sorted(set(uids))
    if not ordered:
        raise ValueError("empty UID set")
    parts: list[str] = []
    start = prev = ordered[0]
    for uid in [*ordered[1:], None]:
        if uid is not None and uid == prev + 1:
            prev = uid
            continue
        parts.append(str(start) if start == prev else f"{start}:{prev}")
        if uid is not None:
            start = prev = uid
    return ",".join(parts)


def plan_chunks(
    sized: Sequence[tuple[int, int]], max_messages: int, max_bytes: int
) -> list[list[tuple[int, int]]]:
    """Group ``(uid, size)`` pairs, in order, into FETCH commands of at most
    ``max_messages`` messages and (unless one message alone is bigger) ``max_bytes``.
    """
    chunks: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    total = 0
    for uid, size in sized:
        if current and (len(current) >= max_messages or total + size > max_bytes):
            chunks.append(current)
            current, total = [], 0
        current.append((uid, size))
        total += size
    if current:
        chunks.append(current)
    return chunks


# -- folders --------------------------------------------------------------------------


def text(value: object) -> str:
    """A parsed token as text (bytes decoded as UTF-8, anything else by ``str``)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def special_use(flags: Sequence[str]) -> frozenset[str]:
    """The RFC 6154 special-use attributes among LIST flags, in canonical spelling."""
    return frozenset(_SPECIAL_BY_UPPER[f.upper()] for f in flags if f.upper() in _SPECIAL_BY_UPPER)


def decode_name(raw: bytes) -> str:
    """A mailbox name: modified UTF-7 (RFC 3501 5.1.3), which is 7-bit; 8-bit bytes that are
    valid UTF-8 as UTF-8 (RFC 6855 UTF8=ACCEPT, and servers that send such names without it);
    anything else as imapclient reads it, or as UTF-8 with replacements if that fails.
    """
    if not raw.isascii():
        # imapclient would read these bytes one character each (Latin-1): "CafÃ©s".
        with contextlib.suppress(UnicodeDecodeError):
            return raw.decode("utf-8")
    try:
        return str(decode_utf7(raw))
    except (UnicodeDecodeError, ValueError):
        return raw.decode("utf-8", errors="replace")


def quote_name(raw: bytes) -> bytes:
    """A mailbox argument for a command: ``raw`` as the server listed it, byte for byte, in
    a quoted string (8-bit bytes included, as RFC 6855 allows and 8-bit servers take).
    ``ValueError`` for CR, LF or NUL, which no quoted string can carry.
    """
    if any(c in raw for c in b"\r\n\0"):
        raise ValueError(f"mailbox name {raw!r} cannot be sent back in a command")
    return b'"' + raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def folder_from_list(flags: Sequence[Any], delimiter: Any, name: Any) -> ImapFolder:
    """One ``ImapFolder`` from a parsed LIST line (flags, delimiter, raw name)."""
    raw = name if isinstance(name, bytes) else str(name).encode("utf-8")
    texts = [text(f) for f in flags]
    return ImapFolder(
        name=decode_name(raw),
        raw_name=raw,
        delimiter=None if delimiter is None else text(delimiter),
        special_use=special_use(texts),
        selectable=not any(f.upper() in _UNSELECTABLE for f in texts),
    )


def parse_list(data: Sequence[Any]) -> list[ImapFolder]:
    """The folders of LIST's untagged data as imaplib collects it: one ``bytes`` per line,
    or ``(line, literal)`` for a name sent as a literal; empty entries are skipped.
    """
    lines = [d for d in data if d not in (b"", None)]
    parsed = parse_response(lines) if lines else []
    return [
        folder_from_list(parsed[i], parsed[i + 1], parsed[i + 2])
        for i in range(0, len(parsed) - 2, 3)
    ]


def examined(folder: ImapFolder, selected: Mapping[bytes, Any], uidnext: Any) -> ImapFolder:
    """``folder`` with what EXAMINE said (imapclient's ``select_folder`` answer); ``uidnext``
    from it or, for old servers that leave it out, from STATUS.
    """
    return dataclasses.replace(
        folder,
        uidvalidity=int(selected.get(b"UIDVALIDITY", 0)),
        uidnext=int(uidnext),
        messages=int(selected.get(b"EXISTS", 0)),
    )


# -- messages -------------------------------------------------------------------------


def by_uid(data: Sequence[Any], wanted: Container[int]) -> dict[int, dict[bytes, Any]]:
    """FETCH responses keyed by UID, only those asked for (unsolicited ones dropped).
    Keyed by sequence number first so that an unsolicited FETCH without UID merges into
    the same message's entry instead of landing on a UID equal to its number.
    """
    out: dict[int, dict[bytes, Any]] = {}
    for item in parse_fetch_response(list(data), False, False).values():
        uid = item.get(b"UID")
        if isinstance(uid, int) and uid in wanted:
            out[uid] = item
    return out


def search_uids(data: Sequence[Any]) -> list[int]:
    """The UIDs of a UID SEARCH answer (``[b"1 7 10000000"]``; ``[None]`` or ``[b""]`` when
    none), ascending and each once; anything not a number is ignored.
    """
    found: set[int] = set()
    for line in data:
        if isinstance(line, bytes | bytearray):
            found.update(int(word) for word in bytes(line).split() if word.isdigit())
    return sorted(found)


def sizes_of(data: Sequence[Any], wanted: Container[int]) -> dict[int, int]:
    """RFC822.SIZE by UID from a FETCH answer (messages without one left out)."""
    return {
        uid: int(item[b"RFC822.SIZE"])
        for uid, item in by_uid(data, wanted).items()
        if b"RFC822.SIZE" in item
    }


def headers_of(data: Sequence[Any], wanted: Container[int]) -> dict[int, bytes]:
    """The header lines (``BODY[HEADER.FIELDS (...)]``) by UID from a FETCH answer; a
    message whose answer has none is left out.
    """
    out: dict[int, bytes] = {}
    for uid, item in by_uid(data, wanted).items():
        for key, value in item.items():
            if key.startswith(b"BODY[HEADER") and isinstance(value, bytes):
                out[uid] = value
    return out


def parse_message(uid: int, item: Mapping[bytes, Any]) -> ImapMessage:
    """One message from its parsed FETCH item; ``ValueError`` without a body."""
    raw = item.get(b"BODY[]")
    if not isinstance(raw, bytes):
        raise ValueError(f"no message body for UID {uid}")
    when = item.get(b"INTERNALDATE")
    return ImapMessage(
        uid=uid,
        flags=frozenset(text(v) for v in item.get(b"FLAGS", ())),
        internal_date=when if isinstance(when, dt.datetime) else None,
        size=int(item.get(b"RFC822.SIZE", len(raw))),
        raw=raw,
    )


# -- server text ----------------------------------------------------------------------


def scrub(said: str, secrets: Sequence[str]) -> str:
    """Server text safe for an error message: no secrets, one line, at most MAX_TEXT chars."""
    for secret in secrets:
        if secret:
            said = said.replace(secret, "***")
    return server_text(said, MAX_TEXT)


def is_transient(said: str) -> bool:
    """Whether the server's words mean "busy, try later" (codes and common phrasings)."""
    upper = said.upper()
    return any(marker in upper for marker in _TRANSIENT_MARKERS)


# RFC 5530's code, and the words of servers that predate it (Dovecot: "Mailbox doesn't
# exist", Cyrus: "Mailbox does not exist", Gmail: "[NONEXISTENT] Unknown Mailbox").
_GONE_MARKERS = ("[NONEXISTENT]", "DOESN'T EXIST", "DOES NOT EXIST", "UNKNOWN MAILBOX")


def is_gone(said: str) -> bool:
    """Whether a refused SELECT/EXAMINE means "no such folder"."""
    upper = said.upper()
    return any(marker in upper for marker in _GONE_MARKERS)


def backoff_s(said: str) -> float | None:
    """The wait a server suggests ("Suggested Backoff Time: N milliseconds"), in seconds."""
    hint = _BACKOFF.search(said)
    return int(hint.group(1)) / 1000 if hint else None


def throttle_s(said: str) -> float | None:
    """How long to pause when the server's words ask us to slow down: the time it names,
    else the usual wait for that answer; None when they don't (a plain failure to retry).
    """
    named = backoff_s(said)
    if named is not None:
        return named
    upper = said.upper()
    return next((wait for marker, wait in _THROTTLES if marker in upper), None)
