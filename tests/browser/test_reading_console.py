"""Reading mail in the console as a Japanese user receives it, in Japanese and English: a
Shift_JIS message labelled iso-8859-1 reads as Japanese (and the encoding can be switched),
an HTML newsletter shows sanitised in its sandboxed frame with the remote images blocked
until asked for (none is even requested before), its inline logo shows, and its attachment
downloads with its Japanese name. Screenshots in tests/artifacts/browser/.
"""

from __future__ import annotations

import base64
import uuid

import pytest
from playwright.sync_api import Browser, Page, expect

from mailport_local.stack import LocalStack
from tests.browser.conftest import new_page, screenshot, sign_in_as
from tests.e2e.test_upload import start, upload_all, wait_done
from tests.support.api import login
from tests.support.reading_mail import (
    JAPANESE,
    PNG,
    SUBJECT,
    html_with_remote_image,
    shift_jis_labelled_latin1,
)

pytestmark = pytest.mark.stack

PNG_DATA = "data:image/png;base64," + base64.b64encode(PNG).decode()

WORDS = {
    "en": {
        "encoding": "Encoding",
        "auto": "Automatic (Shift_JIS)",
        "detected": "The message says iso-8859-1",
        "blocked": "Remote images were blocked (2)",
        "show": "Show",
        "attachment": "Download 資料.pdf",
        "as_text": "Show as plain text",
        "as_html": "Show as HTML",
    },
    "ja": {
        "encoding": "文字コード",
        "auto": "自動（Shift_JIS）",
        "detected": "メールには iso-8859-1 と指定されていますが",
        "blocked": "外部の画像（2 件）をブロックしました",
        "show": "表示する",
        "attachment": "資料.pdf をダウンロード",
        "as_text": "テキストで表示",
        "as_html": "HTML で表示",
    },
}


def _mail_for(stack: LocalStack, email: str) -> None:
    h = login(stack, email, "acme")
    files = {"sjis.eml": shift_jis_labelled_latin1(), "news.eml": html_with_remote_image()}
    batch = start(stack, h, files)
    upload_all(batch, files)
    wait_done(stack, h, batch["id"])


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_reading_japanese_mail(
    browser: Browser, console: str, local_stack: LocalStack, lang: str
) -> None:
    words = WORDS[lang]
    email = f"reading-{lang}-{uuid.uuid4().hex[:6]}@acme.example"
    _mail_for(local_stack, email)
    page = new_page(browser, "en-US")
    # Requests from the sandboxed (opaque-origin) frame are not seen by Playwright's routing
    # or request events; the browser's console says each load that failed. The tracker's
    # domain never resolves (.example is reserved), so each image asked for is one message.
    tracked: list[str] = []
    page.on(
        "console",
        lambda m: tracked.append(m.text) if "ERR_NAME_NOT_RESOLVED" in m.text else None,
    )
    try:
        sign_in_as(page, console, email)  # the sign-in form's labels are English here
        page.locator("#lang").select_option(lang)
        expect(page.locator("html")).to_have_attribute("lang", lang)
        page.goto(f"{console}console/index.html#/mail")
        _read_shift_jis(page, words, lang)
        _read_newsletter(page, words, lang, tracked)
        assert not page.errors  # type: ignore[attr-defined]
    finally:
        page.context.close()


def _read_shift_jis(page: Page, words: dict[str, str], lang: str) -> None:
    view = page.locator(".message-view")
    # Shift_JIS labelled iso-8859-1: read as Japanese, the detection said.
    page.locator("button.row", has_text=SUBJECT).click()
    expect(view.locator("h2")).to_have_text(SUBJECT)
    expect(view.locator("h2")).to_be_focused()
    expect(view.locator("pre.body")).to_have_text(JAPANESE)
    encoding = page.get_by_label(words["encoding"])
    expect(encoding.locator("option:checked")).to_have_text(words["auto"])
    expect(view.locator("[data-viewer=detected]")).to_contain_text(words["detected"])
    screenshot(page, f"reading-sjis-{lang}")
    # The encoding switch: the label's charset shows the mojibake, Shift_JIS the text.
    encoding.select_option("iso-8859-1")
    expect(view.locator("pre.body")).not_to_contain_text("会議")
    expect(view.locator("pre.body")).to_contain_text("‚¨")  # お in CP932 read as cp1252
    expect(page.get_by_label(words["encoding"])).to_be_focused()
    page.get_by_label(words["encoding"]).select_option("shift_jis")
    expect(view.locator("pre.body")).to_have_text(JAPANESE)


