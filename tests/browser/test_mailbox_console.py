"""The mailbox in the console, in Japanese and English: pages of a big folder, search (words,
all folders, dates), several messages selected and marked read, flagged, moved to a folder,
deleted to Trash and deleted for good; the open message's own actions; the keyboard."""

from __future__ import annotations

import email.utils
import uuid
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Locator, Page, expect

from mailport_local.stack import LocalStack
from tests.browser.conftest import new_page, screenshot, sign_in_as
from tests.e2e.test_upload import start, upload_all, wait_done
from tests.support.api import login

pytestmark = pytest.mark.stack

FILLERS = 50  # with the three below, more than one page (50)
DATE = "Tue, 01 Dec 2026 09:00:00 +0000"
WORDS: dict[str, dict[str, str]] = {
    "en": {
        "folder": "Projects",
        "inbox": "Inbox",
        "trash": "Trash",
        "more": "Show more",
        "select": "Select: ",
        "select_all": "Select all on this page",
        "selected": "3 selected",
        "read": "Mark read",
        "flag": "Flag",
        "unflag": "Remove flag",
        "move_to": "Move to folder",
        "move": "Move",
        "delete": "Delete",
        "forget": "Delete for good",
        "search_label": "Search mail",
        "scope": "Search in",
        "since": "On or after",
        "dates": "Dates",
        "search": "Search",
        "clear": "Clear search",
        "found_3": "Messages found: 3",
        "found_1": "Messages found: 1",
        "none": "No messages found.",
        "toolbar": "Actions on the selected messages",
        "open_bar": "Actions on this message",
        "moved": "3 message(s) moved to Projects",
        "forgot": "3 message(s) deleted for good",
    },
    "ja": {
        "folder": "案件",
        "inbox": "受信箱",
        "trash": "ごみ箱",
        "more": "さらに表示",
        "select": "選択：",
        "select_all": "このページをすべて選択",
        "selected": "3 件を選択中",
        "read": "既読にする",
        "flag": "フラグを付ける",
        "unflag": "フラグを外す",
        "move_to": "移動先のフォルダ",
        "move": "移動",
        "delete": "削除",
        "forget": "完全に削除",
        "search_label": "メールを検索",
        "scope": "検索する場所",
        "since": "この日以降",
        "dates": "日付で絞り込む",
        "search": "検索",
        "clear": "検索を解除",
        "found_3": "3 件のメールが見つかりました",
        "found_1": "1 件のメールが見つかりました",
        "none": "該当するメールはありません。",
        "toolbar": "選択したメールの操作",
        "open_bar": "このメールの操作",
        "moved": "3 件のメールを「案件」に移動しました",
        "forgot": "3 件のメールを完全に削除しました",
    },
}


def mail(n: int, subject: str, sender: tuple[str, str], date: str, tag: str) -> bytes:
    m = EmailMessage(policy=SMTP)
    m["From"] = email.utils.formataddr(sender)
    m["To"] = "me@acme.example"
    m["Subject"] = subject
    m["Date"] = date
    m["Message-ID"] = f"<box-{tag}-{n}@example.jp>"
    m.set_content(f"本文 {n}")
    return m.as_bytes()


def seed(stack: LocalStack, who: str, lang: str, tag: str) -> tuple[dict[str, str], str]:
    """Three new quotes from Tanaka (November) over fifty older messages (one an invoice);
    a folder of the user's own. The folder's id."""
    h = login(stack, who, "acme")
    made = requests.post(
        f"{stack.api_url}/v1/folders", headers=h, json={"name": WORDS[lang]["folder"]}, timeout=10
    )
    assert made.status_code == 201, made.text
    files: dict[str, bytes] = {}
    for n in range(FILLERS):
        subject = f"請求書 {tag}" if n == 7 else f"filler {n} {tag}"
        date = f"Thu, {n % 28 + 1:02d} Jan 2026 09:00:00 +0000"
        files[f"f{n}.eml"] = mail(n, subject, ("佐藤", "sato@example.jp"), date, tag)
    for n, letter in enumerate("ABC"):
        date = f"Mon, {n + 2:02d} Nov 2026 09:00:00 +0000"
        subject = f"見積書 {letter} {tag}"
        files[f"q{n}.eml"] = mail(100 + n, subject, ("田中 太郎", "tanaka@example.jp"), date, tag)
    batch = start(stack, h, files)
    upload_all(batch, files)
    state = wait_done(stack, h, batch["id"], timeout=90)
    assert all(f["status"] == "stored" for f in state["files"]), state
    return h, str(made.json()["id"])


