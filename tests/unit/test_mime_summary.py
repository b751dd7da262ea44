"""MIME summary: size, attachments and names, and the bounds of the walk."""

import base64

import pytest

from mailport.domain.message import Address
from mailport.domain.mime import summarize
from tests.unit.mime_samples import BASIC, MIB, TEXT, b_word, msg, multipart, part


def test_size_is_the_raw_length() -> None:
    assert summarize(BASIC).size == len(BASIC)


# --------------------------------------------------------------------------- attachments


def test_plain_attachment() -> None:
    raw = multipart(
        TEXT,
        part("Content-Type: application/pdf", 'Content-Disposition: attachment; filename="a.pdf"'),
    )
    summary = summarize(raw)
    assert summary.attachment_names == ("a.pdf",)
    assert summary.has_attachments


def test_no_attachments() -> None:
    summary = summarize(multipart(TEXT, b"Content-Type: text/html\r\n\r\n<p>hi</p>"))
    assert summary.attachment_names == ()
    assert not summary.has_attachments


def test_rfc2231_filename_with_continuation_and_charset() -> None:
    raw = multipart(
        TEXT,
        part(
            "Content-Type: application/octet-stream",
            "Content-Disposition: attachment;",
            " filename*0*=UTF-8''%E6%97%A5%E6%9C%AC;",
            " filename*1*=%E8%AA%9E.txt",
        ),
    )
    assert summarize(raw).attachment_names == ("日本語.txt",)


def test_rfc2231_name_in_iso_2022_jp() -> None:
    encoded = "".join(f"%{b:02X}" for b in "資料.pdf".encode("iso2022_jp"))
    raw = multipart(TEXT, part(f"Content-Type: application/pdf; name*=iso-2022-jp'ja'{encoded}"))
    assert summarize(raw).attachment_names == ("資料.pdf",)


def test_rfc2231_form_is_preferred_over_the_plain_one() -> None:
    raw = multipart(
        part(
            "Content-Type: application/pdf",
            'Content-Disposition: attachment; filename="fallback.pdf";',
            " filename*=UTF-8''%C3%A9.pdf",
        )
    )
    assert summarize(raw).attachment_names == ("é.pdf",)


def test_rfc2047_in_a_quoted_filename() -> None:
    raw = multipart(
        TEXT,
        part(
            "Content-Type: application/pdf",
            f'Content-Disposition: attachment; filename="{b_word("見積書.pdf")}"',
        ),
    )
    assert summarize(raw).attachment_names == ("見積書.pdf",)


def test_rfc2047_in_content_type_name_in_shift_jis() -> None:
    word = f"=?Shift_JIS?B?{base64.b64encode('①請求書.xlsx'.encode('cp932')).decode()}?="
    raw = multipart(part(f'Content-Type: application/vnd.ms-excel; name="{word}"'))
    assert summarize(raw).attachment_names == ("①請求書.xlsx",)


def test_raw_utf8_filename() -> None:
    raw = multipart(part('Content-Disposition: attachment; filename="レポート.docx"'.encode()))
    assert summarize(raw).attachment_names == ("レポート.docx",)


def test_windows_path_in_filename_is_reduced_to_the_name() -> None:
    raw = multipart(part('Content-Disposition: attachment; filename="C:\\\\Users\\\\me\\\\x.doc"'))
    assert summarize(raw).attachment_names == ("x.doc",)


def test_inline_named_pdf_is_an_attachment_but_a_related_logo_is_not() -> None:
    related = multipart(
        b"Content-Type: text/html\r\n\r\n<img src=cid:logo>",
        part('Content-Type: image/png; name="logo.png"', "Content-ID: <logo>"),
        kind="related",
        boundary="REL",
    )
    related_part = related.split(b"\r\n\r\n", 1)[1]  # the body, reused as a nested part
    raw = multipart(
        b'Content-Type: multipart/related; boundary="REL"\r\n\r\n' + related_part,
        part("Content-Type: application/pdf", 'Content-Disposition: inline; filename="p.pdf"'),
    )
    summary = summarize(raw)
    assert summary.attachment_names == ("p.pdf",)


def test_attachment_without_a_name() -> None:
    summary = summarize(multipart(TEXT, part("Content-Type: application/octet-stream")))
    assert summary.has_attachments
    assert summary.attachment_names == ()


