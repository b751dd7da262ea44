"""The migration's steps and queue below the state machine: real Dovecot, DynamoDB/S3/KMS in
moto over HTTP, a recording executor and a clock the test moves (pacing waits a day).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import api_views
import boto3
import pytest

from mailport.adapters.clients import Clients
from mailport.adapters.dynamodb import DynamoDirectory
from mailport.adapters.dynamodb_content_ledger import DynamoContentLedger
from mailport.adapters.dynamodb_copy_slots import DynamoCopySlots
from mailport.adapters.dynamodb_job_queue import DynamoJobQueue
from mailport.adapters.dynamodb_jobs import DynamoJobStore
from mailport.adapters.dynamodb_mailbox import DynamoMailbox
from mailport.adapters.dynamodb_message_index import DynamoMessageIndex
from mailport.adapters.dynamodb_reports import DynamoJobReports
from mailport.adapters.dynamodb_templates import DynamoImapTemplates
from mailport.adapters.imap import ImapConnector
from mailport.adapters.s3 import S3RawStore
from mailport.domain.identity import User
from mailport.domain.mailbox import Owner, message_id_for
from mailport.domain.migration import (
    ACTIVE,
    ConnectionRequest,
    JobNotRevertible,
    JobState,
    MigrationRequest,
)
from mailport.domain.network import LOCAL_TESTS
from mailport.domain.remote import RemoteTransient
from mailport.errors import TransientError, ValidationFailed
from mailport.usecases.importing import Importer
from mailport.usecases.index_group import GroupIndexer
from mailport.usecases.mailbox import MailboxService
from mailport.usecases.migration import (
    JobCancelled,
    MigrationConfig,
    MigrationService,
    job_ref,
)
from mailport.usecases.migration_runner import MigrationRunner
from mailport_local.stack import LocalStack
from tests.support.clock import Clock
from tests.support.dovecot import Dovecot
from tests.support.faultproxy import FaultProxy
from tests.support.secrets import kms_box

pytestmark = [pytest.mark.stack, pytest.mark.dovecot]


@dataclass
class RecordingExecutions:
    """Records starts instead of running executions. Like an execution's first step, a start
    saves the job, so it is not left listed as "starting" for the shared local stack's
    scheduler to start for real in later tests.
    """

    jobs: DynamoJobStore | None = None
    started: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def start(self, name: str, payload: Mapping[str, Any]) -> bool:
        if any(n == name for n, _ in self.started):
            return False
        self.started.append((name, dict(payload)))
        ref = payload.get("job") or {}
        if self.jobs is not None and name == ref.get("job_id"):
            job = self.jobs.get_job(Owner(ref["tenant_id"], ref["user_id"]), name)
            if job is not None and job.state in ACTIVE:
                self.jobs.save_job(job)
        return True


class ShownMigrations:
    """The migration use-cases, their answers shaped as the API shows them (``api_views``):
    these tests read what the user sees; anything else is the service's own.
    """

    def __init__(self, service: MigrationService) -> None:
        self._service = service

    def create(self, owner: Owner, request: MigrationRequest) -> dict[str, Any]:
        return dict(api_views.migration(self._service.create(owner, request)))

    def get(self, owner: Owner, job_id: str) -> dict[str, Any]:
        return dict(api_views.migration(self._service.get(owner, job_id)))

    def list(self, owner: Owner) -> list[dict[str, Any]]:
        return [dict(api_views.migration(r)) for r in self._service.list(owner)]

    def cancel(self, owner: Owner, job_id: str) -> dict[str, Any]:
        return dict(api_views.migration(self._service.cancel(owner, job_id)))

    def revert(self, owner: Owner, job_id: str) -> dict[str, Any]:
        return dict(api_views.migration(self._service.revert(owner, job_id)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._service, name)

    def __setattr__(self, name: str, value: Any) -> None:
        # A test swapping the service's ports (``_executions``) swaps them on the service.
        if name == "_service":
            object.__setattr__(self, name, value)
        else:
            setattr(self._service, name, value)


@dataclass
class Env:
    service: ShownMigrations
    runner: MigrationRunner
    jobs: DynamoJobStore
    executions: RecordingExecutions
    clock: Clock
    dovecot: Dovecot
    store: DynamoMailbox
    queue: DynamoJobQueue
    slots: DynamoCopySlots
    ledger: DynamoContentLedger
    reports: DynamoJobReports

    def seed_user(self, count: int, size: int = 2000) -> tuple[str, str]:
        user, password = f"run-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
        self.dovecot.add_user(user, password)
        mail = [
            (
                f"Subject: m{i}\r\nMessage-ID: <{user}.{i}@x>\r\n\r\n".encode() + b"y" * size,
                set(),
                1_700_000_000.0 + i,
            )
            for i in range(count)
        ]
        self.dovecot.seed_maildir(user, "INBOX", mail)
        return user, password

    def create(
        self, owner: Owner, user: str, password: str, port: int | None = None
    ) -> dict[str, Any]:
        """An agreed manual migration of ``user``'s mailbox, through ``port`` if given (a
        FaultProxy in front of Dovecot)."""
        conn: ConnectionRequest = {
            "type": "manual",
            "host": "127.0.0.1",
            "port": port or self.dovecot.imaps_port,
            "username": user,
            "password": password,
        }
        return self.service.create(owner, {"connection": conn, "agreed": True})

    def started(self, count: int) -> tuple[Owner, dict[str, Any], dict[str, str]]:
        """A new owner's job over a new source of ``count`` messages: owner, job, its ref."""
        me = owner()
        user, password = self.seed_user(count)
        job = self.create(me, user, password)
        return me, job, ref_of(me, job)


