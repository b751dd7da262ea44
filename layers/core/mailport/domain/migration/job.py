"""The migration job as stored: its states, its error, its totals and its progress."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from mailport.catalogue import Words
from mailport.domain.migration.pacing import DAY_S, Window
from mailport.domain.migration.plan import Counts, FolderPlan
from mailport.domain.migration.report import JobKind
from mailport.domain.migration.source import SourceServer
from mailport.errors import Conflict

MILESTONES = (25, 50, 75)  # percent of planned messages: a progress notice at each


class PauseCause(StrEnum):
    """Why a paused job waits: its own pace, or the provider asking it to slow down."""

    PACING = "pacing"  # the provider's documented limits (e.g. Gmail's daily download)
    PROVIDER = "provider"  # the provider's answer: throttled, too many connections, …


class JobState(StrEnum):
    """Where a job is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"  # waiting under its provider's pace (e.g. Gmail's daily download cap)
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"
    COMPLETED = "completed"
    FAILED = "failed"  # the rollback itself could not finish: reported, never hidden
    REVERTING = "reverting"
    REVERTED = "reverted"
    # The sign-in (Microsoft 365, Google) stopped working: no slot held, nothing rolled
    # back; the job is queued again (in its old place) when the user signs in again.
    NEEDS_SIGNIN = "needs_signin"


ACTIVE = frozenset({JobState.RUNNING, JobState.PAUSED})
# States that hold one of the limited run slots (released in the same write that leaves them).
HOLDS_SLOT = frozenset({JobState.RUNNING, JobState.PAUSED, JobState.ROLLING_BACK})
TERMINAL = frozenset({JobState.ROLLED_BACK, JobState.COMPLETED, JobState.FAILED, JobState.REVERTED})
UNDONE = frozenset({JobState.ROLLED_BACK, JobState.REVERTED, JobState.FAILED})


class JobNotCancellable(Conflict):
    """Only a queued, running or paused job can be cancelled."""

    code = "not_cancellable"


class JobNotRevertible(Conflict):
    """Only a completed job can be reverted."""

    code = "not_revertible"


@dataclass(frozen=True, slots=True)
class JobError:
    """Why a job failed (shown to the user; never a secret)."""

    code: str
    message: str  # English, for logs and older readers
    words: Words | None = None  # what to show, in the reader's language

    @classmethod
    def said(cls, code: str, words: Words) -> JobError:
        """An error with its words (the English kept beside them)."""
        return cls(code, str(words), words)


@dataclass(frozen=True, slots=True)
class PlanTotals:
    """What the plan adds up to, kept with the job so a list of jobs (an organisation's, a
    page of 200) needs no folder of theirs: read when the plan itself is not loaded.
    """

    counts: Counts = field(default_factory=Counts)
    messages: int = 0
    bytes: int = 0
    next_folder: int | None = None
    created: int = 0  # folders the job made (after a rollback: those it kept)
    retryable: int = 0  # report lines a retry would fetch
    folders: int = 0  # the plan's folders (items past them are a redone Plan step's leftovers)


