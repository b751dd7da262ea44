"""IMAP migration jobs: what the user asked for, the plan, progress, pacing and the rules that
map another provider's folders onto the user's mailbox. Pure: no I/O.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from mailport.domain.mailbox import SystemFolder
from mailport.domain.remote import ImapFolder
from mailport.domain.text import printable
from mailport.errors import Conflict, ValidationFailed

MAX_FOLDERS = 1000  # the plan lives in the job item (DynamoDB items are at most 400 KB)
MILESTONES = (25, 50, 75)  # percent of planned messages: a progress notice at each
MAX_PORT = 65535


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
    # The Microsoft 365 sign-in stopped working: no slot held, nothing rolled back; the job
    # is queued again (in its old place) when the user signs in again.
    NEEDS_SIGNIN = "needs_signin"


ACTIVE = frozenset({JobState.RUNNING, JobState.PAUSED})
# States that hold one of the limited run slots (released in the same write that leaves them).
HOLDS_SLOT = frozenset({JobState.RUNNING, JobState.PAUSED, JobState.ROLLING_BACK})
TERMINAL = frozenset({JobState.ROLLED_BACK, JobState.COMPLETED, JobState.FAILED, JobState.REVERTED})


class JobNotCancellable(Conflict):
    """Only a queued, running or paused job can be cancelled."""

    code = "not_cancellable"


class JobNotRevertible(Conflict):
    """Only a completed job can be reverted."""

    code = "not_revertible"


class UnsupportedConnection(ValidationFailed):
    """A connection type this deployment cannot use (yet)."""

    code = "unsupported_connection"


# -- the source ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImapTemplate:
    """An admin-defined IMAP server the tenant's users may pick."""

    template_id: str
    name: str
    host: str
    port: int
    ssl: bool = True

    def to_json(self) -> dict[str, object]:
        """JSON shape."""
        return {
            "id": self.template_id,
            "name": self.name,
            "host": self.host,
            "port": self.port,
            "ssl": self.ssl,
        }


@dataclass(frozen=True, slots=True)
class SourceServer:
    """The mailbox to copy from (never the password: that is sealed separately)."""

    kind: str  # manual | template | microsoft365
    host: str
    port: int
    ssl: bool
    username: str
    template_id: str | None = None
    connection_id: str | None = None  # microsoft365: the user's OAuth connection

    @property
    def key(self) -> str:
        """Identity of the source mailbox: the same account migrated again maps to the same
        message ids, so a re-run finds what is already there (case-insensitive host).
        """
        text = f"{self.host.lower()}\x1f{self.port}\x1f{self.username}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]

    def to_json(self) -> dict[str, object]:
        """JSON shape (no secret)."""
        return {
            "type": self.kind,
            "host": self.host,
            "port": self.port,
            "ssl": self.ssl,
            "username": self.username,
            "template_id": self.template_id,
            "connection_id": self.connection_id,
        }


def parse_template(body: object, template_id: str) -> ImapTemplate:
    """An admin's IMAP server template from a request body."""
    if not isinstance(body, Mapping):
        raise ValidationFailed("send a JSON object")
    name = _text(body, "name", 100)
    if printable(name) != name:
        # The name is shown to every user of the tenant beside its host and port: a direction
        # override would make "name (imap.example.com:993)" read as another server.
        raise ValidationFailed("name may not contain control characters or direction overrides")
    host = _text(body, "host", 253).lower()
    if not all(ch.isalnum() or ch in ".-:[]" for ch in host):
        raise ValidationFailed("host must be a host name or an IP address")
    ssl = body.get("ssl", True)
    if not isinstance(ssl, bool):
        raise ValidationFailed("ssl must be true or false")
    return ImapTemplate(template_id, name, host, _port(body.get("port"), 993 if ssl else 143), ssl)


def _text(body: Mapping[str, object], name: str, limit: int = 320) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(f"connection.{name} is required")
    if len(value) > limit or any(ch in value for ch in "\r\n\x00"):
        raise ValidationFailed(f"connection.{name} is not valid")
    return value.strip() if name != "password" else value


