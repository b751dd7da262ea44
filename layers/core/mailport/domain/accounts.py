"""External POP3 accounts (外部メールインポート): presets, settings, fetch state and runs.

Pure domain code: validation of what a user sends, the schedule slot of an account, and the
failure policy of automatic fetching.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from mailport.domain.remote import PopEntry, ServerAddress
from mailport.errors import LimitExceeded, ValidationFailed

MAX_ACCOUNTS = 10  # per user, as in LINE WORKS
WARN_AFTER_FAILURES = 3  # automatic runs failed in a row → the user is warned
DISABLE_AFTER_FAILURES = 10  # automatic runs failed in a row → automatic fetching off
SCHEDULE_WINDOW_S = 600  # the dispatcher runs every 10 minutes; accounts spread over it
MAX_USERNAME = 320  # an email address is at most 320 characters (RFC 3696 erratum 1690)
MAX_PASSWORD = 1024
MAX_HOST = 253
MAX_PORT = 65535


class Preset(StrEnum):
    """The providers the form knows; ``manual`` means host, port and SSL are typed in."""

    LINE_WORKS = "line_works"
    YAHOO = "yahoo"
    GMAIL = "gmail"
    OUTLOOK = "outlook"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class PresetServer:
    """A provider's POP3 server as its help pages publish it."""

    preset: Preset
    label: str
    host: str
    port: int
    ssl: bool


PRESETS: Mapping[Preset, PresetServer] = {
    Preset.LINE_WORKS: PresetServer(
        Preset.LINE_WORKS, "LINE WORKS", "pop.worksmobile.com", 995, True
    ),
    Preset.YAHOO: PresetServer(Preset.YAHOO, "Yahoo (com)", "pop.mail.yahoo.com", 995, True),
    Preset.GMAIL: PresetServer(Preset.GMAIL, "Gmail & G Suite", "pop.gmail.com", 995, True),
    Preset.OUTLOOK: PresetServer(
        Preset.OUTLOOK, "Hotmail (Outlook)", "outlook.office365.com", 995, True
    ),
}

# The small coloured marks the mailbox shows next to imported mail.
ICONS = ("none", "red", "orange", "yellow", "green", "blue", "purple", "gray")


def too_many_accounts(limit: int) -> LimitExceeded:
    """The error for an account over the per-user limit."""
    return LimitExceeded(
        f"you already have {limit} external accounts, the most allowed; delete one to add another"
    )


def presets_json() -> list[dict[str, object]]:
    """``GET /v1/account-presets``: every preset, then manual entry."""
    listed: list[dict[str, object]] = [
        {"id": p.preset.value, "label": p.label, "host": p.host, "port": p.port, "ssl": p.ssl}
        for p in PRESETS.values()
    ]
    listed.append(
        {"id": Preset.MANUAL.value, "label": "Manual", "host": None, "port": None, "ssl": True}
    )
    return listed


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
    error: str = ""
    more: bool = False  # ran out of time; a continuation run takes the rest
    auto_disabled: bool = False  # this run's failure switched automatic fetching off

    def to_json(self) -> dict[str, object]:
        """JSON shape of a run."""
        c = self.counts
        return {
            "id": self.run_id,
            "account_id": self.account_id,
            "trigger": self.trigger.value,
            "status": self.status.value,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "fetched": c.fetched,
            "already_present": c.already_present,
            "skipped_oversize": c.skipped_oversize,
            "rejected": c.rejected,
            "deleted": c.deleted,
            "more": self.more,
            "error": {"code": self.error_code, "message": self.error} if self.error_code else None,
        }


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
    last_checked_at: dt.datetime | None = None
    last_success_at: dt.datetime | None = None
    disabled_reason: str = ""
    server_digest: str = ""  # the server's listing after the last successful run

    def running(self, now: dt.datetime) -> bool:
        """A run holds the lease."""
        return bool(self.running_run_id) and self.lease_until is not None and self.lease_until > now