@dataclass(frozen=True, slots=True)
class MigrationJob:
    """One migration, as stored."""

    job_id: str
    tenant_id: str
    user_id: str
    server: SourceServer
    state: JobState
    created_at: dt.datetime
    kind: JobKind = JobKind.FULL
    origin_id: str | None = None  # a retry or delta pass: the job it follows
    sealed_secret: bytes | None = field(default=None, repr=False)  # gone once the job ends
    plan: tuple[FolderPlan, ...] = ()
    # False: read without its folders (``totals`` say what they add up to); such a job is
    # shown, never saved.
    plan_loaded: bool = True
    totals: PlanTotals = field(default_factory=PlanTotals)
    planned: bool = False
    created_folders: tuple[str, ...] = ()  # folder ids the job made, parents first
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    paused_until: dt.datetime | None = None
    paused_by: PauseCause | None = None  # set with paused_until
    # Seconds the provider has held the job back since it last made progress: a "slow down"
    # that never ends (a limit that isn't one) fails the job in the end, not pause it forever.
    provider_waited_s: float = 0.0
    busy_s: float = 0.0  # time spent copying (not waiting), for the rate
    window: Window = field(default_factory=Window)
    daily_bytes: int | None = None  # the pace's cap, fixed at plan time
    pace_name: str = "generic"
    cancel_requested: bool = False
    error: JobError | None = None
    rollback_incomplete: bool = False
    removed: int = 0  # messages a rollback or revert took out of the mailbox again
    milestones: tuple[int, ...] = ()
    chunks: int = 0  # CopyChunk steps done (all executions)
    executions: int = 1
    resumes: int = 0  # times it was queued again after a new sign-in
    # Holds one of the limited run slots (taken when the scheduler starts it, given back in
    # the write that ends or parks it): recorded, not inferred from the state, so a path
    # through a state that holds none can never give one back twice.
    slot: bool = False
    version: int = 0  # optimistic lock: every save is conditional on it

    @property
    def counts(self) -> Counts:
        """Totals over the folders."""
        if not self.plan_loaded:
            return self.totals.counts
        total = Counts()
        for folder in self.plan:
            total = total + folder.counts
        return total

    @property
    def total_messages(self) -> int:
        """Messages the plan will deal with."""
        if not self.plan_loaded:
            return self.totals.messages
        return sum(f.messages for f in self.plan if f.target_id)

    @property
    def total_bytes(self) -> int:
        """Bytes the plan will read (oversize mail is left on the server)."""
        if not self.plan_loaded:
            return self.totals.bytes
        return sum(f.bytes for f in self.plan if f.target_id)

    def plan_totals(self) -> PlanTotals:
        """What the loaded plan adds up to (saved with the job)."""
        if not self.plan_loaded:
            return self.totals
        return PlanTotals(
            self.counts,
            self.total_messages,
            self.total_bytes,
            self.next_folder(),
            len(self.created_folders),
            self.retryable,
            len(self.plan),
        )

    @property
    def kept_folders(self) -> int:
        """Folders an undone job made and kept (the user put mail into them since)."""
        if self.state not in UNDONE:
            return 0
        return len(self.created_folders) if self.plan_loaded else self.totals.created

    @property
    def retryable(self) -> int:
        """Report lines a retry would fetch again."""
        if not self.plan_loaded:
            return self.totals.retryable
        return sum(f.retryable for f in self.plan)

    def percent(self) -> int:
        """Progress in whole percent of planned messages."""
        total = self.total_messages
        if not self.planned:
            return 0
        return 100 if total == 0 else min(100, self.counts.handled * 100 // total)

    def next_folder(self) -> int | None:
        """Index of the first folder still to copy."""
        if not self.plan_loaded:
            return self.totals.next_folder
        for i, folder in enumerate(self.plan):
            if folder.target_id and not folder.done:
                return i
        return None

    def eta_seconds(self, now: dt.datetime) -> int | None:
        """Seconds until done at the rate so far, plus any pace waits; None before a rate."""
        if self.state not in ACTIVE or not self.planned:
            return None
        done = self.counts.bytes
        remaining = max(0, self.total_bytes - done)
        if remaining == 0:
            return 0
        if done <= 0 or self.busy_s <= 0:
            return None
        seconds = remaining / (done / self.busy_s)
        if self.daily_bytes:
            # Each further day's cap means one more wait of (up to) a day.
            left_today = max(0, self.daily_bytes - self.window.used)
            over = max(0, remaining - left_today)
            seconds += -(-over // self.daily_bytes) * DAY_S
        if self.paused_until is not None:
            seconds += max(0.0, (self.paused_until - now).total_seconds())
        return int(seconds)


def new_job_id() -> str:
    """A job id that sorts by creation within a second and never repeats."""
    return "j" + uuid.uuid4().hex[:20]


def reached_milestones(before: int, after: int, sent: Sequence[int]) -> list[int]:
    """Milestones passed between two percentages and not yet announced."""
    return [m for m in MILESTONES if before < m <= after and m not in sent]
