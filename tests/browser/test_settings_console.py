"""The auto-sort rules editor, the admin's IMAP templates, and sign-in where the local
gateway's login does not exist (a deployed stack)."""

from __future__ import annotations

import json
import uuid

import pytest
import requests
from playwright.sync_api import Browser, Page, Route, expect

from mailport_local.stack import LocalStack
from tests.browser.conftest import expect_focused, new_page, screenshot, sign_in, sign_in_as
from tests.support.api import login

pytestmark = pytest.mark.stack


def test_rules_editor_saves_what_the_user_built(
    page: Page, console: str, local_stack: LocalStack
) -> None:
    email = f"rules-{uuid.uuid4().hex[:6]}@acme.example"
    h = login(local_stack, email, "acme")
    folder = requests.post(
        f"{local_stack.api_url}/v1/folders", headers=h, json={"name": "Receipts"}, timeout=10
    ).json()
    sign_in_as(page, console, email)
    page.get_by_role("link", name="Auto-sort rules").click()
    page.get_by_role("button", name="Add a rule").click()
    rule = page.locator("fieldset.rule").first
    expect_focused(rule.get_by_label("Name"))
    rule.get_by_label("Name").fill("Shop mail")
    rule.get_by_label("Match").select_option("any")
    rule.get_by_label("Field").select_option("from")
    rule.get_by_label("Comparison").select_option("domain_is")
    rule.get_by_label("Value").fill("shop.example")
    rule.get_by_label("Action").select_option("move_to_folder")
    rule.get_by_label("Folder").select_option(folder["id"])
    rule.get_by_role("button", name="Add an action").click()
    rule.get_by_label("Action").nth(1).select_option("flag")
    rule.get_by_label("Stop processing more rules").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#toast")).to_have_text("Rules saved.")

    saved = requests.get(f"{local_stack.api_url}/v1/rules", headers=h, timeout=10).json()
    [only] = saved["rules"]
    assert {k: only[k] for k in ("name", "enabled", "match", "stop_processing")} == {
        "name": "Shop mail",
        "enabled": True,
        "match": "any",
        "stop_processing": True,
    }
    assert only["conditions"] == [{"field": "from", "op": "domain_is", "value": "shop.example"}]
    assert only["actions"] == [
        {"type": "move_to_folder", "folder_id": folder["id"]},
        {"type": "flag"},
    ]

    # The server's refusal is shown, in words, next to the form.
    page.reload()
    rule = page.locator("fieldset.rule").first
    expect(rule.get_by_label("Value")).to_have_value("shop.example")
    rule.get_by_label("Value").fill("not a domain")
    page.get_by_role("button", name="Save").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Please check the form")
    expect(alert).to_contain_text('rule 1 ("Shop mail"): condition 1')
    screenshot(page, "rules-error-en")


def test_admin_manages_imap_templates_users_pick_them(page: Page, console: str) -> None:
    page.on("dialog", lambda d: d.accept())
    name = f"Tokyo IMAP {uuid.uuid4().hex[:4]}"
    sign_in(page, console, "carol@acme.example")
    page.get_by_role("link", name="Admin").click()
    page.get_by_role("button", name="Add a server").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Host").fill("imap.tokyo.example")
    page.get_by_label("Port").fill("993")
    page.get_by_role("button", name="Save").click()
    row = page.locator("tr", has_text=name)
    expect(row).to_contain_text("imap.tokyo.example")

    row.get_by_role("button", name="Edit").click()
    expect_focused(page.get_by_role("heading", name=f"Edit {name}"))
    page.get_by_label("Port").fill("143")
    page.get_by_label("SSL/TLS").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(row.locator("td").nth(2)).to_have_text("143")
    expect(row.locator("td").nth(3)).to_have_text("No")

    page.get_by_role("link", name="IMAP migration").click()
    expect(page.get_by_label("A server your administrator set up")).to_be_checked()
    template = page.locator("#migration-form select").first
    expect(template.locator("option", has_text=name)).to_have_text(
        f"{name} (imap.tokyo.example:143)"
    )

    page.get_by_role("link", name="Admin").click()
    page.locator("tr", has_text=name).get_by_role("button", name="Delete").click()
    expect(page.locator("tr", has_text=name)).to_have_count(0)


def test_a_user_who_is_not_an_admin_has_no_admin_page(page: Page, console: str) -> None:
    sign_in(page, console, "bob@acme.example")
    expect(page.get_by_role("link", name="Mailbox")).to_be_visible()
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)


def test_without_the_local_login_the_console_asks_for_a_token(
    browser: Browser, console: str, local_stack: LocalStack
) -> None:
    page = new_page(browser, "ja-JP")

    def deployed(route: Route) -> None:  # API Gateway's answer for a route it doesn't have
        route.fulfill(status=403, body=json.dumps({"message": "Missing Authentication Token"}))

    try:
        page.route("**/v1/local/login", deployed)
        page.goto(console)
        expect(page.locator(".notice")).to_contain_text("ホスト型サインイン（Amazon Cognito）")
        expect(page.locator("button.demo-user")).to_have_count(0)
        screenshot(page, "signin-hosted-ja")
        token = login(local_stack, "bob@acme.example", "acme")["Authorization"].split()[1]
        page.get_by_label("ID トークン").fill("not-a-token")
        page.get_by_role("button", name="サインイン").click()
        expect(page.get_by_role("alert")).to_contain_text("もう一度サインインしてください")
        page.get_by_label("ID トークン").fill(token)
        page.get_by_role("button", name="サインイン").click()
        expect(page.locator("#who")).to_contain_text("Bob Baba")
        assert not page.errors  # type: ignore[attr-defined]
    finally:
        page.context.close()