def test_forwarded_message_is_one_attachment() -> None:
    inner = multipart(part('Content-Disposition: attachment; filename="in.pdf"'), boundary="IN")
    raw = multipart(TEXT, b"Content-Type: message/rfc822\r\n\r\n" + inner)
    summary = summarize(raw)
    assert summary.has_attachments
    assert summary.attachment_names == ()  # the inner message's files are not this message's


def test_signature_of_signed_mail_is_not_an_attachment() -> None:
    raw = multipart(
        TEXT,
        part('Content-Type: application/pkcs7-signature; name="smime.p7s"'),
        kind='signed; protocol="application/pkcs7-signature"',
    )
    summary = summarize(raw)
    assert not summary.has_attachments


def test_similar_boundaries_are_not_confused() -> None:
    inner = (
        b'Content-Type: multipart/alternative; boundary="XYZ_inner"\r\n\r\n'
        b"--XYZ_inner\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
        b"--XYZ_inner\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n"
        b"--XYZ_inner--"
    )
    raw = multipart(inner, part('Content-Disposition: attachment; filename="a.txt"'))
    assert summarize(raw).attachment_names == ("a.txt",)


def test_missing_close_delimiter() -> None:
    raw = multipart(TEXT, part('Content-Disposition: attachment; filename="cut.zip"'))
    raw = raw[: raw.index(b"--XYZ--")]
    assert summarize(raw).attachment_names == ("cut.zip",)


def test_multipart_without_boundary_does_not_crash() -> None:
    raw = msg("From: a@example.com", "Content-Type: multipart/mixed", body=b"--x\r\nhi")
    assert summarize(raw).attachment_names == ()


def test_attachment_only_message() -> None:
    raw = msg(
        "From: a@example.com",
        'Content-Type: application/x-gzip; name="blah.gz"',
        "Content-Transfer-Encoding: base64",
        body=b"H4sIAAAAAAAAA+3BAQ0AAADCoPdPbQ8HFAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAP8G\r\n",
    )
    assert summarize(raw).attachment_names == ("blah.gz",)


# --------------------------------------------------------------------------- bounds
# Each of these takes well under 0.1 s. The timeout is no speed test: it fails a parser
# that went quadratic (a 100x regression) instead of letting it pass under the suite's 300 s.
BOUND = pytest.mark.timeout(10)


def nested(depth: int, leaf: bytes) -> bytes:
    body = leaf
    for level in range(depth, 0, -1):
        b = f"b{level}"
        body = (
            f'Content-Type: multipart/mixed; boundary="{b}"\r\n\r\n--{b}\r\n'.encode()
            + body
            + f"\r\n--{b}--\r\n".encode()
        )
    return b"From: a@example.com\r\nSubject: deep\r\n" + body


@BOUND
def test_deep_nesting_finishes_and_ignores_what_is_too_deep() -> None:
    leaf = part('Content-Disposition: attachment; filename="deep.bin"')
    summary = summarize(nested(200, leaf))
    assert summary.subject == "deep"
    assert not summary.has_attachments  # at level 200, below the 50-level limit
    assert summarize(nested(20, leaf)).attachment_names == ("deep.bin",)


@BOUND
def test_one_hundred_thousand_tiny_parts() -> None:
    tiny = part('Content-Disposition: attachment; filename="f"', body=b"")
    summary = summarize(multipart(*[tiny] * 100_000))
    assert 0 < len(summary.attachment_names) <= 1000


@BOUND
def test_a_one_megabyte_header_line() -> None:
    line = b"x" * MIB
    summary = summarize(msg("From: a@example.com", b"Subject: " + line, b"X-Junk: " + line))
    assert summary.subject == "x" * 1000
    assert summary.from_ == (Address("", "a@example.com"),)


@BOUND
def test_a_one_megabyte_address_header_and_encoded_words() -> None:
    words = (b_word("あ") + " ") * 60_000
    summary = summarize(
        msg(
            b"From: " + b"a" * MIB + b"@example.com",
            f"Subject: {words}",
            b"To: " + b"b@example.com, " * 70_000,
        )
    )
    assert summary.subject == "あ" * 1000
    assert len(summary.to) < 200


@BOUND
def test_a_one_megabyte_parameter_list() -> None:
    raw = multipart(part(b"Content-Type: application/pdf" + b"; a=b" * 200_000))
    assert summarize(raw).has_attachments
