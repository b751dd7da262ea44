"""Reading a message as a Japanese user receives it (mailport.domain.reading): charsets as
labelled, mislabelled and unlabelled, HTML made safe, parts by MIME path, bounded answers.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from infra.api_definition import load_app
from mailport.domain.mime import NotAMessage, summarize
from mailport.domain.reading import BODY_LIMIT, CHOICES, part, read
from mailport.domain.reading.html import sanitise
from tests.support.reading_mail import (
    JAPANESE,
    PNG,
    SUBJECT,
    base64_part,
    html_with_remote_image,
    message,
    multipart,
    shift_jis_labelled_latin1,
)
from tests.unit.test_mime_corpus import CORPUS, FILES


def url(part_id: str) -> str:
    return f"/v1/messages/m1/parts/{part_id}"


def text_of(raw: bytes, **options: object) -> tuple[str | None, str, bool, str | None]:
    reading = read(raw, url, **options)  # type: ignore[arg-type]
    assert reading.charset is not None
    used = reading.charset
    return reading.text, used.used, used.detected, used.label


# ------------------------------------------------------------------ charsets
def test_shift_jis_labelled_latin1_is_read_as_japanese() -> None:
    reading = read(shift_jis_labelled_latin1(), url)
    assert reading.text is not None and reading.text.strip() == JAPANESE
    assert reading.charset is not None
    assert (reading.charset.used, reading.charset.detected) == ("shift_jis", True)
    assert reading.charset.label == "iso-8859-1"
    assert reading.summary is not None and reading.summary.subject == SUBJECT


def test_shift_jis_labelled_us_ascii_and_cp932_extensions() -> None:
    text = "①㈱髙橋様 " + JAPANESE
    raw = message("text/plain; charset=us-ascii", text.encode("cp932"))
    assert text_of(raw) == (text, "shift_jis", True, "us-ascii")


def test_iso_2022_jp_without_a_label() -> None:
    raw = message("", JAPANESE.encode("iso2022_jp"))
    assert text_of(raw) == (JAPANESE, "iso-2022-jp", True, None)


def test_euc_jp_unlabelled_and_labelled() -> None:
    data = JAPANESE.encode("euc_jp")
    assert text_of(message("text/plain", data)) == (JAPANESE, "euc-jp", True, None)
    assert text_of(message("text/plain; charset=EUC-JP", data)) == (
        JAPANESE,
        "euc-jp",
        False,
        "euc-jp",
    )


def test_utf8_labelled_wrong() -> None:
    raw = message("text/plain; charset=iso-8859-1", JAPANESE.encode())
    assert text_of(raw) == (JAPANESE, "utf-8", True, "iso-8859-1")
    raw = message("text/plain; charset=shift_jis", "日本語 ü".encode())
    assert text_of(raw)[:2] == ("日本語 ü", "utf-8")


def test_a_correct_label_is_kept() -> None:
    assert text_of(message("text/plain; charset=Shift_JIS", JAPANESE.encode("cp932"))) == (
        JAPANESE,
        "shift_jis",
        False,
        "shift-jis",
    )
    western = "Café crème, naïve — déjà vu"
    raw = message("text/plain; charset=windows-1252", western.encode("cp1252"))
    assert text_of(raw) == (western, "windows-1252", False, "windows-1252")
    raw = message("text/plain; charset=iso-8859-1", "Grüße aus Köln".encode("latin-1"))
    assert text_of(raw)[:3] == ("Grüße aus Köln", "iso-8859-1", False)


def test_an_override_is_used_as_chosen() -> None:
    raw = shift_jis_labelled_latin1()
    text, used, detected, label = text_of(raw, charset="iso-8859-1")
    assert (used, detected, label) == ("iso-8859-1", False, "iso-8859-1")
    assert text is not None and JAPANESE not in text
    assert text == JAPANESE.encode("cp932").decode("cp1252", "replace") + "\r\n"
    assert text_of(raw, charset="shift_jis")[:2] == (JAPANESE + "\r\n", "shift_jis")
    assert read(raw, url).charset.choices == tuple(CHOICES)  # type: ignore[union-attr]


def test_an_html_body_without_a_label_follows_its_meta_charset() -> None:
    html = f'<html><head><meta charset="shift_jis"></head><body><p>{JAPANESE}</p>'
    reading = read(message("text/html", html.encode("cp932")), url)
    assert reading.html is not None and JAPANESE in reading.html
    assert reading.charset is not None
    assert (reading.charset.used, reading.charset.detected) == ("shift_jis", False)


def test_unlabelled_western_text_is_read_as_windows_1252() -> None:
    western = "Grüße, café — naïve"
    assert text_of(message("text/plain", western.encode("cp1252"))) == (
        western,
        "windows-1252",
        True,
        None,
    )


def test_the_raw_bytes_are_not_changed() -> None:
    raw = shift_jis_labelled_latin1()
    before = bytes(raw)
    read(raw, url, charset="utf-8")
    assert raw == before


# ------------------------------------------------------------------ HTML
def test_html_is_sanitised_and_remote_content_blocked() -> None:
    reading = read(html_with_remote_image(), url)
    html = reading.html
    assert html is not None
    for hostile in ("<script", "onclick", "javascript:", "tracker.example"):
        assert hostile not in html
    assert JAPANESE in html
    assert reading.remote_blocked == 2  # the <img> and the CSS url()
    assert 'href="https://example.jp/" target="_blank" rel="noopener noreferrer"' in html
    assert f'src="{url("1.2.2")}"' in html  # cid:logo@example.jp


def test_remote_content_stays_when_allowed() -> None:
    reading = read(html_with_remote_image(), url, remote=True)
    assert reading.html is not None
    assert 'src="https://tracker.example/open.gif"' in reading.html
    assert "url('https://tracker.example/bg.png')" in reading.html
    assert reading.remote_blocked == 0
    assert "<script" not in reading.html


@pytest.mark.parametrize(
    ("html", "gone"),
    [
        ('<div style="width: expression(alert(1))">x</div>', "expression("),
        # A CSS escape would spell "url(" unseen: escapes are removed (u72 l( is no function).
        ('<div style="background: u\\72 l(https://t.example/x)">x</div>', "\\"),
        ("<style>@import url(https://t.example/s.css);</style>", "t.example"),
        ('<form action="https://t.example/"><input name="p"></form>', "<input"),
        ('<iframe src="https://t.example/"></iframe>', "t.example"),
        ('<img src="x" onerror="alert(1)">', "onerror"),
        ('<a href="data:text/html,<script>alert(1)</script>">x</a>', "data:"),
        ('<img src="/v1/me">', "/v1/me"),  # relative: it would load from the console's origin
        ('<p title="<style>">a</p><p title="url(&quot;">b</p><style>x</style>', "<style>a"),
    ],
)
def test_hostile_html_is_removed(html: str, gone: str) -> None:
    clean = sanitise(html, lambda cid: None, remote=False).html
    assert gone not in clean


def test_an_unknown_cid_is_dropped_and_a_known_one_rewritten() -> None:
    clean = sanitise(
        '<img src="cid:a%40b"><img src="cid:nope">',
        {"a@b": "/parts/2"}.get,
        remote=False,
    ).html
    assert clean == '<img src="/parts/2"><img>'


# ------------------------------------------------------------------ parts
def test_nested_multipart_parts_are_listed_by_mime_path() -> None:
    reading = read(html_with_remote_image(), url)
    assert reading.text is not None and reading.text.strip() == JAPANESE
    listed = [
        (p.part_id, p.filename, p.content_type, p.size, p.content_id, p.disposition)
        for p in reading.parts
    ]
    assert listed == [
        ("1.2.2", "", "image/png", len(PNG), "logo@example.jp", "inline"),
        ("2", "資料.pdf", "application/pdf", len(b"%PDF-1.4 test\n"), None, "attachment"),
    ]
    pdf = part(html_with_remote_image(), "2")
    assert pdf is not None
    assert (pdf.content_type, pdf.filename, pdf.data) == (
        "application/pdf",
        "資料.pdf",
        b"%PDF-1.4 test\n",
    )
    logo = part(html_with_remote_image(), "1.2.2")
    assert logo is not None and (logo.data, logo.filename) == (PNG, "part-1.2.2.png")
    assert part(html_with_remote_image(), "3") is None
    assert part(html_with_remote_image(), "1") is None  # a multipart is not a part to fetch


def test_a_single_part_message_is_part_one() -> None:
    raw = message(
        "application/pdf; name=a.pdf",
        base64.encodebytes(b"%PDF"),
        "Content-Transfer-Encoding: base64",
    )
    reading = read(raw, url)
    assert (reading.text, reading.html, reading.charset) == (None, None, None)
    assert [(p.part_id, p.filename) for p in reading.parts] == [("1", "a.pdf")]
    found = part(raw, "1")
    assert found is not None and found.data == b"%PDF"


def test_a_forwarded_message_is_a_part_not_a_body() -> None:
    inner = message("text/plain; charset=utf-8", "転送された本文".encode())
    raw = multipart(
        "mixed",
        base64_part("text/plain; charset=utf-8", "本文".encode()),
        b"Content-Type: message/rfc822\r\n\r\n" + inner,
    )
    reading = read(raw, url)
    assert reading.text == "本文"
    assert [(p.part_id, p.content_type) for p in reading.parts] == [("2", "message/rfc822")]
    forwarded = part(raw, "2")
    assert forwarded is not None and forwarded.filename == "part-2.eml"
    assert forwarded.data.startswith(b"From: ")


# ------------------------------------------------------------------ bounds
def test_a_long_body_is_truncated_below_the_limit() -> None:
    long_text = ("日本語のテキスト。" * 100_000).encode()  # 2.7 MB of UTF-8
    raw = multipart(
        "alternative",
        base64_part("text/plain; charset=utf-8", long_text),
        base64_part("text/html; charset=utf-8", b"<p>" + long_text + b"</p>"),
    )
    reading = read(raw, url)
    assert reading.truncated
    assert reading.text is not None and reading.html is not None
    assert len(reading.text.encode()) <= BODY_LIMIT
    assert len(reading.html.encode()) <= BODY_LIMIT
    assert reading.text.startswith("日本語のテキスト。")
    assert reading.html.startswith("<p>日本語")
    assert not read(shift_jis_labelled_latin1(), url).truncated


def test_bytes_that_are_not_mail_read_without_headers() -> None:
    reading = read(b"\x00\x01\x02 not mail", url)
    assert reading.summary is None


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no corpus at {CORPUS}")
@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(CORPUS)) for p in FILES])
def test_every_corpus_message_reads(path: Path) -> None:
    raw = path.read_bytes()
    try:
        summarize(raw)
    except NotAMessage:
        return
    reading = read(raw, url)
    for body in (reading.text, reading.html):
        assert body is None or len(body.encode()) <= BODY_LIMIT
    if reading.html is not None:
        assert "<script" not in reading.html.lower()
    for found in reading.parts:
        fetched = part(raw, found.part_id)
        assert fetched is not None and len(fetched.data) == found.size


def test_a_49_mb_message_lists_its_parts_and_answers_little() -> None:
    big = bytes(range(256)) * (45 * 1024 * 4) + b"xy"  # 45 MiB + 2: not a multiple of 3
    raw = multipart(
        "mixed",
        base64_part("text/plain; charset=shift_jis", JAPANESE.encode("cp932")),
        base64_part("application/zip", big, "Content-Disposition: attachment; filename=a.zip"),
    )
    assert len(raw) > 49_000_000
    reading = read(raw, url)
    assert reading.text == JAPANESE
    assert [(p.part_id, p.size) for p in reading.parts] == [("2", len(big))]
    found = part(raw, "2")
    assert found is not None and found.data == big


def test_the_download_names_the_file_in_ascii_and_rfc_5987() -> None:
    load_app()  # puts functions/api on the path
    from api_routes_mailbox import attachment

    assert attachment("資料 1.pdf") == (
        "attachment; filename=\"__ 1.pdf\"; filename*=UTF-8''%E8%B3%87%E6%96%99%201.pdf"
    )
    assert attachment('a"b\\c\r\n.txt') == (
        "attachment; filename=\"a_b_c__.txt\"; filename*=UTF-8''a%22b%5Cc%0D%0A.txt"
    )