def build(local_stack: LocalStack, dovecot: Dovecot, **config: Any) -> Env:
    table = local_stack.physical_id("MailportTable")
    clients = Clients()
    store = DynamoMailbox(table, client=clients.dynamodb)
    raw = S3RawStore(local_stack.physical_id("MailBucket"), client=clients.s3)
    jobs = DynamoJobStore(table, client=clients.dynamodb)
    queue = DynamoJobQueue(table, client=clients.dynamodb)
    slots = DynamoCopySlots(table, client=clients.dynamodb)
    ledger = DynamoContentLedger(table, client=clients.dynamodb)
    reports = DynamoJobReports(table, client=clients.dynamodb)
    secrets = kms_box(local_stack, clients.kms, clients.dynamodb)
    connector = ImapConnector(network=LOCAL_TESTS)
    executions = RecordingExecutions(jobs)
    clock = Clock()
    cfg = MigrationConfig(ca_file=str(dovecot.ca_pem), **config)
    service = MigrationService(
        jobs,
        connector,
        queue=queue,
        reports=reports,
        templates=DynamoImapTemplates(table, client=clients.dynamodb),
        secrets=secrets,
        executions=executions,
        config=cfg,
        clock=clock,
    )
    runner = MigrationRunner(
        jobs,
        connector,
        queue=queue,
        copy_slots=slots,
        ledger=ledger,
        reports=reports,
        mailbox=store,
        mailbox_service=MailboxService(store, raw),
        # As the wiring builds it: a batch's index entries in one group write.
        importer=Importer(
            store, raw, group=GroupIndexer(DynamoMessageIndex(table, client=clients.dynamodb))
        ),
        secrets=secrets,
        executions=executions,
        config=cfg,
        clock=clock,
        directory=DynamoDirectory(table, client=clients.dynamodb),
    )
    shown = ShownMigrations(service)
    return Env(
        shown, runner, jobs, executions, clock, dovecot, store, queue, slots, ledger, reports
    )


def ref_of(owner: Owner, job: Mapping[str, Any]) -> dict[str, str]:
    """What an execution passes the worker for ``job`` (as the API showed it)."""
    return {"job_id": str(job["id"]), "tenant_id": owner.tenant_id, "user_id": owner.user_id}


