"""Upload batches: files from the user's PC, each with a result people understand."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from mailport.catalogue import Words


class FileStatus(StrEnum):
    """Where one uploaded file is."""

    PENDING = "pending"
    STORED = "stored"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """One version of a stored object: its bucket, key and ETag. A store given this can copy
    those exact bytes server-side instead of having them sent again.
    """

    bucket: str
    key: str
    etag: str


@dataclass(frozen=True, slots=True)
class Fetched:
    """An uploaded object's bytes, and the version they were read from."""

    raw: bytes
    ref: ObjectRef


@dataclass(frozen=True, slots=True)
class UploadFile:
    """One file of a batch."""

    index: int
    name: str
    size: int
    status: FileStatus = FileStatus.PENDING
    reason: str = ""  # a reason code (too_large, binary, ...) when rejected
    message: str = ""  # the reason in English (logs, older readers)
    message_words: Words | None = None  # the reason to show, in the reader's language
    message_id: str = ""


@dataclass(frozen=True, slots=True)
class UploadBatch:
    """A batch of files going into one folder."""

    batch_id: str
    folder_id: str
    apply_rules: bool
    created_at: dt.datetime
    files: tuple[UploadFile, ...]


@dataclass(frozen=True, slots=True)
class BatchHead:
    """What ingest needs to know about a batch; never changes after creation (cacheable)."""

    batch_id: str
    folder_id: str
    apply_rules: bool
    sizes: tuple[int, ...]  # declared size of each file, by index


@dataclass(frozen=True, slots=True)
class FileResult:
    """A file's final state, written together with the message it produced."""

    batch_id: str
    file: UploadFile


def upload_key(tenant_id: str, user_id: str, batch_id: str, index: int) -> str:
    """The object key of a file: under the user's own prefix; the file name is never in it."""
    return f"uploads/{tenant_id}/{user_id}/{batch_id}/{index:04d}"


@dataclass(frozen=True, slots=True)
class UploadKey:
    """An upload object key, parsed."""

    tenant_id: str
    user_id: str
    batch_id: str
    index: int


def parse_upload_key(key: str) -> UploadKey | None:
    """Parse a key made by ``upload_key``; None for anything else."""
    parts = key.split("/")
    expected_parts = 5
    if len(parts) != expected_parts or parts[0] != "uploads" or not parts[4].isdigit():
        return None
    if not all(parts[1:4]):
        return None
    return UploadKey(parts[1], parts[2], parts[3], int(parts[4]))
