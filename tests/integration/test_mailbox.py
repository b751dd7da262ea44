"""The mailbox on DynamoDB and S3 (moto over HTTP): folders, counters, duplicates, moves."""

from __future__ import annotations

import hashlib
import uuid

import api_views
import boto3
import pytest
from api_inputs import MessageChange
from api_validation import validate

from mailport.adapters import keys
from mailport.adapters.clients import Clients
from mailport.adapters.dynamodb_mailbox import DynamoMailbox
from mailport.adapters.dynamodb_message_index import DynamoMessageIndex
from mailport.adapters.s3 import S3RawStore
from mailport.domain.mailbox import (
    Flags,
    InsertOutcome,
    Owner,
    Source,
    SourceType,
    message_id_for,
)
from mailport.errors import Conflict, NotFound, ValidationFailed
from mailport.usecases.importing import Importer, ImportRequest
from mailport.usecases.index_group import GroupIndexer
from mailport.usecases.mailbox import MailboxService
from mailport_local.stack import LocalStack
from mailport_local.template import load_template

pytestmark = pytest.mark.stack


@pytest.fixture
def owner() -> Owner:
    return Owner("acme", f"u-{uuid.uuid4().hex[:10]}")


@pytest.fixture(params=["one_by_one", "grouped"])
def parts(
    local_stack: LocalStack, request: pytest.FixtureRequest
) -> tuple[MailboxService, Importer, DynamoMailbox, S3RawStore]:
    """Every test here runs with each index path: a transaction per message, and the grouped
    writes the deployed stack uses (``DynamoMessageIndex`` behind a ``GroupIndexer``).
    """
    clients = Clients()
    table = local_stack.physical_id("MailportTable")
    store = DynamoMailbox(table, client=clients.dynamodb)
    raw = S3RawStore(local_stack.physical_id("MailBucket"), client=clients.s3)
    group = None
    if request.param == "grouped":
        group = GroupIndexer(DynamoMessageIndex(table, client=clients.dynamodb))
    return MailboxService(store, raw), Importer(store, raw, group=group), store, raw


def mail(n: int, subject: str = "hello") -> bytes:
    return (
        f"From: Sender {n} <s{n}@example.com>\r\nTo: me@acme.example\r\n"
        f"Subject: {subject} {n}\r\nDate: Mon, 0{n % 9 + 1} Jan 2024 10:00:00 +0900\r\n"
        f"Message-ID: <m{n}@example.com>\r\n\r\nbody {n}\r\n"
    ).encode()


def store(
    importer: Importer,
    owner: Owner,
    raw: bytes,
    *,
    folder: str = "inbox",
    source: str = "b1",
    key: str = "k",
):  # type: ignore[no-untyped-def]
    return importer.store(
        ImportRequest(
            owner=owner,
            raw=raw,
            folder_id=folder,
            source=Source(SourceType.UPLOAD, source),
            message_id=message_id_for("upload", source, key),
        )
    )


def test_system_folders_appear_on_first_use(parts, owner) -> None:  # type: ignore[no-untyped-def]
    service = parts[0]
    names = [(f.folder_id, f.name) for f in service.folders(owner)]
    assert names == [
        ("inbox", "Inbox"),
        ("sent", "Sent"),
        ("drafts", "Drafts"),
        ("trash", "Trash"),
        ("junk", "Junk"),
    ]
    assert len(service.folders(owner)) == 5  # idempotent


def test_nested_unicode_folders(parts, owner) -> None:  # type: ignore[no-untyped-def]
    service = parts[0]
    parent = service.create_folder(owner, "日本語の取引先")
    child = service.create_folder(owner, "  ㈱髙島屋 ① ", parent.folder_id)
    assert child.name == "㈱髙島屋 ①" and child.parent_id == parent.folder_id
    with pytest.raises(Conflict):
        service.create_folder(owner, "日本語の取引先")  # same sibling name
    service.create_folder(owner, "日本語の取引先", child.folder_id)  # fine elsewhere
    with pytest.raises(ValidationFailed, match="into itself"):
        service.update_folder(owner, parent.folder_id, {"parent_id": child.folder_id})
    renamed = service.update_folder(owner, child.folder_id, {"name": "Renamed"})
    assert service.folder(owner, child.folder_id).name == renamed.name == "Renamed"
    service.create_folder(owner, "㈱髙島屋 ①", parent.folder_id)  # the old name is free again


