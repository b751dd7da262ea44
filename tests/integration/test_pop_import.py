"""POP3 import end to end below the API: the real Dovecot, DynamoDB/S3/KMS in moto over HTTP.

Each test gets its own Dovecot user and mailport user; the queue is a recorder so runs are
driven one by one, and the clock can jump past a dead worker's lease.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest

from mailport.adapters import keys
from mailport.adapters.clients import Clients
from mailport.adapters.dynamodb_accounts import DynamoAccountStore, DynamoSchedule
from mailport.adapters.dynamodb_mailbox import DynamoMailbox
from mailport.adapters.dynamodb_receipts import DynamoReceipts
from mailport.adapters.dynamodb_runs import DynamoRunLedger
from mailport.adapters.kms import KmsSecretBox
from mailport.adapters.pop3 import Pop3Connector
from mailport.adapters.s3 import S3RawStore
from mailport.domain.accounts import (
    DISABLE_AFTER_FAILURES,
    FetchRequest,
    FetchRun,
    PopAccount,
    RunStatus,
    RunTrigger,
    schedule_slot,
)
from mailport.domain.mailbox import Owner, SourceType, StoredMessage
from mailport.domain.network import LOCAL_TESTS, RemoteAddressRefused
from mailport.domain.remote import (
    Credentials,
    RemoteAuthFailed,
    RemoteProtocolError,
    RemoteTlsError,
    RemoteUnreachable,
    ServerAddress,
)
from mailport.errors import LimitExceeded, TransientError, ValidationFailed
from mailport.ports import PopMailbox
from mailport.usecases.accounts import AccountsConfig, AccountService, FetchInProgress
from mailport.usecases.dispatch import Dispatcher
from mailport.usecases.importing import Importer
from mailport.usecases.mailbox import MailboxService
from mailport.usecases.pop_fetch import FetchConfig, PopFetcher
from mailport.usecases.pop_runs import secret_context
from mailport_local.stack import LocalStack
from tests.support.clock import Clock
from tests.support.dovecot import Dovecot
from tests.support.faultproxy import FaultProxy
from tests.support.secrets import kms_box

pytestmark = [pytest.mark.stack, pytest.mark.dovecot]


@dataclass
class RecordingQueue:
    sent: list[FetchRequest] = field(default_factory=list)

    def send(self, requests: list[FetchRequest]) -> None:
        self.sent.extend(requests)


@dataclass
class Env:
    """Real adapters (moto, KMS, Dovecot) and the use-cases built on them."""

    mailbox: MailboxService
    importer: Importer
    accounts: DynamoAccountStore
    runs: DynamoRunLedger
    receipts: DynamoReceipts
    schedule: DynamoSchedule
    secrets: KmsSecretBox
    queue: RecordingQueue
    clock: Clock
    dovecot: Dovecot
    owner: Owner
    connector: Pop3Connector
    table: str
    service: AccountService = field(init=False)
    fetcher: PopFetcher = field(init=False)

    def __post_init__(self) -> None:
        self.service = self.build_service()
        self.fetcher = self.build_fetcher()

    def build_service(self, connector: object = None, queue: object = None) -> AccountService:
        return AccountService(
            self.accounts,
            self.mailbox,
            runs=self.runs,
            connector=connector or self.connector,  # type: ignore[arg-type]
            secrets=self.secrets,
            queue=queue or self.queue,  # type: ignore[arg-type]
            config=AccountsConfig(ca_file=str(self.dovecot.ca_pem)),
            clock=self.clock,
        )

    def build_fetcher(self, connector: object = None) -> PopFetcher:
        return PopFetcher(
            self.accounts,
            connector or self.connector,  # type: ignore[arg-type]
            runs=self.runs,
            receipts=self.receipts,
            secrets=self.secrets,
            importer=self.importer,
            queue=self.queue,
            config=FetchConfig(ca_file=str(self.dovecot.ca_pem)),
            clock=self.clock,
        )


@pytest.fixture
def env(local_stack: LocalStack, dovecot: Dovecot) -> Env:
    return build_env(local_stack, dovecot)


def build_env(local_stack: LocalStack, dovecot: Dovecot, raw: S3RawStore | None = None) -> Env:
    """The POP use-cases on the local stack's table and buckets (``raw``: another S3 store)."""
    table = local_stack.physical_id("MailportTable")
    clients = Clients()
    store = DynamoMailbox(table, client=clients.dynamodb)
    raw = raw or S3RawStore(local_stack.physical_id("MailBucket"), client=clients.s3)
    return Env(
        mailbox=MailboxService(store, raw),
        importer=Importer(store, raw),
        accounts=DynamoAccountStore(table, client=clients.dynamodb),
        runs=DynamoRunLedger(table, client=clients.dynamodb),
        receipts=DynamoReceipts(table, client=clients.dynamodb),
        schedule=DynamoSchedule(table, client=clients.dynamodb),
        secrets=kms_box(local_stack, clients.kms, clients.dynamodb),
        queue=RecordingQueue(),
        clock=Clock(),
        dovecot=dovecot,
        owner=Owner("acme", f"u-{uuid.uuid4().hex[:10]}"),
        connector=Pop3Connector(network=LOCAL_TESTS),
        table=table,
    )


