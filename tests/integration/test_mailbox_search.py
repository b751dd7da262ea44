"""Search on DynamoDB (moto over HTTP): a rare word in a big folder is found over several
bounded requests, each short page carrying a cursor, with nothing skipped or repeated."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace

import pytest

from mailport.adapters.clients import Clients
from mailport.adapters.dynamodb_message_index import DynamoMessageIndex
from mailport.domain.mailbox import (
    Flags,
    Folder,
    Owner,
    Source,
    SourceType,
    StoredMessage,
    SystemFolder,
)
from mailport.domain.message import Address, MessageSummary
from mailport.domain.search import READ_BUDGET, parse_search
from mailport_local.stack import LocalStack

pytestmark = pytest.mark.stack

START = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
BIG = READ_BUDGET + 150


def message(n: int, subject: str) -> StoredMessage:
    summary = MessageSummary(
        subject=subject,
        from_=(Address("送信者", f"s{n}@example.jp"),),
        to=(),
        cc=(),
        date=START - dt.timedelta(minutes=n),  # n = 0 is the newest
        message_id=None,
        attachment_names=(),
        has_attachments=False,
        size=10,
    )
    return StoredMessage(
        f"m{n:05d}",
        "inbox",
        summary,
        Flags(),
        Source(SourceType.UPLOAD, "b1"),
        f"fp{n}",
        f"raw/{n}",
        START,
    )


def test_a_rare_word_in_a_big_folder_is_found_over_bounded_requests(
    local_stack: LocalStack,
) -> None:
    owner = Owner("acme", f"u-{uuid.uuid4().hex[:10]}")
    index = DynamoMessageIndex(local_stack.physical_id("MailportTable"), client=Clients().dynamodb)
    index.create_folder(owner, Folder("inbox", "Inbox", None, SystemFolder.INBOX))
    rare = {3, BIG - 20}  # one in the first bounded read, one past it
    messages = [message(n, "ﾚｱ件名" if n in rare else f"普通 {n}") for n in range(BIG)]
    for at in range(0, BIG, 100):
        index.insert_messages([(owner, m) for m in messages[at : at + 100]])
    query = parse_search("レア件名", None, None)  # half-width stored, full-width asked

    first, cursor = index.search_messages(owner, ["inbox"], query, 10, None)
    # The first request stops at its budget: one match, and a cursor to go on.
    assert [m.message_id for m in first] == ["m00003"] and cursor
    second, cursor = index.search_messages(owner, ["inbox"], query, 10, cursor)
    assert [m.message_id for m in second] == [f"m{BIG - 20:05d}"] and cursor is None

    # No words: pages of 200 follow each other to the end, each message once.
    everything = parse_search(None, None, None)
    seen: list[str] = []
    cursor = None
    while True:
        page, cursor = index.search_messages(owner, ["inbox"], everything, 200, cursor)
        seen += [m.message_id for m in page]
        if cursor is None:
            break
    assert seen == [m.message_id for m in messages]


def test_a_folder_deleted_while_paging_all_folders_is_passed_over(
    local_stack: LocalStack,
) -> None:
    """Paging all folders, the cursor's folder is deleted: the next page goes on with the
    folder after it; a search of that one folder, or another user, is refused the cursor."""
    from mailport.errors import ValidationFailed

    owner = Owner("acme", f"u-{uuid.uuid4().hex[:10]}")
    index = DynamoMessageIndex(local_stack.physical_id("MailportTable"), client=Clients().dynamodb)
    index.create_folder(owner, Folder("inbox", "Inbox", None, SystemFolder.INBOX))
    for name in ("a", "b", "c"):
        index.create_folder(owner, Folder(name, name, None, None))
    placed = {"inbox": range(0, 2), "a": range(2, 6), "b": range(6, 8), "c": range(8, 11)}
    index.insert_messages(
        [
            (owner, replace(message(n, f"件名 {n}"), folder_id=folder))
            for folder, numbers in placed.items()
            for n in numbers
        ]
    )
    everything = parse_search(None, None, None)
    folders = ["inbox", "a", "b", "c"]
    first, cursor = index.search_messages(owner, folders, everything, 3, None, all_folders=True)
    assert [m.folder_id for m in first] == ["inbox", "inbox", "a"] and cursor
    # Folder "a" is deleted (its messages gone with it) before the next page is asked for.
    left = ["inbox", "b", "c"]
    rest: list[str] = []
    while cursor:
        page, cursor = index.search_messages(owner, left, everything, 3, cursor, all_folders=True)
        rest += [m.message_id for m in page]
    assert rest == [f"m{n:05d}" for n in (6, 7, 8, 9, 10)]
    # Not over all folders (one folder's search), or another user's: refused as before.
    _, cursor = index.search_messages(owner, folders, everything, 3, None, all_folders=True)
    assert cursor
    with pytest.raises(ValidationFailed):
        index.search_messages(owner, left, everything, 3, cursor)
    other = Owner("acme", f"u-{uuid.uuid4().hex[:10]}")
    with pytest.raises(ValidationFailed):
        index.search_messages(other, left, everything, 3, cursor, all_folders=True)
