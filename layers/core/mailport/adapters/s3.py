"""S3 adapters: the raw message store and the upload bucket."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from mailport.adapters.aws_errors import back_off, translate
from mailport.adapters.clients import ClientSource
from mailport.catalogue import Words, say
from mailport.domain.uploads import Fetched, ObjectRef
from mailport.errors import NotFound

_MISSING = {"NoSuchKey", "404", "NotFound"}
# A copy's source changed (its ETag no longer matches) or is gone (a concurrent delivery of
# the same S3 event cleaned it up): the caller still holds the bytes, so it sends them.
_SOURCE_MOVED = _MISSING | {"PreconditionFailed", "412"}
_DELETE_ATTEMPTS = 3  # per batch of keys, for the keys DeleteObjects lists in Errors


def missing(error: ClientError) -> bool:
    """Whether S3 said the object is not there."""
    return error.response.get("Error", {}).get("Code") in _MISSING


def _read(s3: Any, what: Words, gone: Words | str, **kwargs: Any) -> tuple[bytes, str]:
    """An object's bytes and ETag; ``NotFound(gone)`` if it is not there. A ``Range`` that
    starts past the object's end (S3's 416 InvalidRange) reads no bytes.
    """
    try:
        got = s3.get_object(**kwargs)
        body: bytes = got["Body"].read()
    except ClientError as e:
        if "Range" in kwargs and e.response.get("Error", {}).get("Code") == "InvalidRange":
            return b"", ""
        if missing(e):
            raise NotFound(gone) from e
        raise translate(e, what) from e
    except BotoCoreError as e:
        raise translate(e, what) from e
    return body, str(got.get("ETag", ""))


def head(s3: Any, what: Words, **kwargs: Any) -> dict[str, Any] | None:
    """An object's HeadObject answer; None if it is not there."""
    try:
        found: dict[str, Any] = s3.head_object(**kwargs)
    except ClientError as e:
        if missing(e):
            return None
        raise translate(e, what) from e
    except BotoCoreError as e:
        raise translate(e, what) from e
    return found


