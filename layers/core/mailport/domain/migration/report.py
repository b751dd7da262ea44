"""The per-item report of a job: every message it did not import, and why; and what a job
that follows another (a retry of what failed, a delta pass) takes from it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from mailport.domain.migration.plan import FolderPlan
from mailport.errors import Conflict, ValidationFailed

# How long a completed job offers a delta pass. The snapshot (UIDVALIDITY and UIDNEXT per
# folder) stays exact as long as the server keeps its numbering; what bounds it is the
# switch-over: a user moving providers changes their MX and tells their contacts within days
# to weeks (Microsoft 365 runs its incremental sync until the admin completes the batch,
# Google's delta runs until the migration is closed). After that, mail arriving at the old
# provider is the user's choice to keep there, and a new migration (which skips what is
# already there, by message id) is the path.
DELTA_DAYS = 30


class JobKind(StrEnum):
    """What a job copies."""

    FULL = "full"  # the whole mailbox, as at the job's snapshot
    RETRY = "retry"  # only what an earlier job's report lists as worth trying again
    DELTA = "delta"  # only what arrived since an earlier completed job's snapshot


class ItemReason(StrEnum):
    """Why a message was not imported (a stable code; the words come from the catalogue)."""

    TOO_LARGE = "too_large"  # at or over the size limit: left on the server, not downloaded
    UNREADABLE = "unreadable"  # the server's bytes are not a mail message mailport can read
    VANISHED = "vanished"  # deleted on the server between the listing and the fetch
    REFUSED = "refused"  # listed, but the server would not hand it over
    FOLDER_GONE = "folder_gone"  # the folder was deleted on the server during the job


RETRYABLE = frozenset({ItemReason.UNREADABLE, ItemReason.VANISHED, ItemReason.REFUSED})


@dataclass(frozen=True, slots=True)
class ReportItem:
    """One message a job did not import. ``folder_index``/``uidvalidity``/``uid`` say which
    one exactly (a retry fetches it by them); the rest is for the person reading it.
    """

    folder_index: int
    folder: str
    uidvalidity: int
    uid: int
    reason: ItemReason
    size: int = 0
    subject: str = ""
    sender: str = ""
    date: dt.datetime | None = None
    limit: int | None = None  # too_large: the limit it was over
    # How many messages the line stands for: 1, or a folder's not yet copied when it was
    # deleted on the server (their UIDs were never listed; ``uid`` is then 0).
    messages: int = 1

    @property
    def retryable(self) -> bool:
        """Whether a retry fetches it again (an oversized one would be skipped again)."""
        return self.reason in RETRYABLE


def counts_for(item: ReportItem, folder: FolderPlan) -> bool:
    """Whether an item belongs to the job's report as the folder's checkpoint stands: items
    are written before the checkpoint that counts them, so one past the checkpoint (a step
    that failed in between, and is redone) or under an old numbering (UIDVALIDITY changed,
    the folder copied afresh) is not counted, and not listed.
    """
    return item.uidvalidity == folder.uidvalidity and item.uid <= folder.done_uid


def delta_until(finished_at: dt.datetime | None) -> dt.datetime | None:
    """Until when a job that completed at ``finished_at`` offers a delta pass."""
    return None if finished_at is None else finished_at + dt.timedelta(days=DELTA_DAYS)


class NotRetryable(Conflict):
    """Only a completed migration with messages worth trying again can be retried."""

    code = "not_retryable"


class DeltaUnavailable(Conflict):
    """Only a migration completed within ``DELTA_DAYS`` offers a delta pass."""

    code = "delta_unavailable"


class FollowUpActive(Conflict):
    """A retry or delta pass of the job is queued or running: one at a time, and the job
    is not reverted under it.
    """

    code = "follow_up_active"


class PasswordRequired(ValidationFailed):
    """A job that follows another signs in again: the password is not kept once a job ends."""

    code = "password_required"


def can_retry(completed: bool, retryable: int) -> bool:
    """Whether a job offers "retry what failed": completed, with lines a retry fetches (not
    only mail too large or in folders deleted since).
    """
    return completed and retryable > 0


def can_delta(
    completed: bool, finished_at: dt.datetime | None, now: dt.datetime, kind: JobKind
) -> bool:
    """Whether a job offers "bring in what arrived since": completed, not too long ago, and
    with a snapshot of the whole mailbox (a retry's plan holds only the folders it retried:
    the delta is the job it retried's).
    """
    until = delta_until(finished_at)
    return completed and kind is not JobKind.RETRY and until is not None and now < until
