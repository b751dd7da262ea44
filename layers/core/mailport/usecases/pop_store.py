"""Storing a POP run's messages while the next ones arrive: a few stores in flight in a
thread pool, bounded in count and, for all runs of the container together, in bytes (the
shared ``ByteBudget``).

A message whose content this account imported before (the server renumbered its UIDLs) is
not stored again; one that is not a message is rejected. Every stored one gets a message id
derived from (account, UIDL), so a retried run overwrites, never adds.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from mailport.domain.accounts import PopAccount, Receipt, ReceiptOutcome
from mailport.domain.mailbox import InsertOutcome, Owner, Source, SourceType, message_id_for
from mailport.domain.mime import NotAMessage, fingerprint
from mailport.domain.remote import PopEntry
from mailport.domain.rules import Rule
from mailport.ports import PopMailbox
from mailport.usecases.budget import ByteBudget
from mailport.usecases.importing import Importer, ImportRequest
from mailport.usecases.pop_outcome import Tally

__all__ = ["StoreJob", "StorePipeline"]


@dataclass(frozen=True, slots=True)
class StoreJob:
    """What every store of one run shares (read-only, so the pool's threads can share it)."""

    owner: Owner
    account: PopAccount
    contents: Mapping[str, str]  # fingerprint → message id, imported before by this account
    rules: tuple[Rule, ...] | None


class StorePipeline:
    """Retrieves a run's messages and stores them, counting each in the run's ``Tally``."""

    def __init__(
        self,
        importer: Importer,
        budget: ByteBudget,
        *,
        concurrency: int,
        time_budget_s: float,
        monotonic: Callable[[], float],
    ) -> None:
        self._importer = importer
        self._budget = budget
        self._concurrency = concurrency
        self._time_budget_s = time_budget_s
        self._monotonic = monotonic

    def store_all(
        self, session: PopMailbox, job: StoreJob, wanted: Sequence[PopEntry], tally: Tally
    ) -> Iterator[tuple[Receipt, int]]:
        """Store while the next messages arrive: a few stores in flight, bounded in count and
        bytes (S3 and DynamoDB answer in tens of ms each; one at a time would leave the
        connection idle most of the run). Yields each receipt with its message number.
        """
        by_number = {e.number: e for e in wanted}
        deadline = self._monotonic() + self._time_budget_s
        retrieved = self._retrieve(session, wanted, deadline, tally)
        first = next(retrieved, None)
        if first is None:
            return
        # The first one alone: it creates the system folders of a new mailbox, if needed.
        number, raw = first
        del first
        with self._budget.holding(len(raw)):
            receipt = self._store(job, by_number[number], raw)
        del raw  # stored: not kept for the rest of the run
        yield self._counted(receipt, tally), number
        inflight: dict[Future[Receipt], tuple[int, int]] = {}
        with ThreadPoolExecutor(self._concurrency) as pool:
            try:
                for number, raw in retrieved:
                    while len(inflight) >= 2 * self._concurrency:
                        yield from self._completed(inflight, tally)
                    inflight[self._submit(pool, job, by_number[number], raw)] = (number, len(raw))
                    del raw  # the store holds it now: not kept while the next one is read
            except GeneratorExit:
                wait(inflight)
                raise
            except BaseException:
                # The connection dropped (say): stores already under way finish, and are
                # counted and remembered, so the run's record says what really happened.
                while inflight:
                    yield from self._completed(inflight, tally)
                raise
            while inflight:
                yield from self._completed(inflight, tally)

    def _submit(
        self, pool: ThreadPoolExecutor, job: StoreJob, entry: PopEntry, raw: bytes
    ) -> Future[Receipt]:
        """Start a store once its bytes fit the container's budget; they are given back when
        it ends, however it ends (a callback, so a run waiting here is freed by any run's
        stores, its own included).
        """
        self._budget.take(len(raw))
        try:
            # The log keys (the account's) follow the store into the pool's thread.
            future = pool.submit(contextvars.copy_context().run, self._store, job, entry, raw)
        except BaseException:
            self._budget.give(len(raw))
            raise
        future.add_done_callback(functools.partial(self._give_back, len(raw)))
        return future

    def _give_back(self, size: int, _future: Future[Receipt]) -> None:
        self._budget.give(size)

    def _completed(
        self, inflight: dict[Future[Receipt], tuple[int, int]], tally: Tally
    ) -> Iterator[tuple[Receipt, int]]:
        done, _ = wait(inflight, return_when=FIRST_COMPLETED)
        failure: BaseException | None = None
        for future in done:
            number, _size = inflight.pop(future)
            error = future.exception()
            if error is None:
                yield self._counted(future.result(), tally), number
            else:
                failure = failure or error
        if failure is None:
            return
        # A failed store fails the run; but the stores that finished beside it are counted
        # and remembered first, so the run's record says what really happened (and the
        # next run does not count them again as already present).
        while inflight:
            finished, _ = wait(inflight)
            for future in finished:
                number, _size = inflight.pop(future)
                if future.exception() is None:
                    yield self._counted(future.result(), tally), number
        raise failure

    @staticmethod
    def _counted(receipt: Receipt, tally: Tally) -> Receipt:
        if receipt.outcome is ReceiptOutcome.REJECTED:
            tally.rejected += 1
        elif receipt.new:
            tally.fetched += 1
        else:
            tally.already_present += 1
        return receipt

    def _retrieve(
        self, session: PopMailbox, wanted: Sequence[PopEntry], deadline: float, tally: Tally
    ) -> Iterator[tuple[int, bytes]]:
        for number, raw in session.retrieve([e.number for e in wanted]):
            yield number, raw
            del raw  # handed on: not kept while the next one is read
            if self._monotonic() > deadline:
                tally.more = True  # the rest goes to a continuation run
                return

    def _store(self, job: StoreJob, entry: PopEntry, raw: bytes) -> Receipt:
        """Store one message (runs in the pool; touches no shared state)."""
        fp = fingerprint(raw)
        known = job.contents.get(fp)
        if known is not None:
            # The server renumbered its UIDLs (or has none): same content, imported already.
            return Receipt(entry.uidl, ReceiptOutcome.STORED, fp, known)
        identity = entry.uidl if entry.uidl is not None else f"content:{fp}"
        account = job.account
        request = ImportRequest(
            owner=job.owner,
            raw=raw,
            folder_id=account.folder_id,
            source=Source(SourceType.POP, account.account_id),
            message_id=message_id_for("pop", account.account_id, identity),
            apply_rules=account.apply_rules,
            icon=None if account.icon == "none" else account.icon,
            fingerprint=fp,
        )
        try:
            result = self._importer.store(request, job.rules)
        except NotAMessage:
            return Receipt(entry.uidl, ReceiptOutcome.REJECTED, fp)
        return Receipt(
            entry.uidl,
            ReceiptOutcome.STORED,
            fp,
            result.message_id,
            new=result.outcome is InsertOutcome.STORED,
        )
