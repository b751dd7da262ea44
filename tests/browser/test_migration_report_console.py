"""A migration's report in the console, in Japanese and in English: the line for a message
that is not mail, with the server's reason in the console's language; the report as one CSV
file; "retry failed messages" and "bring in newer mail", each asking for the agreement and
the source's password, each a job of its own in the list."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from mailport_local.template import REPO_ROOT
from tests.browser.conftest import expect_focused, screenshot, sign_in_as
from tests.browser.test_accessibility_console import violations
from tests.support.dovecot import Dovecot

pytestmark = [pytest.mark.stack, pytest.mark.dovecot]

CONSOLE = REPO_ROOT / "functions" / "api" / "console"
NOT_MAIL = b"this is not a mail message at all, only words\r\n"
# The server's words (mailport.catalogue), chosen by the Accept-Language the console sends:
# the browser's own language is English here, so Japanese words come only from the console.
UNREADABLE = {
    "en": "Not a mail message mailport can read.",
    "ja": "メールとして読み取れない形式のため、取り込めませんでした。",
}
CSV_COLUMNS = [  # the report's columns (the API may add more)
    "folder",
    "uid",
    "reason",
    "reason_text",
    "size",
    "limit",
    "subject",
    "sender",
    "date",
    "retryable",
]


def words(lang: str) -> dict[str, str]:
    data = json.loads((CONSOLE / f"i18n-{lang}.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def fill(text: str, **params: object) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(params[m.group(1)]), text)


def around(text: str, name: str) -> re.Pattern[str]:
    """`text` with its {name} placeholder standing for anything (a date the browser formats)."""
    before, _, after = text.partition("{" + name + "}")
    return re.compile(re.escape(before) + ".+" + re.escape(after))


def mail(tag: str, n: int) -> bytes:
    return (
        f"From: s{n}@example.org\r\nSubject: report {tag} {n}\r\n"
        f"Message-ID: <{tag}.report.{n}@example.org>\r\n\r\nbody {n}\r\n"
    ).encode()


def seed(dovecot: Dovecot) -> tuple[str, str, str]:
    tag = uuid.uuid4().hex[:6]
    user, password = f"brrep-{tag}", f"pw-{uuid.uuid4().hex}"
    dovecot.add_user(user, password)
    raws = [mail(tag, n) for n in range(3)] + [NOT_MAIL]
    dovecot.seed_maildir(
        user, "INBOX", [(raw, set(), 1_650_000_000.0 + i) for i, raw in enumerate(raws)]
    )
    return user, password, tag


def start_migration(page: Page, t: dict[str, str], dovecot: Dovecot, user: str, pw: str) -> None:
    form = page.locator("#migration-form")
    form.get_by_label(t["mig.type_manual"], exact=True).check()
    form.get_by_label(t["mig.host"], exact=True).fill("127.0.0.1")
    form.get_by_label(t["mig.port"], exact=True).fill(str(dovecot.imaps_port))
    form.get_by_label(t["mig.username"], exact=True).fill(user)
    form.get_by_label(t["mig.password"], exact=True).fill(pw)
    form.get_by_role("button", name=t["mig.preview"], exact=True).click()
    expect(page.locator("#migration-preview tbody tr")).to_have_count(1)
    form.get_by_label(t["mig.agreement"], exact=True).check()
    page.locator("#start-migration").click()


def open_report(card: Locator, t: dict[str, str], count: int) -> Locator:
    toggle = card.get_by_role("button", name=fill(t["mig.report_button"], count=count))
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(card.locator(".report-summary")).to_have_text(fill(t["mig.report_summary"], count=count))
    return card.locator(".job-report tbody tr")


def follow_up(page: Page, t: dict[str, str], password: str, shot: str) -> None:
    """The dialog asks for the agreement and the password, then queues the job."""
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    field = dialog.get_by_label(t["mig.followup_password"], exact=True)
    expect(field).to_have_attribute("type", "password")
    field.fill(password)
    submit = dialog.locator('button[type="submit"]')
    expect(submit).to_be_disabled()  # not before the agreement
    assert not violations(page), violations(page)  # axe-core: the dialog, the report behind
    dialog.get_by_label(t["mig.agreement"], exact=True).check()
    expect(submit).to_be_enabled()
    screenshot(page, shot)
    submit.click()
    expect(dialog).to_have_count(0)


def the_report(page: Page, t: dict[str, str], done: Locator, lang: str) -> Locator:
    """The completed job's report lists the message that is not mail, with the server's
    reason in the console's language; its CSV is one file: the header row, then that line."""
    rows = open_report(done, t, 1)
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-reason", "unreadable")
    cells = rows.first.locator("td")
    expect(cells.nth(0)).to_have_text("INBOX")
    expect(cells.nth(5)).to_have_text(UNREADABLE[lang])
    expect(done.locator(".job-report .more")).to_be_hidden()  # one page holds it all
    screenshot(page, f"migration-report-{lang}")

    job_id = done.get_attribute("data-job")
    with page.expect_download() as info:
        done.get_by_role("button", name=t["mig.report_csv"], exact=True).click()
    download = info.value
    assert download.suggested_filename == f"migration-{job_id}-report.csv"
    saved = download.path()
    assert saved is not None
    table = list(csv.reader(io.StringIO(Path(saved).read_bytes().decode("utf-8-sig"))))
    assert len(table) == 2, table  # the header row, then the one line
    assert set(CSV_COLUMNS) <= set(table[0]), table
    line = dict(zip(table[0], table[1], strict=True))
    assert (line["folder"], line["reason"], line["retryable"]) == ("INBOX", "unreadable", "true")
    assert line["reason_text"] == UNREADABLE[lang]
    return rows


