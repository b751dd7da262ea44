"""MIME sniffing: ``check_is_message`` and what ``summarize`` refuses."""

import pytest

from mailport.domain.message import Address
from mailport.domain.mime import NotAMessage, check_is_message, summarize
from mailport.errors import ValidationFailed
from tests.unit.mime_samples import BASIC, MIB


def reason_of(head: bytes, size: int | None = None, **kw: int) -> str:
    with pytest.raises(NotAMessage) as info:
        check_is_message(head, len(head) if size is None else size, **kw)
    assert info.value.message  # always a sentence for a person
    return info.value.reason


# --------------------------------------------------------------------------- check_is_message


def test_a_plain_message_passes() -> None:
    check_is_message(BASIC, len(BASIC))


def test_not_a_message_is_a_validation_error_with_a_reason() -> None:
    with pytest.raises(ValidationFailed) as info:
        check_is_message(b"", 0)
    assert isinstance(info.value, NotAMessage)
    assert info.value.reason == "empty"


@pytest.mark.parametrize("head", [b"", b"\r\n\r\n  \t\n"])
def test_empty(head: bytes) -> None:
    assert reason_of(head) == "empty"


@pytest.mark.parametrize(
    ("head", "what"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG image"),
        (b"PK\x03\x04\x14\x00\x06\x00", "ZIP archive"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF document"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 32, "Outlook .msg"),
        (b"\x1f\x8b\x08\x00", "gzip"),
    ],
)
def test_binary_files_say_what_they_look_like(head: bytes, what: str) -> None:
    with pytest.raises(NotAMessage) as info:
        check_is_message(head, 10_000)
    assert info.value.reason == "binary"
    assert what in info.value.message


def test_nul_bytes_in_the_header_block_are_binary() -> None:
    assert reason_of(b"From: a@example.com\r\nSubject: x\x00y\r\n\r\nbody") == "binary"


def test_nul_bytes_in_the_body_are_fine() -> None:
    check_is_message(BASIC + b"\x00\x01", len(BASIC) + 2)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_text(codec: str) -> None:
    head = "From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n".encode(codec)
    with pytest.raises(NotAMessage) as info:
        check_is_message(head, len(head))
    assert info.value.reason == "utf16"
    assert ".eml" in info.value.message


MBOX = (
    b"From alice@example.com Mon Jan  1 00:00:00 2024\n"
    b"From: alice@example.com\nSubject: one\n\nfirst\n\n"
    b"From - Tue Jan  2 00:00:00 2024\n"
    b"From: bob@example.com\nSubject: two\n\nsecond\n\n"
    b"From bob@example.com\n"
    b"Subject: three\n\nthird\n"
)


def test_mbox_is_refused_with_the_message_count() -> None:
    with pytest.raises(NotAMessage) as info:
        check_is_message(MBOX, len(MBOX))
    assert info.value.reason == "mbox"
    assert "3 messages" in info.value.message
    assert ".eml" in info.value.message


def test_mbox_seen_only_in_part_says_at_least() -> None:
    with pytest.raises(NotAMessage) as info:
        check_is_message(MBOX, 10 * MIB)
    assert "at least 3 messages" in info.value.message


def test_mbox_with_a_utf8_bom() -> None:
    assert reason_of(b"\xef\xbb\xbf" + MBOX) == "mbox"


def test_one_message_with_an_envelope_line_is_accepted() -> None:
    raw = b"From alice@example.com Mon Jan  1 00:00:00 2024\r\n" + BASIC
    check_is_message(raw, len(raw))
    assert summarize(raw).subject == "hi"


def test_unescaped_from_lines_in_the_body_are_not_separators() -> None:
    # mboxo does not escape body lines starting "From "; only envelope-shaped lines count.
    raw = (
        b"From - \nFrom: a@example.com\nSubject: Bond\n\n"
        b"My favourite:\n\nFrom Russia with love\nYear: 1963\n\nFrom here on, nothing.\n"
    )
    assert summarize(raw).subject == "Bond"


def test_obsolete_space_before_colon_is_a_header_not_an_envelope() -> None:
    raw = b"From  : John Doe <jdoe@machine.example>\r\nSubject  : Hello\r\n\r\nHi\r\n"
    summary = summarize(raw)
    assert summary.from_ == (Address("John Doe", "jdoe@machine.example"),)
    assert summary.subject == "Hello"


@pytest.mark.parametrize(
    "head",
    [
        b"Hello,\r\nthis is just a letter.\r\n",
        b"<!DOCTYPE html><html><body>hi</body></html>",
        b"\r\nFrom: a@example.com\r\n",  # a blank line first: no header block
        b"From nobody\r\n\r\nbody only\r\n",  # an envelope line and no headers
    ],
)
def test_no_headers(head: bytes) -> None:
    assert reason_of(head) == "no_headers"


def test_header_lines_without_any_mail_field_are_not_a_message() -> None:
    # A saved web page (.mht) has MIME headers, but nothing that makes it mail.
    head = b"MIME-Version: 1.0\r\nContent-Type: text/html\r\n\r\n<html></html>"
    assert reason_of(head) == "no_headers"


def test_too_large_by_default_at_50_mib() -> None:
    assert reason_of(BASIC, size=50 * MIB) == "too_large"
    check_is_message(BASIC, 50 * MIB - 1)


def test_too_large_with_a_custom_limit() -> None:
    assert reason_of(BASIC, size=1000, max_bytes=1000) == "too_large"


def test_a_utf8_bom_is_tolerated() -> None:
    raw = b"\xef\xbb\xbf" + BASIC
    check_is_message(raw, len(raw))
    assert summarize(raw).from_ == (Address("", "a@example.com"),)


def test_summarize_refuses_what_check_refuses() -> None:
    with pytest.raises(NotAMessage) as info:
        summarize(b"\x89PNG\r\n\x1a\nrest")
    assert info.value.reason == "binary"
