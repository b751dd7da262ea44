"""External mail that signs in with Microsoft (the Outlook.com preset), in the console: the
address and "Sign in with Microsoft" open the (fake) identity provider in a new window, whose
callback page tells the form it is signed in; Register; fetch now over XOAUTH2 from the test
Dovecot and read the mail; a revoked sign-in pauses the account with "Sign in again", which
resumes it; a sign-in as another account is refused in words (Japanese).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.conftest import screenshot, sign_in_as

# The sign-in window is the fake identity provider's, over https with its own CA: the
# contexts that ignore certificate errors, as in the Microsoft 365 tests.
from tests.browser.test_microsoft365_console import m365_page, sign_in_as_ja
from tests.support.dovecot import Dovecot
from tests.support.fake_idp import FakeIdentityProvider

pytestmark = [pytest.mark.stack, pytest.mark.dovecot]


@pytest.fixture
def page_en(browser: Browser) -> Iterator[Page]:
    yield from m365_page(browser, "en-US")


@pytest.fixture
def page_ja(browser: Browser) -> Iterator[Page]:
    yield from m365_page(browser, "ja-JP")


def outlook_mailbox(dovecot: Dovecot, tag: str, count: int) -> str:
    """An Outlook.com mailbox: a Dovecot user named like the address (logins: tokens)."""
    email = f"me-{tag}@outlook.example"
    dovecot.add_user(email, f"pw-{uuid.uuid4().hex}")
    seed(dovecot, email, tag, range(count))
    return email


def seed(dovecot: Dovecot, email: str, tag: str, numbers: range) -> None:
    mail = [
        (
            f"From: Shop <shop@example.net>\nTo: {email}\nSubject: order {tag} {i}\n"
            f"Message-ID: <s-{tag}-{i}@example.net>\n\nthanks for order {i} ({tag})\n"
        ).encode()
        for i in numbers
    ]
    dovecot.seed_maildir(email, "INBOX", [(raw, set(), 1_700_000_000.0) for raw in mail])


def fetch_now(page: Page, card: Locator, toast: str) -> None:
    page.locator("#toast").evaluate("e => { e.textContent = '' }")  # not the previous toast
    card.get_by_role("button", name="Fetch now").click()
    expect(page.locator("#toast")).to_have_text(toast)


def test_register_an_outlook_account_by_signing_in_then_sign_in_again(
    page_en: Page, console: str, dovecot: Dovecot, fake_idp: FakeIdentityProvider
) -> None:
    page = page_en
    tag = uuid.uuid4().hex[:8]
    email = outlook_mailbox(dovecot, tag, 2)
    sign_in_as(page, console, f"pop-signin-{tag}@acme.example")
    page.get_by_role("link", name="External mail (POP3)").click()
    page.get_by_role("button", name="Add an account").click()
    form = page.locator("#account-form")
    form.get_by_label("Provider").select_option("outlook")
    register = form.get_by_role("button", name="Register")
    # No password and no user name: the sign-in names the mailbox.
    expect(form.get_by_label("Password")).to_be_hidden()
    expect(form.get_by_label("Email address or ID")).to_be_hidden()
    expect(form.locator(".agreement")).to_contain_text("keeps this sign-in to Microsoft")
    expect(register).to_be_disabled()
    form.get_by_label("Outlook.com address").fill(email)
    screenshot(page, "accounts-outlook-signin-form-en")

    with page.expect_popup() as opened:
        form.get_by_role("button", name="Sign in with Microsoft").click()
    opened.value.wait_for_event("close")  # the callback page tells the form, then closes
    expect(form.locator("#signed-in")).to_have_text(f"Signed in as {email}")
    expect(register).to_be_enabled()
    form.get_by_label("I agree").check()
    screenshot(page, "accounts-outlook-signed-in-en")
    register.click()
    expect(page.locator("#toast")).to_have_text("Account registered.")

    card = page.locator("article.account", has_text=email)
    expect(card.locator('[data-fact="pop.login"]')).to_have_text("Microsoft sign-in (no password)")
    expect(card.locator('[data-fact="pop.status"]')).to_have_text("Automatic fetching on")
    fetch_now(page, card, "Fetched 2 new messages.")
    page.get_by_role("link", name="Mailbox").click()
    expect(page.locator("button.row", has_text=f"order {tag}")).to_have_count(2)

    page.get_by_role("link", name="External mail (POP3)").click()
    edit_without_a_password(page, card, email)
    paused_then_signed_in_again(page, card, dovecot, fake_idp, email=email, tag=tag)


def edit_without_a_password(
    page: Page, card: Locator, email: str, provider: str = "Microsoft", icon: str = "blue"
) -> None:
    """Editing a sign-in account: as whom it signs in, no password or choice to give; the
    settings save.
    """
    form = page.locator("#account-form")
    card.get_by_role("button", name="Edit").click()
    expect(form.get_by_label("Password")).to_be_hidden()
    expect(form.get_by_role("radio")).to_have_count(0)
    expect(form.get_by_label("Provider")).to_be_disabled()
    expect(form).to_contain_text(f"its sign-in to {provider} as {email}")
    form.get_by_label("Icon").select_option(icon)
    form.get_by_role("button", name="Save").click()
    expect(page.locator("#toast")).to_have_text("Account saved.")
    expect(card.locator(f".dot.icon-{icon}")).to_be_visible()


def paused_then_signed_in_again(
    page: Page,
    card: Locator,
    dovecot: Dovecot,
    fake_idp: FakeIdentityProvider,
    *,
    email: str,
    tag: str,
    provider: str = "Microsoft",
    shot: str = "accounts-outlook-paused-en",
) -> None:
    """The user removed mailport's access at the provider: the next fetch pauses the
    account, said as the provider's; "Sign in again" resumes it."""
    fake_idp.revoke(email)
    fake_idp.expire_access_tokens()
    fetch_now(
        page,
        card,
        f"The fetch failed: The sign-in to {provider} no longer works "
        "(it was revoked or has expired). Sign in again to resume automatic fetching.",
    )
    expect(card.locator('[data-fact="pop.status"]')).to_have_text("Paused: sign in again")
    expect(card.locator('[data-fact="pop.next_run"]')).to_have_text("Only when you fetch")
    expect(card.locator('[data-fact="pop.failures"]')).to_have_text("0")
    reason = card.locator('[data-fact="pop.disabled_reason"]')
    expect(reason).to_contain_text(f"The sign-in to {provider} no longer works")
    expect(reason).to_contain_text("Sign in again to resume automatic fetching")
    screenshot(page, shot)

    with page.expect_popup() as opened:
        card.get_by_role("button", name="Sign in again").click()
    opened.value.wait_for_event("close")
    expect(page.locator("#toast")).to_have_text("Signed in again: automatic fetching is back on.")
    expect(card.locator('[data-fact="pop.status"]')).to_have_text("Automatic fetching on")
    expect(card.get_by_role("button", name="Sign in again")).to_have_count(0)
    seed(dovecot, email, tag, range(2, 3))
    fetch_now(page, card, "Fetched 1 new messages.")


