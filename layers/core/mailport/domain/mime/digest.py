"""What identifies a message: its content fingerprint, and a Message-ID made from it."""

from __future__ import annotations

import hashlib

from mailport.domain.mime.sniff import content_start

__all__ = ["fingerprint", "synthesized_message_id"]

_TRAILING = frozenset(b" \t\r\n")
_CHUNK = 1 << 20


def fingerprint(raw: bytes) -> str:
    """Content fingerprint for duplicate detection (sha256 hex).

    The same message arrives with different line endings: POP and IMAP deliver CRLF, a file
    saved on a PC or a Mac is often LF, and editors add or drop trailing blank lines. So LF and
    CRLF are both counted as CRLF (a lone CR is content and is kept), trailing white space at
    the end is dropped, and so are a leading UTF-8 BOM and mbox "From " envelope line, which
    export tools add and which are not part of the message.
    """
    start, end = content_start(raw), len(raw)
    while end > start and raw[end - 1] in _TRAILING:
        end -= 1
    # Hashed in chunks, so a 49 MB message costs no whole-message copies (a Lambda's memory
    # is the limit). A CR at a chunk's end waits for the next chunk: CRLF is never split.
    digest = hashlib.sha256()
    view, carry = memoryview(raw), b""
    for pos in range(start, end, _CHUNK):
        chunk = carry + bytes(view[pos : min(pos + _CHUNK, end)])
        carry = b""
        if chunk.endswith(b"\r") and pos + _CHUNK < end:
            chunk, carry = chunk[:-1], b"\r"
        digest.update(chunk.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    digest.update(carry)
    return digest.hexdigest()


def synthesized_message_id(raw: bytes) -> str:
    """A stable stand-in for a missing Message-ID, shaped like one (``<hex>@mailport.invalid``,
    without the angle brackets, as ``MessageSummary.message_id`` is stored). ``.invalid`` is
    reserved (RFC 2606), so it can never collide with a real message's id.
    """
    return f"{fingerprint(raw)[:32]}@mailport.invalid"
