"""``GroupIndexer``: stores from many threads share group writes, each gets its own answer."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest

from mailport.domain.mailbox import InsertOutcome, Owner
from mailport.errors import NotFound, StorageError, TransientError
from mailport.usecases.index_group import GroupIndexer

OWNER = Owner("acme", "u1")


class Message:
    def __init__(self, message_id: str) -> None:
        self.message_id = message_id


class FakeIndex:
    def __init__(self, failures: Sequence[BaseException] = ()) -> None:
        self.groups: list[list[str]] = []
        self.failures = list(failures)
        self.lock = threading.Lock()

    def insert_messages(self, entries: Sequence[tuple[Owner, Any]]) -> list[Any]:
        with self.lock:
            self.groups.append([m.message_id for _, m in entries])
            if self.failures:
                raise self.failures.pop(0)
        return [
            NotFound("gone")
            if m.message_id.startswith("gone")
            else (InsertOutcome.STORED, m.message_id)
            for _, m in entries
        ]


def run_all(group: GroupIndexer, ids: list[str]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    start = threading.Barrier(len(ids))

    def one(message_id: str) -> None:
        start.wait()
        try:
            answers[message_id] = group.insert(OWNER, Message(message_id))  # type: ignore[arg-type]
        except Exception as e:
            answers[message_id] = e

    threads = [threading.Thread(target=one, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    return answers


def test_concurrent_stores_share_groups_and_get_their_own_answers() -> None:
    index = FakeIndex()
    ids = [f"m{n}" for n in range(120)]
    # Full groups go at once; the linger only bounds a slow machine's wait for the last ones.
    answers = run_all(GroupIndexer(index, max_group=40, linger_s=30), ids)  # type: ignore[arg-type]
    assert answers == {i: (InsertOutcome.STORED, i) for i in ids}
    assert sorted(m for g in index.groups for m in g) == sorted(ids)  # each written once
    assert [len(g) for g in index.groups] == [40, 40, 40]


def test_a_store_alone_is_written_after_the_linger() -> None:
    index = FakeIndex()
    group = GroupIndexer(index, linger_s=0.0)  # type: ignore[arg-type]
    assert group.insert(OWNER, Message("m1")) == (InsertOutcome.STORED, "m1")  # type: ignore[arg-type]
    assert index.groups == [["m1"]]


def test_a_missing_folder_is_one_members_answer() -> None:
    answers = run_all(GroupIndexer(FakeIndex(), linger_s=0.5), ["m1", "gone1", "m2"])  # type: ignore[arg-type]
    assert isinstance(answers["gone1"], NotFound)
    assert answers["m1"] == (InsertOutcome.STORED, "m1")
    assert answers["m2"] == (InsertOutcome.STORED, "m2")


def test_a_busy_table_is_retried_then_every_member_is_told() -> None:
    sleeps: list[float] = []
    busy = TransientError("busy")
    index = FakeIndex([busy, busy])
    group = GroupIndexer(index, linger_s=0.0, attempts=3, sleep=sleeps.append)  # type: ignore[arg-type]
    assert group.insert(OWNER, Message("m1")) == (InsertOutcome.STORED, "m1")  # type: ignore[arg-type]
    assert sleeps == [0.05, 0.1] and len(index.groups) == 3
    failing = GroupIndexer(FakeIndex([busy] * 3), linger_s=0.0, sleep=sleeps.append)  # type: ignore[arg-type]
    with pytest.raises(TransientError):
        failing.insert(OWNER, Message("m2"))  # type: ignore[arg-type]


def test_an_error_of_the_whole_write_reaches_every_member() -> None:
    index = FakeIndex([StorageError("down")])
    answers = run_all(GroupIndexer(index, linger_s=0.5), ["a", "b", "c"])  # type: ignore[arg-type]
    failed = [i for i, a in answers.items() if isinstance(a, StorageError)]
    # The members of the failed group are all told; any group after it is written.
    assert failed and set(failed) == set(index.groups[0])
    assert all(answers[i] == (InsertOutcome.STORED, i) for i in answers if i not in failed)


def test_a_whole_batch_is_written_at_once_in_full_groups_in_order() -> None:
    index = FakeIndex()
    ids = [f"m{n}" for n in range(45)] + ["gone1"]
    group = GroupIndexer(index, max_group=20, linger_s=30)  # type: ignore[arg-type]
    answers = group.insert_all([(OWNER, Message(i)) for i in ids])  # type: ignore[misc]
    # No linger: a linger of 30 s would have failed the test's time; groups of 20 at most.
    assert [len(g) for g in index.groups] == [20, 20, 6]
    assert answers[:45] == [(InsertOutcome.STORED, i) for i in ids[:45]]
    assert isinstance(answers[45], NotFound)


def test_a_batchs_failed_group_is_retried_then_answers_each_of_its_members_only() -> None:
    busy, sleeps = TransientError("busy"), list[float]()
    index = FakeIndex([busy, StorageError("down")])
    group = GroupIndexer(index, max_group=2, attempts=3, sleep=sleeps.append)  # type: ignore[arg-type]
    answers = group.insert_all([(OWNER, Message(i)) for i in ["a", "b", "c"]])  # type: ignore[misc]
    # The first group: busy, retried, then down (no retry for that): both members told.
    assert isinstance(answers[0], StorageError) and answers[0] is answers[1]
    assert answers[2] == (InsertOutcome.STORED, "c")
    assert sleeps == [0.05] and index.groups == [["a", "b"], ["a", "b"], ["c"]]
