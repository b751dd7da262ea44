"""Folders and messages: what the mailbox API does."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypedDict

from mailport.catalogue import say
from mailport.domain.mailbox import (
    MAX_FOLDER_DEPTH,
    SYSTEM_FOLDER_IDS,
    SYSTEM_FOLDER_NAMES,
    Flags,
    Folder,
    Owner,
    StoredMessage,
    SystemFolder,
    clean_folder_name,
)
from mailport.domain.rules import RulesRequest, parse_rules, rules_to_json
from mailport.domain.search import parse_search
from mailport.errors import Conflict, LimitExceeded, NotFound, ValidationFailed
from mailport.ports import Mailbox, RawStore
from mailport.ports.downloads import DownloadLinks
from mailport.usecases.downloads import copies_prefix

if TYPE_CHECKING:
    from mailport.domain.reading import PartBytes, Reading

log = logging.getLogger(__name__)

MAX_PAGE = 200
DEFAULT_PAGE = 50
# A part answered alone: Lambda answers at most 6 MB, and binary bodies go base64 (4/3).
MAX_PART_BYTES = 4_000_000


# The changes a request may ask for, their types and bounds checked at the API's edge
# (``api_inputs``): the use-cases check only what needs the mailbox (a folder exists, nesting).
class FolderChanges(TypedDict, total=False):
    """A rename and/or a move (``parent_id`` None: to the top)."""

    name: str
    parent_id: str | None


class FlagChanges(TypedDict, total=False):
    """The flags to set or clear; the others stay."""

    seen: bool
    flagged: bool
    answered: bool


class MessageChanges(TypedDict, total=False):
    """New flags and/or another folder."""

    flags: FlagChanges
    folder_id: str


@dataclass(frozen=True, slots=True)
class MessagePage:
    """A page of a folder's messages."""

    folder: Folder
    messages: list[StoredMessage]
    cursor: str | None


@dataclass(frozen=True, slots=True)
class SearchPage:
    """A page of the matches of a search of all folders."""

    messages: list[StoredMessage]
    cursor: str | None


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """A search as the query string gives it (checked by ``parse_search``)."""

    q: str | None = None
    since: str | None = None
    before: str | None = None


