"""RFC 2231 parameter floods (docs/reliability.md): continuations, charsets and %-escapes in
numbers no mailer sends, in one part and across many. Each yields a bounded name or none;
none raises. How fast is for benchmarks, not tests: the timeout below only stops a parser
that would go quadratic from hanging CI.
"""

from __future__ import annotations

import pytest

from mailport.domain.mime import summarize

pytestmark = pytest.mark.timeout(120)


def message(*parts: bytes) -> bytes:
    body = b"".join(b"--B\r\n" + p + b"\r\n" for p in parts) + b"--B--\r\n"
    return (
        b"From: a@example.com\r\nSubject: flood\r\n"
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n' + body
    )


def part(disposition: bytes) -> bytes:
    return b"Content-Type: application/octet-stream\r\n" + disposition + b"\r\n\r\ndata"


def names_of(raw: bytes) -> tuple[str, ...]:
    return summarize(raw).attachment_names


def test_a_hundred_thousand_continuations_of_one_name() -> None:
    sections = b"".join(b"; filename*%d*=%%41%%42" % n for n in range(100_000))
    names = names_of(message(part(b"Content-Disposition: attachment" + sections)))
    assert all(len(n) <= 2000 for n in names)


def test_continuations_out_of_order_with_huge_section_numbers() -> None:
    sections = b"".join(b"; filename*%d*=x" % n for n in (10**40, 3, 1, 10**6, 2, 0, 10**4000))
    names = names_of(message(part(b"Content-Disposition: attachment" + sections)))
    assert all(len(n) <= 2000 for n in names)


def test_a_mix_of_plain_and_extended_forms_and_bad_charsets() -> None:
    disposition = (
        b"Content-Disposition: attachment; filename*=no-such-charset''%FF%FE%00"
        b"; filename*0=a; filename*1*=utf-8''%E3%81; filename=plain.txt"
        + b"; filename*2*=%ZZ"
        * 5_000
    )
    names = names_of(message(part(disposition)))
    assert all(len(n) <= 2000 for n in names)
    assert all("\x00" not in n for n in names)


def test_a_megabyte_of_percent_escapes_in_one_value() -> None:
    value = b"%E6%97%A5" * 120_000  # about 1 MB of escapes for 日 repeated
    raw = message(part(b"Content-Disposition: attachment; filename*=utf-8''" + value))
    names = names_of(raw)
    assert all(len(n) <= 2000 for n in names)


def test_a_thousand_parts_each_with_a_flooded_name() -> None:
    flooded = part(
        b"Content-Disposition: attachment"
        + b"".join(b"; filename*%d*=%%41" % n for n in range(500))
    )
    names = names_of(message(*[flooded] * 1_000))
    assert len(names) <= 1000 and all(len(n) <= 2000 for n in names)
