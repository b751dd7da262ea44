"""External mail in the console: register a POP account against the test Dovecot with the
form, fetch now, and read what arrived in the mailbox; each preset says how it signs in."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from playwright.sync_api import Browser, Locator, Page, Route, expect

from tests.browser.conftest import (
    expect_focused,
    new_page,
    screenshot,
    sign_in,
    sign_in_as,
)
from tests.support.dovecot import Dovecot

pytestmark = [pytest.mark.stack, pytest.mark.dovecot]


def test_register_a_pop_account_and_see_its_mail(
    page: Page, console: str, dovecot: Dovecot
) -> None:
    tag = uuid.uuid4().hex[:6]
    name, password = f"br-{tag}", f"pw-{uuid.uuid4().hex}"
    dovecot.add_user(name, password)
    mail = [
        (
            f"From: Shop <shop@example.net>\nTo: me@example.org\nSubject: order {tag} {i}\n"
            f"Message-ID: <b-{tag}-{i}@example.net>\n\nthanks for order {i} ({tag})\n"
        ).encode()
        for i in range(3)
    ]
    dovecot.seed_maildir(
        name, "INBOX", [(raw, set(), 1_700_000_000.0 + i) for i, raw in enumerate(mail)]
    )

    sign_in(page, console, "alice@acme.example")
    register(page, dovecot, name, password)
    card = page.locator("article.account", has_text=name)
    expect(card.locator('[data-fact="pop.status"]')).to_have_text("Automatic fetching off")
    expect(card.locator('[data-fact="pop.next_run"]')).to_have_text("Only when you fetch")
    expect(card.locator('[data-fact="pop.failures"]')).to_have_text("0")

    card.get_by_role("button", name="Fetch now").click()
    expect(page.locator("#toast")).to_have_text("Fetched 3 new messages.")
    expect(card.locator('[data-fact="pop.last_run"]')).to_contain_text("Succeeded")
    card.get_by_role("button", name="Run history").click()
    run = page.locator("table.runs tbody tr")
    expect(run).to_have_count(1)
    expect(run.locator("td").nth(1)).to_have_text("Fetch now")
    expect(run.locator("td").nth(2)).to_have_text("Succeeded")
    expect(run.locator("td").nth(3)).to_have_text("3")
    screenshot(page, "accounts-history-en")

    read_the_mail(page, tag)
    edit_then_delete(page, name)


def register(page: Page, dovecot: Dovecot, name: str, password: str) -> None:
    """Fill the form as a user would: a preset first, then the test server by hand."""
    page.get_by_role("link", name="External mail (POP3)").click()
    page.get_by_role("button", name="Add an account").click()
    form = page.locator("#account-form")
    expect_focused(form.get_by_role("heading", name="Register an external account"))

    # A preset fills the server, port and SSL (and locks them); manual entry frees them.
    form.get_by_label("Provider").select_option("gmail")
    expect(form.get_by_label("POP3 server")).to_have_value("pop.gmail.com")
    expect(form.get_by_label("Port")).to_have_value("995")
    expect(form.get_by_label("Use SSL/TLS")).to_be_checked()
    expect(form.get_by_label("POP3 server")).not_to_be_editable()
    form.get_by_label("Provider").select_option("manual")
    expect(form.get_by_label("POP3 server")).to_be_editable()

    form.get_by_label("Email address or ID").fill(name)
    form.get_by_label("Password").fill(password)
    form.get_by_label("POP3 server").fill("127.0.0.1")
    form.get_by_label("Port").fill(str(dovecot.pop3s_port))
    form.get_by_label("Destination folder").select_option("inbox")
    form.get_by_label("Icon").select_option("green")
    expect(form.get_by_label("Keep the original on the server")).to_be_checked()
    form.get_by_label("Fetch automatically every 10 minutes").uncheck()
    # Without the agreement the browser does not submit the form.
    form.get_by_role("button", name="Register").click()
    expect(form).to_be_visible()
    assert form.get_by_label("I agree").evaluate("e => !e.validity.valid")
    form.get_by_label("I agree").check()
    screenshot(page, "accounts-form-en")
    # The login is tried before anything is saved; the refusal is said in the user's words.
    form.get_by_label("Password").fill("wrong-" + password)
    form.get_by_role("button", name="Register").click()
    expect(form.get_by_role("alert")).to_contain_text(
        "The server refused the user name or password"
    )
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Register").click()

    expect(page.locator("article.account", has_text=name)).to_be_visible()
    expect(form).to_have_count(0)


def read_the_mail(page: Page, tag: str) -> None:
    """The fetched mail is in the Inbox with the POP source's icon and the account's colour."""
    page.get_by_role("link", name="Mailbox").click()
    rows = page.locator("button.row", has_text=f"order {tag}")
    expect(rows).to_have_count(3)
    expect(rows.locator('[data-source="pop"]')).to_have_count(3)
    expect(rows.locator(".dot.icon-green")).to_have_count(3)
    inbox = page.locator('.folders a[data-folder="inbox"] .badge')
    unread_before = int(inbox.inner_text())
    rows.filter(has_text=f"order {tag} 1").click()
    view = page.locator(".message-view")
    expect(view.get_by_role("heading", name=f"order {tag} 1")).to_be_visible()
    expect(view.locator("pre.body")).to_contain_text(f"thanks for order 1 ({tag})")
    expect(view.locator(".source-line")).to_contain_text("External mail (POP3)")
    # Reading it marked it read: the Inbox's unread count went down by one, and stays down.
    expect(inbox).to_have_text(re.compile(rf"^{unread_before - 1}$"))
    page.reload()
    expect(inbox).to_have_text(re.compile(rf"^{unread_before - 1}$"))


def edit_then_delete(page: Page, name: str) -> None:
    """Settings change without the password; deleting asks first and keeps the mail."""
    page.get_by_role("link", name="External mail (POP3)").click()
    card = page.locator("article.account", has_text=name)
    card.get_by_role("button", name="Edit").click()
    form = page.locator("#account-form")
    expect(form.get_by_label("Email address or ID")).to_have_value(name)
    expect(form.get_by_label("I agree")).to_have_count(0)  # agreed once, at registration
    form.get_by_label("Icon").select_option("red")
    form.get_by_label("Fetch automatically every 10 minutes").check()
    form.get_by_role("button", name="Save").click()
    expect(page.locator("#toast")).to_have_text("Account saved.")
    expect(card.locator(".dot.icon-red")).to_be_visible()
    expect(card.locator('[data-fact="pop.status"]')).to_have_text("Automatic fetching on")

    asked: list[str] = []
    page.once("dialog", lambda d: (asked.append(d.message), d.accept()))
    card.get_by_role("button", name="Delete").click()
    expect(card).to_have_count(0)
    assert asked and "The mail it imported stays in your mailbox" in asked[0]


YAHOO_HELP = "https://help.yahoo.com/kb/SLN15241.html"
GOOGLE_HELP = "https://support.google.com/accounts/answer/185833"


def open_account_form(page: Page, nav: str, add: str) -> Locator:
    page.get_by_role("link", name=nav).click()
    page.get_by_role("button", name=add).click()
    return page.locator("#account-form")


def expect_help_link(form: Locator, name: str, href: str) -> None:
    link = form.get_by_role("link", name=name)
    expect(link).to_have_attribute("href", href)
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", re.compile(r"\bnoopener\b"))


def test_each_preset_asks_for_what_its_provider_takes(page: Page, console: str) -> None:
    sign_in_as(page, console, f"presets-{uuid.uuid4().hex[:6]}@acme.example")
    form = open_account_form(page, "External mail (POP3)", "Add an account")
    register = form.get_by_role("button", name="Register")

    # Yahoo takes an app password only: the field says so, with Yahoo's page on making one.
    form.get_by_label("Provider").select_option("yahoo")
    expect(form.get_by_label("App password", exact=True)).to_be_visible()
    expect(form).to_contain_text("sign in with an app password only")
    expect_help_link(form, "How to make an app password", YAHOO_HELP)
    expect(register).to_be_enabled()
    screenshot(page, "accounts-form-yahoo-en")

    # Gmail: this stack has Google's app too (tests/conftest.py fills its GoogleAppSecret),
    # so Google sign-in comes first and an app password, with Google's page, is the other
    # choice (tests/browser/test_google_signin_console.py goes through both).
    form.get_by_label("Provider").select_option("gmail")
    expect(form.get_by_label("Sign in with Google (recommended)")).to_be_checked()
    expect(form.get_by_label("App password", exact=True)).to_be_hidden()
    form.get_by_label("Use an app password instead").check()
    expect(form.get_by_label("App password", exact=True)).to_be_visible()
    expect_help_link(form, "How to make an app password", GOOGLE_HELP)

    # Outlook.com takes a Microsoft sign-in only, and this stack has Microsoft's app
    # (tests/conftest.py fills its Microsoft365AppSecret): no password field, and nothing to
    # save until that sign-in is done.
    form.get_by_label("Provider").select_option("outlook")
    expect(form.get_by_label("Password")).to_be_hidden()
    expect(form).to_contain_text(
        "Hotmail (Outlook) accepts only signing in with Microsoft, not a password."
    )
    link = form.get_by_role("link", name="How to turn on POP in Hotmail (Outlook)")
    expect(link).to_have_attribute("href", re.compile(r"^https://support\.microsoft\.com/"))
    expect(form).not_to_contain_text("has not set up")
    expect(register).to_be_disabled()

    # Manual entry and LINE WORKS take the account's own password.
    for preset in ("manual", "line_works"):
        form.get_by_label("Provider").select_option(preset)
        expect(form.get_by_label("Password", exact=True)).to_be_visible()
        expect(form.get_by_label("App password", exact=True)).to_have_count(0)
        expect(form.get_by_role("link")).to_have_count(0)
        expect(register).to_be_enabled()


def without_microsoft(route: Route) -> None:
    """The presets as a stack without Microsoft's app registration answers them."""
    answer = route.fetch()
    body = answer.json()
    for preset in body["presets"]:
        preset["oauth_available"] = False
    route.fulfill(response=answer, body=json.dumps(body))


