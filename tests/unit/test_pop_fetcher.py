"""The fetch run's decisions, with in-memory ports: what is deleted, what is counted, when a
run hands over to a continuation, when the listing proves nothing is new."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from mailport.domain.accounts import (
    FetchRequest,
    FetchRun,
    FetchState,
    PopAccount,
    Preset,
    Receipt,
    RunStatus,
    RunTrigger,
    Seen,
)
from mailport.domain.mailbox import InsertOutcome, Owner
from mailport.domain.mime import NotAMessage
from mailport.domain.remote import Credentials, PopEntry, RemoteAuthFailed, ServerAddress
from mailport.errors import StorageError
from mailport.usecases.importing import ImportRequest, ImportResult
from mailport.usecases.pop_fetch import FetchConfig, PopFetcher

OWNER = Owner("t", "u")
NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)


def account(**changes: object) -> PopAccount:
    base = PopAccount(
        "a1",
        Preset.MANUAL,
        "pop.example.com",
        995,
        True,
        "me",
        "inbox",
        "none",
        True,
        False,
        True,
        NOW,
        sealed_password=b"sealed",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@dataclass
class MemoryAccounts:
    """The account store, run ledger and receipts in memory: one object, as the lease and the
    fetch state are the account's own.
    """

    account: PopAccount
    receipts: dict[str, Receipt] = field(default_factory=dict)
    runs: list[FetchRun] = field(default_factory=list)
    reads: int = 0
    dropped: list[list[str]] = field(default_factory=list)
    fail_drop: bool = False
    checks: list[tuple[Owner, str, dt.datetime]] = field(default_factory=list)
    leases: int = 0  # begin_run calls that took the lease
    gets: int = 0
    batch_gets: int = 0
    finishes: int = 0  # finish_run calls
    reseals: int = 0

    def get_account(self, owner: Owner, account_id: str) -> PopAccount | None:
        self.gets += 1
        return self.account

    def get_accounts(
        self, wanted: Sequence[tuple[Owner, str]]
    ) -> dict[tuple[Owner, str], PopAccount]:
        self.batch_gets += 1
        return {key: self.account for key in wanted if key[1] == self.account.account_id}

    def begin_run(
        self, owner: Owner, account_id: str, run: FetchRun, lease_s: int, tick: str | None
    ) -> bool:
        if self.account.state.running(run.started_at) or (
            tick and tick == self.account.state.last_tick
        ):
            return False
        state = replace(
            self.account.state,
            running_run_id=run.run_id,
            last_tick=tick or "",
            lease_until=run.started_at + dt.timedelta(seconds=lease_s),
        )
        self.account = replace(self.account, state=state)
        self.leases += 1
        return True

    def claim_run(self, owner: Owner, account_id: str, run_id: str) -> bool:
        return True

    def reseal_password(self, owner: Owner, account_id: str, before: bytes, after: bytes) -> bool:
        self.reseals += 1
        if self.account.sealed_password != before:
            return False
        self.account = replace(self.account, sealed_password=after)
        return True

    def finish_run(
        self,
        owner: Owner,
        account: PopAccount,
        run: FetchRun,
        state: FetchState,
        *,
        disable: bool,
        record: bool,
    ) -> None:
        self.account = replace(
            self.account, state=state, auto_fetch=self.account.auto_fetch and not disable
        )
        self.finishes += 1
        if record:
            self.runs.append(run)

    def fail_stale_run(self, owner: Owner, account_id: str, run_id: str, message: str) -> None:
        pass

    def record_checks(self, checks: Sequence[tuple[Owner, str, dt.datetime]]) -> None:
        self.checks.extend(checks)
        if checks:
            at = max(c[2] for c in checks)
            self.account = replace(
                self.account, state=replace(self.account.state, last_checked_at=at)
            )

    def imported(self, owner: Owner, account_id: str) -> Seen:
        self.reads += 1
        return Seen(
            {u: r.outcome.value for u, r in self.receipts.items()},
            {r.fingerprint: r.message_id for r in self.receipts.values() if r.message_id},
        )

    def record(self, owner: Owner, account_id: str, receipts: Sequence[Receipt]) -> None:
        self.receipts.update({r.uidl: r for r in receipts if r.uidl})

    def drop_receipts(self, owner: Owner, account_id: str, uidls: Sequence[str]) -> None:
        self.dropped.append(list(uidls))
        if self.fail_drop:
            raise StorageError("DynamoDB is busy")
        for u in uidls:
            self.receipts.pop(u, None)


@dataclass
class Server:
    messages: dict[str, bytes]  # UIDL → bytes
    deleted: set[str] = field(default_factory=set)
    fail_login: bool = False
    opens: int = 0
    passwords: list[str] = field(default_factory=list)

    def open(
        self, server: ServerAddress, credentials: Credentials, *, deadline_s: float | None = None
    ) -> Session:
        self.opens += 1
        self.passwords.append(credentials.password)
        if self.fail_login:
            raise RemoteAuthFailed("wrong password")
        return Session(self, list(self.messages))


@dataclass
class Session:
    server: Server
    order: list[str]
    marked: set[int] = field(default_factory=set)

    def entries(self) -> list[PopEntry]:
        return [PopEntry(i + 1, u, len(self.server.messages[u])) for i, u in enumerate(self.order)]

    def retrieve(self, numbers: Sequence[int]) -> Iterator[tuple[int, bytes]]:
        for n in numbers:
            yield n, self.server.messages[self.order[n - 1]]

    def delete(self, numbers: Sequence[int]) -> None:
        self.marked.update(numbers)

    def quit(self) -> None:
        for n in self.marked:
            uidl = self.order[n - 1]
            self.server.deleted.add(uidl)
            del self.server.messages[uidl]

    def close(self) -> None:
        pass

    def stop_after(self, seconds: float) -> None:
        self.cut_after = seconds


class Secrets:
    """Passwords sealed b"old:..." are in the dated format; seal writes b"new:..."."""

    def open(self, sealed: bytes, context: object) -> str:
        return sealed.split(b":", 1)[1].decode() if b":" in sealed else "pw"

    def seal(self, secret: str, context: object) -> bytes:
        return b"new:" + secret.encode()

    def needs_resealing(self, sealed: bytes) -> bool:
        return sealed.startswith(b"old:")


@dataclass
class FakeImporter:
    stored: list[bytes] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    fail: bool = False
    notices: list[bytes] = field(default_factory=list)

    def rules(self, owner: Owner) -> tuple[()]:
        return ()

    def store_notice(
        self, owner: Owner, raw: bytes, message_id: str, source_id: str, *, flagged: bool = False
    ) -> ImportResult:
        self.notices.append(raw)
        return ImportResult(InsertOutcome.STORED, message_id, "inbox")

    def store(self, request: ImportRequest, rules: object = None) -> ImportResult:
        if self.fail:
            raise StorageError("S3 is down")
        if request.raw.startswith(b"\x89PNG"):
            raise NotAMessage("binary", "not mail")
        self.stored.append(request.raw)
        self.ids.append(request.message_id)
        return ImportResult(InsertOutcome.STORED, request.message_id, request.folder_id)


@dataclass
class Queue:
    sent: list[FetchRequest] = field(default_factory=list)

    def send(self, requests: Sequence[FetchRequest]) -> None:
        self.sent.extend(requests)


@dataclass
class World:
    accounts: MemoryAccounts
    server: Server
    importer: FakeImporter
    queue: Queue
    clock_s: list[float]
    tokens: Any = None  # the AccessTokens port, for accounts that sign in

    def fetcher(self, **config: object) -> PopFetcher:
        return PopFetcher(
            self.accounts,
            self.server,
            runs=self.accounts,
            receipts=self.accounts,
            secrets=Secrets(),
            importer=self.importer,  # type: ignore[arg-type]
            queue=self.queue,
            config=FetchConfig(**config),  # type: ignore[arg-type]
            clock=lambda: NOW + dt.timedelta(minutes=len(self.accounts.runs) * 10 + 1),
            monotonic=self.tick,
            tokens=self.tokens,
        )

    def tick(self) -> float:
        self.clock_s[0] += 1.0
        return self.clock_s[0]

    def run(self, trigger: RunTrigger = RunTrigger.SCHEDULE, **config: object) -> FetchRun:
        tick = f"tick-{len(self.queue.sent)}-{self.clock_s[0]}"
        result = self.fetcher(**config).handle(FetchRequest("t", "u", "a1", trigger, tick=tick))
        assert result is not None
        return result


def mail(i: int) -> bytes:
    return b"From: a@example.com\r\nSubject: %d\r\n\r\nbody %d\r\n" % (i, i)


@pytest.fixture
def world() -> World:
    server = Server({f"u{i}": mail(i) for i in range(5)})
    return World(MemoryAccounts(account()), server, FakeImporter(), Queue(), [0.0])


def test_only_stored_messages_are_deleted(world: World) -> None:
    world.accounts.account = account(keep_original=False)
    world.server.messages["big"] = b"x" * 60
    world.server.messages["png"] = b"\x89PNG\r\n" + b"\x00" * 10
    result = world.run(max_bytes=50)
    assert (result.counts.fetched, result.counts.skipped_oversize, result.counts.rejected) == (
        5,
        1,
        1,
    )
    assert world.server.deleted == {f"u{i}" for i in range(5)}
    assert set(world.server.messages) == {"big", "png"}
    again = world.run(max_bytes=50)
    assert (again.counts.skipped_oversize, again.counts.rejected) == (0, 0)  # reported once


def test_an_unchanged_listing_needs_no_receipt_read(world: World) -> None:
    world.run()
    assert world.accounts.reads == 1
    quiet = world.run()
    assert world.accounts.reads == 1 and quiet.counts.fetched == 0
    world.server.messages["u9"] = mail(9)
    assert world.run().counts.fetched == 1 and world.accounts.reads == 2


def test_out_of_time_hands_over_to_a_continuation(world: World) -> None:
    result = world.run(time_budget_s=2.5)  # the fake clock moves 1 s per look
    assert result.more and result.status is RunStatus.SUCCEEDED
    assert 0 < result.counts.fetched < 5
    assert [r.trigger for r in world.queue.sent] == [RunTrigger.CONTINUATION]
    assert world.accounts.account.state.server_digest == ""  # not everything was seen
    rest = world.fetcher().handle(world.queue.sent[0])
    assert rest is not None and rest.counts.fetched == 5 - result.counts.fetched
    assert len(world.importer.stored) == 5


def test_failures_count_only_for_automatic_runs_and_the_account(world: World) -> None:
    world.server.fail_login = True
    for _ in range(2):
        world.run()
    assert world.accounts.account.state.failures == 2
    world.importer.fail = True
    world.server.fail_login = False
    storage = world.run()
    assert storage.status is RunStatus.FAILED and storage.error_code == "storage_error"
    assert world.accounts.account.state.failures == 2  # our fault, not the account's
    world.server.fail_login = True
    world.run()
    assert world.accounts.account.state.failures == 3 and len(world.importer.notices) == 1
    for _ in range(7):
        world.run()
    assert world.accounts.account.state.failures == 10
    assert world.accounts.account.auto_fetch is False
    assert len(world.importer.notices) == 2
    assert (
        world.fetcher().handle(FetchRequest("t", "u", "a1", RunTrigger.SCHEDULE, tick="x")) is None
    )
    world.server.fail_login = False
    world.importer.fail = False
    world.accounts.account = replace(world.accounts.account, auto_fetch=True)
    assert world.run().status is RunStatus.SUCCEEDED
    assert world.accounts.account.state.failures == 0


def test_empty_scheduled_runs_are_not_recorded(world: World) -> None:
    world.run()
    world.run()
    assert [r.counts.fetched for r in world.accounts.runs] == [5]
    assert world.accounts.account.state.last_checked_at is not None


def test_receipts_of_messages_gone_from_the_server_are_dropped(world: World) -> None:
    world.accounts.account = account(keep_original=False)
    world.run()
    assert set(world.accounts.receipts) == {f"u{i}" for i in range(5)}  # deleted at QUIT
    assert world.accounts.dropped == []  # the run's own listing still had them
    world.server.messages["u9"] = mail(9)
    assert world.run().counts.fetched == 1
    assert world.accounts.dropped == [[f"u{i}" for i in range(5)]]
    assert set(world.accounts.receipts) == {"u9"}
    # Forgotten, then listed again (a server that restores a message): offered again under
    # the same message id, which the mailbox finds already stored (test_pop_import.py).
    first_id = world.importer.ids[world.importer.stored.index(mail(0))]
    world.server.messages["u0"] = mail(0)
    world.run()
    assert world.importer.ids[-1] == first_id


def test_kept_originals_are_never_dropped_while_listed(world: World) -> None:
    world.run()
    world.server.messages["u9"] = mail(9)
    world.run()
    assert world.accounts.dropped == []
    del world.server.messages["u2"]  # the user deleted it at the provider
    world.server.messages["u10"] = mail(10)
    world.run()
    assert world.accounts.dropped == [["u2"]]
    assert set(world.accounts.receipts) == {f"u{i}" for i in (0, 1, 3, 4, 9, 10)}


def test_nothing_is_dropped_on_an_empty_listing_or_a_partial_run(world: World) -> None:
    world.run()
    world.server.messages.clear()  # a glitch: the server lists nothing
    world.run()
    assert world.accounts.dropped == [] and len(world.accounts.receipts) == 5
    world.server.messages.update({f"n{i}": mail(10 + i) for i in range(4)})
    partial = world.run(time_budget_s=2.5)  # out of time: a continuation takes the rest
    assert partial.more and world.accounts.dropped == []


def test_a_failed_forget_does_not_fail_the_run(world: World) -> None:
    world.accounts.account = account(keep_original=False)
    world.run()
    world.accounts.fail_drop = True
    world.server.messages["u9"] = mail(9)
    result = world.run()
    assert result.status is RunStatus.SUCCEEDED and result.counts.fetched == 1
    assert world.accounts.dropped == [[f"u{i}" for i in range(5)]]
    assert len(world.accounts.receipts) == 6  # kept; the next run with new mail tries again


def test_idle_polls_log_at_debug_and_the_rest_at_info(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    def finished() -> list[int]:
        return [r.levelno for r in caplog.records if r.getMessage() == "fetch finished"]

    caplog.set_level(logging.DEBUG, logger="mailport")
    world.run()  # five new messages
    world.run()  # nothing new
    world.server.fail_login = True
    world.run()  # failed
    assert finished() == [logging.INFO, logging.DEBUG, logging.INFO]


def scheduled(world: World) -> tuple[PopFetcher, FetchRun | None]:
    fetcher = world.fetcher()
    tick = f"tick-{world.clock_s[0]}-{len(world.accounts.checks)}-{world.server.opens}"
    return fetcher, fetcher.handle(FetchRequest("t", "u", "a1", RunTrigger.SCHEDULE, tick=tick))


def test_an_unchanged_listing_writes_nothing_but_its_check_time(world: World) -> None:
    world.run()  # the first run takes everything (under the lease)
    leases, finishes, opens = world.accounts.leases, world.accounts.finishes, world.server.opens
    fetcher, run = scheduled(world)
    assert (
        run is not None
        and run.status is RunStatus.SUCCEEDED
        and not any((run.counts.fetched, run.counts.already_present))
    )
    # No lease taken, no outcome written: the account item is untouched ...
    assert (world.accounts.leases, world.accounts.finishes) == (leases, finishes)
    assert world.server.opens == opens + 1
    assert world.accounts.checks == []  # ... and the check time waits for the batch
    assert fetcher.flush_checks() == 1
    ((owner, account_id, at),) = world.accounts.checks
    assert (owner, account_id) == (OWNER, "a1") and at >= run.started_at
    assert world.accounts.account.state.last_checked_at == at
    assert fetcher.flush_checks() == 0 and len(world.accounts.checks) == 1  # saved once


def test_new_mail_after_a_quiet_poll_takes_the_lease_in_the_same_session(world: World) -> None:
    world.run()
    world.server.messages["new"] = mail(9)
    opens = world.server.opens
    _, run = scheduled(world)
    assert run is not None and run.counts.fetched == 1
    assert world.server.opens == opens + 1  # one login: the listing was read once
    assert world.accounts.leases == 2 and world.accounts.finishes == 2
    assert world.accounts.account.state.server_digest  # the new listing is the settled one


def test_a_failure_after_a_quiet_poll_is_counted_once_under_the_lease(world: World) -> None:
    world.run()
    world.server.fail_login = True
    opens = world.server.opens
    _, run = scheduled(world)
    assert run is not None and run.status is RunStatus.FAILED
    assert world.server.opens == opens + 1  # not tried twice
    assert world.accounts.account.state.failures == 1
    assert world.accounts.leases == 2 and world.accounts.finishes == 2
    # Not settled any more: the next poll takes the lease first, and its success is written
    # (the failure count back to 0) even though the listing is the same as before.
    world.server.fail_login = False
    _, again = scheduled(world)
    assert again is not None and again.status is RunStatus.SUCCEEDED
    assert world.accounts.leases == 3 and world.accounts.account.state.failures == 0


def test_a_held_lease_means_no_look_and_no_run(world: World) -> None:
    world.run()
    state = replace(
        world.accounts.account.state,
        running_run_id="other",
        lease_until=NOW + dt.timedelta(hours=2),
    )
    world.accounts.account = replace(world.accounts.account, state=state)
    opens = world.server.opens
    _, run = scheduled(world)
    assert run is None and world.server.opens == opens  # not even a login


def test_a_run_that_took_the_lease_meanwhile_takes_the_new_mail(world: World) -> None:
    world.run()
    world.server.messages["new"] = mail(9)
    fetcher = world.fetcher()
    real = world.accounts.begin_run
    world.accounts.begin_run = lambda *a, **k: False  # type: ignore[method-assign]
    got = fetcher.handle(FetchRequest("t", "u", "a1", RunTrigger.SCHEDULE, tick="t-race"))
    world.accounts.begin_run = real  # type: ignore[method-assign]
    assert got is None and world.importer.stored.count(mail(9)) == 0
    assert fetcher.flush_checks() == 0


def test_a_run_that_died_holding_the_lease_is_closed_by_the_next_poll(world: World) -> None:
    world.run()
    # A worker died mid-run: its lease ran out, its run id is still on the account.
    state = replace(
        world.accounts.account.state,
        running_run_id="dead",
        lease_until=NOW - dt.timedelta(hours=1),
    )
    world.accounts.account = replace(world.accounts.account, state=state)
    closed: list[str] = []
    world.accounts.fail_stale_run = lambda owner, account_id, run_id, message: closed.append(  # type: ignore[method-assign]
        run_id
    )
    leases = world.accounts.leases
    _, run = scheduled(world)
    assert run is not None and run.status is RunStatus.SUCCEEDED
    assert world.accounts.leases == leases + 1 and closed == ["dead"]  # under the lease


def test_a_batch_reads_its_accounts_at_once_and_each_run_takes_its_own_once(
    world: World,
) -> None:
    world.run()
    fetcher = world.fetcher()
    gets = world.accounts.gets
    fetcher.prefetch(
        [
            FetchRequest("t", "u", "a1", RunTrigger.SCHEDULE, tick="p1"),
            FetchRequest("t", "u", "gone", RunTrigger.SCHEDULE, tick="p2"),
            FetchRequest("t", "u", "a1", RunTrigger.FORGET),
        ]
    )
    assert world.accounts.batch_gets == 1
    assert fetcher.handle(FetchRequest("t", "u", "a1", RunTrigger.SCHEDULE, tick="p1"))
    # A gone account is known to be gone: no read of its own.
    assert fetcher.handle(FetchRequest("t", "u", "gone", RunTrigger.SCHEDULE, tick="p2")) is None
    assert world.accounts.gets == gets
    # Taken once: a second request for the account in the batch reads it afresh.
    fetcher.handle(FetchRequest("t", "u", "a1", RunTrigger.SCHEDULE, tick="p3"))
    assert world.accounts.gets == gets + 1
    # The batch over, nothing prefetched is left for the next one.
    fetcher.prefetch([FetchRequest("t", "u", "a1", RunTrigger.SCHEDULE, tick="p4")])
    fetcher.flush_checks()
    fetcher.handle(FetchRequest("t", "u", "a1", RunTrigger.SCHEDULE, tick="p4"))
    assert world.accounts.gets == gets + 2


def test_a_password_in_the_dated_format_is_sealed_anew_once(world: World) -> None:
    world.accounts.account = account(sealed_password=b"old:s3cret")
    world.run()
    world.run()
    assert world.server.passwords == ["s3cret", "s3cret"]
    assert world.accounts.account.sealed_password == b"new:s3cret"
    assert world.accounts.reseals == 1  # the second poll opened the new form: no write


def test_a_failed_reseal_leaves_the_poll_and_the_password_as_they_were(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(*args: object) -> bool:
        raise StorageError("the table is busy")

    world.accounts.account = account(sealed_password=b"old:s3cret")
    monkeypatch.setattr(world.accounts, "reseal_password", refused)
    run = world.run()
    assert run.status is RunStatus.SUCCEEDED and run.counts.fetched == 5
    assert world.accounts.account.sealed_password == b"old:s3cret"
