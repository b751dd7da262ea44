"""The admin page for the whole organisation: every user's migrations and POP accounts a page
at a time ("Show more"), switching a user's automatic fetching off (the user then sees it off,
and why); and the local stack's metrics page (admins only, hidden where the route is 404).
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, Route, expect

from mailport_local.stack import LocalStack
from tests.browser.conftest import expect_focused, screenshot, sign_in
from tests.e2e.test_migration import _wrap_worker, connection, ended, seed, wait_job
from tests.e2e.test_migration import start as start_migration
from tests.e2e.test_pop_accounts import pop_user
from tests.e2e.test_upload import start, upload_all, wait_done
from tests.support.api import login, pop_form
from tests.support.dovecot import Dovecot

pytestmark = [pytest.mark.stack, pytest.mark.dovecot]


def pop_account(stack: LocalStack, h: dict[str, str], dovecot: Dovecot) -> dict[str, Any]:
    name, password = pop_user(dovecot, 1)
    form = pop_form(dovecot.pop3s_port, name, password, auto_fetch=True)
    r = requests.post(f"{stack.api_url}/v1/accounts", headers=h, json=form, timeout=30)
    assert r.status_code == 201, r.text
    return dict(r.json())


def one_per_page(route: Route) -> None:
    """The console asks for 50 a page; one a page here, so "Show more" has work to do."""
    route.continue_(url=route.request.url.replace("limit=50", "limit=1"))


def test_an_admin_switches_off_a_users_automatic_fetching(
    page: Page, console: str, local_stack: LocalStack, dovecot: Dovecot
) -> None:
    alice = login(local_stack, "alice@acme.example", "acme")
    alice_id = requests.get(f"{local_stack.api_url}/v1/me", headers=alice, timeout=10).json()
    mine = pop_account(local_stack, alice, dovecot)
    # A newer account of bob's comes first: alice's is on the second page.
    pop_account(local_stack, login(local_stack, "bob@acme.example", "acme"), dovecot)
    confirmations: list[str] = []

    def accept(dialog: Any) -> None:
        confirmations.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.route("**/v1/admin/accounts?*", one_per_page)
    sign_in(page, console, "carol@acme.example")
    page.get_by_role("link", name="Admin").click()
    accounts = page.locator("#admin-accounts")
    expect(accounts.locator("tbody tr")).to_have_count(1)
    row = accounts.locator(f'tr[data-account="{mine["id"]}"]')
    expect(row).to_have_count(0)
    more = accounts.get_by_role("button", name="Show more")
    more.focus()
    page.keyboard.press("Enter")
    expect(accounts.locator("tbody tr")).to_have_count(2)
    expect(row).to_contain_text(mine["username"])
    expect(row.locator("td").first).to_have_text(alice_id["user"]["id"])
    expect(row).to_contain_text("Automatic fetching on")
    page.unroute("**/v1/admin/accounts?*")
    # The organisation's migrations are listed too (with their user and state).
    expect(page.locator("#admin-migrations h2")).to_have_text("Migrations")
    screenshot(page, "admin-organisation-en")

    row.get_by_role("button", name="Switch automatic fetching off").click()
    assert confirmations and mine["username"] in confirmations[-1]
    expect(page.locator(f'#admin-accounts tr[data-account="{mine["id"]}"]')).to_contain_text(
        "switched off by your administrator (carol@acme.example)"
    )
    expect_focused(page.locator("#admin-accounts h2"))

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, console, "alice@acme.example")
    page.get_by_role("link", name="External mail (POP3)").click()
    card = page.locator(f'article.account[data-account="{mine["id"]}"]')
    expect(card.locator('[data-fact="pop.status"]')).to_have_text("Automatic fetching off")
    expect(card.locator('[data-fact="pop.next_run"]')).to_have_text("Only when you fetch")
    expect(card.locator('[data-fact="pop.disabled_reason"]')).to_have_text(
        "switched off by your administrator (carol@acme.example)"
    )


def test_an_admin_cancels_a_users_queued_migration(
    page: Page, console: str, local_stack: LocalStack, dovecot: Dovecot
) -> None:
    """The worker is held before its second chunk, so the first job runs for as long as the
    test needs and the second waits in the queue (one running job per organisation here)."""
    api = local_stack.api_url
    tenant = f"org{uuid.uuid4().hex[:6]}"
    login(local_stack, f"admin@{tenant}.example", tenant, plan="advanced", admin=True)
    alice = login(local_stack, f"alice@{tenant}.example", tenant)
    user, password, _ = seed(dovecot)
    held = threading.Event()

    def hold(chunk: int) -> None:
        if chunk >= 2:
            held.wait(60)

    restore = _wrap_worker(local_stack, hold, lambda chunk: None)
    try:
        first = start_migration(api, alice, connection(dovecot, user, password))
        second = start_migration(api, alice, connection(dovecot, user, password))
        page.on("dialog", lambda d: d.accept())
        page.goto(console)
        page.get_by_label("Email address").fill(f"admin@{tenant}.example")
        page.get_by_label("Organisation (tenant id)").fill(tenant)
        page.get_by_label("Administrator").check()
        page.locator("form").get_by_role("button", name="Sign in").click()
        expect(page.locator("#signout")).to_be_visible()
        page.get_by_role("link", name="Admin").click()
        jobs = page.locator("#admin-migrations tbody tr")
        expect(jobs).to_have_count(2)
        queued = page.locator(f'#admin-migrations tr[data-job="{second["id"]}"]')
        expect(queued).to_contain_text("Queued")
        expect(queued).to_contain_text(user)
        screenshot(page, "admin-migrations-en")
        queued.get_by_role("button", name="Cancel").click()
        expect(queued.get_by_role("button", name="Cancel")).to_have_count(0)
        expect(page.locator(f'#admin-migrations tr[data-job="{first["id"]}"]')).to_contain_text(
            "Copying"
        )
    finally:
        held.set()
        restore()
    assert wait_job(api, alice, second["id"], ended)["state"] == "rolled_back"
    assert wait_job(api, alice, first["id"], ended)["state"] == "completed"


def test_the_metrics_page_shows_an_upload(
    page: Page, console: str, local_stack: LocalStack
) -> None:
    tag = uuid.uuid4().hex[:6]
    raw = (
        f"From: A <a@example.org>\r\nSubject: metrics {tag}\r\n"
        f"Message-ID: <metrics-{tag}@example.org>\r\n\r\nbody\r\n"
    ).encode()
    h = login(local_stack, f"metrics-{tag}@acme.example", "acme")
    batch = start(local_stack, h, {"m.eml": raw})
    upload_all(batch, {"m.eml": raw})
    wait_done(local_stack, h, batch["id"])

    sign_in(page, console, "carol@acme.example")
    page.get_by_role("link", name="Metrics").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Metrics (local stack)")
    upload = page.locator("#metrics-upload")
    expect(upload.get_by_role("heading")).to_have_text(".eml upload (path: upload)")
    imported = upload.locator('tr[data-metric="MessagesImported"]')
    expect(imported).to_have_count(1)
    expect(imported).to_contain_text("path=upload")
    total = float(imported.locator('[data-stat="sum"]').inner_text().replace(",", ""))
    assert total >= 1
    screenshot(page, "metrics-en")


def test_metrics_only_for_admins_and_only_where_the_route_exists(page: Page, console: str) -> None:
    sign_in(page, console, "bob@acme.example")
    expect(page.get_by_role("link", name="Mailbox")).to_be_visible()
    expect(page.get_by_role("link", name="Metrics")).to_have_count(0)
    page.get_by_role("button", name="Sign out").click()
    # A deployed stack has no such route.
    page.route(
        "**/v1/local/metrics",
        lambda route: route.fulfill(
            status=404,
            content_type="application/json",
            body='{"error": {"code": "not_found", "message": "no such route"}}',
        ),
    )
    sign_in(page, console, "carol@acme.example")
    expect(page.get_by_role("link", name="Admin")).to_be_visible()
    expect(page.get_by_role("link", name="Metrics")).to_have_count(0)