@pytest.mark.parametrize("name", ["../x", "a\\b", "x" * 255, "NUL-free 名前"])
def test_hostile_folder_names_are_data(parts, owner, name) -> None:  # type: ignore[no-untyped-def]
    folder = parts[0].create_folder(owner, name)
    assert parts[0].folder(owner, folder.folder_id).name == name


@pytest.mark.parametrize("name", ["", "   ", "a\x00b", "x" * 256, 5, None])
def test_bad_folder_names_are_refused(parts, owner, name) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed):
        parts[0].create_folder(owner, name)


def test_system_folders_cannot_be_renamed_or_deleted(parts, owner) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed):
        parts[0].update_folder(owner, "inbox", {"name": "Other"})
    with pytest.raises(ValidationFailed):
        parts[0].delete_folder(owner, "trash")


def test_store_counts_and_dedupe(parts, owner) -> None:  # type: ignore[no-untyped-def]
    service, importer, _, raw_store = parts
    first = store(importer, owner, mail(1), key="a")
    assert first.outcome is InsertOutcome.STORED
    # The same delivery again (a retry): same id, nothing counted twice.
    assert store(importer, owner, mail(1), key="a").outcome is InsertOutcome.ALREADY_STORED
    # The same content under another identity, same folder: a duplicate of the first.
    dup = store(importer, owner, mail(1).replace(b"\r\n", b"\n"), key="b")
    assert dup.outcome is InsertOutcome.DUPLICATE and dup.message_id == first.message_id
    store(importer, owner, mail(2), key="c")
    inbox = service.folder(owner, "inbox")
    assert (inbox.total, inbox.unread) == (2, 2)
    message = service.message(owner, first.message_id)
    assert (
        message.summary.subject == "hello 1" and message.summary.from_[0].email == "s1@example.com"
    )
    assert raw_store.get(message.raw_key) == mail(1)
    assert message.sha256 == hashlib.sha256(mail(1)).hexdigest()


def test_flags_move_delete_keep_counters(parts, owner) -> None:  # type: ignore[no-untyped-def]
    service, importer, _, raw_store = parts
    work = service.create_folder(owner, "Work")
    ids = [store(importer, owner, mail(n), key=str(n)).message_id for n in range(3)]
    service.update_message(owner, ids[0], {"flags": {"seen": True, "flagged": True}})
    assert service.folder(owner, "inbox").unread == 2
    service.update_message(owner, ids[0], {"flags": {"seen": True}})  # no change, no drift
    assert service.folder(owner, "inbox").unread == 2
    moved = service.update_message(owner, ids[1], {"folder_id": work.folder_id})
    assert moved.folder_id == work.folder_id
    inbox, work_now = service.folder(owner, "inbox"), service.folder(owner, work.folder_id)
    assert (inbox.total, inbox.unread, work_now.total, work_now.unread) == (2, 1, 1, 1)
    with pytest.raises(Conflict, match=r"not empty|holds"):
        service.delete_folder(owner, work.folder_id)
    key = service.message(owner, ids[1]).raw_key
    service.delete_message(owner, ids[1])
    with pytest.raises(NotFound):
        service.message(owner, ids[1])
    with pytest.raises(NotFound):
        raw_store.get(key)
    service.delete_folder(owner, work.folder_id)
    assert service.folder(owner, "inbox").size == sum(len(mail(n)) for n in (0, 2))
    with pytest.raises(NotFound):
        service.update_message(owner, ids[0], {"folder_id": "no-such-folder"})
    # Malformed changes are refused at the API's edge now, before the use-case (the body's
    # model); the use-case takes typed changes.
    with pytest.raises(ValidationFailed, match=r"flags\.seen"):
        validate(MessageChange, {"flags": {"seen": "yes"}})
    with pytest.raises(ValidationFailed, match="colour"):
        validate(MessageChange, {"colour": "red"})


