"""The fetch worker's use-case: one run of one POP account as a queued request asks (the
schedule's, a continuation's, "fetch now"), or clearing a deleted account's records.

Order of a run, and why nothing is lost or imported twice:

1. Take the account's lease (one run per account; a second trigger is dropped). A scheduled
   poll of an account whose last run went well looks first, without the lease: LIST + UIDL
   equal to the listing that run left means nothing is new, and the poll writes nothing to
   the account (87 % of polls): only its check time, in one batch write per invocation
   (``flush_checks``). Anything else takes the lease and goes on in the same session.
2. LIST + UIDL. If the listing equals the one left after the last successful run, nothing is
   new: end here (one round trip, no DynamoDB reads of receipts).
3. Skip UIDLs already dealt with; skip 50 MB or more (decided from LIST, before RETR).
4. RETR (pipelined) → content known from this account under another UIDL (the server
   renumbered)? remember the new UIDL only. Otherwise store: bytes to S3, then the index;
   the message id is derived from (account, UIDL), so a retried run overwrites, never adds.
5. Receipts (UIDL → outcome, content → message) are written in batches; a crash before they
   are written only means the next run re-reads those messages and finds them stored.
6. ``keep_original`` off: DELE only for messages stored (steps 4–5 done), then QUIT. A crash
   before QUIT deletes nothing; the next run finds them stored and deletes them then.
7. After a whole run, receipts of UIDLs the server no longer lists are forgotten, so what a
   run reads stays about the size of the mailbox on the server (``_prune``).

Here the orchestration; step 4's stores under the shared byte budget are ``pop_store``, and
saving a run's outcome (fetch state, run record, notices) is ``pop_outcome``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from mailport.catalogue import DEFAULT, say
from mailport.domain.accounts import (
    FetchRequest,
    FetchRun,
    PopAccount,
    Receipt,
    ReceiptOutcome,
    RunCounts,
    RunStatus,
    RunTrigger,
    new_run_id,
    server_digest,
)
from mailport.domain.mailbox import Owner
from mailport.domain.message import MAX_BYTES
from mailport.domain.oauth import Purpose, SignInRequired
from mailport.domain.remote import (
    Credentials,
    PopEntry,
    RemoteError,
    RemoteSigninRequired,
    RemoteTransient,
    ServerAddress,
)
from mailport.errors import MailportError, StorageError
from mailport.ports import (
    AccessTokens,
    AccountStore,
    Directory,
    FetchQueue,
    PopConnector,
    PopMailbox,
    Receipts,
    RunLedger,
    SecretBox,
)
from mailport.usecases.budget import ByteBudget
from mailport.usecases.importing import Importer
from mailport.usecases.me import language_of_user
from mailport.usecases.pop_batch import FetchBatch
from mailport.usecases.pop_outcome import PAUSED_FOR_SIGNIN, RunBook, Tally
from mailport.usecases.pop_runs import LEASE_S, close_stale_run, open_password
from mailport.usecases.pop_store import StoreJob, StorePipeline

log = logging.getLogger(__name__)

RECEIPT_BATCH = 25
FORGET_PAGE = 5000  # records deleted per forget request (200 BatchWriteItems)


@dataclass(frozen=True, slots=True)
class FetchConfig:
    """How runs behave."""

    max_bytes: int = MAX_BYTES  # LINE WORKS skips mail of 50 MB or more
    ca_file: str | None = None  # an extra CA (local stack and tests only)
    time_budget_s: float = 780.0  # leave the rest of the worker's 900 s for finishing
    cutoff_grace_s: float = 60.0  # then the session is cut, still inside the 900 s
    store_concurrency: int = 8  # messages being written to S3/DynamoDB at once, per run
    # ... and at most this much of them in memory (raw bytes; parsing briefly needs about as
    # much again), all runs of the container together (a worker runs a batch of accounts
    # side by side). Beside it each run holds the one message it is reading (< 50 MB).
    inflight_bytes: int = 128 * 1024 * 1024
    # A scheduled look at a settled account (connect, log in, list) that takes longer is cut
    # and fails as a slow server: one stalling server among the hundreds an invocation polls
    # must not hold the invocation (and bill its time) for its read timeouts. A healthy
    # look is 5-8 round trips, well under a second.
    look_deadline_s: float = 20.0


def _settled(account: PopAccount) -> bool:
    """Whether the account's last run went well and left its listing (so an unchanged one
    needs no write), and no run began since: none holds the lease, and none died holding it
    (``running_run_id`` stays until a run closes it, which the leased path does).
    """
    state = account.state
    return (
        state.last_status == RunStatus.SUCCEEDED.value
        and state.failures == 0
        and not state.paused_for
        and bool(state.server_digest)
        and not state.running_run_id
    )


class PopFetcher:
    """Runs fetches from the queue."""

    def __init__(
        self,
        accounts: AccountStore,
        connector: PopConnector,
        *,
        runs: RunLedger,
        receipts: Receipts,
        secrets: SecretBox,
        importer: Importer,
        queue: FetchQueue,
        config: FetchConfig | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        monotonic: Callable[[], float] = time.monotonic,
        budget: ByteBudget | None = None,
        tokens: AccessTokens | None = None,
        directory: Directory | None = None,
        console_url: str | None = None,
    ) -> None:
        """``budget``: shared by every run this fetcher makes (made from ``config``);
        ``tokens``: access tokens for accounts that sign in (None: no sign-in is set up);
        ``directory``: the users' language for notices (None: English); ``console_url``:
        where notices link to.
        """
        self._accounts = accounts
        self._runs = runs
        self._receipts = receipts
        self._connector = connector
        self._secrets = secrets
        self._tokens = tokens
        self._importer = importer
        self._queue = queue
        self._config = config or FetchConfig()
        self._clock = clock
        self._book = RunBook(
            runs,
            importer,
            clock,
            language=(
                (lambda o: language_of_user(directory, o.tenant_id, o.user_id, DEFAULT))
                if directory is not None
                else None
            ),
            console_url=console_url,
        )
        # What an invocation's batch shares: its accounts read at once, its idle checks
        # saved at once (``flush_checks``).
        self._batch = FetchBatch(accounts, runs)
        self._pipeline = StorePipeline(
            importer,
            budget or ByteBudget(self._config.inflight_bytes),
            concurrency=self._config.store_concurrency,
            time_budget_s=self._config.time_budget_s,
            monotonic=monotonic,
        )

    def handle(self, request: FetchRequest) -> FetchRun | None:
        """Run the request unless it is a duplicate or the account is busy or gone."""
        owner = Owner(request.tenant_id, request.user_id)
        if request.trigger is RunTrigger.FORGET:
            self._forget(owner, request)
            return None
        account = self._batch.account(owner, request.account_id)
        if account is None:
            return None  # deleted since it was queued
        now = self._clock()
        if request.trigger is RunTrigger.MANUAL:
            if not self._runs.claim_run(owner, account.account_id, request.run_id):
                return None  # a second delivery of the same request
            run = FetchRun(
                request.run_id,
                account.account_id,
                RunTrigger.MANUAL,
                RunStatus.RUNNING,
                account.state.running_since or now,
            )
            return self._run(owner, account, run)
        return self._automatic(owner, account, request, now)

    def _automatic(
        self, owner: Owner, account: PopAccount, request: FetchRequest, now: dt.datetime
    ) -> FetchRun | None:
        """A scheduled run or a continuation (a new run id from the account and the tick)."""
        if request.trigger is RunTrigger.SCHEDULE and not account.auto_fetch:
            return None  # switched off since it was queued
        if request.tick and request.tick == account.state.last_tick:
            # This tick's run happened (a second delivery). A tick whose poll found nothing
            # left no trace, so a second delivery of it only looks again, writing nothing.
            return None
        entropy = hashlib.sha256(f"{account.account_id}\x1f{request.tick}".encode()).hexdigest()
        run = FetchRun(
            new_run_id(now, entropy), account.account_id, request.trigger, RunStatus.RUNNING, now
        )
        if request.trigger is RunTrigger.SCHEDULE and _settled(account):
            return self._look_first(owner, account, run, request.tick)
        if not self._lease(owner, account, run, request.tick):
            return None  # another run holds the lease, or this tick ran already
        return self._run(owner, account, run)

    def _lease(self, owner: Owner, account: PopAccount, run: FetchRun, tick: str | None) -> bool:
        """Take the account's lease for ``run`` (False: another run holds it, or this tick
        ran already), and close a run whose worker died holding it.
        """
        if not self._runs.begin_run(owner, account.account_id, run, LEASE_S, tick or run.run_id):
            return False
        close_stale_run(self._runs, owner, account, run.started_at)
        return True

    def _look_first(
        self, owner: Owner, account: PopAccount, run: FetchRun, tick: str | None
    ) -> FetchRun | None:
        """A scheduled poll of an account whose last run went well: look at the listing
        before taking the lease. Unchanged (87 % of polls), the poll writes nothing to the
        account: only its check time, with the batch's others (``flush_checks``). Anything
        else (new mail, a changed listing, a failure) takes the lease and goes on as a run
        always did, in the same session (a failure is not tried twice).
        """
        try:
            session = self._open(owner, account, self._config.look_deadline_s)
            try:
                entries = session.entries()
            except BaseException:
                session.close()
                raise
        except Exception as e:  # classified by _run, as a run's own failure
            failed = e
            if not self._lease(owner, account, run, tick):
                return None

            def fail(tally: Tally) -> None:
                raise failed

            return self._run(owner, account, run, fail)
        if server_digest(entries) != account.state.server_digest:
            if not self._lease(owner, account, run, tick):
                session.close()  # another run is under way: it takes what is new
                return None
            return self._run(
                owner,
                account,
                run,
                lambda tally: self._fetch(owner, account, tally, (session, entries)),
            )
        try:
            session.quit()
        except MailportError:
            session.close()  # nothing was marked deleted: nothing is lost
        finished = self._clock()
        self._batch.checked(owner, account.account_id, finished)
        log.debug(
            "fetch finished",
            extra={"account_id": account.account_id, "run_id": run.run_id, "status": "succeeded"},
        )
        return replace(run, status=RunStatus.SUCCEEDED, finished_at=finished)

    def prefetch(self, requests: Sequence[FetchRequest]) -> None:
        """Read a batch's accounts in one request before its runs start (``FetchBatch``)."""
        self._batch.prefetch(requests)

    def flush_checks(self) -> int:
        """Save the batch's idle checks in one write; how many (``FetchBatch``)."""
        return self._batch.flush()

    def _forget(self, owner: Owner, request: FetchRequest) -> None:
        """Clear a deleted account's records, a page at a time (a redelivery is harmless)."""
        if self._accounts.get_account(owner, request.account_id) is not None:
            return  # not deleted after all (a forged request)
        if self._accounts.forget(owner, request.account_id, FORGET_PAGE):
            self._queue.send([request])

    def _run(
        self,
        owner: Owner,
        account: PopAccount,
        run: FetchRun,
        attempt: Callable[[Tally], None] | None = None,
    ) -> FetchRun:
        """The run under the lease: ``attempt`` (default: a whole fetch), its outcome saved."""
        tally = Tally()
        error: MailportError | None = None
        counted = False
        pause = ""
        try:
            if attempt is None:
                self._fetch(owner, account, tally)
            else:
                attempt(tally)
        except SignInRequired as e:
            # The account's sign-in no longer works (revoked, expired, the app registration
            # gone): not the server's fault nor a wrong password, so not counted; fetching
            # waits for the user to sign in again.
            error, pause = e, PAUSED_FOR_SIGNIN
        # Whose fault a failure is decides whether it counts towards switching automatic
        # fetching off: the other server's (login refused, unreachable, TLS, dropped) and an
        # unreadable saved password count; our own storage being unavailable does not.
        except (RemoteError, RemoteTransient) as e:
            error, counted = e, run.trigger is not RunTrigger.MANUAL
        except StorageError as e:
            # Includes a saved password KMS can't open (SecretUnreadable): only the user can fix
            # that, so it counts like a refused login.
            error = e
            counted = e.code == "secret_unreadable" and run.trigger is not RunTrigger.MANUAL
        except MailportError as e:
            error = e
        except Exception:
            log.exception("fetch failed", extra={"account_id": account.account_id})
            error = MailportError(say("account.fetch_unfinished"))
        finally:
            try:
                self._flush(owner, account, tally)
            except MailportError:
                # Only costs a re-read next run: the messages themselves are stored.
                log.exception("could not save receipts", extra={"account_id": account.account_id})
        finished = replace(
            run,
            status=RunStatus.FAILED if error else RunStatus.SUCCEEDED,
            finished_at=self._clock(),
            counts=tally.counts(),
            error_code=error.code if error else "",
            error=error.message if error else "",
            error_words=error.words if error else None,
            more=tally.more and error is None,
        )
        if self._book.finish(owner, account, finished, tally, counted, pause=pause):
            finished = dataclasses.replace(finished, auto_disabled=True)
        if finished.more:
            self._queue.send(
                [
                    FetchRequest(
                        owner.tenant_id,
                        owner.user_id,
                        account.account_id,
                        RunTrigger.CONTINUATION,
                        tick=uuid.uuid4().hex,
                    )
                ]
            )
        # Most polls find nothing: at a million accounts that line alone was 144 M a day
        # (docs/capacity.md). The account's last check says it happened; failures and runs
        # with mail stay at INFO.
        idle = finished.status is RunStatus.SUCCEEDED and finished.counts == RunCounts()
        log.log(
            logging.DEBUG if idle else logging.INFO,
            "fetch finished",
            extra={
                "account_id": account.account_id,
                "run_id": run.run_id,
                "status": finished.status.value,
                **dataclasses.asdict(finished.counts),
            },
        )
        return finished

    # ------------------------------------------------------------------ the fetch itself
    def _credentials(self, owner: Owner, account: PopAccount, *, fresh: bool) -> Credentials:
        """The login: the sealed password, or the account's sign-in's access token (held in
        memory while it lives, so an idle poll costs no read, KMS or token call).
        """
        if not account.signs_in:
            password = open_password(self._secrets, self._accounts, owner, account)
            return Credentials(account.username, password)
        if self._tokens is None:
            raise SignInRequired(say("account.signin_not_configured"))
        provider = account.signin_provider
        return self._tokens.mailbox_token(
            owner.tenant_id,
            owner.user_id,
            account.connection_id,
            fresh=fresh,
            # The token must be a POP sign-in's of the account's preset's provider.
            expect=None if provider is None else (provider, Purpose.POP),
        )

    def _open(
        self, owner: Owner, account: PopAccount, deadline_s: float | None = None
    ) -> PopMailbox:
        server = ServerAddress(account.host, account.port, account.ssl, self._config.ca_file)
        credentials = self._credentials(owner, account, fresh=False)
        try:
            return self._connector.open(server, credentials, deadline_s=deadline_s)
        except RemoteSigninRequired:
            if not account.signs_in:
                raise
            # The server refused a token we thought valid (revoked early, or its clock runs
            # ahead): once more with a newly refreshed one, then it is the user's to mend.
            fresh = self._credentials(owner, account, fresh=True)
            return self._connector.open(server, fresh, deadline_s=deadline_s)

    def _fetch(
        self,
        owner: Owner,
        account: PopAccount,
        tally: Tally,
        opened: tuple[PopMailbox, Sequence[PopEntry]] | None = None,
    ) -> None:
        """One fetch over a new session, or over ``opened`` (its listing already read)."""
        session = self._open(owner, account) if opened is None else opened[0]
        # A server that trickles must not hold the worker until Lambda kills it (then
        # nothing would be saved or said): the session is cut a minute after the budget.
        session.stop_after(self._config.time_budget_s + self._config.cutoff_grace_s)
        try:
            entries = session.entries() if opened is None else list(opened[1])
            digest = server_digest(entries)
            if digest and digest == account.state.server_digest:
                tally.digest = digest  # nothing new since the last successful run
            else:
                deleted = self._transfer(owner, account, session, entries, tally)
                if not tally.more:
                    tally.digest = server_digest(e for e in entries if e.number not in deleted)
            session.quit()
        except BaseException:
            session.close()  # no QUIT: nothing marked deleted is removed
            raise

    def _transfer(
        self,
        owner: Owner,
        account: PopAccount,
        session: PopMailbox,
        entries: Sequence[PopEntry],
        tally: Tally,
    ) -> set[int]:
        seen = self._receipts.imported(owner, account.account_id)
        wanted: list[PopEntry] = []
        to_delete: list[int] = []
        for entry in entries:
            outcome = seen.uidls.get(entry.uidl) if entry.uidl is not None else None
            if outcome == ReceiptOutcome.STORED:
                if not account.keep_original:
                    to_delete.append(entry.number)  # stored by a run that died before QUIT
            elif outcome:
                continue  # oversize or rejected: reported once, left on the server
            elif entry.size >= self._config.max_bytes:
                tally.skipped_oversize += 1
                tally.receipts.append(Receipt(entry.uidl, ReceiptOutcome.OVERSIZE))
            else:
                wanted.append(entry)
        job = StoreJob(
            owner,
            account,
            seen.contents,
            self._importer.rules(owner) if account.apply_rules and wanted else None,
        )
        for receipt, number in self._pipeline.store_all(session, job, wanted, tally):
            tally.receipts.append(receipt)
            if receipt.outcome is ReceiptOutcome.STORED and not account.keep_original:
                to_delete.append(number)
            if len(tally.receipts) >= RECEIPT_BATCH:
                self._flush(owner, account, tally)
        self._flush(owner, account, tally)
        self._prune(owner, account, seen.uidls, entries, whole=not tally.more)
        if to_delete:
            # Only now: every message in the list is in S3 and in the index.
            session.delete(to_delete)
            tally.deleted = len(to_delete)
        return set(to_delete)

    def _prune(
        self,
        owner: Owner,
        account: PopAccount,
        known: Mapping[str, str],
        entries: Sequence[PopEntry],
        *,
        whole: bool,
    ) -> None:
        """Forget the receipts of messages the server no longer lists.

        Without this, an account that deletes after import reads every receipt it ever wrote
        on each run with new mail (docs/capacity.md). Only after a whole run, whose receipts
        are saved, so a renumbering server's old UIDLs have passed their fingerprints on; and
        never on an empty listing, which a glitching server can send for a full mailbox.
        A message forgotten that comes back keeps its message id (account + UIDL), so it
        is found already stored, not stored twice (unless the user deleted it meanwhile).
        """
        listed = {e.uidl for e in entries if e.uidl is not None}
        gone = sorted(u for u in known if u not in listed)
        if not whole or not listed or not gone:
            return
        try:
            self._receipts.drop_receipts(owner, account.account_id, gone)
        except MailportError:
            # Housekeeping: the import succeeded; the next run with new mail tries again.
            log.warning(
                "could not forget old receipts",
                extra={"account_id": account.account_id, "receipts": len(gone)},
            )

    def _flush(self, owner: Owner, account: PopAccount, tally: Tally) -> None:
        if tally.receipts:
            self._receipts.record(owner, account.account_id, tally.receipts)
            tally.receipts.clear()