def message(i: int, tag: str, body_kb: int = 2) -> bytes:
    body = (f"line of message {i}\n" * (body_kb * 50)).encode()
    return (
        f"From: Sender <s{i}@example.net>\nTo: me@example.org\nSubject: {tag} {i}\n"
        f"Message-ID: <{tag}-{i}@example.net>\n\n"
    ).encode() + body


def server_user(env: Env, count: int, tag: str = "m", start: int = 0) -> tuple[str, str]:
    name = f"pu-{uuid.uuid4().hex[:10]}"
    password = f"pw-{uuid.uuid4().hex}"
    env.dovecot.add_user(name, password)
    seed(env, name, [message(i, tag) for i in range(start, start + count)])
    return name, password


def seed(env: Env, name: str, raws: list[bytes]) -> None:
    if raws:
        env.dovecot.seed_maildir(name, "INBOX", [(r, set(), 1_700_000_000.0) for r in raws])


def register(
    env: Env, name: str, password: str, *, port: int | None = None, **extra: object
) -> PopAccount:
    payload: dict[str, object] = {
        "preset": "manual",
        "host": "127.0.0.1",
        "port": port or env.dovecot.pop3s_port,
        "ssl": True,
        "username": name,
        "password": password,
        "agreed": True,
        **extra,
    }
    return env.service.create(env.owner, payload)


def register_many(env: Env, count: int, messages: int, tag: str) -> list[PopAccount]:
    """``count`` accounts, each on a server user of its own holding ``messages`` messages."""
    accounts = []
    for i in range(count):
        name, password = server_user(env, messages, tag=f"{tag}{i}")
        accounts.append(register(env, name, password))
    return accounts


def run(
    env: Env, account: PopAccount, fetcher: PopFetcher | None = None, tick: str | None = None
) -> FetchRun:
    request = FetchRequest(
        env.owner.tenant_id,
        env.owner.user_id,
        account.account_id,
        RunTrigger.SCHEDULE,
        tick=tick or uuid.uuid4().hex,
    )
    result = (fetcher or env.fetcher).handle(request)
    assert result is not None
    return result


def stored(env: Env, folder: str = "inbox") -> list[StoredMessage]:
    out: list[StoredMessage] = []
    cursor = None
    while True:
        page = env.mailbox.messages(env.owner, folder, "100", cursor)
        out.extend(page.messages)
        cursor = page.cursor
        if not cursor:
            return out


def subjects(env: Env, folder: str = "inbox", source: SourceType = SourceType.POP) -> list[str]:
    return sorted(m.summary.subject for m in stored(env, folder) if m.source.type is source)


def records(env: Env, account_id: str) -> int:
    owner, table = env.owner, env.table
    ddb = boto3.client("dynamodb")
    seen = ddb.query(
        TableName=table,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={
            ":pk": {"S": f"POPSEEN#{owner.tenant_id}#{owner.user_id}#{account_id}"}
        },
    )
    runs = ddb.query(
        TableName=table,
        KeyConditionExpression="PK = :pk AND begins_with(SK, :r)",
        ExpressionAttributeValues={
            ":pk": {"S": f"USER#{owner.tenant_id}#{owner.user_id}"},
            ":r": {"S": f"RUN#{account_id}#"},
        },
    )
    return int(seen["Count"]) + int(runs["Count"])