def owner() -> Owner:
    # A tenant of its own: the running counters of other tests' tenants don't interfere.
    return Owner(f"t-{uuid.uuid4().hex[:8]}", f"u-{uuid.uuid4().hex[:8]}")


def test_pacing_pauses_under_the_daily_cap_and_resumes_the_next_day(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    env = build(local_stack, dovecot, daily_bytes_override=10_000, chunk_messages=100)
    me = owner()
    user, password = env.seed_user(12, size=2000)  # ≈ 24 KB: three days under a 10 KB cap
    job = env.create(me, user, password)
    assert job["state"] == "running"
    ref = ref_of(me, job)
    cursor = env.runner.plan(ref)
    days = 0
    waits: list[int] = []
    while not cursor["done"]:
        cursor = env.runner.copy_chunk(ref, cursor)
        if cursor["wait_s"]:
            waits.append(cursor["wait_s"])
            paused = env.service.get(me, job["id"])
            assert paused["state"] == "paused" and paused["paused_until"]
            assert paused["progress"]["eta_seconds"] >= cursor["wait_s"]
            # Steps of at most 15 minutes, so a cancel is seen while waiting.
            assert cursor["wait_s"] <= 900
            env.clock.offset += dt.timedelta(days=1)
            days += 1
        assert days < 10
    assert days >= 2
    env.runner.finalize(ref)
    done = env.service.get(me, job["id"])
    assert done["state"] == "completed"
    assert done["counts"]["imported"] == 12


def test_a_cancel_is_seen_at_the_next_step_and_rollback_is_idempotent(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    env = build(local_stack, dovecot, chunk_messages=3)
    me, job, ref = env.started(9)
    cursor = env.runner.copy_chunk(ref, env.runner.plan(ref))
    assert env.service.get(me, job["id"])["counts"]["imported"] == 3
    env.service.cancel(me, job["id"])
    with pytest.raises(JobCancelled):
        env.runner.copy_chunk(ref, cursor)
    error = {"Error": "JobCancelled", "Cause": '{"errorMessage": "cancelled by the user"}'}
    assert env.runner.rollback(ref, error)["done"] is True
    again = env.runner.rollback(ref, error)  # a redelivered step
    assert again == {"done": True, "state": "rolled_back"}
    view = env.service.get(me, job["id"])
    assert view["state"] == "rolled_back" and view["error"]["code"] == "cancelled"
    assert view["removed"] == 3  # it says what it took out again (the redelivery: nothing)
    assert env.ledger.job_messages(me, job["id"], 10) == []
    stored = env.jobs.get_job(me, job["id"])
    assert stored is not None and stored.sealed_secret is None  # the password is gone


def test_the_queue_respects_order_and_both_limits(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    env = build(local_stack, dovecot, max_per_tenant=1)
    a, b = owner(), owner()
    user, password = env.seed_user(1)
    a1 = env.create(a, user, password)
    a2 = env.create(a, user, password)
    b1 = env.create(b, user, password)
    # a2 waits for a1 (tenant limit 1); b1, another tenant, overtakes nobody of its own.
    assert [a1["state"], a2["state"], b1["state"]] == ["running", "queued", "running"]
    assert [name for name, _ in env.executions.started] == [a1["id"], b1["id"]]
    assert "password" not in str(env.executions.started)
    # a1 ends: its slot is freed in the same write, and the next queued job of the tenant runs.
    ref = ref_of(a, a1)
    env.runner.plan(ref)
    env.runner.finalize(ref)
    env.service.scheduler.execution_ended(a1["id"], "SUCCEEDED", {"job": ref})
    assert env.service.get(a, a2["id"])["state"] == "running"
    # An execution that was stopped before its saga ended gets a rollback execution.
    ref2 = ref_of(a, a2)
    env.service.scheduler.execution_ended(a2["id"], "ABORTED", {"job": ref2})
    name, payload = env.executions.started[-1]
    assert name.startswith(a2["id"] + "-rollback") and payload["mode"] == "rollback"
    # Recovery gives up after five executions: the job says failed (rollback incomplete),
    # and an execution that only tells the user is started.
    for _ in range(5):
        env.service.scheduler.execution_ended(name, "TIMED_OUT", {"job": ref2})
        name, payload = env.executions.started[-1]
    assert (name, payload["mode"]) == (f"{a2['id']}-giveup", "give_up")
    ended = env.service.get(a, a2["id"])
    assert (ended["state"], ended["rollback_incomplete"]) == ("failed", True)
    env.runner.notify(ref2, "rollback_failed")  # what that execution runs
    notices = [m.summary.subject for m in env.store.list_messages(a, "inbox", 50, None)[0]]
    assert sum("could not be undone" in n for n in notices) == 1, notices


def test_revert_refuses_unfinished_jobs_and_bad_requests(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    env = build(local_stack, dovecot)
    me = owner()
    user, password = env.seed_user(1)
    job = env.create(me, user, password)
    # A typed request (the API's edge checked its shape) still needs what its type needs.
    with pytest.raises(ValidationFailed, match=r"connection\.username is required"):
        env.service.create(me, {"connection": {"type": "manual"}, "agreed": True})
    full: ConnectionRequest = {"type": "manual", "host": "h", "username": "u", "password": "p"}
    with pytest.raises(ValidationFailed, match="agreement"):
        env.service.create(me, {"connection": full})
    with pytest.raises(ValidationFailed, match="agreement"):
        env.service.create(me, {"connection": full, "agreed": False})
    with pytest.raises(JobNotRevertible):
        env.service.revert(me, job["id"])
    stored = env.jobs.get_job(me, job["id"])
    assert stored is not None
    ref = job_ref(stored)
    env.runner.plan(ref)
    env.runner.finalize(ref)
    assert env.service.revert(me, job["id"])["state"] == "reverting"
    assert env.executions.started[-1][1] == {"job": ref, "mode": "revert"}
    assert env.runner.rollback(ref, None, "revert")["state"] == JobState.REVERTED.value


def test_a_job_whose_execution_never_started_is_started_by_the_next_scheduler_run(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    env = build(local_stack, dovecot)
    me = owner()
    user, password = env.seed_user(1)
    lost: list[str] = []

    def crash_before_start(name: str, payload: Mapping[str, Any]) -> bool:
        lost.append(name)  # the claiming process died here: no execution exists
        return True

    env.executions.start = crash_before_start  # type: ignore[method-assign]
    job = env.create(me, user, password)
    assert job["state"] == "running" and lost == [job["id"]]
    env.executions.start = RecordingExecutions.start.__get__(env.executions)  # type: ignore[method-assign]

    def started() -> list[str]:  # other tests' stalled jobs may be started too: not ours
        return [name for name, _ in env.executions.started if name == job["id"]]

    env.service.scheduler.sweep()
    assert started() == []  # too soon: it may just be starting
    env.clock.offset += dt.timedelta(minutes=2)
    env.service.scheduler.sweep()
    assert started() == [job["id"]]
    # Once the execution's first step has saved, it is no longer listed as starting.
    ref = ref_of(me, job)
    env.runner.plan(ref)
    env.executions.started.clear()
    env.service.scheduler.sweep()
    assert started() == []


class ThrottledOnce:
    """A connector whose first session's FETCH is throttled the way Microsoft 365 does it."""

    def __init__(self, real: ImapConnector) -> None:
        self.real, self.throttled = real, False

    def open(self, server: Any, credentials: Any) -> Any:
        session = self.real.open(server, credentials)
        outer = self

        class Session:
            def __getattr__(self, name: str) -> Any:
                return getattr(session, name)

            def fetch(self, sized: Any) -> Any:
                if not outer.throttled:
                    outer.throttled = True
                    raise RemoteTransient("Request is throttled.", retry_after_s=30.5)
                return session.fetch(sized)

        return Session()


def test_a_server_backoff_hint_pauses_the_job_that_long(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    env = build(local_stack, dovecot)
    env.runner._connector = ThrottledOnce(ImapConnector(network=LOCAL_TESTS))
    me, job, ref = env.started(3)
    cursor = env.runner.copy_chunk(ref, env.runner.plan(ref))
    assert cursor["wait_s"] == 30 and not cursor["done"]
    assert env.service.get(me, job["id"])["state"] == "paused"
    # Asked again before the time is up: still waiting, nothing fetched.
    assert env.runner.copy_chunk(ref, cursor)["wait_s"] > 0
    env.clock.offset += dt.timedelta(seconds=31)
    cursor = env.runner.copy_chunk(ref, cursor)
    while not cursor["done"]:
        cursor = env.runner.copy_chunk(ref, cursor)
    env.runner.finalize(ref)
    done = env.service.get(me, job["id"])
    assert done["state"] == "completed" and done["counts"]["imported"] == 3


def _count_stored(env: Env, me: Owner, job_id: str) -> int:
    return len(set(env.ledger.job_messages(me, job_id, 1000)))


def _finish(env: Env, ref: dict[str, str], cursor: dict[str, Any]) -> None:
    while not cursor["done"]:
        cursor = env.runner.copy_chunk(ref, cursor)
    env.runner.finalize(ref)


def test_a_connection_dropped_mid_fetch_is_retried_without_duplicates(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    env = build(local_stack, dovecot, chunk_messages=100, batch_messages=5)
    me = owner()
    user, password = env.seed_user(30, size=5000)
    with FaultProxy(("127.0.0.1", dovecot.imaps_port)) as proxy:
        job = env.create(me, user, password, port=proxy.port)
        ref = ref_of(me, job)
        cursor = env.runner.plan(ref)
        proxy.drop_after = 60_000  # of ≈ 150 KB: a few batches in, in the middle of a FETCH
        with pytest.raises(TransientError):
            env.runner.copy_chunk(ref, cursor)  # the state machine retries this step
        partial = env.service.get(me, job["id"])["counts"]["imported"]
        assert 0 < partial < 30
        proxy.drop_after = None
        _finish(env, ref, cursor)
    done = env.service.get(me, job["id"])
    assert done["state"] == "completed" and done["counts"]["imported"] == 30
    assert _count_stored(env, me, job["id"]) == 30


def test_stores_whose_checkpoint_was_lost_count_once(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    """The worker died after storing a batch and before saving its checkpoint: the retried
    step finds those messages (same ids) and counts them as this job's, once.
    """
    env = build(local_stack, dovecot, chunk_messages=100, batch_messages=4)
    me, job, ref = env.started(10)
    cursor = env.runner.plan(ref)
    real_save = env.jobs.save_job
    calls = {"n": 0}

    def dies_at_first_checkpoint(j: Any, **kw: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise TransientError("the worker's container was recycled")
        return real_save(j, **kw)

    env.jobs.save_job = dies_at_first_checkpoint  # type: ignore[method-assign]
    with pytest.raises(TransientError):
        env.runner.copy_chunk(ref, cursor)
    env.jobs.save_job = real_save  # type: ignore[method-assign]
    assert env.service.get(me, job["id"])["counts"]["imported"] == 0  # nothing checkpointed
    assert _count_stored(env, me, job["id"]) >= 4  # but batches were stored
    _finish(env, ref, cursor)
    done = env.service.get(me, job["id"])
    assert done["counts"] == {
        "imported": 10,
        "already_present": 0,
        "skipped_oversize": 0,
        "failed": 0,
    }
    assert _count_stored(env, me, job["id"]) == 10


def test_revert_keeps_a_folder_the_user_has_put_other_mail_in(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    env = build(local_stack, dovecot)
    me = owner()
    user, password = env.seed_user(0)
    dovecot.seed_maildir(user, "Projects", [(b"Subject: p\r\n\r\nbody\r\n", set(), 1.7e9)])
    dovecot.seed_maildir(user, "Old", [(b"Subject: o\r\n\r\nbody\r\n", set(), 1.7e9)])
    job = env.create(me, user, password)
    ref = ref_of(me, job)
    _finish(env, ref, env.runner.plan(ref))
    service = env.runner._service
    folders = {f.name: f for f in service.folders(me)}
    assert {"Projects", "Old"} <= set(folders)
    # The user files the job's start notice (not the job's mail) into "Projects".
    notice = message_id_for("notice", job["id"], "started")
    service.update_message(me, notice, {"folder_id": folders["Projects"].folder_id})
    env.service.revert(me, job["id"])
    assert env.runner.rollback(ref, None, "revert")["state"] == "reverted"
    after = {f.name: f for f in service.folders(me)}
    assert "Old" not in after  # made by the job, emptied by the revert: gone
    assert after["Projects"].total == 1  # kept: it holds the user's own mail
    stored = env.jobs.get_job(me, job["id"])
    assert stored is not None and stored.created_folders == (folders["Projects"].folder_id,)


def test_source_folders_meet_the_users_folders_as_the_mailbox_names_them(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    """ "INBOX.Projects" nests under the Inbox; "Work" goes into the user's own "work"."""
    env = build(local_stack, dovecot)
    me = owner()
    service = env.runner._service
    own = service.create_folder(me, "work")
    user, password = env.seed_user(1)
    dovecot.seed_maildir(user, "INBOX.Projects", [(b"Subject: p\r\n\r\nx\r\n", set(), 1.7e9)])
    dovecot.seed_maildir(user, "Work", [(b"Subject: w\r\n\r\nx\r\n", set(), 1.7e9)])
    job = env.create(me, user, password)
    ref = ref_of(me, job)
    _finish(env, ref, env.runner.plan(ref))
    done = env.service.get(me, job["id"])
    assert done["state"] == "completed" and done["counts"]["imported"] == 3
    folders = {f.folder_id: f for f in service.folders(me)}
    projects = next(f for f in folders.values() if f.name == "Projects")
    assert projects.parent_id == "inbox" and projects.total == 1
    assert folders[own.folder_id].total == 1  # the user's "work", not a second folder
    assert sum(f.name.casefold() == "work" for f in folders.values()) == 1
    stored = env.jobs.get_job(me, job["id"])
    assert stored is not None and stored.created_folders == (projects.folder_id,)


def test_continue_as_new_retried_starts_one_execution(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    env = build(local_stack, dovecot)
    _, _, ref = env.started(1)
    first = env.runner.continue_as_new(ref)
    again = env.runner.continue_as_new(ref)  # the step delivered twice
    assert first == again
    assert [n for n, _ in env.executions.started].count(first["continued_in"]) == 1


def test_a_cancel_that_lands_while_finalizing_wins(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    env = build(local_stack, dovecot)
    me, job, ref = env.started(2)
    cursor = env.runner.plan(ref)
    while not cursor["done"]:
        cursor = env.runner.copy_chunk(ref, cursor)
    real_get = env.jobs.get_job

    def cancelled_right_after_the_read(o: Owner, job_id: str) -> Any:
        read = real_get(o, job_id)
        # The API's cancel of a running job, between finalize's read and its save.
        assert env.jobs.request_cancel(me, job["id"])
        return read

    env.jobs.get_job = cancelled_right_after_the_read  # type: ignore[method-assign]
    with pytest.raises(TransientError):
        env.runner.finalize(ref)  # its save refuses: the state machine retries the step
    env.jobs.get_job = real_get  # type: ignore[method-assign]
    with pytest.raises(JobCancelled):
        env.runner.finalize(ref)
    assert env.service.get(me, job["id"])["state"] == "running"
    env.runner.rollback(ref, {"Error": "JobCancelled", "Cause": "{}"})
    assert env.service.get(me, job["id"])["state"] == "rolled_back"


def _tenant_running(local_stack: LocalStack, tenant_id: str) -> int:
    item = boto3.client("dynamodb").get_item(
        TableName=local_stack.physical_id("MailportTable"),
        Key={"PK": {"S": f"MIGRUN#{tenant_id}"}, "SK": {"S": "COUNT"}},
        ConsistentRead=True,
    )
    return int(item.get("Item", {}).get("n", {}).get("N", "0"))


def test_a_parked_job_gives_its_slot_back_once_and_is_never_cancelled_as_unstarted(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    """Review findings: a job that waits for a sign-in holds no slot, and whatever happens
    to it afterwards (a late suspend of an older run, a cancel) never gives one back again,
    and a job that copied mail is never dropped as "cancelled before it started".
    """
    env = build(local_stack, dovecot)
    me, job, ref = env.started(3)
    env.runner.plan(ref)
    assert _tenant_running(local_stack, me.tenant_id) == 1
    error = {"Error": "SignInRequired", "Cause": "revoked"}
    assert env.runner.suspend(ref, error)["state"] == "needs_signin"
    assert _tenant_running(local_stack, me.tenant_id) == 0
    assert env.runner.suspend(ref, error)["state"] == "needs_signin"  # a retried step
    assert _tenant_running(local_stack, me.tenant_id) == 0

    # The user signed in again: queued again, in a newer run. A late suspend of the old
    # run leaves it alone.
    parked = env.jobs.get_job(me, job["id"])
    assert parked is not None and not parked.slot
    queued = dataclasses.replace(parked, state=JobState.QUEUED, error=None, resumes=1)
    assert env.queue.requeue(queued, cancel=False)
    old_run = {**ref, "resumes": 0}  # as that execution's input names its run
    assert env.runner.suspend(old_run, error) == {"state": "queued", "stale": True}
    # It copied (planned) mail: the cancel of a queued job that started nothing is refused.
    again = env.jobs.get_job(me, job["id"])
    assert again is not None
    finished = dataclasses.replace(again, state=JobState.ROLLED_BACK)
    assert env.queue.cancel_queued(again, finished) is False
    # The user's cancel queues it for its rollback instead.
    assert env.service.cancel(me, job["id"])["state"] in ("queued", "running")
    cancelled = env.jobs.get_job(me, job["id"])
    assert cancelled is not None and cancelled.cancel_requested


def test_the_queue_position_is_counted_up_to_a_cap(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    env = build(local_stack, dovecot, max_per_tenant=1)
    me = owner()
    user, password = env.seed_user(1)
    jobs = [env.create(me, user, password) for _ in range(4)]  # one runs, three wait
    assert [j["state"] for j in jobs] == ["running", "queued", "queued", "queued"]
    last = env.jobs.get_job(me, jobs[-1]["id"])
    assert last is not None
    mine = env.queue.queue_position(last)
    assert mine >= 3  # two of mine ahead (other tests' queued jobs may be too)
    assert env.queue.queue_position(last, cap=1) == 2  # "more than one ahead"
    for job in jobs[1:]:  # not left queued for the shared stack's scheduler to start
        assert env.service.cancel(me, job["id"])["state"] == "rolled_back"


def test_notices_are_written_in_the_users_language(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    """No request comes with a notice: it takes the language the user chose (PATCH /v1/me),
    English until they choose.
    """
    env = build(local_stack, dovecot)
    directory = DynamoDirectory(local_stack.physical_id("MailportTable"), client=Clients().dynamodb)
    service = env.runner._service
    subjects = {}
    for language in ("", "ja"):
        me = owner()
        if language:
            directory.set_language(User(me.user_id, me.tenant_id, "u@x.example", "U", False), "ja")
        user, password = env.seed_user(0)
        dovecot.seed_maildir(user, "INBOX", [(b"Subject: a\r\n\r\nbody\r\n", set(), 1.7e9)])
        job = env.create(me, user, password)
        ref = ref_of(me, job)
        _finish(env, ref, env.runner.plan(ref))
        raw = service.raw(me, message_id_for("notice", job["id"], "started"))
        notice = email.message_from_bytes(raw, policy=email.policy.default)
        subjects[language] = str(notice["Subject"])
        assert notice.get_content_type() == "multipart/alternative"
        assert notice["Content-Language"] == (language or "en")
    assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", subjects["ja"]), subjects
    assert not re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", subjects[""]), subjects