@dataclass(frozen=True, slots=True)
class PopAccount:
    """An external account and its settings (the password is sealed, never returned)."""

    account_id: str
    preset: Preset
    host: str
    port: int
    ssl: bool
    username: str
    folder_id: str
    icon: str
    keep_original: bool
    apply_rules: bool
    auto_fetch: bool
    created_at: dt.datetime
    sealed_password: bytes = field(default=b"", repr=False)
    state: FetchState = field(default_factory=FetchState)
    version: int = 0  # optimistic concurrency for settings changes

    @property
    def server(self) -> ServerAddress:
        """Where to connect."""
        return ServerAddress(self.host, self.port, self.ssl)

    @property
    def slot(self) -> int:
        """Second of the 10-minute window this account is fetched in (uniform over ids)."""
        return schedule_slot(self.account_id)

    def to_json(self, now: dt.datetime) -> dict[str, object]:
        """JSON shape of an account (no password, ever)."""
        s = self.state
        return {
            "id": self.account_id,
            "preset": self.preset.value,
            "host": self.host,
            "port": self.port,
            "ssl": self.ssl,
            "username": self.username,
            "folder_id": self.folder_id,
            "icon": self.icon,
            "keep_original": self.keep_original,
            "apply_rules": self.apply_rules,
            "auto_fetch": self.auto_fetch,
            "created_at": self.created_at.isoformat(),
            "status": {
                "state": "running" if s.running(now) else ("idle" if self.auto_fetch else "off"),
                "failures_in_a_row": s.failures,
                "running_run_id": s.running_run_id if s.running(now) else None,
                "last_run_id": s.last_run_id or None,
                "last_status": s.last_status or None,
                "last_error": (
                    {"code": s.last_error_code, "message": s.last_error}
                    if s.last_error_code
                    else None
                ),
                "last_checked_at": _iso(s.last_checked_at),
                "last_success_at": _iso(s.last_success_at),
                "next_run_at": _iso(self.next_run_at()),
                "disabled_reason": s.disabled_reason or None,
            },
        }

    def next_run_at(self) -> dt.datetime | None:
        """When the schedule should next look at this account (approximately)."""
        if not self.auto_fetch:
            return None
        last = self.state.last_checked_at
        return last + dt.timedelta(seconds=SCHEDULE_WINDOW_S) if last else None


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def schedule_slot(account_id: str) -> int:
    """Second of the window, from a hash of the id: 100,000 accounts spread evenly."""
    digest = hashlib.sha256(account_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % SCHEDULE_WINDOW_S


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


class ReceiptOutcome(StrEnum):
    """What became of a message on the server."""

    STORED = "stored"  # in the mailbox (new, or stored by an earlier run)
    OVERSIZE = "oversize"  # 50 MB or more: left on the server
    REJECTED = "rejected"  # not a message we can store: left on the server


@dataclass(frozen=True, slots=True)
class Receipt:
    """A message of the server dealt with: by UIDL (if the server has UIDL) and content."""

    uidl: str | None
    outcome: ReceiptOutcome
    fingerprint: str = ""
    message_id: str = ""
    new: bool = False  # stored by this run (not found stored before)


@dataclass(frozen=True, slots=True)
class Seen:
    """What an account has dealt with: UIDL → outcome, and content fingerprint → message."""

    uidls: Mapping[str, str]
    contents: Mapping[str, str]


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
            raise ValidationFailed("a fetch request must be a JSON object")
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
            raise ValidationFailed(f"not a fetch request: {e}") from e


def new_run_id(now: dt.datetime, entropy: str) -> str:
    """Run ids sort by start time (the run history is listed newest first by id)."""
    return now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + entropy[:8]


# ------------------------------------------------------------------ validation of input
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_FIELDS = frozenset(
    {
        "preset",
        "host",
        "port",
        "ssl",
        "username",
        "password",
        "folder_id",
        "icon",
        "keep_original",
        "apply_rules",
        "auto_fetch",
        "agreed",
    }
)
_CONNECTION = frozenset({"preset", "host", "port", "ssl", "username"})


@dataclass(frozen=True, slots=True)
class AccountInput:
    """A validated create or change request (absent fields are None)."""

    preset: Preset | None = None
    host: str | None = None
    port: int | None = None
    ssl: bool | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    folder_id: str | None = None
    icon: str | None = None
    keep_original: bool | None = None
    apply_rules: bool | None = None
    auto_fetch: bool | None = None
    agreed: bool | None = None

    @property
    def changes_connection(self) -> bool:
        """Whether the server or login changes (the password must then be given again)."""
        return any(getattr(self, name) is not None for name in _CONNECTION)


def _bool(data: Mapping[str, object], name: str) -> bool | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise ValidationFailed(f'"{name}" must be true or false')
    return value


def _text(data: Mapping[str, object], name: str, limit: int) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationFailed(f'"{name}" must be a string')
    if not value or len(value) > limit:
        raise ValidationFailed(f'"{name}" must be 1 to {limit} characters')
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValidationFailed(f'"{name}" cannot contain control characters')
    return value


def clean_host(value: str) -> str:
    """A host name or IP address literal, lower-cased; refused if it is neither."""
    host = value.strip().rstrip(".").lower()
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        pass
    labels = host.split(".")
    if not host or len(host) > MAX_HOST or not all(_HOST_LABEL.match(x) for x in labels):
        raise ValidationFailed('"host" must be a host name such as pop.example.com')
    return host


def parse_account_input(payload: object) -> AccountInput:
    """Check the shape and ranges of a create or change request."""
    if not isinstance(payload, dict):
        raise ValidationFailed("send a JSON object")
    unknown = sorted(set(payload) - _FIELDS)
    if unknown:
        raise ValidationFailed(f'"{unknown[0]}" is not a known field')
    preset_raw = payload.get("preset")
    try:
        preset = Preset(preset_raw) if preset_raw is not None else None
    except ValueError as e:
        names = ", ".join(p.value for p in Preset)
        raise ValidationFailed(f'"preset" must be one of {names}') from e
    port = payload.get("port")
    if port is not None and (
        isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= MAX_PORT
    ):
        raise ValidationFailed('"port" must be a number from 1 to 65535')
    host = _text(payload, "host", MAX_HOST)
    icon = _text(payload, "icon", 20)
    if icon is not None and icon not in ICONS:
        raise ValidationFailed(f'"icon" must be one of {", ".join(ICONS)}')
    return AccountInput(
        preset=preset,
        host=clean_host(host) if host is not None else None,
        port=port,
        ssl=_bool(payload, "ssl"),
        username=_text(payload, "username", MAX_USERNAME),
        password=_text(payload, "password", MAX_PASSWORD),
        folder_id=_text(payload, "folder_id", 128),
        icon=icon,
        keep_original=_bool(payload, "keep_original"),
        apply_rules=_bool(payload, "apply_rules"),
        auto_fetch=_bool(payload, "auto_fetch"),
        agreed=_bool(payload, "agreed"),
    )


def new_account(
    data: AccountInput, account_id: str, now: dt.datetime, default_folder: str
) -> PopAccount:
    """A new account from a create request (the agreement and required fields checked)."""
    if data.agreed is not True:
        raise ValidationFailed(
            "accept the agreement first: mail is copied from the other provider into mailport"
            ' ("agreed": true)'
        )
    if data.username is None or data.password is None:
        raise ValidationFailed('"username" and "password" are required')
    host, port, ssl = _server(data.preset or Preset.MANUAL, data.host, data.port, data.ssl)
    return PopAccount(
        account_id=account_id,
        preset=data.preset or Preset.MANUAL,
        host=host,
        port=port,
        ssl=ssl,
        username=data.username,
        folder_id=data.folder_id or default_folder,
        icon=data.icon or "none",
        keep_original=True if data.keep_original is None else data.keep_original,
        apply_rules=bool(data.apply_rules),
        auto_fetch=True if data.auto_fetch is None else data.auto_fetch,
        created_at=now,
    )


def _server(
    preset: Preset, host: str | None, port: int | None, ssl: bool | None
) -> tuple[str, int, bool]:
    known = PRESETS.get(preset)
    if known is not None:
        # A preset fills what is not given; a typed-in value still wins (a provider's
        # alternative port, say).
        return host or known.host, port or known.port, known.ssl if ssl is None else ssl
    if host is None:
        raise ValidationFailed('"host" is required for manual entry')
    use_ssl = True if ssl is None else ssl
    return host, port or (995 if use_ssl else 110), use_ssl


def changed_account(before: PopAccount, data: AccountInput) -> PopAccount:
    """The account with a change request applied."""
    if data.agreed is not None and data.agreed is not True:
        raise ValidationFailed('"agreed" can only be true')
    if data.changes_connection and data.password is None:
        raise ValidationFailed(
            "enter the password again to change the server or the login"
        )  # never send a saved password to a server the user has not confirmed it for
    after = before
    if data.changes_connection:
        preset = data.preset or before.preset
        keep_server = data.preset is None and data.host is None
        host, port, ssl = _server(
            preset,
            data.host or (before.host if keep_server else None),
            data.port or (before.port if keep_server else None),
            data.ssl if data.ssl is not None else (before.ssl if keep_server else None),
        )
        after = replace(
            after,
            preset=preset,
            host=host,
            port=port,
            ssl=ssl,
            username=data.username or before.username,
        )
    simple = {
        name: getattr(data, name)
        for name in ("folder_id", "icon", "keep_original", "apply_rules", "auto_fetch")
        if getattr(data, name) is not None
    }
    after = replace(after, **simple)
    if data.auto_fetch and not before.auto_fetch:
        # Turning it back on starts a fresh count (the user has presumably fixed the cause).
        after = replace(after, state=replace(after.state, failures=0, disabled_reason=""))
    return after