def _read_newsletter(page: Page, words: dict[str, str], lang: str, tracked: list[str]) -> None:
    view = page.locator(".message-view")
    # The newsletter: sanitised HTML in a sandboxed frame, remote images blocked.
    page.locator("button.row", has_text="Newsletter").click()
    expect(view.locator("h2")).to_have_text("Newsletter")
    frame_element = view.locator("iframe.viewer-html")
    expect(frame_element).to_have_attribute(
        "sandbox", "allow-popups allow-popups-to-escape-sandbox"
    )
    frame = page.frame_locator(".message-view iframe.viewer-html")
    expect(frame.locator("body")).to_contain_text(JAPANESE)
    expect(frame.locator("img[alt=logo]")).to_have_attribute("src", PNG_DATA)
    expect(frame.locator("script")).to_have_count(0)
    expect(frame.locator("[onclick]")).to_have_count(0)
    assert frame.locator("img[alt=tracker]").get_attribute("src") is None
    bar = view.locator("[data-viewer=remote-blocked]")
    expect(bar).to_contain_text(words["blocked"])
    page.wait_for_timeout(1500)  # time to load what the frame would load
    assert tracked == []  # not even requested
    screenshot(page, f"reading-html-blocked-{lang}")

    # The attachment, fetched with the token and saved under its own name.
    with page.expect_download() as download:
        view.get_by_role("button", name=words["attachment"]).click()
    saved = download.value
    assert saved.suggested_filename == "資料.pdf"
    assert saved.path().read_bytes() == b"%PDF-1.4 test\n"

    # Shown on request (keyboard: the bar's button).
    bar.get_by_role("button", name=words["show"]).focus()
    page.keyboard.press("Enter")
    expect(bar).to_have_count(0)
    expect(frame.locator("img[alt=tracker]")).to_have_attribute(
        "src", "https://tracker.example/open.gif"
    )
    for _ in range(50):  # the console's messages come a little after the loads fail
        if tracked:
            break
        page.wait_for_timeout(100)
    assert tracked, "the remote images were not asked for"
    screenshot(page, f"reading-html-shown-{lang}")

    # Its text alternative, and back.
    view.get_by_role("button", name=words["as_text"]).click()
    expect(view.locator("pre.body")).to_have_text(JAPANESE)
    expect(view.locator("iframe.viewer-html")).to_have_count(0)
    view.get_by_role("button", name=words["as_html"]).click()
    expect(frame.locator("body")).to_contain_text(JAPANESE)


def test_a_big_attachment_and_message_download_straight_from_the_store(
    browser: Browser, console: str, local_stack: LocalStack
) -> None:
    """Over 4 MB the API can't answer the bytes: the console asks for a link and the store
    (moto's S3 here) answers the download, under the file's own name."""
    from tests.e2e.test_big_downloads import big_message

    tag = uuid.uuid4().hex[:6]
    email = f"reading-big-{tag}@acme.example"
    h = login(local_stack, email, "acme")
    data = bytes(range(256)) * (5_000_000 // 256)
    raw = big_message(tag, data)
    files = {"big.eml": raw}
    batch = start(local_stack, h, files)
    upload_all(batch, files)
    wait_done(local_stack, h, batch["id"], timeout=90)
    page = new_page(browser, "en-US")
    try:
        sign_in_as(page, console, email)
        page.goto(f"{console}console/index.html#/mail")
        view = page.locator(".message-view")
        page.locator("button.row", has_text=f"大きな添付 {tag}").click()
        expect(view.locator("h2")).to_have_text(f"大きな添付 {tag}")
        with page.expect_download() as download:
            view.get_by_role("button", name="Download 見積書 2026.pdf").click()
        saved = download.value
        assert saved.suggested_filename == "見積書 2026.pdf"
        assert saved.path().read_bytes() == data
        with page.expect_download() as download:
            view.get_by_role("button", name="Download the original").click()
        assert download.value.path().read_bytes() == raw
        assert not page.errors  # type: ignore[attr-defined]
    finally:
        page.context.close()
