"""The raw store copies an upload inside S3 only when S3's checksum of the copy is the
checksum of the bytes that were read; otherwise it sends those bytes."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from mailport.adapters.s3 import S3RawStore
from mailport.domain.uploads import ObjectRef


class Client:
    """Answers CopyObject with ``checksum`` and records every call."""

    def __init__(self, checksum: str | None) -> None:
        self.checksum = checksum
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def copy_object(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("copy_object", kwargs))
        result = {} if self.checksum is None else {"ChecksumSHA256": self.checksum}
        return {"CopyObjectResult": result}

    def put_object(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("put_object", kwargs))
        return {}


RAW = b"From: a\r\n\r\nbody\r\n"
OURS = base64.b64encode(hashlib.sha256(RAW).digest()).decode()
ORIGIN = ObjectRef("uploads", "uploads/t/u/b/0000", '"etag"')


@pytest.mark.parametrize(
    ("answer", "sent"),
    [(OURS, False), (base64.b64encode(b"x" * 32).decode(), True), (None, True)],
    ids=["same-checksum", "other-checksum", "no-checksum"],
)
def test_a_copy_counts_only_with_our_checksum(answer: str | None, sent: bool) -> None:
    client = Client(answer)
    S3RawStore("mail", client=lambda: client).put("mail/t/u/m.eml", RAW, ORIGIN)
    (op, copy), *rest = client.calls
    assert op == "copy_object"
    assert copy["CopySource"] == {"Bucket": "uploads", "Key": "uploads/t/u/b/0000"}
    assert copy["CopySourceIfMatch"] == '"etag"' and copy["ChecksumAlgorithm"] == "SHA256"
    assert [(o, k.get("Body"), k.get("ChecksumSHA256")) for o, k in rest] == (
        [("put_object", RAW, OURS)] if sent else []
    )


def test_without_an_origin_the_bytes_are_sent() -> None:
    client = Client(OURS)
    S3RawStore("mail", client=lambda: client).put("k", RAW)
    assert [op for op, _ in client.calls] == ["put_object"]
