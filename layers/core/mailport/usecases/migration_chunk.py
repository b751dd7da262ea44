"""One CopyChunk step's work (``migration_copy`` runs it): batches of messages from the
current folder onward, fetched over IMAP while the previous batch is stored, each batch
checkpointed once all its stores are done.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from mailport.domain.mailbox import Flags, InsertOutcome, Owner, Source, SourceType, message_id_for
from mailport.domain.migration import (
    Counts,
    FolderPlan,
    ItemReason,
    JobState,
    MigrationJob,
    PauseCause,
    ReportItem,
    advance,
    pace_for,
    pace_wait,
    restart_folder,
)
from mailport.domain.mime import fingerprint
from mailport.domain.remote import ImapFolder, ImapMessage, RemoteFolderGone
from mailport.errors import ValidationFailed
from mailport.ports import ImapMailbox
from mailport.usecases.importing import ImportRequest, ImportResult, Staged
from mailport.usecases.migration_context import StepContext
from mailport.usecases.migration_report import report_item

log = logging.getLogger(__name__)

SIZE_WINDOW = 2000  # UIDs asked for sizes at once inside a chunk
# UIDs searched at once (UID SEARCH): the answer is one line, and imaplib refuses lines over
# 1,000,000 bytes; a UID takes at most 11 (10 digits, 2^32 - 1, and a space), so 80,000 UIDs
# stay under 900 KB. A folder with UIDs 1 and 10,000,000 takes 125 searches, not 5,000 size
# windows.
SEARCH_SPAN = 80_000


# A message's bytes stored (its index entry written with its batch's), or the counts and
# report line of one that could not be.
_Stored = Staged | tuple[Counts, ReportItem]


@dataclass
class _Batch:
    """A fetched batch whose stores are under way (checkpointed when they are all done)."""

    index: int
    last_uid: int
    counts: Counts  # what needed no store: oversize, already there, seen under a label
    messages: list[ImapMessage] = field(default_factory=list)  # fetched, to store
    known: list[str] = field(default_factory=list)  # contents found already there (dedup)
    stores: list[tuple[ImapMessage, Future[_Stored]]] = field(default_factory=list)
    report: list[ReportItem] = field(default_factory=list)  # not imported, and why
    dedup: bool = False
    ids: dict[int, str] = field(default_factory=dict)  # message ids by UID, made once
    prints: dict[int, str] = field(default_factory=dict)  # by UID, when deduplicated
    download: int = 0  # bytes fetched (for the pace before the checkpoint says so)


class Chunk:
    """One CopyChunk step: batches of messages from the current folder onward.

    Pipelined like the POP3 fetcher: while a batch is being stored (a pool of
    ``store_concurrency``), the next one is fetched over IMAP and queued behind it, so the
    pool never drains between batches (at most two batches in memory). A batch is
    checkpointed once all its stores are done, in order, so a checkpoint never claims what is
    not stored.
    """

    def __init__(
        self, ctx: StepContext, owner: Owner, job: MigrationJob, session: ImapMailbox
    ) -> None:
        self.ctx = ctx
        self.cfg = ctx.config
        self.owner = owner
        self.job = job
        self.session = session
        self.started = ctx.monotonic()
        self.deadline = self.started + self.cfg.chunk_seconds
        self.messages = 0
        self.bytes = 0
        self.examined: int | None = None
        self.batch_messages = min(self.cfg.batch_messages, self.cfg.chunk_messages)
        self.upto: dict[int, int] = {}  # per folder: the last UID fetched (≥ its checkpoint)
        # Per folder: the UIDs UID SEARCH found (ascending) and the last UID searched; the
        # sizes of the last window asked for (a batch takes 100 of its 2,000: the next
        # batches take theirs from it, not from a new FETCH of the rest).
        self.present: dict[int, tuple[list[int], int]] = {}
        self.sized: dict[int, dict[int, int]] = {}
        self.window = job.window
        self.pending: deque[_Batch] = deque()  # oldest first
        self.prints: set[str] = set()  # contents on their way in (Gmail-style dedup)
        self.last_flush = self.started
        self.pool: ThreadPoolExecutor | None = None

    def _room(self) -> bool:
        return (
            self.messages < self.cfg.chunk_messages
            and self.bytes < self.cfg.chunk_bytes
            and self.ctx.monotonic() < self.deadline
        )

    def run(self) -> tuple[MigrationJob, int]:
        """Copy until the chunk is full or the job is done; the job and any pace wait."""
        wait = 0
        with ThreadPoolExecutor(self.cfg.store_concurrency) as pool:
            self.pool = pool
            try:
                while not wait and self._room():
                    index = self.job.next_folder()
                    if index is None:
                        break
                    wait = self._batch(index)
            finally:
                self._flush()  # on an error too: what was stored is checkpointed
        return self.job, wait

    def _examine(self, index: int) -> FolderPlan:
        folder = self.job.plan[index]
        if self.examined == index:
            return folder
        source = ImapFolder(folder.name, folder.raw_name, None, frozenset())
        try:
            now = self.session.examine(source)
        except RemoteFolderGone:
            return self._gone(index, folder)
        self.examined = index
        if now.uidvalidity != folder.uidvalidity:
            log.warning(
                "UIDVALIDITY changed: copying the folder again", extra={"job_id": self.job.job_id}
            )
            self._flush()
            folder = restart_folder(self.job.plan[index], now.uidvalidity, now.uidnext)
            self.upto.pop(index, None)
            self.present.pop(index, None)
            self.sized.pop(index, None)
            self._set(index, folder)
        return folder

    def _gone(self, index: int, folder: FolderPlan) -> FolderPlan:
        """The folder was deleted on the server: what it had left to copy is listed in one
        line (its UIDs were never listed) and counted as failed; the rest of the job goes on.
        """
        log.warning("a source folder is gone", extra={"job_id": self.job.job_id})
        self._flush()
        current = self.job.plan[index]
        left = max(0, current.messages - current.counts.handled)
        lines = []
        if left:
            lines = [
                replace(report_item(index, current, 0, ItemReason.FOLDER_GONE, 0), messages=left)
            ]
        # One line stands for all that was left: lines an earlier attempt wrote past the
        # checkpoint are dropped (that count holds them).
        self.ctx.reports.record(
            self.owner, self.job.job_id, index, (current.done_uid + 1, 2**32 - 1), lines
        )
        self._set(index, advance(current, current.uidnext - 1, Counts(failed=left), True))
        return self.job.plan[index]

    def _set(self, index: int, folder: FolderPlan, **changes: Any) -> None:
        plan = list(self.job.plan)
        plan[index] = folder
        after = replace(self.job, plan=tuple(plan), **changes)
        self.job = self.ctx.save(self.job, after)

    def _next_uids(self, index: int, folder: FolderPlan) -> dict[int, int]:
        """Sizes of the next UIDs after those fetched, inside the snapshot."""
        last = folder.uidnext - 1
        start = max(folder.done_uid, self.upto.get(index, 0)) + 1
        if folder.origin_index is not None and self.job.origin_id:
            return self._retry_uids(folder.origin_index, folder, start)
        left = {uid: size for uid, size in self.sized.get(index, {}).items() if uid >= start}
        if left:  # a UID's size never changes; one expunged since is found missing at FETCH
            return left
        while start <= last:
            window = self._present(index, start, last)[:SIZE_WINDOW]
            if not window:
                return {}
            sizes = self.session.sizes(window[0], window[-1])
            if sizes:
                self.sized[index] = dict(sorted(sizes.items()))
                return self.sized[index]
            start = window[-1] + 1  # all expunged since they were searched
        return {}

    def _retry_uids(self, origin_index: int, folder: FolderPlan, start: int) -> dict[int, int]:
        """A retry's next UIDs and sizes: those the earlier job's report lists as worth
        trying again, under the numbering it had (no server call: a UID's size never changes;
        one gone since is found missing at the fetch, and reported again).
        """
        assert self.job.origin_id is not None
        while True:
            items = self.ctx.reports.retryable(
                self.owner, self.job.origin_id, origin_index, start, SIZE_WINDOW
            )
            found = {i.uid: i.size for i in items if i.uidvalidity == folder.uidvalidity}
            if found or not items:
                return found
            start = items[-1].uid + 1  # lines of an older numbering only: read on

    def _present(self, index: int, start: int, last: int) -> list[int]:
        """The UIDs on the server from ``start`` to ``last``, as far as searched: UID SEARCH a
        span at a time, until one finds some (kept for the chunk).
        """
        found, searched = self.present.get(index, ([], 0))
        found = found[bisect.bisect_left(found, start) :]
        while not found and searched < last:
            low = max(start, searched + 1)
            searched = min(last, low + SEARCH_SPAN - 1)
            found = self.session.uids(low, searched)
        self.present[index] = (found, searched)
        return found

    def _batch(self, index: int) -> int:
        """Fetch one batch from folder ``index`` and start storing it; a pace wait (s) or 0."""
        folder = self._examine(index)
        if folder.done:  # gone from the server
            return 0
        sizes = self._next_uids(index, folder)
        if not sizes:
            self._flush()
            current = self.job.plan[index]
            self._set(index, advance(current, current.uidnext - 1, Counts(), True))
            return 0
        pace = pace_for(self.job.server.host, self.job.daily_bytes)
        in_flight = sum(b.download for b in self.pending)
        ahead = replace(self.window, used=self.window.used + in_flight)
        # Anything left of today's allowance? (Asked for one byte: a fresh day always says yes.)
        wait, window = pace_wait(pace, ahead, self.ctx.clock().timestamp(), 1)
        if wait:
            self._flush()
            until = self.ctx.clock() + dt.timedelta(seconds=wait)
            self._set(
                index,
                self.job.plan[index],
                state=JobState.PAUSED,
                paused_until=until,
                paused_by=PauseCause.PACING,
                window=self.window,
            )
            return int(wait)
        if window.start != ahead.start:
            self.window = replace(window, used=0)  # a new day: the pending batch counts there
            window = replace(window, used=in_flight)
        budget = self.cfg.batch_bytes
        if pace.daily_bytes is not None:
            budget = max(1, min(budget, pace.daily_bytes - window.used))
        batch = self._take(sizes, budget)
        prepared = self._prepare(index, folder, batch)  # IMAP, while the stores run
        self._submit(folder, prepared)
        self._flush(keep=1)  # the pool always has the next batch while one is waited for
        self.upto[index] = batch[-1][0]
        self.messages += len(batch)
        return 0

    def _flush(self, keep: int = 0) -> None:
        """Checkpoint pending batches, oldest first, until ``keep`` are left."""
        while len(self.pending) > keep:
            try:
                self._checkpoint(self.pending.popleft())
            except BaseException:
                # No later checkpoint past one that failed (it would skip its UIDs): let
                # the stores under way finish, then the retried step finds them by id.
                for batch in self.pending:
                    for _, future in batch.stores:
                        future.exception()
                self.pending.clear()
                raise

    def _checkpoint(self, batch: _Batch) -> None:
        """Wait for a batch's stores, index them together and save its checkpoint."""
        counts = batch.counts
        stored: list[str] = list(batch.known)
        report = list(batch.report)
        staged: list[Staged] = []
        for _, future in batch.stores:
            got = future.result()
            if isinstance(got, Staged):
                staged.append(got)
            else:
                counts, report = counts + got[0], [*report, got[1]]
        # One group write for the batch's index entries (a few requests, not a few per store).
        for s, result in zip(staged, self.ctx.importer.index(staged), strict=True):
            if isinstance(result, Exception):
                raise result  # no checkpoint: the retried step stores the batch again
            counts = counts + self._counted(s, result)
            if batch.dedup:  # stored now, or found there by content
                stored.append(s.message.fingerprint)
        if stored:  # after storing: a crash in between may duplicate, never lose
            self.ctx.ledger.remember_contents(self.owner, self.job.job_id, stored)
        now = self.ctx.monotonic()
        current = self.job.plan[batch.index]
        # The batch's lines, before the checkpoint that counts them (the report lists only
        # what a checkpoint counts: ``counts_for``). The range is rewritten whole: a step
        # redone after a crash here drops lines of its first attempt it did not make again
        # (a message found missing then, fetched now). A keys-only Query per batch.
        self.ctx.reports.record(
            self.owner, self.job.job_id, batch.index, (current.done_uid + 1, batch.last_uid), report
        )
        # The provider's cap counts what was downloaded, even mail then found already there.
        self.window = replace(self.window, used=self.window.used + batch.download)
        self.bytes += counts.bytes
        advanced = advance(current, batch.last_uid, counts, batch.last_uid >= current.uidnext - 1)
        retryable = sum(1 for line in report if line.retryable)
        self._set(
            batch.index,
            replace(advanced, retryable=advanced.retryable + retryable),
            window=self.window,
            busy_s=self.job.busy_s + (now - self.last_flush),
        )
        self.last_flush = now

    def _take(self, sizes: dict[int, int], budget: int) -> list[tuple[int, int]]:
        """The next batch: at most ``batch_messages`` and ``budget`` bytes to download (the
        first message always, or a message bigger than a day's cap would never go).
        """
        batch: list[tuple[int, int]] = []
        total = 0
        for uid, size in sizes.items():
            counted = size if size < self.cfg.max_bytes else 0  # oversize: not downloaded
            if batch and (len(batch) >= self.batch_messages or total + counted > budget):
                break
            batch.append((uid, size))
            total += counted
        return batch

    def _message_id(self, folder: FolderPlan, uid: int) -> str:
        return message_id_for(
            "imap", self.job.server.key, folder.name, str(folder.uidvalidity), str(uid)
        )

    def _prepare(self, index: int, folder: FolderPlan, batch: list[tuple[int, int]]) -> _Batch:
        """Fetch a batch; what is already in the mailbox is not downloaded again."""
        sizes = dict(batch)
        oversize = [uid for uid, size in batch if size >= self.cfg.max_bytes]
        wanted = {
            uid: self._message_id(folder, uid) for uid, size in batch if size < self.cfg.max_bytes
        }
        present = self.ctx.mailbox.existing_messages(self.owner, list(wanted.values()))
        counts = Counts(skipped_oversize=len(oversize))
        report: list[ReportItem] = []
        if oversize:  # not downloaded: its header lines say what it is
            heads = self.session.headers(oversize)
            report = [
                report_item(
                    index,
                    folder,
                    uid,
                    ItemReason.TOO_LARGE,
                    sizes[uid],
                    header=heads.get(uid, b""),
                    limit=self.cfg.max_bytes,
                )
                for uid in oversize
            ]
        for uid, mid in wanted.items():
            if mid in present:  # a retried chunk's own work, or an earlier migration's
                mine = present[mid].job_id == self.job.job_id
                counts = counts + (
                    Counts(imported=1, bytes=sizes[uid]) if mine else Counts(already_present=1)
                )
        prepared = _Batch(
            index, batch[-1][0], counts, dedup=folder.dedup_across, report=report, ids=wanted
        )
        if folder.dedup_across:
            # Already in the mailbox (an earlier run): its copies under other labels and in
            # All Mail are "already there" too.
            prepared.known = [present[mid].fingerprint for mid in wanted.values() if mid in present]
            self.prints.update(prepared.known)
        to_fetch = [uid for uid, mid in wanted.items() if mid not in present]
        if not to_fetch:
            return prepared
        # The sizes the window asked for plan the FETCHes: the session does not ask again.
        messages = list(self.session.fetch({uid: sizes[uid] for uid in to_fetch}))
        prepared.download = sum(len(m.raw) for m in messages)
        got = {m.uid for m in messages}
        missing = [uid for uid in to_fetch if uid not in got]
        if missing:
            self._missing(index, folder, missing, sizes, prepared)
        if folder.dedup_across:
            messages = self._drop_seen(messages, prepared)
        prepared.messages = messages
        return prepared

    def _missing(
        self,
        index: int,
        folder: FolderPlan,
        missing: list[int],
        sizes: dict[int, int],
        prepared: _Batch,
    ) -> None:
        """Listed, but not handed over: expunged meanwhile, or kept back by the server."""
        still = set(self.session.uids(min(missing), max(missing)))
        log.info("messages not fetched", extra={"job_id": self.job.job_id, "n": len(missing)})
        prepared.counts = prepared.counts + Counts(failed=len(missing))
        prepared.report += [
            report_item(
                index,
                folder,
                uid,
                ItemReason.REFUSED if uid in still else ItemReason.VANISHED,
                sizes[uid],
            )
            for uid in missing
        ]

    def _submit(self, folder: FolderPlan, batch: _Batch) -> None:
        """Start storing a fetched batch; it is pending until ``_flush``."""
        assert self.pool is not None
        target = folder.target_id
        assert target is not None
        batch.stores = [
            (m, self.pool.submit(self._store, batch, folder, target, m)) for m in batch.messages
        ]
        batch.messages = []
        self.pending.append(batch)

    def _drop_seen(self, messages: list[ImapMessage], batch: _Batch) -> list[ImapMessage]:
        """Gmail-style sources: the same mail under another label was copied already.
        The fingerprints of those kept go with the batch (its stores need not hash again).
        """
        prints = [fingerprint(m.raw) for m in messages]
        seen = self.ctx.ledger.seen_contents(self.owner, self.job.job_id, prints)
        seen |= self.prints  # on their way in, not yet remembered
        keep: list[ImapMessage] = []
        for m, fp in zip(messages, prints, strict=True):
            if fp in seen:
                batch.counts = batch.counts + Counts(already_present=1)
            else:
                seen.add(fp)  # twice in one batch: once
                self.prints.add(fp)
                batch.prints[m.uid] = fp
                keep.append(m)
        return keep

    def _store(self, batch: _Batch, folder: FolderPlan, target: str, m: ImapMessage) -> _Stored:
        """Parse and write one message's bytes (in the pool); its batch indexes it. Its id
        (and fingerprint, when deduplicated) were made for the batch already.
        """
        flags = Flags(
            seen="\\Seen" in m.flags,
            flagged="\\Flagged" in m.flags,
            answered="\\Answered" in m.flags,
        )
        try:
            return self.ctx.importer.stage(
                ImportRequest(
                    owner=self.owner,
                    raw=m.raw,
                    folder_id=target,
                    source=Source(SourceType.IMAP, self.job.job_id),
                    message_id=batch.ids[m.uid],
                    job_id=self.job.job_id,
                    flags=flags,
                    received_at=m.internal_date,
                    fingerprint=batch.prints.get(m.uid, ""),  # "": the importer hashes it
                )
            )
        except ValidationFailed:
            log.info("a message could not be imported", extra={"job_id": self.job.job_id})
            line = report_item(
                batch.index, folder, m.uid, ItemReason.UNREADABLE, len(m.raw), header=m.raw
            )
            return Counts(failed=1), line

    def _counted(self, staged: Staged, result: ImportResult) -> Counts:
        size = len(staged.request.raw)
        mine = result.job_id == self.job.job_id
        if result.outcome is InsertOutcome.STORED or mine:
            return Counts(imported=1, bytes=size)
        return Counts(already_present=1, bytes=size)
