"""Japanese and English: chosen from the browser's language, switchable, remembered; and a
screenshot of every page in both (tests/artifacts/browser/), with some data on each."""

from __future__ import annotations

import uuid

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from mailport_local.stack import LocalStack
from tests.browser.conftest import new_page, screenshot, sign_in
from tests.e2e.test_upload import start, upload_all, wait_done
from tests.support.api import login
from tests.support.dovecot import Dovecot

pytestmark = [pytest.mark.stack, pytest.mark.dovecot]

PAGES = ["mail", "accounts", "migration", "upload", "rules", "admin", "metrics"]
HEADINGS = {
    "en": [
        "Mailbox — Inbox",
        "External mail (POP3)",
        "IMAP migration",
        "Upload .eml files",
        "Auto-sort rules",
        "Admin: your organisation",
        "Metrics (local stack)",
    ],
    "ja": [
        "メールボックス — 受信箱",
        "外部メール（POP3）",
        "IMAPメール移行",
        ".eml ファイルのアップロード",
        "自動振り分けルール",
        "管理：組織",
        "メトリクス（ローカル環境）",
    ],
}


@pytest.fixture(scope="module")
def carol_has_data(local_stack: LocalStack, dovecot: Dovecot) -> None:
    """Something on every page for carol (an admin): mail, an account, a rule, a template."""
    api, h = local_stack.api_url, login(local_stack, "carol@acme.example", "acme", admin=True)
    tag = uuid.uuid4().hex[:6]
    files = {
        "ja.eml": (
            "From: =?UTF-8?B?5bGx55Sw5aSq6YOO?= <yamada@example.jp>\r\n"
            "Subject: =?UTF-8?B?6KaL56mN5pu444Gu44GU6YCB5LuY?=\r\n"
            f"Message-ID: <lang-ja-{tag}@example.jp>\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "\r\nお世話になっております。見積書をお送りします。\r\n"
        ).encode(),
        "en.eml": (
            f"From: Bob <bob@example.org>\r\nSubject: Quarterly report\r\n"
            f"Message-ID: <lang-en-{tag}@example.org>\r\n\r\nHere it is.\r\n"
        ).encode(),
    }
    batch = start(local_stack, h, files)
    upload_all(batch, files)
    wait_done(local_stack, h, batch["id"])
    user, password = f"lang-{tag}", f"pw-{uuid.uuid4().hex}"
    dovecot.add_user(user, password)
    account = {
        "preset": "manual",
        "host": "127.0.0.1",
        "port": dovecot.pop3s_port,
        "ssl": True,
        "username": user,
        "password": password,
        "icon": "blue",
        "agreed": True,
    }
    r = requests.post(f"{api}/v1/accounts", headers=h, json=account, timeout=30)
    assert r.status_code == 201, r.text
    rule = {
        "name": "請求書",
        "enabled": True,
        "match": "any",
        "stop_processing": False,
        "conditions": [{"field": "subject", "op": "contains", "value": "請求"}],
        "actions": [{"type": "mark_read"}, {"type": "flag"}],
    }
    r = requests.put(f"{api}/v1/rules", headers=h, json={"rules": [rule]}, timeout=10)
    assert r.status_code == 200, r.text
    template = {"name": "社内 IMAP", "host": "imap.acme.example", "port": 993, "ssl": True}
    r = requests.post(f"{api}/v1/admin/imap-templates", headers=h, json=template, timeout=10)
    assert r.status_code == 201, r.text


def visit_every_page(page: Page, console: str, lang: str) -> None:
    sign_in(page, console, "carol@acme.example")
    for name, heading in zip(PAGES, HEADINGS[lang], strict=True):
        page.goto(f"{console}console/index.html#/{name}")
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        if name == "mail":
            page.locator("button.row").first.click()
            expect(page.locator(".message-view h2")).to_be_visible()
        page.wait_for_load_state("networkidle")
        screenshot(page, f"{name}-{lang}")


@pytest.mark.usefixtures("carol_has_data")
@pytest.mark.parametrize(("locale", "lang"), [("ja-JP", "ja"), ("en-US", "en")])
def test_the_browser_language_chooses_and_every_page_is_translated(
    browser: Browser, console: str, locale: str, lang: str
) -> None:
    page = new_page(browser, locale)
    try:
        page.goto(console)
        expect(page.locator("html")).to_have_attribute("lang", lang)
        title = {"ja": "サインイン", "en": "Sign in"}[lang]
        expect(page.get_by_role("heading", level=1)).to_have_text(title)
        expect(page.locator("#lang")).to_have_value(lang)
        screenshot(page, f"signin-{lang}")
        visit_every_page(page, console, lang)
        assert not page.errors  # type: ignore[attr-defined]
    finally:
        page.context.close()


@pytest.mark.usefixtures("carol_has_data")
def test_the_switch_changes_the_language_and_is_remembered(browser: Browser, console: str) -> None:
    page = new_page(browser, "en-US")
    try:
        sign_in(page, console, "carol@acme.example")
        expect(page.get_by_role("link", name="Mailbox")).to_be_visible()
        page.get_by_label("Language").select_option("ja")
        expect(page.locator("html")).to_have_attribute("lang", "ja")
        expect(page.get_by_role("link", name="メールボックス")).to_be_visible()
        expect(page.get_by_role("heading", level=1)).to_have_text("メールボックス — 受信箱")
        page.reload()
        expect(page.get_by_role("link", name="外部メール（POP3）")).to_be_visible()
        page.get_by_label("言語").select_option("en")
        expect(page.get_by_role("link", name="External mail (POP3)")).to_be_visible()
    finally:
        page.context.close()


@pytest.mark.usefixtures("carol_has_data")
def test_a_narrow_screen_stacks_the_mailbox(browser: Browser, console: str) -> None:
    page = new_page(browser, "ja-JP")
    try:
        page.set_viewport_size({"width": 390, "height": 844})
        sign_in(page, console, "carol@acme.example")
        folders = page.locator("nav.folders").bounding_box()
        messages = page.locator(".messages").bounding_box()
        assert folders and messages and messages["y"] >= folders["y"] + folders["height"]
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width  # nothing sticks out sideways
        screenshot(page, "mail-narrow-ja")
        page.goto(f"{console}console/index.html#/accounts")
        expect(page.get_by_role("heading", level=1)).to_have_text("外部メール（POP3）")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, "accounts-narrow-ja")
        for name, heading in (("migration", "IMAPメール移行"), ("admin", "管理：組織")):
            page.goto(f"{console}console/index.html#/{name}")
            expect(page.get_by_role("heading", level=1)).to_have_text(heading)
            page.wait_for_load_state("networkidle")
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, name
            screenshot(page, f"{name}-narrow-ja")
    finally:
        page.context.close()
