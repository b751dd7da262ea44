"""Messages indexed in groups (``DynamoMessageIndex`` behind ``GroupIndexer``), on moto over
HTTP: few requests, exact counters, no duplicate, and a crash between the group's transaction
and its message items healed by the next store of the same message.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest

from mailport.adapters.clients import Clients
from mailport.adapters.dynamodb_mailbox import DynamoMailbox
from mailport.adapters.dynamodb_message_index import DynamoMessageIndex
from mailport.adapters.s3 import S3RawStore
from mailport.domain.mailbox import InsertOutcome, Owner, Source, SourceType, message_id_for
from mailport.errors import NotFound
from mailport.usecases.importing import Importer, ImportRequest
from mailport.usecases.index_group import GroupIndexer
from mailport.usecases.mailbox import MailboxService
from mailport_local.stack import LocalStack

pytestmark = pytest.mark.stack


class World:
    def __init__(self, local_stack: LocalStack) -> None:
        self.calls: Counter[str] = Counter()
        clients = Clients()
        client = clients.dynamodb()
        client.meta.events.register("before-call.dynamodb.*", self._count)
        table = local_stack.physical_id("MailportTable")
        self.store = DynamoMailbox(table, client=lambda: client)
        self.index = DynamoMessageIndex(table, client=lambda: client)
        self.raw = S3RawStore(local_stack.physical_id("MailBucket"), client=clients.s3)
        self.service = MailboxService(self.store, self.raw)
        self.group = GroupIndexer(self.index, linger_s=0.2)
        self.importer = Importer(self.store, self.raw, group=self.group)
        self.owner = Owner("acme", f"u-{uuid.uuid4().hex[:10]}")
        self.service.ensure_system_folders(self.owner)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def request(self, n: int, *, folder: str = "inbox", body: str | None = None) -> ImportRequest:
        raw = (
            f"From: s{n}@example.com\r\nTo: me@acme.example\r\nSubject: m {n}\r\n"
            f"Message-ID: <m{n}@example.com>\r\n\r\n{body or f'body {n}'}\r\n"
        ).encode()
        return ImportRequest(
            owner=self.owner,
            raw=raw,
            folder_id=folder,
            source=Source(SourceType.POP, "acct"),
            message_id=message_id_for("pop", "acct", f"uidl-{n}"),
        )

    def store_at_once(self, requests: list[ImportRequest]) -> list[Any]:
        """Store every request from a thread of its own (as a fetch batch's runs do)."""
        answers: list[Any] = [None] * len(requests)

        def one(i: int) -> None:
            try:
                answers[i] = self.importer.store(requests[i])
            except Exception as e:
                answers[i] = e

        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(requests))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return answers

    def counted(self, folder: str = "inbox") -> tuple[int, int]:
        f = self.service.folder(self.owner, folder)
        return f.total, f.unread

    def listed(self, folder: str = "inbox") -> list[str]:
        messages, _ = self.store.list_messages(self.owner, folder, 100, None)
        return sorted(m.message_id for m in messages)


@pytest.fixture
def world(local_stack: LocalStack) -> World:
    return World(local_stack)


def test_forty_stores_at_once_share_a_few_requests(world: World) -> None:
    # A group of exactly 40 goes as soon as the 40th arrives (the linger only bounds a slow
    # machine's wait for the last of them).
    world.importer = Importer(
        world.store, world.raw, group=GroupIndexer(world.index, max_group=40, linger_s=30)
    )
    world.calls.clear()
    results = world.store_at_once([world.request(n) for n in range(40)])
    assert all(r.outcome is InsertOutcome.STORED for r in results)
    index_calls = {k: v for k, v in world.calls.items() if k != "GetItem"}
    # One group: a BatchGetItem, a transaction, two BatchWriteItems (25 a request).
    assert index_calls == {"BatchGetItem": 1, "TransactWriteItems": 1, "BatchWriteItem": 2}
    assert world.counted() == (40, 40)
    assert world.listed() == sorted(r.message_id for r in results)


def test_duplicates_within_and_across_groups(world: World) -> None:
    first = world.importer.store(world.request(1))
    again = world.request(1)  # the same message id: a retried run
    other_id = renumbered(again, "renumbered")
    twins = [world.request(2), world.request(2)]
    twin_content = renumbered(twins[0], "twin-content")
    results = world.store_at_once([again, other_id, *twins, twin_content])
    outcomes = [r.outcome for r in results]
    assert outcomes[0] is InsertOutcome.ALREADY_STORED
    assert (outcomes[1], results[1].message_id) == (InsertOutcome.DUPLICATE, first.message_id)
    # Of the three stores of message 2's content, the first to reach the index stores it (which
    # one depends on the threads); the other two name that one, whatever their own ids.
    assert sorted(outcomes[2:]).count(InsertOutcome.STORED) == 1
    kept = results[2 + outcomes[2:].index(InsertOutcome.STORED)].message_id
    assert {r.message_id for r in results[2:]} == {kept}
    assert kept in {twins[0].message_id, twin_content.message_id}
    assert outcomes[4] is not InsertOutcome.ALREADY_STORED  # twin_content: an id of its own
    assert world.counted() == (2, 2)
    assert world.listed() == sorted([first.message_id, kept])


