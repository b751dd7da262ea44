"""A basic-plan user sees why importing is unavailable (the API answers 403 plan_required)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.stack


def test_basic_plan_user_sees_why_import_is_unavailable(page: Page, console: str) -> None:
    sign_in(page, console, "dave@smallco.example")
    expect(page.locator("#who")).to_contain_text("Basic plan")
    for link, heading in [
        ("External mail (POP3)", "External mail (POP3)"),
        ("IMAP migration", "IMAP migration"),
    ]:
        page.get_by_role("link", name=link).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        gate = page.locator("#plan-required")
        expect(gate).to_contain_text("Importing mail is not included in your plan")
        expect(gate).to_contain_text("The server said:")  # the API's own 403 plan_required
        expect(gate).to_contain_text("Small Co. is on the Basic plan")
        expect(page.locator("#account-form, #migration-form")).to_have_count(0)

    # Upload: the plan's features already tell (the API would refuse with plan_required too).
    page.get_by_role("link", name="Upload").click()
    expect(page.locator("#plan-required")).to_contain_text("need the Advanced plan")
    expect(page.locator("#dropzone")).to_have_count(0)

    # The mailbox is part of every plan.
    page.get_by_role("link", name="Mailbox").click()
    expect(page.locator('.folders a[data-folder="inbox"]')).to_be_visible()
    expect(page.locator("#plan-required")).to_have_count(0)
