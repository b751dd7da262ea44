"""MIME header values through ``summarize``: subjects, charsets, addresses, dates, ids."""

import base64
import datetime as dt

import pytest

from mailport.domain.message import Address, MessageSummary
from mailport.domain.mime import summarize
from tests.unit.mime_samples import b_word, msg

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