def test_in_japanese_a_sign_in_as_another_account_is_refused_in_words(
    page_ja: Page, console: str, dovecot: Dovecot, fake_idp: FakeIdentityProvider
) -> None:
    page = page_ja
    tag = uuid.uuid4().hex[:8]
    email = outlook_mailbox(dovecot, tag, 1)
    sign_in_as_ja(page, console, f"pop-signin-ja-{tag}@acme.example")
    page.get_by_role("link", name="外部メール（POP3）").click()
    page.get_by_role("button", name="アカウントを追加").click()
    form = page.locator("#account-form")
    form.get_by_label("サービス").select_option("outlook")
    form.get_by_label("Outlook.com のメールアドレス").fill(email)
    fake_idp.sign_in_as = f"mallory-{tag}@outlook.example"
    try:
        with page.expect_popup() as opened:
            form.get_by_role("button", name="Microsoft でサインイン").click()
        # Only the catalogue's words: the callback's English detail is not shown.
        expect(form.get_by_role("alert")).to_have_text(
            "メールボックスのアドレスとは別のアカウントでサインインしました。"
            "そのメールボックスのアカウントでサインインしてください"
        )
    finally:
        fake_idp.sign_in_as = None
    expect(form.get_by_role("button", name="登録")).to_be_disabled()
    screenshot(page, "accounts-outlook-wrong-account-ja")
    opened.value.close()  # the refusal page stays open for the user to read

    # Signed in as the right account this time: registered, and said so in Japanese.
    with page.expect_popup() as opened:
        form.get_by_role("button", name="Microsoft でサインイン").click()
    opened.value.wait_for_event("close")
    expect(form.locator("#signed-in")).to_have_text(f"{email} としてサインインしました")
    form.get_by_label("同意する").check()
    screenshot(page, "accounts-outlook-signed-in-ja")
    form.get_by_role("button", name="登録").click()
    card = page.locator("article.account", has_text=email)
    expect(card.locator('[data-fact="pop.login"]')).to_have_text(
        "Microsoft のサインイン（パスワードなし）"
    )
    # A second account on the same sign-in would import every message twice: refused.
    page.get_by_role("button", name="アカウントを追加").click()
    form.get_by_label("サービス").select_option("outlook")
    form.get_by_label("Outlook.com のメールアドレス").fill(email)
    with page.expect_popup() as opened:
        form.get_by_role("button", name="Microsoft でサインイン").click()
    opened.value.wait_for_event("close")
    form.get_by_label("同意する").check()
    form.get_by_role("button", name="登録").click()
    expect(form.get_by_role("alert")).to_have_text(
        "このサインインは、すでに別の外部メールアカウントで使われています"
    )
    screenshot(page, "accounts-outlook-in-use-ja")