class S3RawStore:
    """``RawStore`` on a bucket: bytes in, the same bytes out."""

    def __init__(self, bucket: str, *, client: ClientSource) -> None:
        self._bucket = bucket
        self._client = client

    @property
    def _s3(self) -> Any:
        return self._client()

    def put(self, key: str, raw: bytes, origin: ObjectRef | None = None) -> None:
        """Store ``raw`` under ``key``; S3 checks the SHA-256 we send (no silent corruption).

        With an ``origin`` the bytes are copied inside S3 (no second transfer of up to 50 MB
        out of the Lambda); if that copy can't be shown to hold ``raw``, they are sent.
        """
        checksum = base64.b64encode(hashlib.sha256(raw).digest()).decode("ascii")
        if origin is not None and self._copied(key, origin, checksum):
            return
        try:
            self._s3.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=raw,
                ContentType="message/rfc822",
                ChecksumSHA256=checksum,
            )
        except (ClientError, BotoCoreError) as e:
            raise translate(e, say("doing.message_store")) from e

    def _copied(self, key: str, origin: ObjectRef, checksum: str) -> bool:
        """Copy ``origin`` to ``key`` inside S3; True if S3's SHA-256 of the copy is ours.

        ``CopySourceIfMatch`` pins the version that was read and hashed; the checksum S3
        computes over the copy proves it (an ETag alone is an MD5, or not one at all for
        multipart objects).
        """
        try:
            result = self._s3.copy_object(
                Bucket=self._bucket,
                Key=key,
                CopySource={"Bucket": origin.bucket, "Key": origin.key},
                CopySourceIfMatch=origin.etag,
                MetadataDirective="REPLACE",
                ContentType="message/rfc822",
                ChecksumAlgorithm="SHA256",
            )
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in _SOURCE_MOVED:
                return False
            raise translate(e, say("doing.message_store")) from e
        except BotoCoreError as e:
            raise translate(e, say("doing.message_store")) from e
        return bool(result.get("CopyObjectResult", {}).get("ChecksumSHA256") == checksum)

    def get(self, key: str) -> bytes:
        """The bytes under ``key``; ``NotFound`` if absent."""
        return self._get(Key=key)

    def get_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` under ``key``: one GetObject with a ``Range`` (its end is
        inclusive); none if ``start`` is past the object's end.
        """
        return self._get(Key=key, Range=f"bytes={start}-{end - 1}")

    def _get(self, **kwargs: Any) -> bytes:
        what, gone = say("doing.message_read"), "the message's content is missing"
        return _read(self._s3, what, gone, Bucket=self._bucket, **kwargs)[0]

    def delete(self, key: str) -> None:
        """Remove ``key`` (absent is fine)."""
        try:
            self._s3.delete_object(Bucket=self._bucket, Key=key)
        except (ClientError, BotoCoreError) as e:
            raise translate(e, say("doing.message_delete")) from e


class S3UploadBucket:
    """``UploadObjects`` on the upload bucket: presigned POSTs and reading what arrived.

    ``client`` must sign with SigV4 (``Clients.s3_presign``): S3 refuses SigV2 on buckets
    created after June 2020.
    """

    def __init__(self, bucket: str, *, client: ClientSource) -> None:
        self._bucket = bucket
        self._client = client

    @property
    def _s3(self) -> Any:
        return self._client()

    def presign(self, key: str, size: int, expires_s: int) -> dict[str, Any]:
        """A presigned POST for exactly ``key`` and exactly ``size`` bytes."""
        try:
            post: dict[str, Any] = self._s3.generate_presigned_post(
                Bucket=self._bucket,
                Key=key,
                Fields={"Content-Type": "message/rfc822"},
                Conditions=[
                    {"Content-Type": "message/rfc822"},
                    # The declared size, exactly: a different file can't ride on this URL.
                    ["content-length-range", size, size],
                ],
                ExpiresIn=expires_s,
            )
        except (ClientError, BotoCoreError) as e:
            raise translate(e, say("doing.upload_prepare")) from e
        return post

    def size(self, key: str) -> int | None:
        """The object's size, or None if it is not there."""
        found = head(self._s3, say("doing.upload_read"), Bucket=self._bucket, Key=key)
        return None if found is None else int(found["ContentLength"])

    def read(self, key: str) -> Fetched:
        """The object's bytes and the version (ETag) they were read from."""
        raw, etag = _read(
            self._s3,
            say("doing.upload_read"),
            "the uploaded file is gone",
            Bucket=self._bucket,
            Key=key,
        )
        return Fetched(raw, ObjectRef(self._bucket, key, etag))

    def delete(self, keys: list[str]) -> list[str]:
        """Remove uploads once they have been dealt with (1,000 keys per request). Returns the
        keys S3 did not remove: ``DeleteObjects`` answers 200 and lists per-key ``Errors``, so
        those are tried twice more, then reported (the bucket's lifecycle rule removes them).
        """
        left: list[str] = []
        for i in range(0, len(keys), 1000):
            left += self._delete_some(keys[i : i + 1000])
        return left

    def _delete_some(self, keys: list[str]) -> list[str]:
        pending = keys
        for attempt in range(_DELETE_ATTEMPTS):
            if attempt:
                back_off(attempt)
            try:
                result = self._s3.delete_objects(
                    Bucket=self._bucket,
                    Delete={"Objects": [{"Key": k} for k in pending], "Quiet": True},
                )
            except (ClientError, BotoCoreError) as e:
                raise translate(e, say("doing.upload_clean_up")) from e
            failed = {str(e.get("Key")) for e in result.get("Errors", [])}
            pending = [k for k in pending if k in failed]
            if not pending:
                break
        return pending
