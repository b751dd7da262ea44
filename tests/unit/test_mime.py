import base64
import datetime as dt

import pytest

from mailport.domain.message import Address, MessageSummary
from mailport.domain.mime import (
    NotAMessage,
    check_is_message,
    fingerprint,
    summarize,
    synthesized_message_id,
)
from mailport.errors import ValidationFailed

MIB = 1024 * 1024


def msg(*headers: str | bytes, body: bytes = b"body\r\n") -> bytes:
    """A message from header lines (str is UTF-8 encoded) and a body, CRLF throughout."""
    lines = [h if isinstance(h, bytes) else h.encode() for h in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def b_word(text: str, charset: str = "utf-8", encoding: str | None = None) -> str:
    data = text.encode(encoding or charset)
    return f"=?{charset}?B?{base64.b64encode(data).decode()}?="


def reason_of(head: bytes, size: int | None = None, **kw: int) -> str:
    with pytest.raises(NotAMessage) as info:
        check_is_message(head, len(head) if size is None else size, **kw)
    assert info.value.message  # always a sentence for a person
    return info.value.reason


BASIC = msg("From: a@example.com", "To: b@example.com", "Subject: hi")


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


# --------------------------------------------------------------------------- subjects


def subject_of(value: str | bytes, *more: str | bytes) -> str:
    head = value if isinstance(value, bytes) else value.encode()
    return summarize(msg("From: a@example.com", b"Subject: " + head, *more)).subject


def test_plain_subject() -> None:
    assert subject_of("Quarterly report") == "Quarterly report"


def test_b_encoded_word() -> None:
    assert subject_of(b_word("日本語の件名")) == "日本語の件名"


def test_q_encoded_word() -> None:
    assert subject_of("=?iso-8859-1?Q?Caf=E9_cr=E8me?=") == "Café crème"


def test_encoded_words_split_across_folded_lines_are_joined() -> None:
    value = f"{b_word('日本語')}\r\n {b_word('の件名')}\r\n\t{b_word('です')}"
    assert subject_of(value) == "日本語の件名です"


def test_a_character_split_between_two_words_is_decoded_whole() -> None:
    data = "日本".encode()  # 6 bytes; cut inside the first character
    first, second = (base64.b64encode(part).decode() for part in (data[:2], data[2:]))
    assert subject_of(f"=?UTF-8?B?{first}?= =?UTF-8?B?{second}?=") == "日本"


def test_white_space_between_encoded_words_and_text_is_kept() -> None:
    assert subject_of("Re: =?utf-8?Q?a?= b =?utf-8?Q?c?= d") == "Re: a b c d"


def test_adjacent_words_in_different_charsets() -> None:
    value = f"=?iso-8859-1?Q?caf=E9?= {b_word('・カフェ')}"
    assert subject_of(value) == "café・カフェ"


def test_partially_quoted_subject() -> None:
    value = f'Re: Test: "{b_word("漢字")}" mid "{b_word("漢字")}" tail'
    assert subject_of(value) == 'Re: Test: "漢字" mid "漢字" tail'


def test_iso_2022_jp_subject_of_a_message_without_body() -> None:
    word = b_word("会議のお知らせ", "ISO-2022-JP", "iso2022_jp")
    raw = f"From: a@example.com\r\nSubject: {word}\r\n".encode()  # headers only, no body
    assert summarize(raw).subject == "会議のお知らせ"


def test_iso_2022_jp_with_nec_specials_as_outlook_sends_them() -> None:
    # ① and ㈱ are NEC row 13; Python's iso2022_jp codecs refuse them, Windows sends them.
    jis = b"\x1b$B-!-j\x1b(B"
    word = f"=?ISO-2022-JP?B?{base64.b64encode(jis).decode()}?="
    assert subject_of(word) == "①㈱"


def test_raw_iso_2022_jp_header_without_encoded_words() -> None:
    assert subject_of("お知らせ".encode("iso2022_jp")) == "お知らせ"


@pytest.mark.parametrize("label", ["shift_jis", "Shift_JIS", "x-sjis", "windows-31j", "SJIS"])
def test_shift_jis_label_decodes_as_cp932(label: str) -> None:
    word = f"=?{label}?B?{base64.b64encode('①㈱髙'.encode('cp932')).decode()}?="
    assert subject_of(word) == "①㈱髙"


def test_raw_utf8_header_rfc6532() -> None:
    assert subject_of("Säying Hello 日本語".encode()) == "Säying Hello 日本語"


def test_raw_cp932_header() -> None:
    assert subject_of("①㈱髙の件".encode("cp932")) == "①㈱髙の件"


def test_raw_8bit_header_uses_the_body_charset_as_a_hint() -> None:
    raw = msg(
        "From: a@example.com",
        b"Subject: Forma\xe7\xe3o",
        "Content-Type: text/plain; charset=iso-8859-1",
    )
    assert summarize(raw).subject == "Formação"


def test_mislabelled_us_ascii_with_utf8_bytes() -> None:
    assert subject_of("=?us-ascii?Q?caf=C3=A9?=") == "café"


def test_mislabelled_utf8_with_cp932_bytes() -> None:
    word = f"=?utf-8?B?{base64.b64encode('日本語'.encode('cp932')).decode()}?="
    assert subject_of(word) == "日本語"


def test_unknown_charset_falls_back() -> None:
    assert subject_of("=?x-no-such-charset?Q?caf=C3=A9?=") == "café"


def test_charset_label_that_is_not_a_text_codec() -> None:
    assert subject_of("=?zlib?Q?abc?= =?rot13?Q?nop?=") == "abcnop"


def test_ascii_only_charsets_still_use_their_codec() -> None:
    assert subject_of(f"=?utf-7?Q?{'日本'.encode('utf-7').decode()}?=") == "日本"


def test_bad_base64_padding() -> None:
    assert subject_of("=?NONE?B?VEVTVA=?=") == "TEST"


def test_latin1_labelled_windows_1252() -> None:
    assert subject_of("=?iso-8859-1?Q?GA.com=99_lead?=") == "GA.com™ lead"


def test_broken_encoded_word_is_kept_as_text() -> None:
    assert subject_of("=?utf-8?X?abc?= and =?utf-8?B") == "=?utf-8?X?abc?= and =?utf-8?B"


def test_control_characters_become_spaces() -> None:
    assert subject_of("=?utf-8?Q?a=0D=0Ab=00c?=") == "a b c"


def test_missing_subject_is_empty() -> None:
    assert summarize(msg("From: a@example.com")).subject == ""


def test_subject_is_capped() -> None:
    assert len(subject_of("x" * 5000)) == 1000
    assert len(subject_of(" ".join([b_word("あいうえお")] * 500))) == 1000


# --------------------------------------------------------------------------- addresses


def addresses(*headers: str | bytes) -> MessageSummary:
    return summarize(msg("Subject: s", *headers))


def test_display_name_decoded_and_domain_lowercased() -> None:
    summary = addresses(f"From: {b_word('山田 太郎')} <Taro.Yamada@Example.CO.JP>")
    assert summary.from_ == (Address("山田 太郎", "Taro.Yamada@example.co.jp"),)


def test_encoded_display_name_holding_a_comma_stays_one_mailbox() -> None:
    summary = addresses("To: =?utf-8?Q?Doe=2C_John?= <john@example.com>, b@example.com")
    assert summary.to == (Address("Doe, John", "john@example.com"), Address("", "b@example.com"))


def test_quoted_encoded_word_in_display_name() -> None:
    # Invalid per RFC 2047 §5, but what many mailers write.
    summary = addresses('From: "=?Windows-1252?B?Rm9ybWHn428=?=" <info@example.com>')
    assert summary.from_ == (Address("Formação", "info@example.com"),)


def test_raw_utf8_and_cp932_display_names() -> None:
    summary = addresses(
        "From: 山田 <yamada@example.jp>".encode(),
        "To: 佐藤 <sato@example.jp>".encode("cp932"),
    )
    assert summary.from_ == (Address("山田", "yamada@example.jp"),)
    assert summary.to == (Address("佐藤", "sato@example.jp"),)


def test_group_syntax() -> None:
    summary = addresses(
        "To: Team: a@example.com, B <b@example.com>;, c@example.com",
        "Cc: undisclosed-recipients:;",
    )
    assert [a.email for a in summary.to] == ["a@example.com", "b@example.com", "c@example.com"]
    assert summary.cc == ()


def test_repeated_address_headers_are_combined() -> None:
    summary = addresses("Cc: a@example.com", "Cc: b@example.com")
    assert [a.email for a in summary.cc] == ["a@example.com", "b@example.com"]


def test_space_separated_addresses_are_rescued() -> None:
    summary = addresses("From: tim@example.com concierge@example.com")
    assert [a.email for a in summary.from_] == ["tim@example.com", "concierge@example.com"]


def test_unquoted_name_before_a_bare_address() -> None:
    assert addresses("From: Big Bug bb@bug.example").from_ == (Address("", "bb@bug.example"),)


@pytest.mark.parametrize(
    "value",
    [
        "From: <<<>>>",
        'From: "unterminated <a@example.com>',
        "From: @@@, ;;; ,,,",
        "From: a@",
        "From: =?utf-8?B?!!!?= <a@example.com>",
        "From: (comment only)",
    ],
)
def test_malformed_addresses_do_not_crash(value: str) -> None:
    summary = addresses(value)
    assert all(a.email for a in summary.from_)


def test_long_address_list_is_capped_at_a_whole_mailbox() -> None:
    many = ", ".join(f"user{i}@example.com" for i in range(500))
    summary = addresses(f"To: {many}")
    assert 50 < len(summary.to) < 500
    assert summary.to[-1].email.endswith("@example.com")


# --------------------------------------------------------------------------- date, Message-ID


def test_date_with_zone() -> None:
    summary = addresses("Date: Fri, 21 Nov 1997 09:55:06 -0600")
    assert summary.date == dt.datetime(1997, 11, 21, 15, 55, 6, tzinfo=dt.UTC)


@pytest.mark.parametrize("value", ["Fri, 21 Nov 1997 09:55:06 -0000", "21 Nov 1997 09:55:06"])
def test_date_without_zone_is_utc(value: str) -> None:
    date = addresses(f"Date: {value}").date
    assert date == dt.datetime(1997, 11, 21, 9, 55, 6, tzinfo=dt.UTC)


@pytest.mark.parametrize("value", ["yesterday", "Thu, 99 Foo 2009 99:99:99", "", "1" * 3000])
def test_bad_date_is_none(value: str) -> None:
    assert addresses(f"Date: {value}").date is None


def test_missing_date_is_none() -> None:
    assert addresses().date is None


def test_message_id_without_brackets() -> None:
    assert addresses("Message-ID: <abc.123@example.com>").message_id == "abc.123@example.com"
    assert addresses("Message-Id:\r\n <x@y> (comment)").message_id == "x@y"


def test_missing_message_id_is_none() -> None:
    assert addresses().message_id is None
    assert addresses("Message-ID:   ").message_id is None


def test_size_is_the_raw_length() -> None:
    assert summarize(BASIC).size == len(BASIC)


# --------------------------------------------------------------------------- attachments


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


# --------------------------------------------------------------------------- fingerprints


def test_lf_and_crlf_copies_have_the_same_fingerprint() -> None:
    crlf = b"From: a@example.com\r\nSubject: hi\r\n\r\nline 1\r\nline 2\r\n"
    lf = crlf.replace(b"\r\n", b"\n")
    assert fingerprint(crlf) == fingerprint(lf)
    assert fingerprint(crlf) == fingerprint(lf + b"\n\n  \n")  # trailing white space
    assert len(fingerprint(crlf)) == 64


def test_envelope_line_and_bom_do_not_change_the_fingerprint() -> None:
    assert fingerprint(BASIC) == fingerprint(b"From - Mon Jan  1 00:00:00 2024\n" + BASIC)
    assert fingerprint(BASIC) == fingerprint(b"\xef\xbb\xbf" + BASIC)


def test_different_content_different_fingerprint() -> None:
    assert fingerprint(BASIC) != fingerprint(BASIC.replace(b"hi", b"ho"))
    assert fingerprint(b"a\rb") != fingerprint(b"a\r\nb")  # a lone CR is content


def test_synthesized_message_id_is_stable_and_shaped_like_one() -> None:
    raw = msg("From: a@example.com", "Subject: no id")
    mid = synthesized_message_id(raw)
    assert mid == synthesized_message_id(raw.replace(b"\r\n", b"\n"))
    assert mid.endswith("@mailport.invalid")
    assert "<" not in mid  # stored like MessageSummary.message_id, without brackets
    assert mid != synthesized_message_id(raw + b"more")