class MailboxService:
    """The mailbox use-cases, over the ``Mailbox`` and ``RawStore`` ports."""

    def __init__(
        self, mailbox: Mailbox, raw: RawStore, copies: DownloadLinks | None = None
    ) -> None:
        self._mailbox = mailbox
        self._raw = raw
        self._copies = copies  # decoded part copies made for big downloads (Downloads)

    # ------------------------------------------------------------------ folders
    def folders(self, owner: Owner) -> list[Folder]:
        """Every folder, system folders first (created on first use)."""
        existing = self._mailbox.list_folders(owner)
        if self.ensure_system_folders(owner, existing):
            existing = self._mailbox.list_folders(owner)
        order = list(SystemFolder)
        return sorted(
            existing,
            key=lambda f: (
                order.index(f.system) if f.system else len(order),
                f.name.casefold(),
            ),
        )

    def ensure_system_folders(self, owner: Owner, existing: list[Folder] | None = None) -> bool:
        """Create whichever system folders are missing; True if any was created."""
        have = {
            f.folder_id
            for f in (existing if existing is not None else self._mailbox.list_folders(owner))
        }
        created = False
        for system in SystemFolder:
            if system.value in have:
                continue
            folder = Folder(system.value, SYSTEM_FOLDER_NAMES[system], None, system)
            with contextlib.suppress(Conflict):  # created concurrently: the same folder
                self._mailbox.create_folder(owner, folder)
            created = True
        return created

    def folder(self, owner: Owner, folder_id: str) -> Folder:
        """One folder; ``NotFound`` if it is not the caller's."""
        folder = self._mailbox.get_folder(owner, folder_id)
        if folder is None and folder_id in SYSTEM_FOLDER_IDS:
            # System folders appear on first use: only a miss pays for creating them.
            self.ensure_system_folders(owner)
            folder = self._mailbox.get_folder(owner, folder_id)
        if folder is None:
            raise NotFound(say("mailbox.no_folder"))
        return folder

    def create_folder(self, owner: Owner, name: str, parent_id: str | None = None) -> Folder:
        """A new user folder, optionally inside another."""
        clean = clean_folder_name(name)
        # System folders first, so a user folder can never take "Inbox"'s name at the top.
        self.ensure_system_folders(owner)
        parent = self._parent(owner, parent_id)
        folder = Folder(f"f{uuid.uuid4().hex[:20]}", clean, parent.folder_id if parent else None)
        if parent is not None:
            self._check_depth(owner, parent, folder.folder_id)
        self._mailbox.create_folder(owner, folder)
        return folder

    def update_folder(self, owner: Owner, folder_id: str, changes: FolderChanges) -> Folder:
        """Rename and/or move a user folder."""
        before = self.folder(owner, folder_id)
        if before.system is not None:
            raise ValidationFailed(say("mailbox.system_folder_fixed", name=before.name))
        after_name = clean_folder_name(changes["name"]) if "name" in changes else before.name
        after_parent = before.parent_id
        if "parent_id" in changes:
            parent = self._parent(owner, changes["parent_id"])
            if parent is not None:
                self._check_depth(owner, parent, folder_id)
            after_parent = parent.folder_id if parent else None
        after = Folder(
            before.folder_id,
            after_name,
            after_parent,
            None,
            before.total,
            before.unread,
            before.size,
        )
        if after != before:
            self._mailbox.update_folder(owner, before, after)
        return after

    def delete_folder(self, owner: Owner, folder_id: str) -> None:
        """Delete an empty user folder (no messages, no subfolders): mail is never lost."""
        folder = self.folder(owner, folder_id)
        if folder.system is not None:
            raise ValidationFailed(say("mailbox.system_folder_kept", name=folder.name))
        if any(f.parent_id == folder_id for f in self._mailbox.list_folders(owner)):
            raise Conflict(say("mailbox.has_subfolders"))
        if folder.total:
            raise Conflict(say("mailbox.holds_messages", count=folder.total))
        self._mailbox.delete_folder(owner, folder)

    def _parent(self, owner: Owner, parent_id: str | None) -> Folder | None:
        if parent_id is None:
            return None
        try:
            return self.folder(owner, parent_id)
        except NotFound as e:
            raise NotFound(say("mailbox.no_parent")) from e

    def _check_depth(self, owner: Owner, parent: Folder, moving_id: str) -> None:
        """Refuse cycles (a folder into itself or its own subfolder) and over-deep nesting."""
        by_id = {f.folder_id: f for f in self._mailbox.list_folders(owner)}
        depth, current = 1, parent
        while True:
            if current.folder_id == moving_id:
                raise ValidationFailed(say("mailbox.into_itself"))
            depth += 1
            if depth > MAX_FOLDER_DEPTH:
                raise ValidationFailed(say("mailbox.too_deep", depth=MAX_FOLDER_DEPTH))
            if current.parent_id is None or current.parent_id not in by_id:
                return
            current = by_id[current.parent_id]

    # ------------------------------------------------------------------ rules
    def rules(self, owner: Owner) -> dict[str, object]:
        """The ordered auto-sort rules, as JSON."""
        return self._mailbox.get_rules_document(owner) or {"rules": []}

    def replace_rules(self, owner: Owner, request: RulesRequest) -> dict[str, object]:
        """Replace the rules (their shape checked at the API's edge); each move target must
        be an existing folder.
        """
        folders = {f.folder_id for f in self.folders(owner)}
        document = rules_to_json(parse_rules(request, folder_exists=folders.__contains__))
        self._mailbox.put_rules_document(owner, document)
        return document

    # ------------------------------------------------------------------ messages
    def messages(
        self, owner: Owner, folder_id: str, limit: object, cursor: str | None
    ) -> MessagePage:
        """A page of a folder's messages, newest first."""
        folder = self.folder(owner, folder_id)
        size = page_size(limit)
        messages, next_cursor = self._mailbox.list_messages(owner, folder_id, size, cursor)
        return MessagePage(folder, messages, next_cursor)

    def search_folder(
        self,
        owner: Owner,
        folder_id: str,
        request: SearchRequest,
        limit: object,
        cursor: str | None,
    ) -> MessagePage:
        """A page of the folder's messages matching ``request``, newest first."""
        query = parse_search(request.q, request.since, request.before)
        size = page_size(limit)
        folder = self.folder(owner, folder_id)
        found, next_cursor = self._mailbox.search_messages(
            owner, [folder.folder_id], query, size, cursor
        )
        return MessagePage(folder, found, next_cursor)

    def search_all(
        self, owner: Owner, request: SearchRequest, limit: object, cursor: str | None
    ) -> SearchPage:
        """A page of the messages matching ``request`` in all of the caller's folders,
        folder after folder in the folder list's order, each newest first.
        """
        query = parse_search(request.q, request.since, request.before)
        size = page_size(limit)
        ids = [f.folder_id for f in self.folders(owner)]
        found, next_cursor = self._mailbox.search_messages(
            owner, ids, query, size, cursor, all_folders=True
        )
        return SearchPage(found, next_cursor)

    def message(self, owner: Owner, message_id: str) -> StoredMessage:
        """One message; ``NotFound`` if it is not the caller's."""
        message = self._mailbox.get_message(owner, message_id)
        if message is None:
            raise NotFound(say("mailbox.no_message"))
        return message

    def update_message(
        self, owner: Owner, message_id: str, changes: MessageChanges
    ) -> StoredMessage:
        """Change flags (``{"flags": {"seen": true}}``) and/or move (``{"folder_id": ...}``)."""
        before = self.message(owner, message_id)
        flags = _flags(before.flags, changes.get("flags"))
        folder_id = before.folder_id
        if "folder_id" in changes:
            folder_id = self.folder(owner, changes["folder_id"]).folder_id
        after = replace(before, flags=flags, folder_id=folder_id)
        if after != before:
            self._mailbox.update_message(owner, before, after)
        return after

    def delete_message(self, owner: Owner, message_id: str) -> None:
        """Delete a message for good: the index entry first, then its bytes."""
        message = self.message(owner, message_id)
        self._mailbox.delete_message(owner, message)
        self._raw.delete(message.raw_key)
        # Copies exist only of parts too big to answer, so only of a message bigger still.
        if self._copies is not None and message.summary.size > MAX_PART_BYTES:
            self._copies.forget_copies(copies_prefix(message.raw_key))

    def raw(self, owner: Owner, message_id: str, *, limit: int | None = MAX_PART_BYTES) -> bytes:
        """The message exactly as it was received; over ``limit`` (the most the API answers
        itself; None: any size) ``LimitExceeded`` (``Downloads.message`` links to it instead).
        """
        message = self.message(owner, message_id)
        if limit is not None and message.summary.size > limit:
            raise LimitExceeded(say("mailbox.message_too_large", mb=limit // 1_000_000))
        return self._raw.get(message.raw_key)

    def content(
        self,
        owner: Owner,
        message_id: str,
        part_url: Callable[[str], str],
        *,
        charset: str | None = None,
        remote: bool = False,
    ) -> Reading:
        """The message as a person reads it: headers, text, safe HTML (``part_url`` names a
        part's URL for its ``cid:`` images), its parts; in ``charset`` if one is chosen.
        A big message with a part map fetches only its bodies' ranges, others are read whole.
        """
        # Lazily: nh3 and charset-normalizer are for reading only, not every cold start.
        from mailport.domain.reading import CHOICES, Mismatch, read, read_mapped  # noqa: PLC0415

        if charset is not None and charset not in CHOICES:
            raise ValidationFailed(say("mailbox.charset_choice", choices=", ".join(CHOICES)))
        message = self.message(owner, message_id)
        if message.part_map is not None:
            try:
                return read_mapped(
                    message.summary,
                    message.part_map,
                    self._fetch(message.raw_key),
                    part_url,
                    charset=charset,
                    remote=remote,
                )
            except Mismatch as e:
                _mismatch(message, e)
        raw = self._raw.get(message.raw_key)
        return read(raw, part_url, charset=charset, remote=remote)

    def part(
        self, owner: Owner, message_id: str, part_id: str, *, limit: int | None = MAX_PART_BYTES
    ) -> PartBytes:
        """One part of the message (an attachment, an inline image), decoded; by its range
        alone if the message has a part map. Over ``limit`` (None: any size, for a download
        by link) ``LimitExceeded``.
        """
        return self.part_of(self.message(owner, message_id), part_id, limit=limit)

    def part_of(
        self, message: StoredMessage, part_id: str, *, limit: int | None = MAX_PART_BYTES
    ) -> PartBytes:
        """``part`` of a message already read (and so known to be the caller's)."""
        from mailport.domain.reading import Mismatch, part, part_mapped  # noqa: PLC0415

        found: PartBytes | None = None
        if message.part_map is not None:
            mapped = message.part_map.find(part_id)
            if mapped is None:
                raise NotFound(say("mailbox.no_part"))
            if limit is not None and mapped.size > limit:  # refused before a byte is fetched
                raise LimitExceeded(say("mailbox.part_too_large", mb=limit // 1_000_000))
            try:
                found = part_mapped(message.part_map, self._fetch(message.raw_key), part_id)
            except Mismatch as e:
                _mismatch(message, e)
        if found is None:
            found = part(self._raw.get(message.raw_key), part_id)
        if found is None:
            raise NotFound(say("mailbox.no_part"))
        if limit is not None and len(found.data) > limit:
            raise LimitExceeded(say("mailbox.part_too_large", mb=limit // 1_000_000))
        return found

    def _fetch(self, key: str) -> Callable[[int, int], bytes]:
        return lambda start, end: self._raw.get_range(key, start, end)


def _mismatch(message: StoredMessage, error: Exception) -> None:
    # Never shown to anyone: the whole read that follows answers as before maps. Logged, as
    # a map that doesn't match its bytes is a bug to find.
    log.warning(
        "part map does not match the stored bytes; reading the whole message",
        extra={"message_id": message.message_id, "part_id": str(error)},
    )


def page_size(limit: object) -> int:
    """A page size from a query string (default 50, at most 200)."""
    if limit is None:
        return DEFAULT_PAGE
    try:
        size = int(str(limit))
    except ValueError as e:
        raise ValidationFailed(say("mailbox.limit_number")) from e
    if not 1 <= size <= MAX_PAGE:
        raise ValidationFailed(say("mailbox.limit_range", max=MAX_PAGE))
    return size


def _flags(current: Flags, changes: FlagChanges | None) -> Flags:
    if changes is None:
        return current
    return Flags(
        seen=changes.get("seen", current.seen),
        flagged=changes.get("flagged", current.flagged),
        answered=changes.get("answered", current.answered),
    )