def folder(stack: LocalStack, h: dict[str, str], folder_id: str) -> dict[str, Any]:
    folders = requests.get(f"{stack.api_url}/v1/folders", headers=h, timeout=10).json()["folders"]
    return next(f for f in folders if f["id"] == folder_id)  # type: ignore[no-any-return]


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_select_act_search_and_page(
    browser: Browser, console: str, local_stack: LocalStack, lang: str
) -> None:
    w, tag = WORDS[lang], uuid.uuid4().hex[:6]
    who = f"box-{lang}-{tag}@acme.example"
    h, projects = seed(local_stack, who, lang, tag)
    page = new_page(browser, "en-US")
    try:
        sign_in_as(page, console, who)
        if lang == "ja":
            page.get_by_label("Language").select_option("ja")
            expect(page.locator("html")).to_have_attribute("lang", "ja")
        pages_and_search(page, w, tag, lang)
        select_and_act(page, w, tag, lang)
        assert folder(local_stack, h, projects)["total"] == 3
        assert folder(local_stack, h, "inbox")["unread"] == 50
        trash_and_forget(page, w, projects, lang)
        assert folder(local_stack, h, "trash")["total"] == 0
        search_all_and_open(page, w, tag, lang)
        assert not page.errors  # type: ignore[attr-defined]
    finally:
        page.context.close()


def rows(page: Page) -> Locator:
    return page.locator(".message-list li")


def pages_and_search(page: Page, w: dict[str, str], tag: str, lang: str) -> None:
    """Pages: fifty, then the rest with the cursor; search this folder by words (full-width
    as typed) and by date."""
    quotes = page.locator(".message-list li", has_text="見積書")
    expect(rows(page)).to_have_count(50)
    page.get_by_role("button", name=w["more"]).click()
    expect(rows(page)).to_have_count(FILLERS + 3)
    expect(page.get_by_role("button", name=w["more"])).to_be_hidden()
    expect(quotes.locator(".row.unread")).to_have_count(3)  # unread is bold
    screenshot(page, f"mailbox-paged-{lang}")
    search = page.get_by_role("search")
    search.get_by_label(w["search_label"]).fill(f"ｆｒｏｍ：田中 {tag}")
    search.get_by_role("button", name=w["search"], exact=True).click()
    expect(rows(page)).to_have_count(3)
    expect(page.locator(".list-status")).to_have_text(w["found_3"])
    search.get_by_label(w["search_label"]).fill("")
    search.get_by_text(w["dates"]).click()  # the dates fold away until asked for
    search.get_by_label(w["since"]).fill("2026-11-03")
    search.get_by_role("button", name=w["search"], exact=True).click()
    expect(rows(page)).to_have_count(2)
    screenshot(page, f"mailbox-search-{lang}")
    search.get_by_role("button", name=w["clear"]).click()
    expect(rows(page)).to_have_count(50)


def select_and_act(page: Page, w: dict[str, str], tag: str, lang: str) -> None:
    """Three selected (Space on a checkbox, a click, "x" on a row), marked read, flagged,
    moved."""
    quotes = page.locator(".message-list li", has_text="見積書")
    first = page.get_by_label(f"{w['select']}見積書 A {tag}")
    first.focus()
    page.keyboard.press("Space")
    expect(first).to_be_checked()
    page.get_by_label(f"{w['select']}見積書 B {tag}").check()
    # "x" on a row selects it, as in web mail.
    page.locator(".message-list .row", has_text=f"見積書 C {tag}").focus()
    page.keyboard.press("x")
    expect(page.get_by_label(f"{w['select']}見積書 C {tag}")).to_be_checked()
    toolbar = page.get_by_role("toolbar", name=w["toolbar"])
    expect(toolbar.locator(".selected-count")).to_have_text(w["selected"])
    screenshot(page, f"mailbox-selected-{lang}")
    toolbar.get_by_role("button", name=w["read"]).click()
    expect(quotes.locator(".row.unread")).to_have_count(0)
    expect(page.locator('nav.folders a[data-folder="inbox"] .badge')).to_have_text("50")
    toolbar.get_by_role("button", name=w["flag"], exact=True).click()
    expect(quotes.locator(".row.flagged")).to_have_count(3)
    expect(quotes.locator(".flag").first).to_be_visible()
    toolbar.get_by_label(w["move_to"]).select_option(projects_of(page, w))
    toolbar.get_by_role("button", name=w["move"], exact=True).click()
    expect(quotes).to_have_count(0)
    expect(page.locator("#toast")).to_have_text(w["moved"])


def projects_of(page: Page, w: dict[str, str]) -> str:
    link = page.locator("nav.folders a", has_text=w["folder"])
    return str(link.get_attribute("data-folder"))


