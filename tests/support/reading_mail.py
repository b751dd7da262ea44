"""Messages as Japanese users receive them, for the reading tests (unit, e2e, browser): raw
bytes, CRLF throughout, each built the way the mailer that sends such mail builds it.
"""

from __future__ import annotations

import base64

JAPANESE = "お世話になっております。明日の会議は午後三時からです。よろしくお願いいたします。"
SUBJECT = "会議のご案内"
# A 1x1 transparent PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def message(content_type: str, body: bytes, *extra: str, subject: str = "Test") -> bytes:
    """A single-part message: ``content_type`` as written (None-like "" leaves it out)."""
    headers = [
        "From: Sender <sender@example.jp>",
        "To: Reader <reader@example.com>",
        f"Subject: {subject}",
        "Date: Mon, 07 Dec 2026 10:00:00 +0900",
        "MIME-Version: 1.0",
        *([f"Content-Type: {content_type}"] if content_type else []),
        *extra,
    ]
    return "\r\n".join(headers).encode() + b"\r\n\r\n" + body


def multipart(kind: str, *parts: bytes, boundary: str = "b1", subject: str = "Test") -> bytes:
    """A multipart message (or, with ``subject=""``, a nested multipart part)."""
    body = b"".join(f"--{boundary}\r\n".encode() + p + b"\r\n" for p in parts)
    body += f"--{boundary}--\r\n".encode()
    kind_line = f'multipart/{kind}; boundary="{boundary}"'
    if not subject:
        return f"Content-Type: {kind_line}\r\n\r\n".encode() + body
    return message(kind_line, body, subject=subject)


def part(content_type: str, body: bytes, *extra: str) -> bytes:
    return "\r\n".join([f"Content-Type: {content_type}", *extra]).encode() + b"\r\n\r\n" + body


def base64_part(content_type: str, data: bytes, *extra: str) -> bytes:
    encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")
    return part(content_type, encoded, "Content-Transfer-Encoding: base64", *extra)


def shift_jis_labelled_latin1() -> bytes:
    """Shift_JIS text labelled iso-8859-1 (a misconfigured Japanese mailer)."""
    return message(
        "text/plain; charset=iso-8859-1",
        JAPANESE.encode("cp932") + b"\r\n",
        "Content-Transfer-Encoding: 8bit",
        subject="=?ISO-2022-JP?B?" + base64.b64encode(SUBJECT.encode("iso2022_jp")).decode() + "?=",
    )


def html_with_remote_image() -> bytes:
    """A newsletter: text and HTML alternatives, a remote tracking image, an inline logo
    (cid:), a CSS url(), a script and an event handler, and a PDF attachment.
    """
    html = (
        "<html><head><style>p { color: navy }</style></head><body>"
        f"<p onclick=\"alert('x')\">{JAPANESE}</p>"
        '<p style="background: url(https://tracker.example/bg.png)">Hello</p>'
        '<img src="https://tracker.example/open.gif" alt="tracker">'
        '<img src="cid:logo@example.jp" alt="logo">'
        "<script>alert('x')</script>"
        '<a href="javascript:alert(1)">bad</a> <a href="https://example.jp/">site</a>'
        "</body></html>"
    ).encode()
    related = multipart(
        "related",
        part("text/html; charset=utf-8", html, "Content-Transfer-Encoding: 8bit"),
        base64_part(
            "image/png", PNG, "Content-ID: <logo@example.jp>", "Content-Disposition: inline"
        ),
        boundary="rel",
        subject="",
    )
    alternative = multipart(
        "alternative",
        part("text/plain; charset=utf-8", JAPANESE.encode() + b"\r\n"),
        related,
        boundary="alt",
        subject="",
    )
    return multipart(
        "mixed",
        alternative,
        base64_part(
            "application/pdf",
            b"%PDF-1.4 test\n",
            "Content-Disposition: attachment; filename*=UTF-8''%E8%B3%87%E6%96%99.pdf",
        ),
        boundary="mix",
        subject="Newsletter",
    )
