"""Microsoft 365 in the console: the address, "Authenticate" opens the (fake) identity provider
in a new window, whose callback page tells the console it is ready; then the preview, the
agreement and the migration; the sign-ins list; a sign-in as the wrong account is refused in
words; a job whose sign-in was revoked waits for "Sign in again" and then completes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import new_page, screenshot, sign_in_as, signed_in
from tests.e2e.test_migration import seed
from tests.support.dovecot import Dovecot
from tests.support.fake_idp import FakeIdentityProvider

pytestmark = [pytest.mark.stack, pytest.mark.dovecot]


def m365_page(browser: Browser, locale: str) -> Iterator[Page]:
    # The fake identity provider serves https with its own CA, which this browser does not
    # know. Only these tests' contexts (the console and its sign-in window) ignore
    # certificate errors; every other browser test keeps checking them.
    page = new_page(browser, locale, ignore_https_errors=True)
    yield page
    errors = list(page.errors)  # type: ignore[attr-defined]
    page.context.close()
    assert not errors, errors


@pytest.fixture
def page_en(browser: Browser) -> Iterator[Page]:
    yield from m365_page(browser, "en-US")


@pytest.fixture
def page_ja(browser: Browser) -> Iterator[Page]:
    yield from m365_page(browser, "ja-JP")


def mailbox(dovecot: Dovecot) -> tuple[str, int]:
    """A Microsoft 365 mailbox: a Dovecot user named like an address (XOAUTH2 logins)."""
    email = f"m365-{uuid.uuid4().hex[:8]}@contoso.example"
    _, _, seeded = seed(dovecot, user=email)
    return email, sum(len(v) for v in seeded.values())


def test_authenticate_in_a_window_preview_and_migrate(
    page_en: Page, console: str, dovecot: Dovecot, fake_idp: FakeIdentityProvider
) -> None:
    page = page_en
    email, total = mailbox(dovecot)
    sign_in_as(page, console, f"m365-{uuid.uuid4().hex[:6]}@acme.example")
    page.get_by_role("link", name="IMAP migration").click()
    expect(page.locator("#m365-signins")).to_contain_text("No Microsoft 365 sign-ins yet.")
    form = page.locator("#migration-form")
    form.get_by_label("Microsoft 365").check()
    expect(form.get_by_label("Password")).to_be_hidden()
    expect(form.get_by_role("button", name="Preview")).to_be_hidden()
    form.get_by_label("Email address of the mailbox").fill(email)
    with page.expect_popup() as opened:
        form.get_by_role("button", name="Authenticate").click()
    window = opened.value
    # The callback page in the window says so in both languages, tells the console, closes.
    window.wait_for_event("close")
    ready = page.locator("#m365-ready")
    expect(ready).to_contain_text("Ready to import your mail")
    expect(ready).to_contain_text(email)

    preview = page.locator("#migration-preview")
    expect(preview.locator("tbody tr", has_text="日本語")).to_have_count(1)
    expect(preview.locator(".totals")).to_contain_text(f"{total} messages")
    signin = page.locator("#m365-signins li.signin")
    expect(signin).to_have_count(1)
    expect(signin).to_contain_text(email)
    expect(signin).to_contain_text("Ready")
    start = page.locator("#start-migration")
    expect(start).to_be_disabled()
    expect(form.locator(".agreement")).to_contain_text("Microsoft 365 sign-in")
    screenshot(page, "migration-m365-ready-en")
    form.get_by_label("I agree").check()
    start.click()

    done = page.locator('article.job[data-state="completed"]')
    expect(done).to_be_visible()
    expect(done.get_by_role("heading")).to_have_text(f"{email} (Microsoft 365)")
    expect(done).to_contain_text(f"{total} imported, 0 already there, 0 too large, 0 failed")
    screenshot(page, "migration-m365-completed-en")

    # Nothing uses the sign-in any more: it can be removed.
    page.on("dialog", lambda d: d.accept())
    signin.get_by_role("button", name="Remove").click()
    expect(page.locator("#m365-signins")).to_contain_text("No Microsoft 365 sign-ins yet.")


def test_a_sign_in_as_another_account_is_refused_in_words(
    page_ja: Page, console: str, dovecot: Dovecot, fake_idp: FakeIdentityProvider
) -> None:
    page = page_ja
    email, _ = mailbox(dovecot)
    sign_in_as_ja(page, console, f"m365-wrong-{uuid.uuid4().hex[:6]}@acme.example")
    page.get_by_role("link", name="IMAPメール移行").click()
    form = page.locator("#migration-form")
    form.get_by_label("Microsoft 365").check()
    form.get_by_label("移行するメールボックスのメールアドレス").fill(email)
    fake_idp.sign_in_as = "mallory@contoso.example"
    try:
        with page.expect_popup() as opened:
            form.get_by_role("button", name="認証する").click()
        alert = page.locator("#m365-status").get_by_role("alert")
        expect(alert).to_contain_text(
            "メールボックスのアドレスとは別のアカウントでサインインしました"
        )
    finally:
        fake_idp.sign_in_as = None
    opened.value.close()  # the refusal page stays open for the user to read
    expect(page.locator("#m365-ready")).to_have_count(0)
    expect(page.locator("#migration-preview")).to_have_count(0)
    expect(page.locator("#m365-signins")).to_contain_text(
        "Microsoft 365 のサインインはまだありません。"
    )
    expect(page.locator("#start-migration")).to_be_disabled()
    screenshot(page, "migration-m365-wrong-mailbox-ja")


def sign_in_as_ja(page: Page, console: str, email: str, tenant: str = "acme") -> None:
    page.goto(console)
    page.get_by_label("メールアドレス").fill(email)
    page.get_by_label("組織（テナント ID）").fill(tenant)
    page.locator("form").get_by_role("button", name="サインイン").click()
    signed_in(page)


def test_a_job_whose_sign_in_was_revoked_waits_for_sign_in_again(
    page_en: Page,
    console: str,
    dovecot: Dovecot,
    fake_idp: FakeIdentityProvider,
    short_tokens: None,
) -> None:
    page = page_en
    confirmations: list[str] = []

    def accept(dialog: Any) -> None:
        confirmations.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    email, total = mailbox(dovecot)
    sign_in_as(page, console, f"m365-again-{uuid.uuid4().hex[:6]}@acme.example")
    page.get_by_role("link", name="IMAP migration").click()
    form = page.locator("#migration-form")
    form.get_by_label("Microsoft 365").check()
    form.get_by_label("Email address of the mailbox").fill(email)
    form.get_by_label("Email address of the mailbox").press("Enter")  # Enter authenticates too
    expect(page.locator("#migration-preview")).to_be_visible()
    # The create check, the plan and two chunks, then the grant is revoked.
    fake_idp.revoke_after(email, 4)
    form.get_by_label("I agree").check()
    page.locator("#start-migration").click()

    waiting = page.locator('article.job[data-state="needs_signin"]')
    expect(waiting).to_be_visible()
    expect(waiting).to_contain_text("Waiting for you to sign in again")
    expect(waiting).to_contain_text("Sign in to Microsoft 365 again to continue")
    signin = page.locator("#m365-signins li.signin")
    expect(signin).to_contain_text("Needs signing in again")
    screenshot(page, "migration-m365-needs-signin-en")

    # The sign-in can't be removed while the job waits on it: said in words.
    signin.get_by_role("button", name="Remove").click()
    assert confirmations and email in confirmations[-1]
    expect(page.locator("#m365-signins").get_by_role("alert")).to_contain_text(
        "A migration or an external account still uses this sign-in"
    )

    with page.expect_popup():
        waiting.get_by_role("button", name="Sign in again").click()
    expect(page.locator("#toast")).to_contain_text("Ready to import your mail")
    expect(signin).to_contain_text("Ready")
    done = page.locator('article.job[data-state="completed"]')
    expect(done).to_be_visible()
    expect(done).to_contain_text(f"{total} imported")
    expect(page.locator('article.job[data-state="needs_signin"]')).to_have_count(0)


def test_only_the_sign_in_window_can_say_ready_and_closing_it_is_noticed(
    page_en: Page, console: str, fake_idp: FakeIdentityProvider
) -> None:
    page = page_en
    # "Microsoft" shows a page and never sends the window back: the sign-in stays pending.
    page.context.route(
        f"{fake_idp.origin}/**",
        lambda route: route.fulfill(status=200, content_type="text/html", body="<p>Sign in</p>"),
    )
    sign_in_as(page, console, f"m365-forged-{uuid.uuid4().hex[:6]}@acme.example")
    page.get_by_role("link", name="IMAP migration").click()
    form = page.locator("#migration-form")
    form.get_by_label("Microsoft 365").check()
    form.get_by_label("Email address of the mailbox").fill("someone@contoso.example")
    with page.expect_popup() as opened:
        form.get_by_role("button", name="Authenticate").click()
    expect(page.locator("#m365-status")).to_contain_text("Sign in in the new window")
    opened.value.wait_for_url(f"{fake_idp.origin}/**")  # the flow has started
    # A same-origin message of the right shape, but not from the sign-in window: ignored.
    page.evaluate(
        """() => window.postMessage({type: "mailport-oauth", status: "ready", code: "ready",
             message: "", connection: {id: "mforged", email: "someone@contoso.example",
             status: "ready"}}, window.location.origin)"""
    )
    page.wait_for_timeout(500)
    expect(page.locator("#m365-ready")).to_have_count(0)
    expect(page.locator("#migration-preview")).to_have_count(0)
    opened.value.close()
    expect(page.locator("#m365-status").get_by_role("alert")).to_have_text(
        "The sign-in window was closed before the sign-in finished"
    )
    expect(form.get_by_role("button", name="Authenticate")).to_be_enabled()