def on_server(env: Env, name: str, password: str) -> int:
    server = ServerAddress("127.0.0.1", env.dovecot.pop3s_port, True, str(env.dovecot.ca_pem))
    session = env.connector.open(server, Credentials(name, password))
    try:
        return len(session.entries())
    finally:
        session.quit()


# ---------------------------------------------------------------- first run, later runs
def test_first_run_takes_everything_later_runs_only_new(env: Env) -> None:
    name, password = server_user(env, 30)
    account = register(env, name, password, icon="blue")
    first = run(env, account)
    assert (first.status, first.counts.fetched) == (RunStatus.SUCCEEDED, 30)
    assert subjects(env) == sorted(f"m {i}" for i in range(30))
    assert {m.icon for m in stored(env)} == {"blue"}
    assert {m.source.id for m in stored(env)} == {account.account_id}

    again = run(env, account)
    assert (again.status, again.counts.fetched, again.counts.already_present) == (
        RunStatus.SUCCEEDED,
        0,
        0,
    )
    seed(env, name, [message(i, "m") for i in range(30, 35)])
    third = run(env, account)
    assert third.counts.fetched == 5
    assert subjects(env) == sorted(f"m {i}" for i in range(35))
    assert on_server(env, name, password) == 35  # keep_original is on by default
    runs = env.service.runs(env.owner, account.account_id, None)
    # The run that found nothing new is not kept; the account says it happened.
    assert [r.counts.fetched for r in runs] == [5, 30]
    assert env.service.get(env.owner, account.account_id).state.last_checked_at is not None

    # Deleting keeps the mail; the account's 35 receipts and its runs are cleared by the
    # worker afterwards, a page at a time.
    env.service.delete(env.owner, account.account_id)
    assert len(subjects(env)) == 35
    forget = env.queue.sent[-1]
    assert forget.trigger is RunTrigger.FORGET and forget.account_id == account.account_id
    assert env.accounts.forget(env.owner, account.account_id, 10) is True  # more remain
    assert env.fetcher.handle(forget) is None
    assert records(env, account.account_id) == 0


def test_keep_original_off_empties_the_server(env: Env) -> None:
    name, password = server_user(env, 20)
    account = register(env, name, password, keep_original=False)
    result = run(env, account)
    assert (result.counts.fetched, result.counts.deleted) == (20, 20)
    assert on_server(env, name, password) == 0
    assert len(subjects(env)) == 20


def receipts(env: Env, account_id: str) -> set[str]:
    """The UIDLs the account's receipts name, as stored."""
    owner = env.owner
    found = boto3.client("dynamodb").query(
        TableName=env.table,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={
            ":pk": {"S": f"POPSEEN#{owner.tenant_id}#{owner.user_id}#{account_id}"}
        },
    )
    return {item["SK"]["S"].removeprefix("U#") for item in found["Items"]}


def test_receipts_shrink_to_what_the_server_still_has(env: Env) -> None:
    """Deleted after import, a message's receipt is dropped at the next run with new mail;
    one that comes back (same UIDL) is found already stored, not stored twice."""
    name, password = server_user(env, 6, tag="prune")
    account = register(env, name, password, keep_original=False)
    first = run(env, account)
    assert (first.counts.fetched, first.counts.deleted) == (6, 6)
    old = receipts(env, account.account_id)
    assert len(old) == 6
    seed(env, name, [message(100, "prune")])
    second = run(env, account)
    assert second.counts.fetched == 1
    new = receipts(env, account.account_id)
    assert len(new) == 1 and not new & old  # only the new message's receipt is left
    assert len(subjects(env)) == 7
    # Another run with new mail drops that one too; the mailbox keeps all 8 messages once.
    seed(env, name, [message(101, "prune")])
    assert run(env, account).counts.fetched == 1
    assert len(receipts(env, account.account_id)) == 1
    assert len(subjects(env)) == 8 and len(set(subjects(env))) == 8


class DiesBeforeQuit:
    """A connector whose sessions die (like a killed worker) at DELE: stored, not deleted."""

    def __init__(self, inner: Pop3Connector) -> None:
        self.inner = inner

    def open(
        self, server: ServerAddress, credentials: Credentials, *, deadline_s: float | None = None
    ) -> PopMailbox:
        session = self.inner.open(server, credentials, deadline_s=deadline_s)

        class Dying:
            def __getattr__(self, name: str) -> object:
                return getattr(session, name)

            def delete(self, numbers: list[int]) -> None:
                session.close()
                raise SystemExit("worker killed")

        return Dying()  # type: ignore[return-value]


