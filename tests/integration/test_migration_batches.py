"""A migration batch's index entries go in one group write, with every guarantee kept: a
batch whose index write failed after its bytes were stored is stored and counted once by the
retried step. The sizes a chunk asked for serve all its batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from mailport.adapters.clients import Clients
from mailport.adapters.dynamodb_message_index import DynamoMessageIndex
from mailport.adapters.imap import ImapConnector
from mailport.adapters.s3 import S3RawStore
from mailport.domain.network import LOCAL_TESTS
from mailport.errors import StorageError
from mailport.usecases.importing import Importer
from mailport.usecases.index_group import GroupIndexer
from mailport_local.stack import LocalStack
from tests.integration.test_migration_runner import Env, _count_stored, _finish, build
from tests.support.dovecot import Dovecot


class CountedIndex(DynamoMessageIndex):
    """The real group write, counted; ``fail`` writes refused (the table down) first."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.writes: list[int] = []
        self.fail = 0

    def insert_messages(self, entries: Sequence[Any]) -> list[Any]:
        self.writes.append(len(entries))
        if self.fail:
            self.fail -= 1
            raise StorageError("the table is down")
        return super().insert_messages(entries)


class CountedSizes:
    """The real connector; its sessions' ``sizes`` calls counted."""

    def __init__(self) -> None:
        self.real, self.sizes = ImapConnector(network=LOCAL_TESTS), 0

    def open(self, server: Any, credentials: Any) -> Any:
        session, outer = self.real.open(server, credentials), self

        class Session:
            def __getattr__(self, name: str) -> Any:
                return getattr(session, name)

            def sizes(self, first: int, last: int) -> dict[int, int]:
                outer.sizes += 1
                return session.sizes(first, last)

        return Session()


def grouped(local_stack: LocalStack, dovecot: Dovecot, **config: Any) -> tuple[Env, CountedIndex]:
    """The runner's test environment with the importer wired as the worker's (grouped)."""
    env = build(local_stack, dovecot, **config)
    clients = Clients()
    index = CountedIndex(local_stack.physical_id("MailportTable"), client=clients.dynamodb)
    raw = S3RawStore(local_stack.physical_id("MailBucket"), client=clients.s3)
    env.runner._importer = Importer(env.store, raw, group=GroupIndexer(index))
    return env, index


def test_each_batch_is_indexed_in_one_write_from_one_window_of_sizes(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    env, index = grouped(local_stack, dovecot, chunk_messages=100, batch_messages=10)
    connector = CountedSizes()
    env.runner._connector = connector
    me, job, ref = env.started(25)
    cursor = env.runner.plan(ref)
    planned = connector.sizes
    _finish(env, ref, cursor)
    done = env.service.get(me, job["id"])
    assert done["state"] == "completed" and done["counts"]["imported"] == 25
    # Not a write per few stores; the job's notices (progress, done) are written one each.
    assert [n for n in index.writes if n > 1] == [10, 10, 5] and sum(index.writes) > 25
    assert connector.sizes - planned == 1  # one window for the three batches
    assert _count_stored(env, me, job["id"]) == 25


def test_a_batch_stored_but_not_indexed_is_stored_and_counted_once_by_the_retry(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    env, index = grouped(local_stack, dovecot, chunk_messages=100, batch_messages=4)
    me, job, ref = env.started(10)
    cursor = env.runner.plan(ref)
    index.fail = 1  # the first batch's bytes are in the bucket, its index write refused
    with pytest.raises(StorageError):
        env.runner.copy_chunk(ref, cursor)  # the state machine retries this step
    assert env.service.get(me, job["id"])["counts"]["imported"] == 0  # nothing checkpointed
    _finish(env, ref, cursor)
    done = env.service.get(me, job["id"])
    assert done["counts"] == {
        "imported": 10,
        "already_present": 0,
        "skipped_oversize": 0,
        "failed": 0,
    }
    assert _count_stored(env, me, job["id"]) == 10
    # The folder counters: each message once (the notices, one write each, land there too).
    assert [n for n in index.writes if n > 1] == [4, 4, 4, 2]  # the refused write, then all
    notices = index.writes.count(1)
    assert sum(f.total for f in env.store.list_folders(me)) == 10 + notices