def test_a_missing_folder_fails_only_its_own_messages(world: World) -> None:
    folder = world.service.create_folder(world.owner, "Gone")
    world.service.delete_folder(world.owner, folder.folder_id)
    entries = [
        (world.owner, _message(world, world.request(n, folder=f)))
        for n, f in [(1, "inbox"), (2, folder.folder_id), (3, "inbox")]
    ]
    answers = world.index.insert_messages(entries)
    assert answers[0] == (InsertOutcome.STORED, entries[0][1].message_id)
    assert isinstance(answers[1], NotFound)
    assert answers[2] == (InsertOutcome.STORED, entries[2][1].message_id)
    assert world.counted() == (2, 2)


def test_a_crash_before_the_message_items_heals_on_the_next_store(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    requests = [world.request(n) for n in range(5)]

    def crash(*_: Any, **__: Any) -> None:
        raise RuntimeError("the container died here")

    with monkeypatch.context() as patched:
        patched.setattr(world.index, "_batch_write", crash)
        results = world.store_at_once(requests)
    assert all(isinstance(r, RuntimeError) for r in results)
    # The folder counts them already; the listing does not show them yet.
    assert world.counted() == (5, 5) and world.listed() == []
    # The next run stores them again: each is written once, counted once.
    healed = world.store_at_once(requests)
    assert [r.outcome for r in healed] == [InsertOutcome.STORED] * 5
    assert world.counted() == (5, 5)
    assert world.listed() == sorted(r.message_id for r in requests)
    # And once more: already there.
    again = world.store_at_once(requests)
    assert [r.outcome for r in again] == [InsertOutcome.ALREADY_STORED] * 5
    assert world.counted() == (5, 5)


def test_a_crash_heals_through_the_one_message_path_too(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = world.request(7)
    entry = (world.owner, _message(world, request))
    with monkeypatch.context() as patched:
        patched.setattr(world.index, "_batch_write", lambda *_a, **_k: None)  # never written
        assert world.index.insert_messages([entry]) == [(InsertOutcome.STORED, request.message_id)]
    assert world.listed() == [] and world.counted() == (1, 1)
    # An importer without groups (an upload's path) meets the half-written message.
    alone = Importer(world.store, world.raw)
    assert alone.store(request).outcome is InsertOutcome.STORED
    assert world.listed() == [request.message_id] and world.counted() == (1, 1)


def test_a_late_message_item_keeps_the_flags_it_was_counted_with(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mailport.domain.mailbox import Flags

    request = world.request(8)
    seen = replace(_message(world, request), flags=Flags(seen=True))
    with monkeypatch.context() as patched:
        patched.setattr(world.index, "_batch_write", lambda *_a, **_k: None)
        world.index.insert_messages([(world.owner, seen)])
    assert world.counted() == (1, 0)
    # Retried unseen (say the rule that marked it read was removed): written as counted.
    world.index.insert_messages([(world.owner, _message(world, request))])
    stored = world.store.get_message(world.owner, request.message_id)
    assert stored is not None and stored.flags.seen
    assert world.counted() == (1, 0)


def renumbered(request: ImportRequest, uidl: str) -> ImportRequest:
    """The same message under another id (a server that renumbered its UIDLs)."""
    return replace(request, message_id=message_id_for("pop", "acct", uidl))


def _message(world: World, request: ImportRequest):  # type: ignore[no-untyped-def]
    """The ``StoredMessage`` the importer would index for ``request``."""
    captured: list[Any] = []

    class Capture:
        def insert(self, owner: Owner, message: Any) -> tuple[InsertOutcome, str]:
            captured.append(message)
            return InsertOutcome.STORED, message.message_id

    Importer(world.store, world.raw, group=Capture()).store(request)  # type: ignore[arg-type]
    return captured[0]


@pytest.mark.parametrize("content_first", [False, True])
def test_twins_in_one_group_are_answered_by_the_first(world: World, content_first: bool) -> None:
    twin = world.request(3)
    same_content = renumbered(twin, "same-content")
    order = [same_content, twin, twin] if content_first else [twin, twin, same_content]
    answers = world.index.insert_messages([(world.owner, _message(world, r)) for r in order])
    kept = order[0].message_id
    if content_first:
        assert answers == [
            (InsertOutcome.STORED, kept),
            (InsertOutcome.DUPLICATE, kept),
            (InsertOutcome.DUPLICATE, kept),
        ]
    else:
        assert answers == [
            (InsertOutcome.STORED, kept),
            (InsertOutcome.ALREADY_STORED, kept),
            (InsertOutcome.DUPLICATE, kept),
        ]
    assert world.counted() == (1, 1) and world.listed() == [kept]