def test_crash_between_store_and_quit_loses_and_duplicates_nothing(env: Env) -> None:
    name, password = server_user(env, 12)
    account = register(env, name, password, keep_original=False)
    with pytest.raises(SystemExit):
        run(env, account, fetcher=env.build_fetcher(DiesBeforeQuit(env.connector)))
    assert on_server(env, name, password) == 12  # no QUIT: nothing deleted
    assert len(subjects(env)) == 12  # but everything stored
    # The dead worker still holds the lease: a run now is refused, one after it expires runs.
    assert (
        env.fetcher.handle(
            FetchRequest(
                "acme", env.owner.user_id, account.account_id, RunTrigger.SCHEDULE, tick="t-busy"
            )
        )
        is None
    )
    env.clock.offset = dt.timedelta(minutes=20)
    after = run(env, account)
    assert (after.counts.fetched, after.counts.deleted) == (0, 12)
    assert on_server(env, name, password) == 0
    assert subjects(env) == sorted(f"m {i}" for i in range(12))  # once each


# ---------------------------------------------------------------- 50 MB
def test_fifty_megabytes_or_more_is_skipped_from_list_and_reported_once(env: Env) -> None:
    name, password = server_user(env, 2)
    big = message(99, "big") + b"x" * (50 * 1024 * 1024)
    seed(env, name, [big])
    account = register(env, name, password, keep_original=False)
    first = run(env, account)
    assert (first.counts.fetched, first.counts.skipped_oversize) == (2, 1)
    assert first.counts.deleted == 2
    assert on_server(env, name, password) == 1  # never delete what was not imported
    seed(env, name, [message(5, "m")])
    second = run(env, account)
    assert (second.counts.fetched, second.counts.skipped_oversize) == (1, 0)


# ---------------------------------------------------------------- failures
def test_ten_failed_automatic_runs_switch_it_off_with_notices(env: Env) -> None:
    name, password = server_user(env, 1)
    account = register(env, name, password)
    minute = schedule_slot(account.account_id) // 60
    assert any(aid == account.account_id for _, aid, _ in env.schedule.due(minute))
    env.dovecot.add_user(name, "changed-" + password)  # the user changed it at the provider

    manual = env.service.fetch_now(env.owner, account.account_id)
    done = env.fetcher.handle(env.queue.sent[-1])
    assert done is not None and done.run_id == manual.run_id
    assert done.error_code == "remote_auth_failed"
    assert env.service.get(env.owner, account.account_id).state.failures == 0  # manual: not counted

    for attempt in range(1, DISABLE_AFTER_FAILURES + 1):
        failed = run(env, account)
        assert failed.status is RunStatus.FAILED and failed.error_code == "remote_auth_failed"
        assert failed.auto_disabled is (attempt == DISABLE_AFTER_FAILURES)  # the metric's source
        state = env.service.get(env.owner, account.account_id)
        assert state.state.failures == attempt
        if attempt == 5:  # a settings change leaves the count alone
            env.service.update(env.owner, account.account_id, {"icon": "red"})
            assert env.service.get(env.owner, account.account_id).state.failures == 5
        notices = subjects(env, source=SourceType.NOTICE)
        if attempt < 3:
            assert notices == []
        elif attempt < DISABLE_AFTER_FAILURES:
            assert len(notices) == 1 and "failing" in notices[0]
    after = env.service.get(env.owner, account.account_id)
    assert after.auto_fetch is False
    assert "10 times in a row" in after.state.disabled_reason
    notices = subjects(env, source=SourceType.NOTICE)
    assert len(notices) == 2 and any("turned off" in n for n in notices)
    assert all(aid != account.account_id for _, aid, _ in env.schedule.due(minute))
    assert password not in str(after) and password not in "".join(notices)
    # A scheduled request already queued finds it off and does nothing.
    assert (
        env.fetcher.handle(
            FetchRequest(
                "acme", env.owner.user_id, account.account_id, RunTrigger.SCHEDULE, tick="late"
            )
        )
        is None
    )
    # Fixed by the user: a new password and automatic fetching on again; the count restarts.
    fixed = env.service.update(
        env.owner,
        account.account_id,
        {"password": "changed-" + password, "username": name, "auto_fetch": True},
    )
    assert fixed.auto_fetch and fixed.state.failures == 0
    assert run(env, account).status is RunStatus.SUCCEEDED