def test_pages_newest_first_with_cursor(parts, owner) -> None:  # type: ignore[no-untyped-def]
    service, importer, _, _ = parts
    for n in range(7):
        store(importer, owner, mail(n), key=str(n))
    seen: list[str] = []
    cursor = None
    while True:
        page = service.messages(owner, "inbox", 3, cursor)
        seen += [m.summary.subject for m in page.messages]
        cursor = page.cursor
        if not cursor:
            break
    dates = [service.messages(owner, "inbox", 50, None).messages[i].summary.date for i in range(7)]
    assert len(seen) == 7 and len(set(seen)) == 7
    assert dates == sorted(dates, reverse=True)


def test_a_listing_needs_only_what_gsi1_projects(parts, owner, local_stack) -> None:  # type: ignore[no-untyped-def]
    # moto projects INCLUDE on an index Query, so this table (made from the template) answers
    # with the index copy alone: no fingerprint, raw key or type.
    service, importer, _, _ = parts
    ids = [store(importer, owner, mail(n), key=str(n)).message_id for n in range(2)]
    service.update_message(owner, ids[0], {"flags": {"seen": True, "flagged": True}})
    ddb, table = boto3.client("dynamodb"), local_stack.physical_id("MailportTable")
    props = load_template()["Resources"]["MailportTable"]["Properties"]
    (want,) = (g for g in props["GlobalSecondaryIndexes"] if g["IndexName"] == keys.GSI1)
    (got,) = (
        g
        for g in ddb.describe_table(TableName=table)["Table"]["GlobalSecondaryIndexes"]
        if g["IndexName"] == keys.GSI1
    )
    assert got["Projection"] == want["Projection"]
    answer = ddb.query(
        TableName=table,
        IndexName=keys.GSI1,
        KeyConditionExpression="GSI1PK = :pk",
        ExpressionAttributeValues={":pk": {"S": keys.folder_partition(owner, "inbox")}},
    )["Items"]
    assert len(answer) == 2
    assert not any({"fingerprint", "raw_key", "type", "folder_id"} & set(i) for i in answer)
    listed = service.messages(owner, "inbox", 50, None).messages
    shown = {m.message_id: api_views.message(m) for m in listed}
    assert shown == {i: api_views.message(service.message(owner, i)) for i in ids}


def test_cursors_cannot_reach_another_users_folder(parts, owner) -> None:  # type: ignore[no-untyped-def]
    service, importer, _, _ = parts
    for n in range(3):
        store(importer, owner, mail(n), key=str(n))
    cursor = service.messages(owner, "inbox", 1, None).cursor
    assert cursor
    other = Owner("acme", "someone-else")
    with pytest.raises(ValidationFailed):
        service.messages(other, "inbox", 1, cursor)
    with pytest.raises(ValidationFailed):
        service.messages(owner, "inbox", 1, "not-a-cursor!!")
    with pytest.raises(ValidationFailed):
        service.messages(owner, "inbox", 0, None)


def test_nobody_sees_another_users_messages(parts, owner) -> None:  # type: ignore[no-untyped-def]
    service, importer, _, _ = parts
    mine = store(importer, owner, mail(1), key="x").message_id
    other = Owner("acme", "intruder")
    with pytest.raises(NotFound):
        service.message(other, mine)
    with pytest.raises(NotFound):
        service.raw(other, mine)
    with pytest.raises(NotFound):
        service.delete_message(other, mine)
    assert service.messages(other, "inbox", 50, None).messages == []


