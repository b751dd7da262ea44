"""`make run ARGS=--demo-microsoft` in the console, from the command's own configuration (the
stack in a child process, as tests/e2e/test_demo_mail.py starts it): (1) the demo mail server's
details read off the sign-in page, a POP account added with them and fetched; (2) an IMAP
migration of a demo user with a password; (3) a Microsoft 365 migration: Authenticate opens
the demo sign-in ("not Microsoft"), the mailbox is picked, consent given, and back in the
console the migration completes. English for (1) and (2), Japanese for (3); screenshots of
each step in tests/artifacts/browser/demo-*.png. axe-core checks the sign-in page with the
demo card (both languages) and the demo sign-in and consent windows, as
test_accessibility_console checks the console's own pages. Plain http throughout: no
certificate errors are ignored.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import new_page, screenshot, sign_in_as, signed_in
from tests.browser.test_accessibility_console import violations
from tests.e2e.test_demo_mail import TARO_INBOX, running, state_dir

pytestmark = [pytest.mark.stack, pytest.mark.dovecot]
__all__ = ["state_dir"]  # the fixture, shared

TARO = "taro@m365-demo.example"


def demo_server(page: Page, console: str) -> tuple[str, str, str]:
    """Host, POP3 port and IMAP port, as the sign-in page's demo mail card shows them."""
    page.goto(console)
    card = page.locator("#demo-mail")
    expect(card).to_be_visible()
    rows = card.locator("table.demo-servers tbody tr")
    host, pop, imap = (rows.nth(i).locator("td").inner_text().strip() for i in range(3))
    # The Microsoft 365 demo's mailboxes are on the card too (this stack runs it).
    expect(card.locator("table.demo-microsoft-mailboxes")).to_contain_text(TARO)
    screenshot(page, "demo-1-signin-page-en")
    assert violations(page) == [], "axe-core on the sign-in page with the demo card"
    return host, pop, imap


def pop_account(page: Page, host: str, port: str) -> None:
    page.get_by_role("link", name="External mail (POP3)").click()
    page.get_by_role("button", name="Add an account").click()
    form = page.locator("#account-form")
    form.get_by_label("Provider").select_option("manual")
    form.get_by_label("Email address or ID").fill("taro")
    form.get_by_label("Password").fill("taro-demo")
    form.get_by_label("POP3 server").fill(host)
    form.get_by_label("Port").fill(port)
    form.get_by_label("Fetch automatically every 10 minutes").uncheck()
    form.get_by_label("I agree").check()
    screenshot(page, "demo-2-pop-form-en")
    form.get_by_role("button", name="Register").click()
    card = page.locator("article.account", has_text="taro")
    expect(card).to_be_visible()
    card.get_by_role("button", name="Fetch now").click()
    expect(page.locator("#toast")).to_contain_text(f"Fetched {TARO_INBOX} new messages")
    page.get_by_role("link", name="Mailbox").click()
    expect(page.locator("button.row", has_text="打ち合わせ日程のご相談")).to_be_visible()
    screenshot(page, "demo-3-pop-fetched-en")


def imap_migration(page: Page, host: str, port: str) -> None:
    page.get_by_role("link", name="IMAP migration").click()
    form = page.locator("#migration-form")
    form.get_by_label("Enter the server").check()
    form.get_by_label("IMAP server").fill(host)
    form.get_by_label("Port").fill(port)
    form.get_by_label("User name").fill("alice")
    form.get_by_label("Password").fill("alice-demo")
    form.get_by_role("button", name="Preview").click()
    expect(page.locator("#migration-preview .totals")).to_contain_text("messages")
    form.get_by_label("I agree").check()
    screenshot(page, "demo-4-imap-preview-en")
    page.locator("#start-migration").click()
    expect(page.locator('article.job[data-state="completed"]')).to_be_visible()
    screenshot(page, "demo-5-imap-completed-en")


def microsoft_migration(page: Page, console: str) -> None:
    page.goto(console)
    expect(page.locator("#demo-mail")).to_be_visible()
    assert violations(page) == [], "axe-core on the sign-in page with the demo card (ja)"
    page.get_by_label("メールアドレス").fill("demo-browser-m365@acme.example")
    page.get_by_label("組織（テナント ID）").fill("acme")
    page.locator("form").get_by_role("button", name="サインイン").click()
    signed_in(page)
    page.get_by_role("link", name="IMAPメール移行").click()
    form = page.locator("#migration-form")
    form.get_by_label("Microsoft 365").check()
    form.get_by_label("移行するメールボックスのメールアドレス").fill(TARO)
    with page.expect_popup() as opened:
        form.get_by_role("button", name="認証する").click()
    window = opened.value
    expect(window.locator("#demo-banner")).to_contain_text("Demo sign-in — not Microsoft")
    expect(window.locator("#demo-banner")).to_contain_text("Microsoft ではありません")
    window.screenshot(path=str(_artifact("demo-6-m365-signin-ja")))
    assert violations(window) == [], "axe-core on the demo sign-in window"
    window.locator("ul.mailboxes").get_by_role("button", name=TARO).click()
    expect(window.get_by_role("heading")).to_contain_text("mailport wants to read your mail")
    window.screenshot(path=str(_artifact("demo-7-m365-consent-ja")))
    assert violations(window) == [], "axe-core on the demo consent window"
    window.get_by_role("button", name="Accept").click()
    window.wait_for_event("close")
    ready = page.locator("#m365-ready")
    expect(ready).to_contain_text(TARO)
    expect(page.locator("#migration-preview .totals")).to_be_visible()
    form.get_by_label("同意する").check()
    screenshot(page, "demo-8-m365-ready-ja")
    page.locator("#start-migration").click()
    done = page.locator('article.job[data-state="completed"]')
    expect(done).to_be_visible()
    expect(done).to_contain_text(TARO)
    screenshot(page, "demo-9-m365-completed-ja")


def _artifact(name: str) -> Path:
    from tests.browser.conftest import ARTIFACTS

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / f"{name}.png"


def test_demo_mail_and_microsoft_365_from_make_run(browser: Browser, state_dir: Path) -> None:
    with running(state_dir, "--fresh", "--demo-microsoft") as (url, _):
        console = f"{url}/"
        en = new_page(browser, "en-US")
        ja = new_page(browser, "ja-JP")
        try:
            host, pop, imap = demo_server(en, console)
            assert host == "127.0.0.1"
            sign_in_as(en, console, "demo-browser-en@acme.example")
            pop_account(en, host, pop)
            imap_migration(en, host, imap)
            microsoft_migration(ja, console)
            for page in (en, ja):
                assert not page.errors, page.errors  # type: ignore[attr-defined]
        finally:
            en.context.close()
            ja.context.close()