def _port(value: object, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PORT:
        raise ValidationFailed("connection.port must be a port number")
    return value


def parse_connection(
    body: object,
    template_of: Callable[[str], ImapTemplate | None],
    microsoft_of: Callable[[str], SourceServer | None] | None = None,
) -> tuple[SourceServer, str]:
    """The source server and password (none for Microsoft 365: it signs in with OAuth) from a
    request's ``connection`` object.
    """
    if not isinstance(body, Mapping):
        raise ValidationFailed("connection must be an object")
    kind = body.get("type")
    if kind == "microsoft365":
        if microsoft_of is None:
            raise UnsupportedConnection("Microsoft 365 sign-in is not set up on this service")
        connection_id = body.get("connection_id")
        server = microsoft_of(connection_id) if isinstance(connection_id, str) else None
        if server is None:
            raise ValidationFailed(
                "connection.connection_id must be one of your Microsoft 365 sign-ins"
            )
        return server, ""
    username, password = _text(body, "username"), _text(body, "password", 1024)
    if kind == "template":
        template = template_of(str(body.get("template_id", "")))
        if template is None:
            raise ValidationFailed("connection.template_id is not a server your admin set up")
        server = SourceServer(
            "template",
            template.host,
            template.port,
            template.ssl,
            username,
            template.template_id,
        )
        return server, password
    if kind != "manual":
        raise ValidationFailed("connection.type must be manual, template or microsoft365")
    ssl = body.get("ssl", True)
    if not isinstance(ssl, bool):
        raise ValidationFailed("connection.ssl must be true or false")
    # The port is vetted where connections are made (NetworkPolicy: mail ports only, so a
    # typed host and port can't turn the service into a port scanner).
    port = _port(body.get("port"), 993 if ssl else 143)
    return SourceServer("manual", _text(body, "host", 253).lower(), port, ssl, username), password


# -- pacing ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pace:
    """A provider's limits a job keeps under."""

    name: str
    daily_bytes: int | None = None  # download cap per rolling day
    max_connections: int = 10

    def to_json(self) -> dict[str, object]:
        """JSON shape."""
        return {
            "profile": self.name,
            "daily_bytes": self.daily_bytes,
            "max_connections": self.max_connections,
        }


MB = 1024 * 1024
DAY_S = 86_400
# Gmail documents ≈ 2,500 MB/day of IMAP download and 15 simultaneous connections per account.
GMAIL = Pace("gmail", daily_bytes=2500 * MB, max_connections=15)
# Microsoft 365 throttles with a backoff hint in its responses rather than a fixed budget.
MICROSOFT365 = Pace("microsoft365", max_connections=8)
GENERIC = Pace("generic")


def pace_for(host: str, daily_bytes_override: int | None = None) -> Pace:
    """The pacing profile of a server (by host name)."""
    h = host.lower().rstrip(".")
    if h in ("imap.gmail.com", "imap.googlemail.com"):
        pace = GMAIL
    elif h in ("outlook.office365.com", "imap-mail.outlook.com", "outlook.office.com"):
        pace = MICROSOFT365
    else:
        pace = GENERIC
    if daily_bytes_override is not None:
        pace = replace(pace, daily_bytes=daily_bytes_override)
    return pace


@dataclass(frozen=True, slots=True)
class Window:
    """Bytes downloaded since ``start`` (a day window for daily caps)."""

    start: float = 0.0  # epoch seconds
    used: int = 0


def pace_wait(pace: Pace, window: Window, now: float, next_bytes: int) -> tuple[float, Window]:
    """Seconds to wait before downloading ``next_bytes`` more, and the window to use."""
    if pace.daily_bytes is None:
        return 0.0, window
    if now - window.start >= DAY_S:
        window = Window(now, 0)
    if window.used == 0 or window.used + next_bytes <= pace.daily_bytes:
        return 0.0, window  # one message over the cap alone still goes (else it never would)
    return max(1.0, window.start + DAY_S - now), window


# -- folders --------------------------------------------------------------------------------

_SPECIAL_TARGETS = {
    "\\Sent": SystemFolder.SENT,
    "\\Trash": SystemFolder.TRASH,
    "\\Junk": SystemFolder.JUNK,
    "\\Drafts": SystemFolder.DRAFTS,
}
# Servers without SPECIAL-USE: the usual top-level names (case-insensitive).
_NAMED_TARGETS = {
    "sent": SystemFolder.SENT,
    "sent items": SystemFolder.SENT,
    "sent messages": SystemFolder.SENT,
    "sent mail": SystemFolder.SENT,
    "送信済み": SystemFolder.SENT,
    "送信済みアイテム": SystemFolder.SENT,
    "trash": SystemFolder.TRASH,
    "deleted items": SystemFolder.TRASH,
    "deleted messages": SystemFolder.TRASH,
    "ゴミ箱": SystemFolder.TRASH,
    "削除済みアイテム": SystemFolder.TRASH,
    "junk": SystemFolder.JUNK,
    "spam": SystemFolder.JUNK,
    "junk e-mail": SystemFolder.JUNK,
    "junk email": SystemFolder.JUNK,
    "迷惑メール": SystemFolder.JUNK,
    "drafts": SystemFolder.DRAFTS,
    "下書き": SystemFolder.DRAFTS,
}
# Virtual views of mail that lives in other folders too: copying them would duplicate it.
_VIEWS = frozenset({"\\Flagged", "\\Important"})


@dataclass(frozen=True, slots=True)
class FolderMapping:
    """Where one source folder goes: a system folder or a path of user folders."""

    source: ImapFolder
    system: SystemFolder | None
    path: tuple[str, ...]  # user folder names from the top (empty for a system folder)
    skip_reason: str | None = None  # views and unselectable folders are not copied
    dedup_across: bool = False  # Gmail-style: the same mail under several labels goes once

    @property
    def target_label(self) -> str:
        """The target as people read it."""
        if self.system is not None:
            return self.system.value.capitalize()
        return "/".join(self.path)


def _path(folder: ImapFolder) -> tuple[str, ...]:
    parts = folder.name.split(folder.delimiter) if folder.delimiter else [folder.name]
    cleaned = tuple(" ".join(p.split()) or "_" for p in parts)
    return cleaned[:10]  # the mailbox nests at most 10 levels


def _system_target(folder: ImapFolder) -> SystemFolder | None:
    if folder.name.upper() == "INBOX":
        return SystemFolder.INBOX
    for flag, target in _SPECIAL_TARGETS.items():
        if flag in folder.special_use:
            return target
    top_level = not folder.delimiter or folder.delimiter not in folder.name
    if top_level and not folder.special_use:
        return _NAMED_TARGETS.get(folder.name.casefold())
    return None


def _gmail_path(path: tuple[str, ...], folder: ImapFolder) -> tuple[str, ...]:
    # "[Gmail]/All Mail" → "All Mail": the bracketed parent is Gmail's, not the user's.
    if len(path) > 1 and path[0] in ("[Gmail]", "[Google Mail]"):
        return path[1:]
    return path


def map_folders(folders: Sequence[ImapFolder]) -> list[FolderMapping]:
    r"""Every source folder with its target, in the order they are copied.

    Rules (README, "IMAP migration"): INBOX and the special-use folders (\Sent, \Trash,
    \Junk, \Drafts; or their usual names on servers without SPECIAL-USE) go to the system
    folders; everything else keeps its path, the server's separator becoming nesting.
    Views (\Flagged, \Important) are skipped. When the server has an \All folder (Gmail), the
    same message under several labels is copied once: into the first folder it is met in,
    with INBOX first, then the system folders, then labels by name, and \All last, which so
    brings in only archived mail that carries no label.
    """
    gmail = any("\\All" in f.special_use for f in folders)
    out: list[FolderMapping] = []
    seen_systems: set[SystemFolder] = set()
    for folder in folders:
        system = _system_target(folder)
        path: tuple[str, ...] = () if system else _gmail_path(_path(folder), folder)
        skip = None
        if not folder.selectable:
            skip = "not a mailbox (a folder of folders)"
        elif folder.special_use & _VIEWS:
            skip = "a view of mail kept in other folders"
        if system is not None and skip is None:
            if system in seen_systems and system is not SystemFolder.INBOX:
                # Two "Sent" folders: the second keeps its own name rather than merge.
                system, path = None, _path(folder)
            else:
                seen_systems.add(system)
        out.append(FolderMapping(folder, system, path, skip, dedup_across=gmail))
    rank = {SystemFolder.INBOX: 0}

    def order(m: FolderMapping) -> tuple[int, str]:
        if "\\All" in m.source.special_use:
            return (3, "")
        if m.system is not None:
            return (rank.get(m.system, 1), m.system.value)
        return (2, "/".join(m.path).casefold())

    return sorted(out, key=order)


# -- the plan and progress ------------------------------------------------------------------


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
        """JSON shape."""
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

    def to_json(self) -> dict[str, object]:
        """JSON shape (progress of one folder)."""
        return {
            "name": self.name,
            "target": self.target_label,
            "target_id": self.target_id,
            "skipped": self.skip_reason,
            "messages": self.messages,
            "bytes": self.bytes,
            "oversize": self.oversize,
            "done": self.done,
            "progress": {"messages": self.counts.handled, "bytes": self.counts.bytes},
            "counts": self.counts.to_json(),
        }


def encode_raw(raw: bytes) -> str:
    """A raw IMAP mailbox name for JSON/DynamoDB (it may be any bytes)."""
    return base64.b64encode(raw).decode("ascii")


def decode_raw(text: str) -> bytes:
    """Inverse of ``encode_raw``."""
    return base64.b64decode(text.encode("ascii"))


@dataclass(frozen=True, slots=True)
class JobError:
    """Why a job failed (shown to the user; never a secret)."""

    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        """JSON shape."""
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class MigrationJob:
    """One migration, as stored."""

    job_id: str
    tenant_id: str
    user_id: str
    server: SourceServer
    state: JobState
    created_at: dt.datetime
    sealed_secret: bytes | None = field(default=None, repr=False)  # gone once the job ends
    plan: tuple[FolderPlan, ...] = ()
    planned: bool = False
    created_folders: tuple[str, ...] = ()  # folder ids the job made, parents first
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    paused_until: dt.datetime | None = None
    busy_s: float = 0.0  # time spent copying (not waiting), for the rate
    window: Window = field(default_factory=Window)
    daily_bytes: int | None = None  # the pace's cap, fixed at plan time
    pace_name: str = "generic"
    cancel_requested: bool = False
    error: JobError | None = None
    rollback_incomplete: bool = False
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
        total = Counts()
        for folder in self.plan:
            total = total + folder.counts
        return total

    @property
    def total_messages(self) -> int:
        """Messages the plan will deal with."""
        return sum(f.messages for f in self.plan if f.target_id)

    @property
    def total_bytes(self) -> int:
        """Bytes the plan will read (oversize mail is left on the server)."""
        return sum(f.bytes for f in self.plan if f.target_id)

    def percent(self) -> int:
        """Progress in whole percent of planned messages."""
        total = self.total_messages
        if not self.planned:
            return 0
        return 100 if total == 0 else min(100, self.counts.handled * 100 // total)

    def next_folder(self) -> int | None:
        """Index of the first folder still to copy."""
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

    def to_json(self, now: dt.datetime, queue_position: int | None = None) -> dict[str, object]:
        """The API's view of a job."""
        counts = self.counts
        return {
            "id": self.job_id,
            "state": self.state.value,
            "source": self.server.to_json(),
            "created_at": self.created_at.isoformat(),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "paused_until": self.paused_until.isoformat() if self.paused_until else None,
            "queue_position": queue_position,
            "progress": {
                "percent": self.percent(),
                "messages": counts.handled,
                "total_messages": self.total_messages,
                "bytes": counts.bytes,
                "total_bytes": self.total_bytes,
                "eta_seconds": self.eta_seconds(now),
            },
            "counts": counts.to_json(),
            "folders": [f.to_json() for f in self.plan],
            "pace": self.pace_name,
            "cancel_requested": self.cancel_requested,
            "error": self.error.to_json() if self.error else None,
            "rollback_incomplete": self.rollback_incomplete,
        }


def new_job_id() -> str:
    """A job id that sorts by creation within a second and never repeats."""
    return "j" + uuid.uuid4().hex[:20]


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
        restarts=folder.restarts + 1,
    )


def reached_milestones(before: int, after: int, sent: Sequence[int]) -> list[int]:
    """Milestones passed between two percentages and not yet announced."""
    return [m for m in MILESTONES if before < m <= after and m not in sent]
