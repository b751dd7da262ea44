"""Google sign-in (Gmail, Google Workspace) in the console: the Gmail preset offers "Sign in with
Google" first and an app password as the user's other choice (two radio buttons, by keyboard
too); a Gmail POP account registered by signing in with Google in a new window fetches over
XOAUTH2 from the test Dovecot (standing in for pop.gmail.com), pauses when the grant is revoked
and resumes with "Sign in again"; a migration from a Google source authenticates in a window,
previews, runs and is listed as "(Google)", for the user and for the organisation's admin.

The sign-in window is the fake identity provider's Google side (tests/support/fake_idp.py),
which signs in as the login_hint at once; it records each authorize request, so every
sign-in here is seen to have gone to Google, not Microsoft.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, Route, expect

from tests.browser.conftest import expect_focused, new_page, screenshot, sign_in, sign_in_as
from tests.browser.test_microsoft365_console import m365_page, sign_in_as_ja
from tests.browser.test_pop_signin_console import (
    edit_without_a_password,
    fetch_now,
    paused_then_signed_in_again,
    seed,
)
from tests.e2e.test_migration import seed as seed_mailbox
from tests.support.dovecot import Dovecot
from tests.support.fake_idp import FakeIdentityProvider

pytestmark = [pytest.mark.stack, pytest.mark.dovecot]

GMAIL_SCOPE = "https://mail.google.com/"
GOOGLE_HELP = "https://support.google.com/accounts/answer/185833"


@pytest.fixture
def page_en(browser: Browser) -> Iterator[Page]:
    # The sign-in window is the fake's, over https with its own CA (as for Microsoft).
    yield from m365_page(browser, "en-US")


@pytest.fixture
def page_ja(browser: Browser) -> Iterator[Page]:
    # No sign-in window here: certificates are checked as in every other browser test.
    page = new_page(browser, "ja-JP")
    yield page
    errors = list(page.errors)  # type: ignore[attr-defined]
    page.context.close()
    assert not errors, errors


def gmail_mailbox(dovecot: Dovecot, tag: str, count: int) -> str:
    """A Gmail mailbox: a Dovecot user named like the address (its logins are tokens)."""
    email = f"me-{tag}@gmail.example"
    dovecot.add_user(email, f"pw-{uuid.uuid4().hex}")
    seed(dovecot, email, tag, range(count))
    return email


def signed_in_with_google(fake_idp: FakeIdentityProvider, before: int) -> None:
    """One more authorize request reached the fake's Google side, asking for Gmail's scope."""
    asked = fake_idp.google_scopes_asked
    assert len(asked) == before + 1, asked
    assert GMAIL_SCOPE in asked[-1].split(), asked[-1]


def open_gmail_form(page: Page, nav: str, add: str, provider_label: str) -> Locator:
    page.get_by_role("link", name=nav).click()
    page.get_by_role("button", name=add).click()
    form = page.locator("#account-form")
    form.get_by_label(provider_label).select_option("gmail")
    return form


def test_register_a_gmail_account_by_signing_in_with_google_then_sign_in_again(
    page_en: Page, console: str, dovecot: Dovecot, fake_idp: FakeIdentityProvider
) -> None:
    page = page_en
    tag = uuid.uuid4().hex[:8]
    email = gmail_mailbox(dovecot, tag, 2)
    sign_in_as(page, console, f"google-pop-{tag}@acme.example")
    form = open_gmail_form(page, "External mail (POP3)", "Add an account", "Provider")

    # Both ways, the sign-in first and chosen: no password and no user name to type.
    choice = form.get_by_role("group", name="How to sign in")
    expect(choice.get_by_role("radio", name="Sign in with Google (recommended)")).to_be_checked()
    expect(choice.get_by_role("radio", name="Use an app password instead")).not_to_be_checked()
    expect(form.get_by_label("App password", exact=True)).to_be_hidden()
    expect(form.get_by_label("Email address or ID")).to_be_hidden()
    expect(form).to_contain_text("Signing in with Google is recommended")
    expect(form).not_to_contain_text("accepts only signing in")
    expect(form.locator(".agreement")).to_contain_text("keeps this sign-in to Google")
    register = form.get_by_role("button", name="Register")
    expect(register).to_be_disabled()
    form.get_by_label("Gmail or Google Workspace address").fill(email)
    screenshot(page, "accounts-gmail-signin-form-en")

    before = len(fake_idp.google_scopes_asked)
    with page.expect_popup() as opened:
        form.get_by_role("button", name="Sign in with Google").click()
    opened.value.wait_for_event("close")  # the callback page tells the form, then closes
    expect(form.locator("#signed-in")).to_have_text(f"Signed in as {email}")
    signed_in_with_google(fake_idp, before)
    expect(register).to_be_enabled()
    form.get_by_label("I agree").check()
    screenshot(page, "accounts-gmail-signed-in-en")
    register.click()
    expect(page.locator("#toast")).to_have_text("Account registered.")

    card = page.locator("article.account", has_text=email)
    expect(card.locator('[data-fact="pop.login"]')).to_have_text("Google sign-in (no password)")
    # The server set Gmail's server (the test Dovecot stands in for pop.gmail.com).
    expect(card.get_by_role("heading")).to_have_text(re.compile(rf"^{re.escape(email)} @ "))
    fetch_now(page, card, "Fetched 2 new messages.")
    page.get_by_role("link", name="Mailbox").click()
    expect(page.locator("button.row", has_text=f"order {tag}")).to_have_count(2)

    page.get_by_role("link", name="External mail (POP3)").click()
    edit_without_a_password(page, card, email, "Google", icon="purple")
    # Revoked at Google: paused, said as Google's; "Sign in again" goes to Google.
    before = len(fake_idp.google_scopes_asked)
    paused_then_signed_in_again(
        page,
        card,
        dovecot,
        fake_idp,
        email=email,
        tag=tag,
        provider="Google",
        shot="accounts-gmail-paused-en",
    )
    signed_in_with_google(fake_idp, before)


def test_in_japanese_an_app_password_instead_by_keyboard_and_back(
    page_ja: Page, console: str
) -> None:
    page = page_ja
    sign_in_as_ja(page, console, f"google-app-pw-{uuid.uuid4().hex[:6]}@acme.example")
    form = open_gmail_form(page, "外部メール（POP3）", "アカウントを追加", "サービス")
    choice = form.get_by_role("group", name="サインイン方法")
    by_google = choice.get_by_role("radio", name="Google でサインイン（推奨）")
    by_app_password = choice.get_by_role("radio", name="代わりにアプリパスワードを使う")
    signin_button = form.get_by_role("button", name="Google でサインイン")
    app_password = form.get_by_label("アプリパスワード", exact=True)
    register = form.get_by_role("button", name="登録")
    expect(by_google).to_be_checked()
    expect(signin_button).to_be_visible()
    expect(app_password).to_be_hidden()
    expect(register).to_be_disabled()

    # The arrow keys move between the two ways, as with any radio buttons.
    by_google.focus()
    page.keyboard.press("ArrowDown")
    expect(by_app_password).to_be_checked()
    expect_focused(by_app_password)
    expect(app_password).to_be_visible()
    expect(form.get_by_label("メールアドレスまたは ID")).to_be_visible()
    expect(signin_button).to_have_count(0)
    expect(form.get_by_label("Gmail または Google Workspace のメールアドレス")).to_have_count(0)
    # The hint (which the field is described by) and Google's page on making one.
    expect(app_password).to_have_accessible_description(
        re.compile("Google アカウントで作成したアプリパスワードを入力してください")
    )
    link = form.get_by_role("link", name="アプリパスワードの作成方法")
    expect(link).to_have_attribute("href", GOOGLE_HELP)
    expect(form.locator(".agreement")).to_contain_text("パスワードを暗号化して保存")
    expect(register).to_be_enabled()
    screenshot(page, "accounts-gmail-app-password-ja")

    # And back: the sign-in area again, no password field, nothing to save yet.
    page.keyboard.press("ArrowUp")
    expect(by_google).to_be_checked()
    expect(signin_button).to_be_visible()
    expect(app_password).to_be_hidden()
    expect(register).to_be_disabled()

    by_app_password.check()
    registers_with_the_app_password(page, form)


def registers_with_the_app_password(page: Page, form: Locator) -> None:
    """With the app password chosen, the form sends Gmail's preset, the address and the app
    password (no sign-in); a refusal is said in Japanese."""
    sent: list[dict[str, Any]] = []

    def refused(route: Route) -> None:
        # Answered as Gmail refusing the app password: this machine can't reach pop.gmail.com.
        if route.request.method != "POST":
            route.continue_()
            return
        sent.append(json.loads(route.request.post_data or "{}"))
        error = {"code": "remote_auth_failed", "message": "authentication failed"}
        route.fulfill(
            status=422, content_type="application/json", body=json.dumps({"error": error})
        )

    page.route("**/v1/accounts", refused)
    app_password = form.get_by_label("アプリパスワード", exact=True)
    register = form.get_by_role("button", name="登録")
    form.get_by_label("メールアドレスまたは ID").fill("someone@gmail.example")
    app_password.fill("abcd efgh ijkl mnop")
    form.get_by_label("同意する").check()
    register.click()
    expect(form.get_by_role("alert")).to_contain_text(
        "サーバーがユーザー名またはパスワードを拒否しました"
    )
    assert len(sent) == 1, sent
    body = sent[0]
    assert (body["preset"], body["username"], body["agreed"]) == (
        "gmail",
        "someone@gmail.example",
        True,
    )
    assert body["password"] == "abcd efgh ijkl mnop"
    assert "connection_id" not in body


def test_a_migration_from_a_google_source(
    page_en: Page,
    browser: Browser,
    console: str,
    dovecot: Dovecot,
    fake_idp: FakeIdentityProvider,
) -> None:
    page = page_en
    email = f"gmail-{uuid.uuid4().hex[:8]}@gmail.example"
    _, _, seeded = seed_mailbox(dovecot, user=email)
    total = sum(len(v) for v in seeded.values())
    sign_in_as(page, console, f"google-mig-{uuid.uuid4().hex[:6]}@acme.example")
    page.get_by_role("link", name="IMAP migration").click()
    signins = page.locator("#m365-signins")
    expect(signins.locator('[data-provider="google"]')).to_contain_text("No Google sign-ins yet.")
    form = page.locator("#migration-form")
    form.get_by_label("Google (Gmail / Google Workspace)").check()
    expect(form.get_by_label("Password")).to_be_hidden()
    expect(form.get_by_role("button", name="Preview")).to_be_hidden()
    address = form.get_by_label("Email address of the mailbox")
    expect(address).to_have_accessible_description(re.compile("sign in to Google as this mailbox"))
    expect(form.locator(".agreement")).to_contain_text("Google sign-in")
    address.fill(email)

    before = len(fake_idp.google_scopes_asked)
    with page.expect_popup() as opened:
        form.get_by_role("button", name="Authenticate").click()
    opened.value.wait_for_event("close")
    ready = page.locator("#m365-ready")
    expect(ready).to_contain_text("Ready to import your mail")
    expect(ready).to_contain_text(email)
    signed_in_with_google(fake_idp, before)

    preview = page.locator("#migration-preview")
    expect(preview.locator(".totals")).to_contain_text(f"{total} messages")
    mine = signins.locator('[data-provider="google"] li.signin')
    expect(mine).to_have_count(1)
    expect(mine).to_contain_text(email)
    expect(mine).to_contain_text("Ready")
    expect(signins.locator('[data-provider="microsoft"] li.signin')).to_have_count(0)
    not_ready_for_microsoft_365(form, email, total)
    screenshot(page, "migration-google-ready-en")
    form.get_by_label("I agree").check()
    page.locator("#start-migration").click()

    done = page.locator('article.job[data-state="completed"]')
    expect(done).to_be_visible()
    expect(done.get_by_role("heading")).to_have_text(f"{email} (Google)")
    expect(done).to_contain_text(f"{total} imported, 0 already there, 0 too large, 0 failed")
    screenshot(page, "migration-google-completed-en")

    # "Sign in again" in the list goes to Google too.
    before = len(fake_idp.google_scopes_asked)
    with page.expect_popup() as opened:
        mine.get_by_role("button", name="Sign in again").click()
    opened.value.wait_for_event("close")
    expect(signins).to_contain_text(f"Ready to import your mail: {email}")
    signed_in_with_google(fake_idp, before)
    admin_sees_it_as_google(browser, console, email)


def not_ready_for_microsoft_365(form: Locator, email: str, total: int) -> None:
    """A sign-in with Google is not one with Microsoft: that kind asks for its own; back on
    Google, the sign-in is ready again."""
    ready = form.locator("#m365-ready")
    form.get_by_label("Microsoft 365").check()
    expect(ready).to_have_count(0)
    expect(form.get_by_role("button", name="Preview")).to_be_hidden()
    form.get_by_label("Google (Gmail / Google Workspace)").check()
    expect(ready).to_contain_text(email)
    form.get_by_role("button", name="Preview").click()
    expect(form.locator("#migration-preview .totals")).to_contain_text(f"{total} messages")


def admin_sees_it_as_google(browser: Browser, console: str, email: str) -> None:
    """The organisation's admin sees the job as Google's too."""
    admin = new_page(browser)
    try:
        sign_in(admin, console, "carol@acme.example")
        admin.get_by_role("link", name="Admin").click()
        row = admin.locator("#admin-migrations tbody tr", has_text=f"{email} (Google)")
        expect(row).to_have_count(1)
        assert not admin.errors  # type: ignore[attr-defined]
    finally:
        admin.context.close()


def without_google(route: Route) -> None:
    """The presets as a stack without Google's app registration answers them."""
    answer = route.fetch()
    body = answer.json()
    for preset in body["presets"]:
        if preset["oauth_provider"] == "google":
            preset["oauth_available"] = False
    route.fulfill(response=answer, body=json.dumps(body))


