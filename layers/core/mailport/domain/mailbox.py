"""Folders and stored messages: the destination every import path writes into."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple

from mailport.catalogue import say
from mailport.domain.message import MessageSummary
from mailport.errors import ValidationFailed

if TYPE_CHECKING:
    from mailport.domain.mime.partmap import PartMap

MAX_FOLDER_NAME = 255
MAX_FOLDER_DEPTH = 10


class SystemFolder(StrEnum):
    """Folders every mailbox has; their ids are their names, lowercased."""

    INBOX = "inbox"
    SENT = "sent"
    DRAFTS = "drafts"
    TRASH = "trash"
    JUNK = "junk"


SYSTEM_FOLDER_IDS = frozenset(s.value for s in SystemFolder)

SYSTEM_FOLDER_NAMES = {
    SystemFolder.INBOX: "Inbox",
    SystemFolder.SENT: "Sent",
    SystemFolder.DRAFTS: "Drafts",
    SystemFolder.TRASH: "Trash",
    SystemFolder.JUNK: "Junk",
}


@dataclass(frozen=True, slots=True)
class Owner:
    """Whose mailbox: every key and every query is scoped by it."""

    tenant_id: str
    user_id: str


@dataclass(frozen=True, slots=True)
class Folder:
    """A folder with its counters."""

    folder_id: str
    name: str
    parent_id: str | None
    system: SystemFolder | None = None
    total: int = 0
    unread: int = 0
    size: int = 0


def clean_folder_name(name: object) -> str:
    """A folder name as stored: NFC, trimmed, 1..255 characters, no control characters.

    Names are data, never paths: ``../x`` and backslashes are kept as typed.
    """
    if not isinstance(name, str):
        raise ValidationFailed(say("mailbox.name_text"))
    cleaned = unicodedata.normalize("NFC", name).strip()
    if not cleaned:
        raise ValidationFailed(say("mailbox.name_needed"))
    if len(cleaned) > MAX_FOLDER_NAME:
        raise ValidationFailed(say("mailbox.name_long", max=MAX_FOLDER_NAME))
    if any(unicodedata.category(ch) == "Cc" for ch in cleaned):
        raise ValidationFailed(say("mailbox.name_control"))
    return cleaned


class SourceType(StrEnum):
    """Where a message came from."""

    UPLOAD = "upload"
    POP = "pop"
    IMAP = "imap"
    NOTICE = "notice"


@dataclass(frozen=True, slots=True)
class Source:
    """The import that brought a message in (an upload batch, a POP account, a job)."""

    type: SourceType
    id: str


@dataclass(frozen=True, slots=True)
class Flags:
    """IMAP-style flags the index keeps."""

    seen: bool = False
    flagged: bool = False
    answered: bool = False


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message in the index (the raw bytes live in the raw store under ``raw_key``)."""

    message_id: str
    folder_id: str
    summary: MessageSummary
    flags: Flags
    source: Source
    fingerprint: str
    raw_key: str
    received_at: dt.datetime
    icon: str | None = None
    job_id: str | None = None
    header_message_id: str = ""
    sha256: str = field(default="")
    # Where a big message's parts lie in its bytes, so reading it fetches only those; None
    # for ordinary mail and for messages indexed before maps (both read whole).
    part_map: PartMap | None = None


class Indexed(NamedTuple):
    """What an import needs to know of a message already in the index."""

    job_id: str | None  # the migration that stored it, if one did
    fingerprint: str


def message_id_for(*identity: str) -> str:
    """A deterministic message id from the source identity, so a retry overwrites.

    Upload: (batch, object key); POP: (account, UIDL); IMAP: (job, folder, UIDVALIDITY, UID).
    """
    digest = hashlib.sha256("\x1f".join(identity).encode("utf-8")).digest()
    return "m" + base64.b32encode(digest[:20]).decode("ascii").lower()


class InsertOutcome(StrEnum):
    """What indexing a message did."""

    STORED = "stored"  # new
    ALREADY_STORED = "already_stored"  # the same message id was indexed before (a retry)
    DUPLICATE = "duplicate"  # the same content is already in that folder under another id
