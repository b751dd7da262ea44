"""Store one raw message into a user's mailbox: shared by upload, POP and IMAP imports."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from mailport.domain.mailbox import (
    SYSTEM_FOLDER_IDS,
    Flags,
    InsertOutcome,
    Owner,
    Source,
    SourceType,
    StoredMessage,
    SystemFolder,
)
from mailport.domain.mime import fingerprint, synthesized_message_id
from mailport.domain.mime.partmap import summarize_mapped
from mailport.domain.rules import Rule, apply_rules, parse_rules
from mailport.domain.uploads import FileResult, ObjectRef
from mailport.errors import NotFound
from mailport.ports import Mailbox, RawStore
from mailport.usecases.index_group import GroupIndexer
from mailport.usecases.mailbox import MailboxService


def raw_key(owner: Owner, message_id: str, sha256: str) -> str:
    """Where a message's bytes live: under the user's own prefix.

    The content hash is part of the key, so a later delivery of *different* bytes under the
    same message id (a re-used upload URL, a server that rewrote a message) can never
    overwrite the bytes the index already points at.
    """
    return f"mail/{owner.tenant_id}/{owner.user_id}/{message_id}.{sha256[:16]}.eml"


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
    finish: FileResult | None = None  # an upload file to mark done in the same write
    fingerprint: str = ""  # computed already by the caller (spares a second pass)
    origin: ObjectRef | None = None  # an object holding exactly ``raw`` (an upload): copied


@dataclass(frozen=True, slots=True)
class Staged:
    """A message whose bytes are stored, its index entry still to write (``Importer.index``)."""

    request: ImportRequest
    message: StoredMessage


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What storing did."""

    outcome: InsertOutcome
    message_id: str  # the id now in the index (for a duplicate: the one already there)
    folder_id: str
    job_id: str | None = None  # the job that stored the message now in the index


class Importer:
    """Parses, applies the user's rules, writes the bytes, then indexes (in that order, so the
    index never points at bytes that are not there; a retry rewrites the same key).
    """

    def __init__(
        self,
        mailbox: Mailbox,
        raw_store: RawStore,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        group: GroupIndexer | None = None,
    ) -> None:
        self._mailbox = mailbox
        self._group = group  # index writes shared with concurrent stores (None: one each)
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
        staged = self.stage(request, rules)
        try:
            result = self._index(request, staged.message)
        except NotFound:
            self._raw.delete(staged.message.raw_key)  # refused for good: no bytes left unseen
            raise
        return self._settled(staged, result)

    def stage(self, request: ImportRequest, rules: tuple[Rule, ...] | None = None) -> Staged:
        """``store``'s first half: parse, apply the rules and write the bytes; the message is
        indexed by ``index`` (a crash in between leaves bytes that a retry writes again under
        the same key, then indexes). Raises ``NotAMessage`` for input that is not mail.
        """
        # A big message's part map from the summary's own walk (ordinary mail: none).
        summary, part_map = summarize_mapped(request.raw)
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
        digest = hashlib.sha256(request.raw).hexdigest()
        key = raw_key(request.owner, request.message_id, digest)
        message = StoredMessage(
            message_id=request.message_id,
            folder_id=folder_id,
            summary=summary,
            flags=flags,
            source=request.source,
            fingerprint=request.fingerprint or fingerprint(request.raw),
            raw_key=key,
            received_at=request.received_at or self._clock(),
            icon=request.icon,
            job_id=request.job_id,
            header_message_id=summary.message_id or synthesized_message_id(request.raw),
            sha256=digest,
            part_map=part_map,
        )
        self._raw.put(key, request.raw, request.origin)
        return Staged(request, message)

    def index(self, staged: Sequence[Staged]) -> list[ImportResult | Exception]:
        """``store``'s second half for many staged messages at once: with a group indexer,
        a few requests for them all (a caller holding a whole batch needs no linger). Each
        one's result as ``store`` would return it, or the error it would raise.
        """
        grouped = [s for s in staged if s.request.finish is None] if self._group else []
        answers: dict[int, tuple[InsertOutcome, str] | BaseException] = {}
        if self._group is not None and grouped:
            written = self._group.insert_all([(s.request.owner, s.message) for s in grouped])
            answers = {id(s): a for s, a in zip(grouped, written, strict=True)}
        results: list[ImportResult | Exception] = []
        for s in staged:
            try:
                results.append(self._indexed(s, answers.get(id(s))))
            except Exception as e:  # this message's own: the others' results stand
                results.append(e)
        return results

    def _indexed(
        self, staged: Staged, answer: tuple[InsertOutcome, str] | BaseException | None
    ) -> ImportResult:
        """One staged message's result from its group's answer (None: not written yet)."""
        if isinstance(answer, tuple):
            return self._settled(staged, ImportResult(*answer, staged.message.folder_id))
        if answer is not None and not isinstance(answer, NotFound):
            raise answer
        try:  # alone, or its folder is missing: the one-message path makes system folders
            result = self._index(staged.request, staged.message)
        except NotFound:
            self._raw.delete(staged.message.raw_key)
            raise
        return self._settled(staged, result)

    def _settled(self, staged: Staged, result: ImportResult) -> ImportResult:
        """The result once indexed; bytes another copy's index entry doesn't use are removed."""
        request, key = staged.request, staged.message.raw_key
        if result.outcome is InsertOutcome.STORED:
            return replace(result, job_id=request.job_id)
        indexed = self._mailbox.get_message(request.owner, result.message_id)
        if indexed is None or indexed.raw_key != key:
            self._raw.delete(key)  # the copy already indexed keeps its own bytes
        return replace(result, job_id=indexed.job_id if indexed else None)

    def store_notice(
        self, owner: Owner, raw: bytes, message_id: str, source_id: str, *, flagged: bool = False
    ) -> ImportResult:
        """A message from mailport itself (a warning, a migration's progress) into the Inbox.
        Its id comes from what it reports on, so a retry delivers it once.
        """
        return self.store(
            ImportRequest(
                owner=owner,
                raw=raw,
                folder_id=SystemFolder.INBOX.value,
                source=Source(SourceType.NOTICE, source_id),
                message_id=message_id,
                flags=Flags(flagged=flagged),
            )
        )

    def _index(self, request: ImportRequest, message: StoredMessage) -> ImportResult:
        """Index; if the folder is missing, make system folders or fall back, then once more.

        The index write itself checks that the folder exists, so the common case costs no read.
        """
        try:
            return self._insert(request.owner, message, request.finish)
        except NotFound:
            if message.folder_id not in SYSTEM_FOLDER_IDS:
                if message.folder_id == request.folder_id:
                    raise
                message = replace(message, folder_id=request.folder_id)  # a rule's folder is gone
            self._service.ensure_system_folders(request.owner)
        return self._insert(request.owner, message, request.finish)

    def _insert(
        self, owner: Owner, message: StoredMessage, finish: FileResult | None
    ) -> ImportResult:
        if finish is None and self._group is not None:
            outcome, message_id = self._group.insert(owner, message)
        else:
            outcome, message_id = self._mailbox.insert_message(owner, message, finish)
        return ImportResult(outcome, message_id, message.folder_id)
