"""Searching the mailbox: what matches (case, width, Japanese, dates), what a bad search is
told, and the paging loop: short pages, the read budget, cursors that skip nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from mailport.adapters import keys
from mailport.adapters.dynamo_table import from_ddb, to_ddb
from mailport.adapters.dynamodb_mailbox import DynamoMailbox
from mailport.domain.mailbox import Flags, Folder, Owner, Source, SourceType, StoredMessage
from mailport.domain.message import Address, MessageSummary
from mailport.domain.search import SearchQuery, gather, normalise, parse_search
from mailport.errors import ValidationFailed
from mailport.usecases.mailbox import MailboxService, SearchRequest
from tests.unit.fakes import MemoryMailbox, RecordingClient
from tests.unit.test_gsi1_projection import index_entry

ME, OTHER = Owner("acme", "u1"), Owner("acme", "u2")
DAY = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)


def message(n: int, subject: str = "", sender: Address | None = None, **kw: Any) -> StoredMessage:
    summary = MessageSummary(
        subject=subject or f"message {n}",
        from_=(sender or Address("Ann Example", "ann@example.com"),),
        to=(),
        cc=(),
        date=kw.get("date", DAY - dt.timedelta(hours=n)),
        message_id=None,
        attachment_names=(),
        has_attachments=False,
        size=100,
    )
    return StoredMessage(
        f"m{n:04d}",
        kw.get("folder", "inbox"),
        summary,
        Flags(),
        Source(SourceType.UPLOAD, "b1"),
        "fp",
        "raw",
        DAY,
    )


# ------------------------------------------------------------------ matching
def test_normalise_folds_case_width_and_spaces() -> None:
    assert normalise("ＡＢＣ　Ｄｅｆ") == "abc def"
    assert normalise("ｶﾀｶﾅ") == normalise("カタカナ")
    assert normalise("STRASSE") == normalise("straße")


@pytest.mark.parametrize(
    ("q", "hit"),
    [
        ("請求書", True),
        ("せいきゅう", False),
        ("ｲﾝﾎﾞｲｽ", True),  # half-width kana typed, full-width stored
        ("ＴＡＮＡＫＡ", True),  # full-width Latin finds the address
        ("from:田中", True),
        ("subject:田中", False),
        ("ｆｒｏｍ：tanaka@", True),  # a full-width "from:" works as typed
        ('"請求書 インボイス"', True),
        ('"インボイス 請求書"', False),
        ("請求書 minutes", False),  # every word must match
    ],
)
def test_words_match_sender_or_subject_as_asked(q: str, hit: bool) -> None:
    m = message(1, "11月分 請求書 インボイス", Address("田中 太郎", "Tanaka@example.jp"))
    assert parse_search(q, None, None).matches(m) is hit


def test_dates_keep_since_and_leave_out_before() -> None:
    m = message(0, date=dt.datetime(2026, 11, 1, 0, 0, tzinfo=dt.UTC))
    assert parse_search(None, "2026-11-01", None).matches(m)
    assert not parse_search(None, "2026-11-02", None).matches(m)
    assert parse_search(None, None, "2026-11-02").matches(m)
    assert not parse_search(None, None, "2026-11-01").matches(m)
    # A date with an offset counts as its UTC day.
    tokyo = message(
        0, date=dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    )
    assert parse_search(None, "2026-11-01", "2026-11-02").matches(tokyo)


@pytest.mark.parametrize(
    ("q", "since", "before", "code"),
    [
        ("x" * 201, None, None, "mailbox.search_long"),
        (" ".join("abcdefghijk"), None, None, "mailbox.search_terms"),
        (None, "2026-13-01", None, "mailbox.search_date"),
        (None, None, "yesterday", "mailbox.search_date"),
        (None, "２０２６-01-01", None, "mailbox.search_date"),
        (None, "2026-02-01", "2026-02-01", "mailbox.search_dates"),
    ],
)
def test_a_bad_search_is_refused_with_words(
    q: str | None, since: str | None, before: str | None, code: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_search(q, since, before)
    words = caught.value.words
    assert words is not None and words.key == code
    assert words.render("ja") != words.render("en") != code


def test_the_longest_search_is_allowed() -> None:
    assert parse_search("x" * 200, None, None).anywhere == ("x" * 200,)


# ------------------------------------------------------------------ the paging loop
def pages(entries: list[StoredMessage]) -> Any:
    """A reader over a list, positions as offsets; records each read's size."""
    asked: list[int] = []

    def read(at: int | None, size: int) -> Any:
        asked.append(size)
        start = at or 0
        chunk = entries[start : start + size]
        after = start + size if start + size < len(entries) else None
        return [(m, start + n + 1) for n, m in enumerate(chunk)], after

    read.asked = asked  # type: ignore[attr-defined]
    return read


def test_a_page_cut_by_the_limit_goes_on_after_its_last_match() -> None:
    entries = [message(n, "hit" if n % 3 == 0 else "miss") for n in range(30)]
    query = parse_search("hit", None, None)
    seen: list[str] = []
    cursor: int | None = None
    while True:
        found, cursor = gather(pages(entries), cursor, query, 4)
        seen += [m.message_id for m in found]
        if cursor is None:
            break
    assert seen == [m.message_id for m in entries if m.summary.subject == "hit"]


def test_the_last_match_at_the_end_gives_no_cursor() -> None:
    entries = [message(n) for n in range(3)]
    assert gather(pages(entries), None, SearchQuery(), 3) == (entries, None)


def test_the_read_budget_returns_a_short_page_with_a_cursor() -> None:
    entries = [message(n, "rare" if n == 150 else "common") for n in range(200)]
    read = pages(entries)
    found, cursor = gather(read, None, parse_search("rare", None, None), 10, budget=100)
    assert found == [] and cursor == 100 and sum(read.asked) == 100
    found, cursor = gather(read, cursor, parse_search("rare", None, None), 10, budget=100)
    assert [m.message_id for m in found] == ["m0150"] and cursor is None