def test_renumbered_uidls_do_not_reimport(env: Env) -> None:
    name, password = server_user(env, 10)
    account = register(env, name, password)
    assert run(env, account).counts.fetched == 10
    server = ServerAddress("127.0.0.1", env.dovecot.pop3s_port, True, str(env.dovecot.ca_pem))
    before = {e.uidl for e in env.connector.open(server, Credentials(name, password)).entries()}
    maildir = env.dovecot.maildir_path(name)
    for state in [maildir / "dovecot-uidlist", *Path(maildir).glob("dovecot.index*")]:
        state.unlink(missing_ok=True)
    env.dovecot.doveadm(["force-resync", "-u", name, "*"])
    session = env.connector.open(server, Credentials(name, password))
    after = {e.uidl for e in session.entries()}
    session.quit()
    assert before.isdisjoint(after)  # every UIDL changed
    again = run(env, account)
    assert (again.counts.fetched, again.counts.already_present) == (0, 10)
    assert subjects(env) == sorted(f"m {i}" for i in range(10))
    assert run(env, account).counts == again.counts.__class__()  # new UIDLs remembered


def test_connection_dropped_mid_retr_then_next_run_completes(env: Env) -> None:
    name, password = server_user(env, 40)
    account = register(env, name, password, keep_original=False)
    target = ("127.0.0.1", env.dovecot.pop3s_port)
    with FaultProxy(target) as proxy:
        env.service.update(
            env.owner,
            account.account_id,
            {"port": proxy.port, "username": name, "password": password},
        )
        proxy.drop_after = 50_000  # of about 90 KB: in the middle of the RETRs
        broken = run(env, account)
    assert broken.status is RunStatus.FAILED
    assert broken.error_code == "remote_temporarily_unavailable"
    assert 0 < broken.counts.fetched < 40
    assert on_server(env, name, password) == 40  # no QUIT: nothing deleted
    with FaultProxy(target) as proxy:
        env.service.update(
            env.owner,
            account.account_id,
            {"port": proxy.port, "username": name, "password": password},
        )
        done = run(env, account)
    assert done.status is RunStatus.SUCCEEDED
    assert done.counts.fetched == 40 - broken.counts.fetched
    assert subjects(env) == sorted(f"m {i}" for i in range(40))  # none lost, none twice
    assert on_server(env, name, password) == 0


