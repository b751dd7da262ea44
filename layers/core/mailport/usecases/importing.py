"""Store one raw message into a user's mailbox: shared by upload, POP and IMAP imports."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from mailport.domain.mailbox import (
    Flags,
    InsertOutcome,
    Owner,
    Source,
    StoredMessage,
    SystemFolder,
)
from mailport.domain.mime import fingerprint, summarize, synthesized_message_id
from mailport.domain.rules import Rule, apply_rules, parse_rules
from mailport.errors import NotFound
from mailport.ports import Mailbox, RawStore
from mailport.usecases.mailbox import MailboxService


def raw_key(owner: Owner, message_id: str) -> str:
    """Where a message's bytes live: under the user's own prefix."""
    return f"mail/{owner.tenant_id}/{owner.user_id}/{message_id}.eml"


@dataclass(frozen=True, slots=True)
class ImportRequest:
    """One message to store, with where it came from."""

    owner: Owner
    raw: bytes
    folder_id: str
    source: Source
    message_id: str  # deterministic from the source identity (see domain.mailbox.message_id_for)
    apply_rules: bool = False
    icon: str | None = None
    job_id: str | None = None
    flags: Flags = field(default_factory=Flags)
    received_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What storing did."""

    outcome: InsertOutcome
    message_id: str  # the id now in the index (for a duplicate: the one already there)
    folder_id: str


class Importer:
    """Parses, applies the user's rules, writes the bytes, then indexes (in that order, so the
    index never points at bytes that are not there; a retry rewrites the same key).
    """

    def __init__(
        self,
        mailbox: Mailbox,
        raw_store: RawStore,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._mailbox = mailbox
        self._raw = raw_store
        self._service = MailboxService(mailbox, raw_store)
        self._clock = clock

    def rules(self, owner: Owner) -> tuple[Rule, ...]:
        """The user's auto-sort rules (loaded once per batch by callers that import many)."""
        document = self._mailbox.get_rules_document(owner)
        if not document:
            return ()
        return parse_rules(document, folder_exists=lambda _folder_id: True)

    def store(self, request: ImportRequest, rules: tuple[Rule, ...] | None = None) -> ImportResult:
        """Store one message; raises ``NotAMessage`` for input that is not mail."""
        summary = summarize(request.raw)
        folder_id, flags = request.folder_id, request.flags
        if request.apply_rules:
            outcome = apply_rules(self.rules(request.owner) if rules is None else rules, summary)
            if outcome.trashed:
                folder_id = SystemFolder.TRASH.value
            elif outcome.folder_id:
                folder_id = outcome.folder_id
            flags = Flags(
                seen=flags.seen or outcome.seen,
                flagged=flags.flagged or outcome.flagged,
                answered=flags.answered,
            )
        folder = self._target(request.owner, folder_id, request.folder_id)
        key = raw_key(request.owner, request.message_id)
        message = StoredMessage(
            message_id=request.message_id,
            folder_id=folder,
            summary=summary,
            flags=flags,
            source=request.source,
            fingerprint=fingerprint(request.raw),
            raw_key=key,
            received_at=request.received_at or self._clock(),
            icon=request.icon,
            job_id=request.job_id,
            header_message_id=summary.message_id or synthesized_message_id(request.raw),
            sha256=hashlib.sha256(request.raw).hexdigest(),
        )
        self._raw.put(key, request.raw)
        outcome_, indexed_id = self._mailbox.insert_message(request.owner, message)
        if outcome_ is InsertOutcome.DUPLICATE and indexed_id != request.message_id:
            self._raw.delete(key)  # the copy already indexed keeps its own bytes
        return ImportResult(outcome_, indexed_id, folder)

    def _target(self, owner: Owner, folder_id: str, requested: str) -> str:
        """The folder to store into; a rule's folder that no longer exists falls back."""
        try:
            return self._service.folder(owner, folder_id).folder_id
        except NotFound:
            if folder_id == requested:
                raise
        return self._service.folder(owner, requested).folder_id
