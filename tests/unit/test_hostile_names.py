"""Hostile names in mail are data: paths are cut to their last part, control characters
become spaces, and bidi embeddings, overrides and isolates are removed (docs/reliability.md,
Gap 14)."""

from __future__ import annotations

from mailport.domain.mime import summarize


def _message(*dispositions: bytes, subject: bytes = b"s") -> bytes:
    parts = b"".join(
        b"--B\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; "
        + d
        + b"\r\n\r\nx\r\n"
        for d in dispositions
    )
    return (
        b"From: a@example.com\r\nSubject: "
        + subject
        + b'\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n'
        + parts
        + b"--B--\r\n"
    )


def test_attachment_names_are_names_not_paths_or_tricks() -> None:
    raw = _message(
        b'filename="../../etc/passwd"',
        b'filename="C:\\\\Windows\\\\system.ini"',
        b"filename*=utf-8''invoice%E2%80%AEfdp.exe",
        b"filename*=utf-8''a%E2%81%A6b%E2%81%A9c.txt",
        b'filename="bell\x07\x1b[31m.txt"',
        b"filename*=utf-8''%C2%85next.txt",
    )
    assert summarize(raw).attachment_names == (
        "passwd",
        "system.ini",
        "invoicefdp.exe",
        "abc.txt",
        "bell [31m.txt",
        "next.txt",
    )


def test_subjects_lose_bidi_overrides_but_keep_right_to_left_marks() -> None:
    subject = (
        "=?utf-8?b?"
        + __import__("base64").b64encode("שלום\u200f \u202eabc".encode()).decode()
        + "?="
    )
    summary = summarize(_message(b'filename="a.txt"', subject=subject.encode()))
    assert summary.subject == "שלום\u200f abc"


def test_what_a_server_says_is_shown_as_one_plain_line() -> None:
    from mailport.domain.remote import server_text

    said = "-ERR bad\x1b[31m \u202epassword\x00\r\n  denied\x7f"
    assert server_text(said, 200) == "-ERR bad [31m password denied"
    assert server_text("x" * 50, 10) == "x" * 9 + "…"
