"""The mailbox's ports: raw bytes, the message index and rules, uploads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from mailport.domain.mailbox import Folder, Indexed, InsertOutcome, Owner, StoredMessage
    from mailport.domain.search import SearchQuery
    from mailport.domain.uploads import (
        BatchHead,
        Fetched,
        FileResult,
        ObjectRef,
        UploadBatch,
        UploadFile,
    )
    from mailport.errors import NotFound


class RawStore(Protocol):
    """Raw message bytes, stored byte for byte."""

    def put(self, key: str, raw: bytes, origin: ObjectRef | None = None) -> None:
        """Store ``raw`` under ``key`` (overwrites: keys are deterministic). ``origin``, if
        given, is an object said to hold exactly ``raw``: the store may copy it instead of
        sending the bytes, but must end up holding ``raw`` either way.
        """
        ...

    def get(self, key: str) -> bytes:
        """The bytes under ``key``; ``NotFound`` if absent."""
        ...

    def get_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of the object under ``key`` (fewer past its end, none from
        past it); ``NotFound`` if absent. ``0 <= start < end``.
        """
        ...

    def delete(self, key: str) -> None:
        """Remove ``key`` (absent is fine)."""
        ...


class MessageIndex(Protocol):
    """Indexes many messages in a few requests (the import paths' common case)."""

    def insert_messages(
        self, entries: Sequence[tuple[Owner, StoredMessage]]
    ) -> list[tuple[InsertOutcome, str] | NotFound]:
        """Index each message as ``Mailbox.insert_message`` would, with the same guarantees:
        one answer per entry, in order; ``NotFound`` where its folder does not exist.
        """
        ...


class Mailbox(Protocol):
    """Folders, the message index and the rules of one user's mailbox."""

    def list_folders(self, owner: Owner) -> list[Folder]:
        """Every folder of the user, with counters."""
        ...

    def get_folder(self, owner: Owner, folder_id: str) -> Folder | None:
        """One folder, or None."""
        ...

    def create_folder(self, owner: Owner, folder: Folder) -> None:
        """Create a folder; ``Conflict`` if a sibling has the same name."""
        ...

    def update_folder(self, owner: Owner, before: Folder, after: Folder) -> None:
        """Rename and/or move a folder; ``Conflict`` on a sibling name clash."""
        ...

    def delete_folder(self, owner: Owner, folder: Folder) -> None:
        """Delete an empty folder; ``Conflict`` if it holds messages."""
        ...

    def insert_message(
        self, owner: Owner, message: StoredMessage, finish: FileResult | None = None
    ) -> tuple[InsertOutcome, str]:
        """Index a message (and, atomically, ``finish`` an upload file if given).

        Returns the outcome and the id of the message now indexed.
        """
        ...

    def get_message(self, owner: Owner, message_id: str) -> StoredMessage | None:
        """One message, or None."""
        ...

    def existing_messages(self, owner: Owner, message_ids: Sequence[str]) -> dict[str, Indexed]:
        """Which of ``message_ids`` are indexed, each with its job and content fingerprint."""
        ...

    def list_messages(
        self, owner: Owner, folder_id: str, limit: int, cursor: str | None
    ) -> tuple[list[StoredMessage], str | None]:
        """A page of a folder's messages, newest first, and the cursor of the next page."""
        ...

    def search_messages(
        self,
        owner: Owner,
        folder_ids: Sequence[str],
        query: SearchQuery,
        limit: int,
        cursor: str | None,
        *,
        all_folders: bool = False,
    ) -> tuple[list[StoredMessage], str | None]:
        """Up to ``limit`` messages of ``folder_ids`` matching ``query`` (folder after folder
        in that order, each newest first), and the cursor of the next page. Reads only the
        index (``mailport.domain.search.gather``: a page may come back short, or empty,
        with a cursor when a bounded read found too few). When ``folder_ids`` are
        ``all_folders`` of the caller's, a cursor whose folder was deleted since goes on with
        the next folder (otherwise it is refused as any cursor of another folder).
        """
        ...

    def update_message(self, owner: Owner, before: StoredMessage, after: StoredMessage) -> None:
        """Change flags and/or folder, keeping the counters right."""
        ...

    def delete_message(self, owner: Owner, message: StoredMessage) -> None:
        """Remove a message from the index, keeping the counters right."""
        ...

    def get_rules_document(self, owner: Owner) -> dict[str, object] | None:
        """The stored auto-sort rules (JSON), or None."""
        ...

    def put_rules_document(self, owner: Owner, document: dict[str, object]) -> None:
        """Replace the auto-sort rules."""
        ...


class Uploads(Protocol):
    """Upload batches and the result of each file."""

    def create_batch(self, owner: Owner, batch: UploadBatch) -> None:
        """Record a new batch and its files."""
        ...

    def get_batch(self, owner: Owner, batch_id: str) -> UploadBatch | None:
        """A batch with every file's state, or None."""
        ...

    def get_head(self, owner: Owner, batch_id: str) -> BatchHead | None:
        """What ingest needs of a batch, or None."""
        ...

    def finish_file(self, owner: Owner, batch_id: str, result: UploadFile) -> bool:
        """Record a file's final state once; False if it was already final."""
        ...


class UploadObjects(Protocol):
    """The bucket browsers upload into."""

    def presign(self, key: str, size: int, expires_s: int) -> dict[str, Any]:
        """A presigned POST (``{"url", "fields"}``) for exactly ``key`` and ``size`` bytes."""
        ...

    def size(self, key: str) -> int | None:
        """The object's size, or None if it is not there."""
        ...

    def read(self, key: str) -> Fetched:
        """The object's bytes and the version read; ``NotFound`` if absent."""
        ...

    def delete(self, keys: list[str]) -> list[str]:
        """Remove uploads once they have been dealt with (one request for many); the keys
        that could not be removed.
        """
        ...