def test_rules_sort_on_import(parts, owner) -> None:  # type: ignore[no-untyped-def]
    service, importer, _, _ = parts
    news = service.create_folder(owner, "News")
    service.replace_rules(
        owner,
        {
            "rules": [
                {
                    "name": "News",
                    "enabled": True,
                    "match": "all",
                    "conditions": [{"field": "from", "op": "domain_is", "value": "example.com"}],
                    "actions": [
                        {"type": "move_to_folder", "folder_id": news.folder_id},
                        {"type": "mark_read"},
                    ],
                    "stop_processing": True,
                }
            ]
        },
    )
    result = importer.store(
        ImportRequest(
            owner=owner,
            raw=mail(3),
            folder_id="inbox",
            source=Source(SourceType.UPLOAD, "b"),
            message_id=message_id_for("upload", "b", "k"),
            apply_rules=True,
        )
    )
    assert result.folder_id == news.folder_id
    assert service.message(owner, result.message_id).flags == Flags(seen=True)
    assert service.folder(owner, news.folder_id).unread == 0
    with pytest.raises(ValidationFailed):
        service.replace_rules(
            owner,
            {
                "rules": [
                    {
                        "name": "x",
                        "enabled": True,
                        "match": "all",
                        "conditions": [{"field": "from", "op": "contains", "value": "a"}],
                        "actions": [{"type": "move_to_folder", "folder_id": "nope"}],
                        "stop_processing": False,
                    }
                ]
            },
        )


def test_a_user_folder_cannot_take_a_system_folders_place(parts, owner) -> None:  # type: ignore[no-untyped-def]
    service = parts[0]
    with pytest.raises(Conflict):
        service.create_folder(owner, "Inbox")  # the very first call of a new user
    assert service.folder(owner, "inbox").system is not None
    service.create_folder(owner, "inbox archive")


def test_a_refused_import_leaves_no_bytes(parts, owner, local_stack) -> None:  # type: ignore[no-untyped-def]
    import boto3

    _, importer, _, _ = parts
    with pytest.raises(NotFound):
        store(importer, owner, mail(9), folder="no-such-folder", key="gone")
    listed = boto3.client("s3").list_objects_v2(
        Bucket=local_stack.physical_id("MailBucket"),
        Prefix=f"mail/{owner.tenant_id}/{owner.user_id}/",
    )
    assert "Contents" not in listed


def test_the_index_keeps_a_bounded_list_of_attachment_names(parts, owner) -> None:  # type: ignore[no-untyped-def]
    from email.message import EmailMessage

    service, importer, _, raw_store = parts
    msg = EmailMessage()
    msg["From"], msg["Subject"] = "a@example.com", "many attachments"
    msg.set_content("x")
    for n in range(150):
        msg.add_attachment(
            b"x", maintype="application", subtype="octet-stream", filename=f"{n:03d}-" + "名" * 600
        )
    raw = msg.as_bytes()
    result = store(importer, owner, raw, key="many")
    stored = service.message(owner, result.message_id)
    assert len(stored.summary.attachment_names) == 100
    assert all(len(n) <= 255 for n in stored.summary.attachment_names)
    assert raw_store.get(stored.raw_key) == raw


def test_the_store_itself_refuses_to_delete_a_folder_with_children(parts, owner) -> None:  # type: ignore[no-untyped-def]
    service, _, store_, _ = parts
    parent = service.create_folder(owner, "parent")
    child = service.create_folder(owner, "child", parent.folder_id)
    # Bypass the use-case's friendly check: the transaction alone must refuse (a racing create).
    with pytest.raises(Conflict):
        store_.delete_folder(owner, service.folder(owner, parent.folder_id))
    service.update_folder(owner, child.folder_id, {"parent_id": None})  # moved out: count drops
    store_.delete_folder(owner, service.folder(owner, parent.folder_id))
    with pytest.raises(NotFound):
        service.folder(owner, parent.folder_id)
