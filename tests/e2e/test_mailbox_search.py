"""Searching the mailbox over HTTP: words in a folder and in all folders, Japanese as typed
(full-width, half-width), date filters, bad searches, paging, and nobody else's mail.
"""

from __future__ import annotations

import email.utils
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any

import pytest
import requests

from mailport_local.stack import LocalStack
from tests.e2e.test_upload import start, upload_all, wait_done
from tests.support.api import login

pytestmark = pytest.mark.stack


def mail(subject: str, sender: tuple[str, str], date: str, n: int) -> bytes:
    m = EmailMessage(policy=SMTP)
    m["From"] = email.utils.formataddr(sender)
    m["To"] = "me@acme.example"
    m["Subject"] = subject
    m["Date"] = date
    m["Message-ID"] = f"<search-{n}@example.jp>"
    m.set_content(f"body {n}")
    return m.as_bytes()


INBOX = [
    ("11月分の請求書", ("田中 太郎", "tanaka@example.jp"), "Thu, 05 Nov 2026 10:00:00 +0000"),
    ("会議のお知らせ", ("佐藤 花子", "sato@example.jp"), "Tue, 20 Oct 2026 10:00:00 +0000"),
    ("Invoice November", ("Billing", "billing@vendor.example"), "Tue, 10 Nov 2026 10:00:00 +0000"),
    ("ｲﾝﾎﾞｲｽ送付のご案内", ("鈴木", "suzuki@example.jp"), "Tue, 01 Sep 2026 10:00:00 +0000"),
    ("Weekly report", ("Ann", "ann@example.com"), "Thu, 12 Nov 2026 10:00:00 +0000"),
]
CLIENTS = [
    ("請求書（再送）", ("田中 太郎", "tanaka@example.jp"), "Fri, 06 Nov 2026 10:00:00 +0000"),
    ("見積書", ("山本", "yamamoto@example.jp"), "Sat, 01 Aug 2026 10:00:00 +0000"),
]


def put(stack: LocalStack, h: dict[str, str], folder: str, mails: list[Any], base: int) -> None:
    files = {f"s{base + n}.eml": mail(*m, base + n) for n, m in enumerate(mails)}
    batch = start(stack, h, files, folder=folder)
    upload_all(batch, files)
    state = wait_done(stack, h, batch["id"])
    assert all(f["status"] == "stored" for f in state["files"]), state


def get(stack: LocalStack, h: dict[str, str], path: str, **params: str) -> requests.Response:
    return requests.get(f"{stack.api_url}{path}", headers=h, params=params, timeout=10)


