"""Fetch runs: what starts one (``FetchRequest``), what it did (``FetchRun``) and the account's
automatic-fetch bookkeeping with its failure policy (``FetchState``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from mailport.catalogue import Words, say
from mailport.domain.remote import PopEntry
from mailport.errors import ValidationFailed

WARN_AFTER_FAILURES = 3  # automatic runs failed in a row → the user is warned
DISABLE_AFTER_FAILURES = 10  # automatic runs failed in a row → automatic fetching off


class RunTrigger(StrEnum):
    """What started a run."""

    MANUAL = "manual"  # "fetch now"
    SCHEDULE = "schedule"  # the 10-minute schedule
    CONTINUATION = "continuation"  # a run that ran out of time hands over to a next one
    FORGET = "forget"  # not a run: clear a deleted account's runs and receipts


class RunStatus(StrEnum):
    """Where a run is."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class RunCounts:
    """What a run did with the server's messages."""

    fetched: int = 0  # newly stored
    already_present: int = 0  # stored before (a retried run, a renumbered UIDL, same content)
    skipped_oversize: int = 0  # 50 MB or more, left on the server
    rejected: int = 0  # not a message we can store, left on the server
    deleted: int = 0  # removed from the server after storing (keep_original off)


@dataclass(frozen=True, slots=True)
class FetchRun:
    """One fetch of one account."""

    run_id: str
    account_id: str
    trigger: RunTrigger
    status: RunStatus
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    counts: RunCounts = field(default_factory=RunCounts)
    error_code: str = ""
    error: str = ""  # English, for logs and older readers; ``error_words`` to show it
    error_words: Words | None = None
    more: bool = False  # ran out of time; a continuation run takes the rest
    auto_disabled: bool = False  # this run's failure switched automatic fetching off


@dataclass(frozen=True, slots=True)
class FetchState:
    """The account's automatic-fetch bookkeeping."""

    failures: int = 0  # automatic runs failed in a row
    running_run_id: str = ""
    running_trigger: str = ""
    running_since: dt.datetime | None = None
    lease_until: dt.datetime | None = None
    last_tick: str = ""
    last_run_id: str = ""
    last_status: str = ""
    last_error_code: str = ""
    last_error: str = ""
    last_error_words: Words | None = None
    last_checked_at: dt.datetime | None = None
    last_success_at: dt.datetime | None = None
    disabled_reason: str = ""
    disabled_words: Words | None = None
    server_digest: str = ""  # the server's listing after the last successful run
    # Why automatic fetching waits instead of being switched off ("signin": the account's
    # sign-in stopped working). Signing in again resumes it; it is not a failure count.
    paused_for: str = ""

    def running(self, now: dt.datetime) -> bool:
        """A run holds the lease."""
        return bool(self.running_run_id) and self.lease_until is not None and self.lease_until > now


def server_digest(entries: Iterable[PopEntry]) -> str:
    """A digest of the server's listing, or "" if it cannot identify messages (no UIDL).

    When the listing after a successful run equals the listing now, nothing is new: the run
    can end without reading which UIDLs were imported.
    """
    h = hashlib.sha256()
    for entry in sorted(entries, key=lambda e: e.uidl or ""):
        if entry.uidl is None:
            return ""
        h.update(f"{entry.uidl}\x1f{entry.size}\x1e".encode())
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class FetchRequest:
    """One unit of work on the fetch queue."""

    tenant_id: str
    user_id: str
    account_id: str
    trigger: RunTrigger
    run_id: str = ""  # manual runs: recorded by the API already
    tick: str = ""  # schedule: the tick (a duplicate delivery of the same tick is dropped)
    delay_s: int = 0

    def to_json(self) -> dict[str, object]:
        """The queue message body."""
        return {
            "tenant_id": self.tenant_id,
            "user_id": self.user_id,
            "account_id": self.account_id,
            "trigger": self.trigger.value,
            "run_id": self.run_id,
            "tick": self.tick,
        }

    @classmethod
    def from_json(cls, data: object) -> FetchRequest:
        """Parse a queue message body (``ValidationFailed`` if it is not one)."""
        if not isinstance(data, dict):
            raise ValidationFailed(say("runs.request_not_object"))
        try:
            return cls(
                tenant_id=str(data["tenant_id"]),
                user_id=str(data["user_id"]),
                account_id=str(data["account_id"]),
                trigger=RunTrigger(data["trigger"]),
                run_id=str(data.get("run_id") or ""),
                tick=str(data.get("tick") or ""),
            )
        except (KeyError, ValueError) as e:
            raise ValidationFailed(say("runs.request_invalid", detail=str(e))) from e


# Accounts one queue message carries at most. Many per message make one SQS send, receive
# and delete serve them all, and one invocation hold hundreds of POP sessions (its batch of
# messages times this); the body stays small (~200 bytes an account, SQS allows 256 KB).
MAX_PER_MESSAGE = 100


def fetch_message(requests: Sequence[FetchRequest]) -> dict[str, object]:
    """The queue message body of ``requests`` (1 to ``MAX_PER_MESSAGE``)."""
    if not 1 <= len(requests) <= MAX_PER_MESSAGE:
        raise ValueError(f"a fetch message carries 1 to {MAX_PER_MESSAGE} requests")
    return {"requests": [r.to_json() for r in requests]}


def fetch_requests(data: object) -> list[FetchRequest]:
    """The requests a queue message body carries: ``{"requests": [...]}``, or one request
    alone (as queued before messages carried many: still read while they drain).
    """
    if isinstance(data, dict) and "requests" in data:
        found = data["requests"]
        if not isinstance(found, list) or not 1 <= len(found) <= MAX_PER_MESSAGE:
            raise ValidationFailed(say("runs.message_size", max=MAX_PER_MESSAGE))
        return [FetchRequest.from_json(item) for item in found]
    return [FetchRequest.from_json(data)]


def new_run_id(now: dt.datetime, entropy: str) -> str:
    """Run ids sort by start time (the run history is listed newest first by id)."""
    return now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + entropy[:8]