def test_outlook_cannot_be_saved_where_microsoft_sign_in_is_not_set_up(
    browser: Browser, console: str
) -> None:
    page = new_page(browser, "ja-JP")
    try:
        page.route("**/v1/account-presets", without_microsoft)
        sign_in(page, console, "carol@acme.example")  # the demo users' buttons: any language
        form = open_account_form(page, "外部メール（POP3）", "アカウントを追加")
        form.get_by_label("サービス").select_option("outlook")
        expect(form.locator(".notice")).to_have_text(
            "Hotmail (Outlook) は Microsoft でのサインインのみ受け付けていますが、"
            "このサービスではまだ設定されていません。管理者にお問い合わせください。"
        )
        expect(form.get_by_label("パスワード")).to_be_hidden()
        expect(form.get_by_role("button", name="登録")).to_be_disabled()
        screenshot(page, "accounts-form-outlook-unavailable-ja")
        # Yahoo in Japanese: the app password's own name.
        form.get_by_label("サービス").select_option("yahoo")
        expect(form.get_by_label("アプリパスワード", exact=True)).to_be_visible()
        expect(form.get_by_role("link", name="アプリパスワードの作成方法")).to_have_attribute(
            "href", YAHOO_HELP
        )
        expect(form.get_by_role("button", name="登録")).to_be_enabled()
        assert not page.errors  # type: ignore[attr-defined]
    finally:
        page.context.close()