def accepting(page: Page) -> list[str]:
    """The next dialog's message, once it is accepted."""
    asked: list[str] = []

    def accept(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    return asked


def trash_and_forget(page: Page, w: dict[str, str], projects: str, lang: str) -> None:
    """In the folder: all on the page to Trash; in Trash, for good after a confirmation."""
    page.locator(f'nav.folders a[data-folder="{projects}"]').click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(w["folder"])
    expect(rows(page)).to_have_count(3)
    expect(page.locator(".message-list .row.flagged")).to_have_count(3)
    page.get_by_label(w["select_all"]).check()
    toolbar = page.get_by_role("toolbar", name=w["toolbar"])
    toolbar.get_by_role("button", name=w["delete"], exact=True).click()
    expect(rows(page)).to_have_count(0)
    page.locator('nav.folders a[data-folder="trash"]').click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(w["trash"])
    expect(rows(page)).to_have_count(3)
    page.get_by_label(w["select_all"]).check()
    asked = accepting(page)
    screenshot(page, f"mailbox-trash-{lang}")
    toolbar = page.get_by_role("toolbar", name=w["toolbar"])
    toolbar.get_by_role("button", name=w["forget"]).click()
    expect(page.locator("#toast")).to_have_text(w["forgot"])
    expect(rows(page)).to_have_count(0)
    assert asked and "3" in asked[0]


def search_all_and_open(page: Page, w: dict[str, str], tag: str, lang: str) -> None:
    """All folders: the invoice; opened with Enter, flagged from its own actions."""
    page.locator('nav.folders a[data-folder="inbox"]').click()
    expect(rows(page)).to_have_count(50)
    search = page.get_by_role("search")
    search.get_by_label(w["search_label"]).fill(f"請求書 {tag}")
    search.get_by_label(w["scope"]).select_option("all")
    search.get_by_label(w["search_label"]).press("Enter")
    expect(rows(page)).to_have_count(1)
    expect(page.locator(".list-status")).to_have_text(w["found_1"])
    row = page.locator(".message-list .row").first
    row.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".message-view h2")).to_have_text(f"請求書 {tag}")
    bar = page.get_by_role("toolbar", name=w["open_bar"])
    bar.get_by_role("button", name=w["flag"], exact=True).click()
    expect(row).to_have_class("row flagged")
    expect(bar.get_by_role("button", name=w["unflag"])).to_be_visible()
    screenshot(page, f"mailbox-open-{lang}")
    search.get_by_label(w["search_label"]).fill(f"nothing-like-this {tag}")
    search.get_by_role("button", name=w["search"], exact=True).click()
    expect(page.locator(".list-status")).to_have_text(w["none"])


def test_deleting_again_in_an_all_folders_search_deletes_for_good(
    browser: Browser, console: str, local_stack: LocalStack
) -> None:
    """Searching all folders, Delete on a selection moves what is elsewhere to Trash and
    deletes what is in Trash already for good, after asking (as Delete does in Trash)."""
    w, tag = WORDS["en"], uuid.uuid4().hex[:6]
    who = f"box-again-{tag}@acme.example"
    h = login(local_stack, who, "acme")
    files = {
        f"{n}.eml": mail(n, f"twice {n} {tag}", ("佐藤", "sato@example.jp"), DATE, tag)
        for n in range(2)
    }
    batch = start(local_stack, h, files)
    upload_all(batch, files)
    state = wait_done(local_stack, h, batch["id"], timeout=90)
    assert all(f["status"] == "stored" for f in state["files"]), state
    api = local_stack.api_url
    listed = requests.get(f"{api}/v1/folders/inbox/messages", headers=h, timeout=10).json()
    ids = {m["subject"]: m["id"] for m in listed["messages"]}
    trashed, kept = ids[f"twice 0 {tag}"], ids[f"twice 1 {tag}"]
    moved = requests.patch(
        f"{api}/v1/messages/{trashed}", headers=h, json={"folder_id": "trash"}, timeout=10
    )
    assert moved.status_code == 200, moved.text
    page = new_page(browser, "en-US")
    try:
        sign_in_as(page, console, who)
        search = page.get_by_role("search")
        search.get_by_label(w["search_label"]).fill(f"twice {tag}")
        search.get_by_label(w["scope"]).select_option("all")
        search.get_by_label(w["search_label"]).press("Enter")
        expect(rows(page)).to_have_count(2)
        page.get_by_label(w["select_all"]).check()
        asked = accepting(page)
        toolbar = page.get_by_role("toolbar", name=w["toolbar"])
        toolbar.get_by_role("button", name=w["delete"], exact=True).click()
        expect(page.locator("#toast")).to_have_text("1 message(s) deleted for good")
        expect(rows(page)).to_have_count(0)
        assert asked == [
            "1 message(s) are in Trash already. Delete them for good? This cannot be undone."
        ]
        gone = requests.get(f"{api}/v1/messages/{trashed}", headers=h, timeout=10)
        assert gone.status_code == 404, gone.text
        now = requests.get(f"{api}/v1/messages/{kept}", headers=h, timeout=10).json()
        assert now["folder_id"] == "trash"
        assert not page.errors  # type: ignore[attr-defined]
    finally:
        page.context.close()