def test_empty_reads_stop_at_max_reads() -> None:
    calls: list[int | None] = []

    def read(at: int | None, size: int) -> Any:
        calls.append(at)
        return [], (at or 0) + 1  # an empty folder, then another, and another...

    assert gather(read, None, SearchQuery(), 10, max_reads=5) == ([], 5)
    assert len(calls) == 5


# ------------------------------------------------------ through the use case (fake port)
def service() -> tuple[MailboxService, MemoryMailbox]:
    box = MemoryMailbox()
    svc = MailboxService(box, raw=None)  # type: ignore[arg-type]
    for owner in (ME, OTHER):
        svc.ensure_system_folders(owner)
        box.create_folder(owner, Folder("fwork", "Work", None))
    return svc, box


def test_all_folders_are_searched_folder_after_folder_and_only_the_callers() -> None:
    svc, box = service()
    box.add(ME, message(1, "見積書 A"))
    box.add(ME, message(2, "見積書 B", folder="fwork"))
    box.add(ME, message(3, "その他"))
    box.add(OTHER, message(4, "見積書 他人"))
    page = svc.search_all(ME, SearchRequest(q="見積書"), "50", None)
    assert [m.message_id for m in page.messages] == ["m0001", "m0002"]
    in_work = svc.search_folder(ME, "fwork", SearchRequest(q="見積書"), None, None)
    assert [m.message_id for m in in_work.messages] == ["m0002"] and in_work.folder.name == "Work"
    theirs = svc.search_all(OTHER, SearchRequest(q="見積書"), None, None).messages
    assert [m.message_id for m in theirs] == ["m0004"]


def test_search_pages_across_folders_with_the_cursor() -> None:
    svc, box = service()
    for n in range(7):
        box.add(ME, message(n, folder="inbox" if n < 4 else "fwork"))
    seen, cursor = [], None
    while True:
        page = svc.search_all(ME, SearchRequest(q="message"), "3", cursor)
        seen += [m.message_id for m in page.messages]
        cursor = page.cursor
        if cursor is None:
            break
    assert seen == [f"m{n:04d}" for n in range(7)]


def test_the_use_case_refuses_a_bad_limit_and_date() -> None:
    svc, _ = service()
    with pytest.raises(ValidationFailed):
        svc.search_all(ME, SearchRequest(since="2026-02-30"), None, None)
    with pytest.raises(ValidationFailed):
        svc.search_all(ME, SearchRequest(q="x"), "0", None)


# ------------------------------------------------------------------ the DynamoDB adapter's requests
def gsi1_item(owner: Owner, m: StoredMessage) -> dict[str, Any]:
    """The message as a GSI1 answer holds it: only what the template projects, so a search
    reading anything else fails here."""
    item = DynamoMailbox("t", client=lambda: None)._message_item(owner, m)
    return to_ddb(index_entry(item))


def test_the_adapter_queries_the_date_range_and_goes_to_the_next_folder() -> None:
    inbox_hit = message(1, "hit")
    work_hit = message(2, "hit", folder="fwork")
    client = RecordingClient(
        answers=[
            {"Items": [gsi1_item(ME, inbox_hit)]},
            {"Items": [gsi1_item(ME, work_hit)]},
        ]
    )
    box = DynamoMailbox("t", client=lambda: client)
    query = parse_search("hit", "2026-10-01", "2026-11-02")
    found, cursor = box.search_messages(ME, ["inbox", "fwork"], query, 10, None)
    assert [m.message_id for m in found] == ["m0001", "m0002"] and cursor is None
    assert [m.folder_id for m in found] == ["inbox", "fwork"]
    first, second = (kwargs for _, kwargs in client.calls)
    assert first["KeyConditionExpression"] == "GSI1PK = :pk AND GSI1SK BETWEEN :a AND :b"
    values = from_ddb(first["ExpressionAttributeValues"])
    assert values == {
        ":pk": keys.folder_partition(ME, "inbox"),
        ":a": "2026-10-01",
        ":b": "2026-11-02",
    }
    assert from_ddb(second["ExpressionAttributeValues"])[":pk"] == keys.folder_partition(
        ME, "fwork"
    )


def test_the_adapters_cursor_resumes_after_the_last_match_and_refuses_forgeries() -> None:
    items = [gsi1_item(ME, message(n, "hit")) for n in range(3)]
    client = RecordingClient(answers=[{"Items": items, "LastEvaluatedKey": items[2]}])
    box = DynamoMailbox("t", client=lambda: client)
    found, cursor = box.search_messages(ME, ["inbox"], SearchQuery(), 2, None)
    assert len(found) == 2 and cursor
    box.search_messages(ME, ["inbox"], SearchQuery(), 2, cursor)
    resumed = client.calls[-1][1]["ExclusiveStartKey"]
    assert from_ddb(resumed)["SK"] == keys.message_sk("m0001")
    # The same cursor in a search of other folders, or somebody else's: refused.
    with pytest.raises(ValidationFailed):
        box.search_messages(ME, ["fwork"], SearchQuery(), 2, cursor)
    with pytest.raises(ValidationFailed):
        box.search_messages(OTHER, ["inbox"], SearchQuery(), 2, cursor)
    with pytest.raises(ValidationFailed):
        box.search_messages(ME, ["inbox"], SearchQuery(), 2, "not-a-cursor")
    # Nor for other dates: DynamoDB refuses a start key outside the key condition.
    with pytest.raises(ValidationFailed):
        box.search_messages(ME, ["inbox"], parse_search(None, "2026-11-01", None), 2, cursor)