def test_without_google_sign_in_gmail_takes_an_app_password_with_no_choice(
    page: Page, console: str
) -> None:
    page.route("**/v1/account-presets", without_google)
    sign_in_as(page, console, f"google-off-{uuid.uuid4().hex[:6]}@acme.example")
    form = open_gmail_form(page, "External mail (POP3)", "Add an account", "Provider")
    expect(form.get_by_label("App password", exact=True)).to_be_visible()
    expect(form).to_contain_text("Signing in with Google is not set up on this service")
    link = form.get_by_role("link", name="How to make an app password")
    expect(link).to_have_attribute("href", GOOGLE_HELP)
    expect(form.get_by_role("radio")).to_have_count(0)
    expect(form.get_by_role("button", name="Sign in with Google")).to_have_count(0)
    expect(form.get_by_role("button", name="Register")).to_be_enabled()
    # Outlook.com's sign-in is Microsoft's: still offered.
    form.get_by_label("Provider").select_option("outlook")
    expect(form.get_by_role("button", name="Sign in with Microsoft")).to_be_visible()


def test_a_migration_offers_only_the_sign_ins_the_service_has(page: Page, console: str) -> None:
    """The service answers which providers it has (GET /v1/oauth/providers); a stack without
    Google's app registration offers the Google source disabled, saying why.
    """
    answers: list[Any] = []

    def without_google_app(route: Route) -> None:
        answer = route.fetch()
        body = answer.json()
        answers.append({p["id"]: p["available"] for p in body["providers"]})
        for provider in body["providers"]:
            if provider["id"] == "google":
                provider["available"] = False
        route.fulfill(response=answer, body=json.dumps(body))

    page.route("**/v1/oauth/providers", without_google_app)
    sign_in_as(page, console, f"google-mig-off-{uuid.uuid4().hex[:6]}@acme.example")
    page.get_by_role("link", name="IMAP migration").click()
    google = page.get_by_label("Google (Gmail / Google Workspace)")
    expect(google).to_be_disabled()
    expect(google).to_have_accessible_description(
        "Signing in with Google is not set up on this service: ask your administrator."
    )
    expect(page.get_by_label("Microsoft 365")).to_be_enabled()
    # What the real service said: this test stack has both apps.
    assert answers[0] == {"microsoft": True, "google": True}
