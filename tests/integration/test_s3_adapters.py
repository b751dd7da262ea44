"""The S3 adapters against the emulator over HTTP, and the presigned POST's conditions."""

from __future__ import annotations

import base64
import json
import uuid

import boto3
import pytest
import requests

from mailport.adapters.clients import Clients
from mailport.adapters.s3 import S3RawStore, S3UploadBucket
from mailport.domain.uploads import ObjectRef
from mailport.errors import NotFound
from mailport_local.stack import LocalStack

pytestmark = pytest.mark.stack


@pytest.fixture
def bucket(local_stack: LocalStack) -> str:
    name = f"s3test-{uuid.uuid4().hex[:8]}"
    boto3.client("s3").create_bucket(Bucket=name)
    return name


def test_raw_store_keeps_bytes_exactly(bucket: str) -> None:
    store = S3RawStore(bucket, client=Clients().s3)
    raw = b"From: a\r\n\r\n\x00\xff\x1b$B\r\n"
    store.put("mail/t/u/m1.eml", raw)
    assert store.get("mail/t/u/m1.eml") == raw
    store.delete("mail/t/u/m1.eml")
    store.delete("mail/t/u/m1.eml")  # absent is fine
    with pytest.raises(NotFound):
        store.get("mail/t/u/m1.eml")


@pytest.mark.parametrize("source", ["same", "changed", "gone"])
def test_raw_store_copies_an_origin_only_when_it_holds_the_bytes(bucket: str, source: str) -> None:
    s3 = boto3.client("s3")
    raw, other = b"From: a\r\n\r\none\r\n", b"From: a\r\n\r\ntwo\r\n"
    etag = s3.put_object(Bucket=bucket, Key="uploads/u1", Body=raw)["ETag"]
    if source == "changed":
        s3.put_object(Bucket=bucket, Key="uploads/u1", Body=other)
    elif source == "gone":
        s3.delete_object(Bucket=bucket, Key="uploads/u1")
    session = boto3.session.Session()
    calls: list[str] = []
    session.events.register("before-call.s3", lambda model, **_: calls.append(model.name))
    S3RawStore(bucket, client=Clients(session).s3).put(
        "mail/t/u/m.eml", raw, ObjectRef(bucket, "uploads/u1", etag)
    )
    got = s3.get_object(Bucket=bucket, Key="mail/t/u/m.eml")
    assert (got["Body"].read(), got["ContentType"]) == (raw, "message/rfc822")
    # The copy is refused (412 or NoSuchKey) when the source no longer holds the bytes read.
    assert calls == (["CopyObject"] if source == "same" else ["CopyObject", "PutObject"])


def test_upload_bucket_reads_sizes_and_deletes_many(bucket: str) -> None:
    uploads = S3UploadBucket(bucket, client=Clients().s3_presign)
    s3 = boto3.client("s3")
    for n in range(3):
        s3.put_object(Bucket=bucket, Key=f"uploads/k{n}", Body=b"x" * (n + 10))
    assert uploads.size("uploads/k2") == 12
    assert uploads.size("uploads/none") is None
    fetched = uploads.read("uploads/k1")
    assert fetched.raw == b"x" * 11
    assert fetched.ref == ObjectRef(
        bucket, "uploads/k1", s3.head_object(Bucket=bucket, Key="uploads/k1")["ETag"]
    )
    uploads.delete([f"uploads/k{n}" for n in range(3)] + ["uploads/none"])
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    with pytest.raises(NotFound):
        uploads.read("uploads/k1")


def test_presigned_post_pins_key_size_and_type(bucket: str) -> None:
    post = S3UploadBucket(bucket, client=Clients().s3_presign).presign(
        "uploads/t/u/b/0000", 1234, 900
    )
    policy = json.loads(base64.b64decode(post["fields"]["policy"]))
    conditions = policy["conditions"]
    # What we ask S3 to enforce (the local stack enforces it too: test_moto_patches.py).
    assert ["content-length-range", 1234, 1234] in conditions
    assert {"key": "uploads/t/u/b/0000"} in conditions
    assert {"Content-Type": "message/rfc822"} in conditions
    # Signed with SigV4: S3 refuses SigV2 (boto3's default for presigned POSTs) on new buckets.
    assert post["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert "signature" not in post["fields"] and "x-amz-signature" in post["fields"]
    r = requests.post(
        post["url"], data=post["fields"], files={"file": ("x", b"y" * 1234)}, timeout=30
    )
    assert r.status_code in (200, 204)
    assert S3UploadBucket(bucket, client=Clients().s3_presign).size("uploads/t/u/b/0000") == 1234