def test_two_triggers_at_once_make_one_run(env: Env) -> None:
    name, password = server_user(env, 15)
    account = register(env, name, password)
    results: list[FetchRun | None] = []
    barrier = threading.Barrier(2)

    def trigger(tick: str) -> None:
        barrier.wait()
        results.append(
            env.fetcher.handle(
                FetchRequest(
                    "acme", env.owner.user_id, account.account_id, RunTrigger.SCHEDULE, tick=tick
                )
            )
        )

    threads = [threading.Thread(target=trigger, args=(t,)) for t in ("t1", "t2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ran = [r for r in results if r is not None]
    assert len(ran) == 1 and ran[0].counts.fetched == 15
    assert len(subjects(env)) == 15
    # The same tick delivered twice (EventBridge and SQS deliver at least once) runs once.
    winner = env.service.get(env.owner, account.account_id).state.last_tick
    assert winner in {"t1", "t2"}
    assert (
        env.fetcher.handle(
            FetchRequest(
                "acme", env.owner.user_id, account.account_id, RunTrigger.SCHEDULE, tick=winner
            )
        )
        is None
    )
    # Fetch now while a run holds the lease is refused clearly.
    env.service.fetch_now(env.owner, account.account_id)
    with pytest.raises(FetchInProgress):
        env.service.fetch_now(env.owner, account.account_id)


# ---------------------------------------------------------------- registering
def test_registration_refusals(env: Env) -> None:
    name, password = server_user(env, 0)
    with pytest.raises(ValidationFailed, match="agreement"):
        register(env, name, password, agreed=False)
    with pytest.raises(RemoteAuthFailed):
        register(env, name, "wrong")
    with pytest.raises(RemoteTlsError):
        register(env, name, password, port=env.dovecot.pop3_port)  # implicit TLS to plain POP3
    with pytest.raises(RemoteProtocolError):
        register(env, name, password, port=env.dovecot.imaps_port)  # not a POP3 server
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with pytest.raises(RemoteUnreachable):
        register(env, name, password, port=closed)
    with pytest.raises(ValidationFailed, match="folder"):
        register(env, name, password, folder_id="nope")
    assert env.service.list_accounts(env.owner) == []


def test_ten_accounts_at_most_and_password_sealed(env: Env, local_stack: LocalStack) -> None:
    name, password = server_user(env, 0)
    made = [register(env, name, password) for _ in range(10)]
    with pytest.raises(LimitExceeded, match="10"):
        register(env, name, password)
    item = boto3.client("dynamodb").get_item(
        TableName=local_stack.physical_id("MailportTable"),
        Key={
            "PK": {"S": f"USER#acme#{env.owner.user_id}"},
            "SK": {"S": f"ACCOUNT#{made[0].account_id}"},
        },
    )["Item"]
    assert password.encode() not in item["password"]["B"]
    assert password not in str(item)
    env.service.delete(env.owner, made[0].account_id)
    register(env, name, password)  # room again


def test_rules_and_destination_folder(env: Env) -> None:
    name, password = server_user(env, 3, tag="invoice")
    seed(env, name, [message(7, "hello")])
    folder = env.mailbox.create_folder(env.owner, "請求書")
    target = env.mailbox.create_folder(env.owner, "POP")
    env.mailbox.replace_rules(
        env.owner,
        {
            "rules": [
                {
                    "name": "invoices",
                    "match": "all",
                    "enabled": True,
                    "stop_processing": False,
                    "conditions": [{"field": "subject", "op": "contains", "value": "invoice"}],
                    "actions": [{"type": "move_to_folder", "folder_id": folder.folder_id}],
                }
            ]
        },
    )
    account = register(env, name, password, folder_id=target.folder_id, apply_rules=True)
    assert run(env, account).counts.fetched == 4
    assert subjects(env, folder.folder_id) == ["invoice 0", "invoice 1", "invoice 2"]
    assert subjects(env, target.folder_id) == ["hello 7"]


def test_dispatcher_queues_each_due_account_once_with_its_slot(env: Env) -> None:
    name, password = server_user(env, 0)
    on = register(env, name, password)
    off = register(env, name, password, auto_fetch=False)
    queue = RecordingQueue()
    result = Dispatcher(env.schedule, queue).dispatch("2026-11-28T10:00:00Z")
    mine = [r for r in queue.sent if r.user_id == env.owner.user_id]
    assert [r.account_id for r in mine] == [on.account_id]
    assert mine[0].delay_s == schedule_slot(on.account_id)
    assert mine[0].tick == "2026-11-28T10:00:00Z"
    assert result.queued == len(queue.sent)
    assert off.account_id not in {r.account_id for r in queue.sent}


@pytest.fixture(autouse=True)
def _no_stray_threads() -> Iterator[None]:
    yield


class QueueDown:
    def send(self, requests: list[FetchRequest]) -> None:
        raise TransientError("queueing the fetch: the queue is busy; try again")


def test_fetch_now_that_cannot_be_queued_gives_the_lease_back(env: Env) -> None:
    name, password = server_user(env, 1)
    account = register(env, name, password)
    broken = env.build_service(queue=QueueDown())
    with pytest.raises(TransientError):
        broken.fetch_now(env.owner, account.account_id)
    [failed] = env.service.runs(env.owner, account.account_id, None)
    assert failed.status is RunStatus.FAILED and "try again" in failed.error
    started = env.service.fetch_now(env.owner, account.account_id)  # not refused as busy
    done = env.fetcher.handle(env.queue.sent[-1])
    assert done is not None and done.run_id == started.run_id and done.counts.fetched == 1


def test_a_deployed_stack_refuses_private_hosts(env: Env) -> None:
    name, password = server_user(env, 0)
    strict = env.build_service(connector=Pop3Connector())  # default: public servers only
    for host, port in [
        ("127.0.0.1", env.dovecot.pop3s_port),
        ("127.0.0.1", 995),
        ("169.254.169.254", 995),
        ("localhost", 110),
    ]:
        payload = {
            "preset": "manual",
            "host": host,
            "port": port,
            "username": name,
            "password": password,
            "agreed": True,
        }
        with pytest.raises(RemoteAddressRefused):
            strict.create(env.owner, payload)
    assert strict.list_accounts(env.owner) == []


def test_an_idle_poll_leaves_the_account_item_as_it_was(env: Env) -> None:
    """A poll that finds nothing new writes only its check time, in the batch's one write;
    the account reads (one, the user's list, the organisation's page) say when it was
    checked, and deleting the account removes that item too.
    """
    name, password = server_user(env, 2, tag="idle")
    account = register(env, name, password)
    assert run(env, account).counts.fetched == 2
    table = boto3.client("dynamodb")
    key = {"PK": {"S": keys.user_pk(env.owner)}, "SK": {"S": keys.account_sk(account.account_id)}}
    before = table.get_item(TableName=env.table, Key=key, ConsistentRead=True)["Item"]
    first = env.accounts.get_account(env.owner, account.account_id)
    assert first is not None and first.state.last_checked_at is not None

    # A batch's accounts in one read (the account items: no check time there).
    batch = env.accounts.get_accounts([(env.owner, account.account_id), (env.owner, "gone")])
    assert list(batch) == [(env.owner, account.account_id)]
    assert batch[(env.owner, account.account_id)].state == first.state
    env.clock.offset += dt.timedelta(minutes=10)  # the next scheduled poll
    idle = run(env, account)
    assert idle.status is RunStatus.SUCCEEDED and idle.counts.fetched == 0
    after = table.get_item(TableName=env.table, Key=key, ConsistentRead=True)["Item"]
    assert after == before  # not a single attribute written (lease, state, tick)
    assert env.fetcher.flush_checks() == 1
    checked = env.accounts.get_account(env.owner, account.account_id)
    assert checked is not None and checked.state.last_checked_at is not None
    assert checked.state.last_checked_at > first.state.last_checked_at
    assert checked.state.last_status == "succeeded" and checked.version == first.version
    (listed,) = [
        a for a in env.accounts.list_accounts(env.owner) if a.account_id == account.account_id
    ]
    assert listed.state.last_checked_at == checked.state.last_checked_at
    page, _ = env.accounts.tenant_accounts(env.owner.tenant_id, 100, None)
    (org,) = [a for _, a in page if a.account_id == account.account_id]
    assert org.state.last_checked_at == checked.state.last_checked_at

    # New mail: the next poll takes the lease and writes the account item as runs do.
    seed(env, name, [message(9, "idle")])
    assert run(env, account).counts.fetched == 1
    moved = table.get_item(TableName=env.table, Key=key, ConsistentRead=True)["Item"]
    assert moved["last_checked_at"] != before["last_checked_at"]

    env.accounts.delete_account(env.owner, env.accounts.get_account(env.owner, account.account_id))  # type: ignore[arg-type]
    check = {"PK": key["PK"], "SK": {"S": keys.checked_sk(account.account_id)}}
    assert "Item" not in table.get_item(TableName=env.table, Key=check)


def test_a_password_sealed_in_the_old_format_is_sealed_anew_by_the_next_poll(env: Env) -> None:
    name, password = server_user(env, 2)
    account = register(env, name, password)
    # As a stack before the tenant keys sealed it: by KMS itself, under the same context.
    old = boto3.client("kms").encrypt(
        KeyId=env.secrets._key_id,
        Plaintext=password.encode(),
        EncryptionContext=secret_context(env.owner, account.account_id),
    )["CiphertextBlob"]
    assert env.accounts.reseal_password(env.owner, account.account_id, account.sealed_password, old)
    assert env.accounts.get_account(env.owner, account.account_id).sealed_password == old
    assert run(env, account).counts.fetched == 2
    resealed = env.accounts.get_account(env.owner, account.account_id)
    assert resealed is not None and not env.secrets.needs_resealing(resealed.sealed_password)
    assert resealed.version == account.version  # not a settings change: edits still apply
    assert (
        env.secrets.open(resealed.sealed_password, secret_context(env.owner, account.account_id))
        == password
    )
    # A stale reseal (the password changed meanwhile) leaves the newer one alone.
    assert not env.accounts.reseal_password(env.owner, account.account_id, old, b"stale")
    assert run(env, account).status is RunStatus.SUCCEEDED
