"""IMAP migration in the console: preview a manual server (the test Dovecot), agree, start,
watch the progress bar reach completion, then revert."""

from __future__ import annotations

import threading
import uuid

import pytest
from playwright.sync_api import Dialog, Page, expect

from mailport_local.stack import LocalStack
from tests.browser.conftest import screenshot, sign_in_as
from tests.e2e.test_migration import _wrap_worker
from tests.support.dovecot import Dovecot

pytestmark = [pytest.mark.stack, pytest.mark.dovecot]

FOLDERS = {"INBOX": 5, "Projects": 4}


def seed(dovecot: Dovecot) -> tuple[str, str, str]:
    tag = uuid.uuid4().hex[:6]
    user, password = f"brmig-{tag}", f"pw-{uuid.uuid4().hex}"
    dovecot.add_user(user, password)
    for folder, count in FOLDERS.items():
        dovecot.seed_maildir(
            user,
            folder,
            [
                (
                    (
                        f"From: s{n}@example.org\r\nSubject: {folder} {n} {tag}\r\n"
                        f"Message-ID: <{tag}.{folder}.{n}@example.org>\r\n\r\nbody {n}\r\n"
                    ).encode(),
                    {"\\Seen"} if n % 2 else set(),
                    1_650_000_000.0 + n,
                )
                for n in range(count)
            ],
        )
    return user, password, tag


def record_progress(page: Page) -> None:
    """Record every value the progress bars show while the page polls the job."""
    page.evaluate(
        """() => {
          window.seenProgress = [];
          new MutationObserver(() => {
            for (const bar of document.querySelectorAll("article.job progress")) {
              window.seenProgress.push(bar.value);
            }
          }).observe(document.getElementById("main"), { childList: true, subtree: true });
        }"""
    )


def test_migrate_watch_progress_and_revert(page: Page, console: str, dovecot: Dovecot) -> None:
    user, password, tag = seed(dovecot)
    confirmations: list[str] = []

    def accept(dialog: Dialog) -> None:
        confirmations.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    sign_in_as(page, console, f"mig-{tag}@acme.example")
    page.get_by_role("link", name="IMAP migration").click()
    form = page.locator("#migration-form")
    expect(form.get_by_label("Microsoft 365")).to_be_enabled()
    form.get_by_label("Enter the server").check()
    form.get_by_label("IMAP server").fill("127.0.0.1")
    form.get_by_label("Port").fill(str(dovecot.imaps_port))
    form.get_by_label("User name").fill(user)
    form.get_by_label("Password").fill(password)
    start = page.locator("#start-migration")
    expect(start).to_be_disabled()

    form.get_by_role("button", name="Preview").click()
    preview = page.locator("#migration-preview")
    expect(preview.locator("tbody tr")).to_have_count(2)
    projects = preview.locator("tbody tr", has_text="Projects")
    expect(projects.locator("td").nth(1)).to_have_text("Projects")
    expect(projects.locator("td").nth(2)).to_have_text("4")
    expect(preview.locator(".totals")).to_contain_text("9 messages")
    expect(start).to_be_disabled()  # not before the agreement
    screenshot(page, "migration-preview-en")
    form.get_by_label("I agree").check()
    expect(start).to_be_enabled()
    record_progress(page)
    start.click()

    # The job moves from "in progress" to the history once it completes, its bar at 100 %.
    done = page.locator('article.job[data-state="completed"]')
    expect(done).to_be_visible()
    expect(done.locator("progress")).to_have_js_property("value", 100)
    expect(done.locator(".pct")).to_have_text("100%")
    expect(done).to_contain_text("9 imported, 0 already there, 0 too large, 0 failed")
    expect(page.get_by_text("No migration is running.")).to_be_visible()
    seen = page.evaluate("window.seenProgress")
    assert seen and seen[-1] == 100 and seen == sorted(seen), seen
    screenshot(page, "migration-completed-en")

    copied_into_projects(page, tag)

    page.get_by_role("link", name="IMAP migration").click()
    page.locator('article.job[data-state="completed"]').get_by_role("button", name="Revert").click()
    assert confirmations and "Revert this migration" in confirmations[-1]
    expect(page.locator('article.job[data-state="reverted"]')).to_be_visible()
    page.get_by_role("link", name="Mailbox").click()
    expect(page.locator(".folders a", has_text="Projects")).to_have_count(0)
    expect(page.locator("button.row", has_text=tag)).to_have_count(0)


def copied_into_projects(page: Page, tag: str) -> None:
    """The Projects folder was made, and holds its four messages, shown as migrated."""
    page.get_by_role("link", name="Mailbox").click()
    projects_folder = page.locator(".folders a", has_text="Projects")
    expect(projects_folder).to_be_visible()
    projects_folder.click()
    expect(page.locator("button.row", has_text=tag)).to_have_count(4)
    expect(page.locator('button.row [data-source="imap"]')).to_have_count(4)


def fill_manual(page: Page, dovecot: Dovecot, user: str, password: str) -> None:
    form = page.locator("#migration-form")
    form.get_by_label("Enter the server").check()
    form.get_by_label("IMAP server").fill("127.0.0.1")
    form.get_by_label("Port").fill(str(dovecot.imaps_port))
    form.get_by_label("User name").fill(user)
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Preview").click()
    expect(page.locator("#migration-preview")).to_be_visible()
    form.get_by_label("I agree").check()
    page.locator("#start-migration").click()


def test_queue_position_mid_way_progress_and_cancel(
    page: Page, console: str, dovecot: Dovecot, local_stack: LocalStack
) -> None:
    """The worker is held before its second chunk, so the first job is part-way for as long
    as the test needs, and a second job waits in the queue (one running job per tenant here).
    """
    page.on("dialog", lambda d: d.accept())
    user, password, tag = seed(dovecot)
    held = threading.Event()
    restore = _wrap_worker(local_stack, lambda k: k >= 2 and held.wait(60), lambda k: None)
    try:
        sign_in_as(page, console, f"mig-cancel-{tag}@acme.example")
        page.get_by_role("link", name="IMAP migration").click()
        fill_manual(page, dovecot, user, password)
        running = page.locator('article.job[data-state="running"]')
        expect(running).to_be_visible()
        page.wait_for_function(
            "() => document.querySelector('article.job[data-state=running] progress')?.value > 0"
        )
        part_way = running.locator("progress").evaluate("p => p.value")
        assert 0 < part_way < 100
        expect(running).to_contain_text("Time left")

        fill_manual(page, dovecot, user, password)  # the same account again: it waits its turn
        queued = page.locator('article.job[data-state="queued"]')
        expect(queued).to_contain_text("Place in the queue")
        expect(queued.locator("progress")).to_have_js_property("value", 0)
        screenshot(page, "migration-running-and-queued-en")

        queued.get_by_role("button", name="Cancel").click()
        expect(page.locator('article.job[data-state="queued"]')).to_have_count(0)
        running.get_by_role("button", name="Cancel").click()
        expect(running.get_by_role("button", name="Cancel")).to_have_count(0)  # requested
    finally:
        held.set()
        restore()
    rolled_back = page.locator('article.job[data-state="rolled_back"]')
    expect(rolled_back).to_have_count(2)
    expect(rolled_back.first).to_contain_text("Cancelled")
    expect(page.get_by_text("No migration is running.")).to_be_visible()
