"""``.eml`` upload: presigned POSTs for a batch, then one ingest per uploaded object."""

from __future__ import annotations

import datetime as dt
import logging
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, NotRequired, TypedDict

from mailport.catalogue import Words, say
from mailport.domain.mailbox import InsertOutcome, Owner, Source, SourceType, message_id_for
from mailport.domain.mime import NotAMessage
from mailport.domain.uploads import (
    BatchHead,
    Fetched,
    FileResult,
    FileStatus,
    UploadBatch,
    UploadFile,
    UploadKey,
    parse_upload_key,
    upload_key,
)
from mailport.errors import NotFound
from mailport.ports import UploadObjects, Uploads
from mailport.usecases.importing import Importer, ImportRequest
from mailport.usecases.mailbox import MailboxService

log = logging.getLogger(__name__)

MAX_FILES = 500
MAX_NAME = 255
# The largest size a file may declare: every JSON client reads integers up to 2^53 - 1
# exactly, and DynamoDB numbers hold 38 digits (10^39 failed the batch's write: a 500).
MAX_DECLARED_SIZE = 2**53 - 1
URL_EXPIRES_S = 15 * 60


class DeclaredFile(TypedDict):
    """A file as the request declares it: a name, and a size of 0..``MAX_DECLARED_SIZE``."""

    name: str
    size: int


class UploadRequest(TypedDict):
    """A batch to start: 1..``MAX_FILES`` files into an existing folder (the API's
    ``UploadIn`` checks the bounds).
    """

    folder_id: str
    apply_rules: NotRequired[bool]
    files: list[DeclaredFile]


@dataclass(frozen=True, slots=True)
class NewBatch:
    """A created batch and, per file, where to POST it (None when refused up front)."""

    batch: UploadBatch
    posts: dict[int, dict[str, Any]]