def subjects(answer: requests.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [m["subject"] for m in answer.json()["messages"]]


@pytest.fixture(scope="module")
def mailbox(local_stack: LocalStack) -> tuple[dict[str, str], str]:
    """A user with five messages in the inbox and two in a folder of their own."""
    h = login(local_stack, "search@acme.example", "acme")
    made = requests.post(
        f"{local_stack.api_url}/v1/folders", headers=h, json={"name": "取引先"}, timeout=10
    )
    assert made.status_code == 201, made.text
    folder = made.json()["id"]
    put(local_stack, h, "inbox", INBOX, 0)
    put(local_stack, h, folder, CLIENTS, 10)
    return h, folder


def test_words_in_a_folder_and_in_all_folders(
    local_stack: LocalStack, mailbox: tuple[dict[str, str], str]
) -> None:
    h, folder = mailbox
    inbox = get(local_stack, h, "/v1/folders/inbox/messages", q="請求書")
    assert subjects(inbox) == ["11月分の請求書"] and inbox.json()["folder"]["id"] == "inbox"
    everywhere = get(local_stack, h, "/v1/messages", q="請求書")
    assert subjects(everywhere) == ["11月分の請求書", "請求書（再送）"]
    assert [m["folder_id"] for m in everywhere.json()["messages"]] == ["inbox", folder]
    assert subjects(get(local_stack, h, f"/v1/folders/{folder}/messages", q="請求書")) == [
        "請求書（再送）"
    ]
    # The sender's name and address; from: and subject: look in one of them.
    assert subjects(get(local_stack, h, "/v1/messages", q="from:tanaka")) == [
        "11月分の請求書",
        "請求書（再送）",
    ]
    assert subjects(get(local_stack, h, "/v1/messages", q="田中 subject:再送")) == [
        "請求書（再送）"
    ]
    assert subjects(get(local_stack, h, "/v1/messages", q="subject:tanaka")) == []


def test_japanese_and_latin_match_in_any_width_and_case(
    local_stack: LocalStack, mailbox: tuple[dict[str, str], str]
) -> None:
    h, _ = mailbox
    assert subjects(get(local_stack, h, "/v1/messages", q="インボイス")) == ["ｲﾝﾎﾞｲｽ送付のご案内"]
    assert subjects(get(local_stack, h, "/v1/messages", q="ＩＮＶＯＩＣＥ")) == ["Invoice November"]
    assert subjects(get(local_stack, h, "/v1/messages", q="ｆｒｏｍ：佐藤")) == ["会議のお知らせ"]
    assert subjects(get(local_stack, h, "/v1/messages", q="\u3000見積書\u3000")) == ["見積書"]


def test_dates_filter_by_the_messages_day(
    local_stack: LocalStack, mailbox: tuple[dict[str, str], str]
) -> None:
    h, _ = mailbox
    november = get(
        local_stack, h, "/v1/folders/inbox/messages", since="2026-11-01", before="2026-11-12"
    )
    assert subjects(november) == ["Invoice November", "11月分の請求書"]  # newest first
    assert subjects(get(local_stack, h, "/v1/messages", q="請求書", before="2026-11-06")) == [
        "11月分の請求書"
    ]
    assert subjects(get(local_stack, h, "/v1/messages", since="2026-11-12")) == ["Weekly report"]


def test_a_date_range_pages_with_its_cursor_and_only_its_own(
    local_stack: LocalStack, mailbox: tuple[dict[str, str], str]
) -> None:
    h, _ = mailbox
    seen: list[str] = []
    params: dict[str, str] = {"since": "2026-11-01", "limit": "1"}
    for _ in range(10):
        answer = get(local_stack, h, "/v1/messages", **params)
        seen += subjects(answer)
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            break
        params["cursor"] = cursor
    assert seen == ["Weekly report", "Invoice November", "11月分の請求書", "請求書（再送）"]
    # A cursor is good for the dates it was made with only.
    first = get(local_stack, h, "/v1/messages", since="2026-11-01", limit="1").json()
    other = get(local_stack, h, "/v1/messages", cursor=first["next_cursor"], limit="1")
    assert other.status_code == 400, other.text


@pytest.mark.parametrize(
    ("params", "ja"),
    [
        ({"since": "2026-13-01"}, "日付"),
        ({"before": "11/12/2026"}, "日付"),
        ({"since": "2026-11-02", "before": "2026-11-01"}, "より前"),
        ({"q": "x" * 201}, "200 文字以内"),
    ],
)
def test_a_bad_search_is_400_with_words(
    local_stack: LocalStack, mailbox: tuple[dict[str, str], str], params: dict[str, str], ja: str
) -> None:
    h, _ = mailbox
    for path in ("/v1/messages", "/v1/folders/inbox/messages"):
        answer = get(local_stack, {**h, "Accept-Language": "ja"}, path, **params)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["code"] == "invalid_request"
        assert ja in answer.json()["error"]["message"]


def test_pages_follow_the_cursor_across_folders(
    local_stack: LocalStack, mailbox: tuple[dict[str, str], str]
) -> None:
    h, _ = mailbox
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        answer = get(
            local_stack,
            h,
            "/v1/messages",
            q="example",
            limit="2",
            **({"cursor": cursor} if cursor else {}),
        )
        assert len(subjects(answer)) <= 2
        seen += subjects(answer)
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            break
    # Folder after folder (the inbox first), each newest first; nothing twice, nothing left.
    assert seen == [
        "Weekly report",
        "Invoice November",
        "11月分の請求書",
        "会議のお知らせ",
        "ｲﾝﾎﾞｲｽ送付のご案内",
        "請求書（再送）",
        "見積書",
    ]


def test_another_users_mail_is_never_found(
    local_stack: LocalStack, mailbox: tuple[dict[str, str], str]
) -> None:
    h, folder = mailbox
    other = login(local_stack, "search-other@acme.example", "acme")
    put(
        local_stack,
        other,
        "inbox",
        [("請求書 他社分", ("田中", "tanaka@example.jp"), INBOX[0][2])],
        20,
    )
    assert subjects(get(local_stack, other, "/v1/messages", q="請求書")) == ["請求書 他社分"]
    assert "請求書 他社分" not in subjects(get(local_stack, h, "/v1/messages", q="請求書"))
    # Their folder is not found, and a cursor of mine pages nothing of theirs.
    assert get(local_stack, other, f"/v1/folders/{folder}/messages", q="請求書").status_code == 404
    mine = get(local_stack, h, "/v1/messages", q="example", limit="1").json()["next_cursor"]
    assert mine
    forged = get(local_stack, other, "/v1/messages", q="example", cursor=mine)
    assert forged.status_code == 400, forged.text
    # Another tenant's user sees nothing of either.
    stranger = login(local_stack, "search@smallco.example", "smallco")
    assert subjects(get(local_stack, stranger, "/v1/messages", q="請求書")) == []