def the_retry(page: Page, t: dict[str, str], done: Locator, password: str, lang: str) -> None:
    """A wrong password is refused in the dialog, in words; the right one queues the retry,
    whose own report lists the message again."""
    done.get_by_role("button", name=t["mig.retry"], exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading")).to_have_text(t["mig.retry_title"])
    expect(dialog).to_contain_text(fill(t["mig.retry_intro"], failed=1))
    password_field = dialog.get_by_label(t["mig.followup_password"], exact=True)
    expect_focused(password_field)
    password_field.fill("not-the-password")
    dialog.get_by_label(t["mig.agreement"], exact=True).check()
    dialog.locator('button[type="submit"]').click()
    expect(dialog.get_by_role("alert")).to_contain_text(t["error.remote_auth_failed"])
    expect_focused(password_field)
    dialog.get_by_label(t["mig.agreement"], exact=True).uncheck()
    follow_up(page, t, password, f"migration-retry-dialog-{lang}")

    retry = page.locator('article.job[data-kind="retry"]')
    expect(retry).to_have_attribute("data-state", "completed")
    expect(retry.locator(".kind")).to_have_text(around(t["mig.kind_retry"], "origin"))
    expect(retry).to_contain_text(
        fill(t["mig.counts_text"], imported=0, present=0, oversize=0, failed=1)
    )
    rows = open_report(retry, t, 1)
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td").nth(5)).to_have_text(UNREADABLE[lang])


def the_delta_pass(page: Page, t: dict[str, str], done: Locator, password: str, lang: str) -> None:
    """Only the mail that arrived since the first migration: imported, nothing left behind."""
    button = done.get_by_role("button", name=t["mig.delta"], exact=True)
    expect(button).to_have_accessible_description(around(t["mig.delta_until"], "until"))
    button.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading")).to_have_text(t["mig.delta_title"])
    expect_focused(dialog.get_by_label(t["mig.followup_password"], exact=True))
    follow_up(page, t, password, f"migration-delta-dialog-{lang}")

    delta = page.locator('article.job[data-kind="delta"]')
    expect(delta).to_have_attribute("data-state", "completed")
    expect(delta.locator(".kind")).to_have_text(around(t["mig.kind_delta"], "origin"))
    expect(delta).to_contain_text(
        fill(t["mig.counts_text"], imported=2, present=0, oversize=0, failed=0)
    )
    expect(delta.locator(".job-report")).to_have_count(0)  # nothing left behind: no report
    expect(delta.get_by_role("button", name=t["mig.retry"], exact=True)).to_have_count(0)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_report_csv_retry_and_newer_mail(
    page: Page, console: str, dovecot: Dovecot, lang: str
) -> None:
    t = words(lang)
    user, password, tag = seed(dovecot)
    sign_in_as(page, console, f"report-{lang}-{tag}@acme.example")
    page.get_by_label("Language").select_option(lang)
    expect(page.locator("html")).to_have_attribute("lang", lang)
    page.get_by_role("link", name=t["nav.migration"], exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t["mig.title"])
    start_migration(page, t, dovecot, user, password)

    # Completed: three imported; the one that is not mail failed, and can be tried again.
    done = page.locator('article.job[data-kind="full"][data-state="completed"]')
    expect(done).to_be_visible()
    counts = fill(t["mig.counts_text"], imported=3, present=0, oversize=0, failed=1)
    expect(done).to_contain_text(counts)
    expect(done.locator(".kind")).to_have_count(0)  # a full migration has no label
    rows = the_report(page, t, done, lang)
    the_retry(page, t, done, password, lang)
    expect(rows).to_have_count(1)  # the first job's report stayed open through the redraws

    dovecot.seed_maildir(
        user, "INBOX", [(mail(tag, n), set(), 1_800_000_000.0 + n) for n in (10, 11)]
    )
    the_delta_pass(page, t, done, password, lang)
    screenshot(page, f"migration-follow-ups-{lang}")
    the_link(page, console, t, str(done.get_attribute("data-job")))


def the_link(page: Page, console: str, t: dict[str, str], job_id: str) -> None:
    """A notice's link (``#/migration/{id}``) opens the console on that job, focused, with its
    report open; a link to a job that is not the user's says so."""
    page.goto(f"{console}console/index.html#/mail")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.goto(f"{console}console/index.html#/migration/{job_id}")
    card = page.locator(f'article.job[data-job="{job_id}"]')
    expect_focused(card)
    expect(card.locator('[data-action="report"]')).to_have_attribute("aria-expanded", "true")
    expect(card.locator(".job-report tbody tr")).to_have_count(1)
    page.goto(f"{console}console/index.html#/migration/j-not-yours")
    expect(page.locator("#toast")).to_contain_text(t["mig.linked_missing"])
