"""The plan and progress of a job: one ``FolderPlan`` per source folder (its snapshot, target
and checkpoint) and the ``Counts`` of what happened to its messages.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, replace

# Each folder's plan is an item of its own (the job item holds their totals), so the limit
# is what one step reads and surveys: 5,000 folders are ~1.5 MB of folder items, read once
# per step, and as many EXAMINEs in the Plan step.
MAX_FOLDERS = 5000


@dataclass(frozen=True, slots=True)
class Counts:
    """What happened to the messages of a folder or a job."""

    imported: int = 0
    already_present: int = 0
    skipped_oversize: int = 0
    failed: int = 0
    bytes: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.imported + other.imported,
            self.already_present + other.already_present,
            self.skipped_oversize + other.skipped_oversize,
            self.failed + other.failed,
            self.bytes + other.bytes,
        )

    @property
    def handled(self) -> int:
        """Messages dealt with, whatever the outcome."""
        return self.imported + self.already_present + self.skipped_oversize + self.failed

    def to_json(self) -> dict[str, int]:
        """The counts as the state machine's output carries them (``FinalizeJob``)."""
        return {
            "imported": self.imported,
            "already_present": self.already_present,
            "skipped_oversize": self.skipped_oversize,
            "failed": self.failed,
        }


@dataclass(frozen=True, slots=True)
class FolderPlan:
    """One source folder in the job: its snapshot (UIDVALIDITY, UIDNEXT at plan time), where
    it goes, and the checkpoint (every UID up to ``done_uid`` is dealt with).
    """

    name: str
    raw_name: bytes
    uidvalidity: int
    uidnext: int
    messages: int
    bytes: int
    oversize: int
    target_id: str | None  # None: skipped
    target_label: str
    skip_reason: str | None = None
    dedup_across: bool = False
    done_uid: int = 0
    done: bool = False
    counts: Counts = field(default_factory=Counts)
    restarts: int = 0  # times UIDVALIDITY changed under the job
    # A retry: the folder's index in the job it retries, whose report lists the UIDs to
    # fetch (None: every UID after the checkpoint, as a full or delta job copies).
    origin_index: int | None = None
    retryable: int = 0  # of the report's lines the checkpoint counts, those a retry fetches


def encode_raw(raw: bytes) -> str:
    """A raw IMAP mailbox name for JSON/DynamoDB (it may be any bytes)."""
    return base64.b64encode(raw).decode("ascii")


def decode_raw(text: str) -> bytes:
    """Inverse of ``encode_raw``."""
    return base64.b64decode(text.encode("ascii"))


def advance(folder: FolderPlan, done_uid: int, counts: Counts, finished: bool) -> FolderPlan:
    """A folder's checkpoint after a piece of work."""
    return replace(
        folder,
        done_uid=max(folder.done_uid, done_uid),
        counts=folder.counts + counts,
        done=finished,
    )


def restart_folder(folder: FolderPlan, uidvalidity: int, uidnext: int) -> FolderPlan:
    """UIDVALIDITY changed under the job (the server renumbered the folder): the old UIDs
    mean nothing now, so the folder is copied again from the start under the new numbering.
    Mail already copied is recognised by content (same folder, same fingerprint): it is not
    stored again, and counts once, as imported by this job.
    """
    return replace(
        folder,
        uidvalidity=uidvalidity,
        uidnext=uidnext,
        done_uid=0,
        done=False,
        counts=Counts(),  # counted afresh: what this job stored before counts as its own
        retryable=0,
        restarts=folder.restarts + 1,
        # A retry's UIDs are the old numbering's: the folder is copied whole instead (what is
        # there already is recognised by content, so nothing is duplicated).
        origin_index=None,
    )