class UploadService:
    """Creating batches, reading their state, and ingesting what lands in the bucket."""

    def __init__(
        self,
        *,
        folders: MailboxService,
        uploads: Uploads,
        objects: UploadObjects,
        importer: Importer,
        max_bytes: int,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._uploads = uploads
        self._objects = objects
        self._importer = importer
        self._folders = folders
        self._heads: dict[tuple[str, str, str], BatchHead] = {}
        self._max = max_bytes
        self._clock = clock

    def create(self, owner: Owner, request: UploadRequest) -> NewBatch:
        """Issue a presigned POST per acceptable file of ``request`` (already checked against
        its model at the API's edge).
        """
        folder = self._folders.folder(owner, request["folder_id"])
        apply_rules = request.get("apply_rules", False)
        files = [self._file(i, f) for i, f in enumerate(request["files"])]
        batch = UploadBatch(
            batch_id=f"u{uuid.uuid4().hex[:24]}",
            folder_id=folder.folder_id,
            apply_rules=apply_rules,
            created_at=self._clock(),
            files=tuple(files),
        )
        self._uploads.create_batch(owner, batch)
        posts = {
            f.index: self._objects.presign(
                upload_key(owner.tenant_id, owner.user_id, batch.batch_id, f.index),
                f.size,
                URL_EXPIRES_S,
            )
            for f in files
            if f.status is FileStatus.PENDING
        }
        return NewBatch(batch, posts)

    def _file(self, index: int, entry: DeclaredFile) -> UploadFile:
        name, size = entry["name"], entry["size"]
        # Names are shown back to the user, never used as paths or keys.
        clean = "".join(
            ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch) != "Cc"
        )[:MAX_NAME]
        pending = UploadFile(index, clean, size)
        if size == 0:
            return _rejected(pending, "empty", say("uploads.file_empty"))
        if size >= self._max:
            size_mb = f"{size / (1024 * 1024):.1f}"
            limit = say("uploads.file_too_large", size=size_mb, limit=self._max // (1024 * 1024))
            return _rejected(pending, "too_large", limit)
        return pending

    def get(self, owner: Owner, batch_id: str) -> UploadBatch:
        """A batch of the caller's; ``NotFound`` for anybody else's."""
        batch = self._uploads.get_batch(owner, batch_id)
        if batch is None:
            raise NotFound(say("uploads.not_found"))
        return batch

    def ingest(self, key: str, size: int | None = None) -> Ingested:
        """Deal with one uploaded object (idempotent: S3 events come at least once).

        ``size`` is the object size from the S3 event, which saves asking S3 for it. The
        object is not deleted here: callers collect ``Ingested.key`` and call ``cleanup`` once
        per batch of events (the bucket's lifecycle rule catches anything left behind).
        """
        parsed = parse_upload_key(key)
        head = self._head(parsed) if parsed is not None else None
        if parsed is None or head is None or parsed.index >= len(head.sizes):
            log.warning("an upload that belongs to no batch was removed", extra={"key": key})
            return Ingested(key, None)
        owner = Owner(parsed.tenant_id, parsed.user_id)
        file = UploadFile(parsed.index, "", head.sizes[parsed.index])
        result, recorded = self._process(owner, head, file, key, size)
        if not recorded and not self._uploads.finish_file(owner, head.batch_id, result):
            # An earlier delivery ended the file: what this one found (the upload already
            # removed, say) is not the file's result, which stays as recorded.
            return Ingested(key, result, repeated=True)
        return Ingested(key, result)

    def cleanup(self, keys: list[str]) -> list[str]:
        """Remove dealt-with uploads, many per request; the keys still in the bucket."""
        return self._objects.delete(sorted(set(keys))) if keys else []

    def _head(self, parsed: UploadKey) -> BatchHead | None:
        """Batch heads never change, so each is read once per process."""
        cache_key = (parsed.tenant_id, parsed.user_id, parsed.batch_id)
        head = self._heads.get(cache_key)
        if head is None:
            head = self._uploads.get_head(Owner(parsed.tenant_id, parsed.user_id), parsed.batch_id)
            if head is not None:
                if len(self._heads) >= _HEAD_CACHE:
                    self._heads.pop(next(iter(self._heads)))
                self._heads[cache_key] = head
        return head

    def _process(
        self, owner: Owner, head: BatchHead, file: UploadFile, key: str, size: int | None
    ) -> tuple[UploadFile, bool]:
        """The file's result, and whether it was already recorded with the message."""
        size = self._objects.size(key) if size is None else size
        refused = self._refuse_by_size(file, size)
        if refused is not None:
            return refused, False
        try:
            fetched = self._objects.read(key)
        except NotFound:
            return _rejected(file, "missing", _MISSING), False
        if len(fetched.raw) != file.size:
            return _rejected(file, "size_mismatch", _CHANGED), False
        return self._import(owner, head, file, key, fetched)

    def _import(
        self, owner: Owner, head: BatchHead, file: UploadFile, key: str, fetched: Fetched
    ) -> tuple[UploadFile, bool]:
        message_id = message_id_for("upload", head.batch_id, key)
        stored_file = replace(file, status=FileStatus.STORED, message_id=message_id)
        try:
            stored = self._importer.store(
                ImportRequest(
                    owner=owner,
                    raw=fetched.raw,
                    origin=fetched.ref,
                    folder_id=head.folder_id,
                    source=Source(SourceType.UPLOAD, head.batch_id),
                    message_id=message_id,
                    apply_rules=head.apply_rules,
                    # The file's result is written in the same transaction as the message.
                    finish=FileResult(head.batch_id, stored_file),
                )
            )
        except NotAMessage as e:
            return _rejected(file, e.reason, e.words or e.message), False
        except NotFound as e:
            gone = say("uploads.choose_another_folder", problem=e.words or e.message)
            return _rejected(file, "folder_gone", gone), False
        if stored.outcome is InsertOutcome.DUPLICATE:
            duplicate = replace(
                file,
                status=FileStatus.DUPLICATE,
                message=str(_DUPLICATE),
                message_words=_DUPLICATE,
                message_id=stored.message_id,
            )
            return duplicate, False
        # STORED: the result went out with the index write. ALREADY_STORED (a retry): record
        # it now unless an earlier delivery did (finish_file is conditional).
        return stored_file, stored.outcome is InsertOutcome.STORED

    def _refuse_by_size(self, file: UploadFile, size: int | None) -> UploadFile | None:
        if size is None:
            return _rejected(file, "missing", _MISSING)
        if size >= self._max:
            limit = say("uploads.file_over_limit", limit=self._max // (1024 * 1024))
            return _rejected(file, "too_large", limit)
        if size != file.size:
            return _rejected(file, "size_mismatch", _CHANGED)
        return None


@dataclass(frozen=True, slots=True)
class Ingested:
    """What ingesting one object did: the key to clean up and the file's result (None for an
    object that belongs to no batch). ``repeated``: the file had already ended (a repeated
    delivery), so ``result`` is only what this delivery found and is not to be counted.
    """

    key: str
    result: UploadFile | None
    repeated: bool = False


_HEAD_CACHE = 1024


_MISSING = say("uploads.missing")
_CHANGED = say("uploads.size_changed")
_DUPLICATE = say("uploads.duplicate")


def _rejected(file: UploadFile, reason: str, said: Words | str) -> UploadFile:
    """A rejected file with its reason, in English and (when known) in words."""
    words = said if isinstance(said, Words) else None
    return replace(
        file, status=FileStatus.REJECTED, reason=reason, message=str(said), message_words=words
    )
