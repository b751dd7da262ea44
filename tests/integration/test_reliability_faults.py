"""Workers killed at the two points the other suites leave out, and a second delivery of
different bytes under one message id (docs/reliability.md lists what each one covers).

- POP3: killed after DELE was sent and acknowledged, before QUIT (``test_pop_import`` kills
  the worker before DELE is sent).
- IMAP migration: killed in the middle of its rollback, then the step runs again (the state
  machine's retry), which must finish the job without touching the user's own mail.
- Import: the same message id delivered again with other bytes (a re-used presigned POST, a
  server that rewrote a message): the index keeps the first bytes and no stray object stays.

Real Dovecot; DynamoDB, S3 and KMS in moto over HTTP.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import boto3
import pytest

from mailport.adapters.clients import Clients
from mailport.adapters.dynamodb_mailbox import DynamoMailbox
from mailport.adapters.pop3 import Pop3Connector
from mailport.adapters.s3 import S3RawStore
from mailport.domain.accounts import RunStatus, RunTrigger
from mailport.domain.mailbox import InsertOutcome, Owner, Source, SourceType, message_id_for
from mailport.domain.remote import Credentials, ServerAddress
from mailport.errors import TransientError
from mailport.ports import PopMailbox
from mailport.usecases.importing import Importer, ImportRequest
from mailport.usecases.mailbox import MailboxService
from mailport_local.stack import LocalStack
from tests.integration import test_migration_runner as mig
from tests.integration import test_pop_import as pop
from tests.support.dovecot import Dovecot

pytestmark = [pytest.mark.stack, pytest.mark.dovecot]


@pytest.fixture
def pop_env(local_stack: LocalStack, dovecot: Dovecot) -> pop.Env:
    return pop.build_env(local_stack, dovecot)


class DiesAfterDele:
    """A connector whose sessions send DELE (the server acknowledges it), then the worker is
    killed: the connection drops without QUIT, so POP3 must not expunge anything.
    """

    def __init__(self, inner: Pop3Connector) -> None:
        self.inner = inner
        self.deleted: list[int] = []

    def open(
        self, server: ServerAddress, credentials: Credentials, *, deadline_s: float | None = None
    ) -> PopMailbox:
        session = self.inner.open(server, credentials, deadline_s=deadline_s)
        outer = self

        class Dying:
            def __getattr__(self, name: str) -> object:
                return getattr(session, name)

            def delete(self, numbers: list[int]) -> None:
                session.delete(numbers)  # DELE sent, +OK read
                outer.deleted.extend(numbers)
                raise SystemExit("worker killed between DELE and QUIT")

        return Dying()  # type: ignore[return-value]


def test_pop_worker_killed_between_dele_and_quit(pop_env: pop.Env) -> None:
    env = pop_env
    name, password = pop.server_user(env, 12)
    account = pop.register(env, name, password, keep_original=False)
    started = env.service.fetch_now(env.owner, account.account_id)  # recorded as running
    dying = DiesAfterDele(env.connector)
    with pytest.raises(SystemExit):
        env.build_fetcher(dying).handle(env.queue.sent[-1])
    assert sorted(dying.deleted) == list(range(1, 13))  # every message was marked deleted ...
    assert pop.on_server(env, name, password) == 12  # ... and without QUIT, none went
    assert pop.subjects(env) == sorted(f"m {i}" for i in range(12))  # stored, once each
    [dead] = env.service.runs(env.owner, account.account_id, None)
    assert dead.run_id == started.run_id and dead.status is RunStatus.RUNNING

    # The lease outlives the worker; once it has expired, the next run deletes what was
    # stored (nothing fetched again) and the dead run's record says it was interrupted.
    env.clock.offset = dt.timedelta(minutes=20)
    after = pop.run(env, account)
    assert (after.status, after.counts.fetched, after.counts.deleted) == (
        RunStatus.SUCCEEDED,
        0,
        12,
    )
    assert pop.on_server(env, name, password) == 0
    assert pop.subjects(env) == sorted(f"m {i}" for i in range(12))  # still once each
    runs = {r.run_id: r for r in env.service.runs(env.owner, account.account_id, None)}
    closed = runs[started.run_id]
    assert closed.trigger is RunTrigger.MANUAL
    assert (closed.status, closed.error_code) == (RunStatus.FAILED, "interrupted")
    assert "interrupted" in closed.error
    state = env.service.get(env.owner, account.account_id).state
    assert state.last_status == RunStatus.SUCCEEDED.value and state.failures == 0


def test_migration_worker_killed_mid_rollback_then_retried(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    env = mig.build(local_stack, dovecot, chunk_messages=3)
    me = mig.owner()
    user, password = env.seed_user(6)
    dovecot.seed_maildir(
        user,
        "Old",
        [(f"Subject: old {i}\r\n\r\nx\r\n".encode(), set(), 1.7e9) for i in range(2)],
    )
    # The user's own mail, in the Inbox the job also copies into: a rollback must leave it.
    mine = b"From: me@example.org\r\nSubject: mine\r\nMessage-ID: <mine@x>\r\n\r\nmine\r\n"
    own = env.runner._importer.store(
        ImportRequest(
            owner=me,
            raw=mine,
            folder_id="inbox",
            source=Source(SourceType.UPLOAD, "own"),
            message_id=message_id_for("upload", "own", "k"),
        )
    )
    job = env.create(me, user, password)
    ref = mig.ref_of(me, job)
    cursor = env.runner.plan(ref)
    while not cursor["done"]:
        cursor = env.runner.copy_chunk(ref, cursor)
    assert mig._count_stored(env, me, job["id"]) == 8
    env.service.cancel(me, job["id"])
    error = {"Error": "JobCancelled", "Cause": '{"errorMessage": "cancelled by the user"}'}

    service = env.runner._service
    real_delete = service.delete_message
    calls = {"n": 0}

    def dies_at_the_third(owner: Owner, message_id: str) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise SystemExit("worker killed mid-rollback")
        real_delete(owner, message_id)

    service.delete_message = dies_at_the_third  # type: ignore[method-assign]
    try:
        with pytest.raises(SystemExit):
            env.runner.rollback(ref, error)
    finally:
        service.delete_message = real_delete  # type: ignore[method-assign]
    view = env.service.get(me, job["id"])
    assert view["state"] == "rolling_back"  # what the user sees meanwhile: true
    assert mig._count_stored(env, me, job["id"]) == 6  # two were removed before the kill

    again = env.runner.rollback(ref, error)  # the state machine retries the step
    assert again["done"] is True and again["state"] == "rolled_back"
    view = env.service.get(me, job["id"])
    assert view["state"] == "rolled_back" and view["error"]["code"] == "cancelled"
    assert env.ledger.job_messages(me, job["id"], 100) == []
    folders = {f.name: f for f in service.folders(me)}
    assert "Old" not in folders  # made by the job, emptied: gone
    inbox = service.messages(me, "inbox", 50, None).messages
    # Only the user's own message is left, besides mailport's notices about the job.
    assert [m.message_id for m in inbox if m.source.type is not SourceType.NOTICE] == [
        own.message_id
    ]
    assert service.raw(me, own.message_id) == mine
    stored = env.jobs.get_job(me, job["id"])
    assert stored is not None and stored.sealed_secret is None
    # Delivered once more (at least once): nothing changes.
    assert env.runner.rollback(ref, error) == {"done": True, "state": "rolled_back"}
    assert env.runner.notify(ref, "rolled_back")["notified"] == "rolled_back"
    notices = [
        m.summary.subject
        for m in service.messages(me, "inbox", 50, None).messages
        if m.source.type is SourceType.NOTICE and m.source.id == job["id"]
    ]
    assert any("undone" in s for s in notices)


def test_the_same_message_id_with_other_bytes_keeps_the_first(local_stack: LocalStack) -> None:
    clients = Clients()
    store = DynamoMailbox(local_stack.physical_id("MailportTable"), client=clients.dynamodb)
    bucket = local_stack.physical_id("MailBucket")
    raw_store = S3RawStore(bucket, client=clients.s3)
    importer, service = Importer(store, raw_store), MailboxService(store, raw_store)
    me = Owner("acme", f"u-{uuid.uuid4().hex[:10]}")
    message_id = message_id_for("upload", "batch-1", "uploads/acme/x/batch-1/0000")

    def deliver(raw: bytes) -> Any:
        return importer.store(
            ImportRequest(
                owner=me,
                raw=raw,
                folder_id="inbox",
                source=Source(SourceType.UPLOAD, "batch-1"),
                message_id=message_id,
            )
        )

    first = b"From: a@example.com\r\nSubject: first\r\nMessage-ID: <f@x>\r\n\r\none\r\n"
    other = b"From: a@example.com\r\nSubject: other\r\nMessage-ID: <o@x>\r\n\r\ntwo\r\n"
    assert deliver(first).outcome is InsertOutcome.STORED
    assert deliver(other).outcome is InsertOutcome.ALREADY_STORED  # the POST re-used
    assert deliver(first).outcome is InsertOutcome.ALREADY_STORED  # the first event again
    stored = service.message(me, message_id)
    assert stored.summary.subject == "first" and service.raw(me, message_id) == first
    inbox = service.folder(me, "inbox")
    assert (inbox.total, inbox.unread) == (1, 1)
    listed = boto3.client("s3").list_objects_v2(
        Bucket=bucket, Prefix=f"mail/{me.tenant_id}/{me.user_id}/"
    )
    assert [o["Key"] for o in listed["Contents"]] == [stored.raw_key]  # no stray copy


def test_a_rollback_that_never_finishes_ends_failed_and_says_so(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    """The state machine retries Rollback six times, then goes to NotifyRollbackFailed: the
    job must end failed (not stuck in rolling_back), marked incomplete, with a flagged notice,
    and the mail not yet removed must still be there (never half-deleted silently).
    """
    env = mig.build(local_stack, dovecot, chunk_messages=10)
    me = mig.owner()
    user, password = env.seed_user(4)
    job = env.create(me, user, password)
    ref = mig.ref_of(me, job)
    cursor = env.runner.plan(ref)
    while not cursor["done"]:
        cursor = env.runner.copy_chunk(ref, cursor)
    error = {"Error": "InjectedFailure", "Cause": '{"errorMessage": "injected"}'}
    service = env.runner._service
    real_delete = service.delete_message

    def store_down(owner: Owner, message_id: str) -> None:
        raise TransientError("deleting the message: the storage service is busy; try again")

    service.delete_message = store_down  # type: ignore[method-assign]
    try:
        for _ in range(7):  # the first try and six retries
            with pytest.raises(TransientError):
                env.runner.rollback(ref, error)
    finally:
        service.delete_message = real_delete  # type: ignore[method-assign]
    assert env.service.get(me, job["id"])["state"] == "rolling_back"
    told = env.runner.notify(ref, "rollback_failed")
    assert told == {"notified": "rollback_failed", "state": "failed"}
    view = env.service.get(me, job["id"])
    assert view["state"] == "failed" and view["rollback_incomplete"] is True
    assert mig._count_stored(env, me, job["id"]) == 4  # what could not be removed is kept
    stored = env.jobs.get_job(me, job["id"])
    assert stored is not None and stored.sealed_secret is None
    notices = [
        m
        for m in service.messages(me, "inbox", 50, None).messages
        if m.source.type is SourceType.NOTICE and m.source.id == job["id"]
    ]
    failed = [m for m in notices if "could not be undone" in m.summary.subject]
    assert len(failed) == 1 and failed[0].flags.flagged
    # A late redelivery of the Rollback step does not reopen a job that has ended.
    assert env.runner.rollback(ref, error) == {"done": True, "state": "failed"}
