"""Message builders shared by the MIME tests (raw bytes, CRLF throughout)."""

from __future__ import annotations

import base64

MIB = 1024 * 1024


def msg(*headers: str | bytes, body: bytes = b"body\r\n") -> bytes:
    """A message from header lines (str is UTF-8 encoded) and a body, CRLF throughout."""
    lines = [h if isinstance(h, bytes) else h.encode() for h in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def b_word(text: str, charset: str = "utf-8", encoding: str | None = None) -> str:
    data = text.encode(encoding or charset)
    return f"=?{charset}?B?{base64.b64encode(data).decode()}?="


BASIC = msg("From: a@example.com", "To: b@example.com", "Subject: hi")


def multipart(*parts: bytes, kind: str = "mixed", boundary: str = "XYZ") -> bytes:
    sep = f"--{boundary}\r\n".encode()
    body = b"preamble\r\n" + b"".join(sep + p + b"\r\n" for p in parts)
    body += f"--{boundary}--\r\nepilogue\r\n".encode()
    return msg(
        "From: a@example.com",
        "Subject: files",
        f'Content-Type: multipart/{kind}; boundary="{boundary}"',
        body=body,
    )


TEXT = b"Content-Type: text/plain\r\n\r\nhello"


def part(*headers: str | bytes, body: bytes = b"data") -> bytes:
    lines = [h if isinstance(h, bytes) else h.encode() for h in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
