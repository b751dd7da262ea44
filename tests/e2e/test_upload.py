"""Upload end to end: API → presigned POST to S3 → S3 event → SQS → ingest → mailbox."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from typing import Any

import boto3
import pytest
import requests

from mailport.adapters.clients import Clients
from mailport.adapters.s3 import S3UploadBucket
from mailport_local.stack import LocalStack
from tests.support.api import login

pytestmark = pytest.mark.stack

GOOD = (
    b"From: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <yamada@example.jp>\r\n"
    b"To: alice@acme.example\r\nSubject: =?UTF-8?B?5pel5pys6Kqe44Gu5Lu25ZCN?=\r\n"
    b"Date: Tue, 02 Jan 2024 09:00:00 +0900\r\nMessage-ID: <good-1@example.jp>\r\n\r\nhello\r\n"
)
NO_ID = b"From: a@example.com\nSubject: no message id\n\nbody\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
UTF16 = "From: a@example.com\r\nSubject: x\r\n\r\nbody".encode("utf-16")
MBOX = (
    b"From a@example.com Mon Jan 1 00:00:00 2024\nSubject: 1\n\nx\n\n"
    b"From b@example.com Mon Jan 1 00:00:00 2024\nSubject: 2\n\ny\n"
)


def start(
    stack: LocalStack,
    headers: dict[str, str],
    files: dict[str, bytes],
    sizes: dict[str, int] | None = None,
    folder: str = "inbox",
) -> dict[str, Any]:
    declared = [{"name": n, "size": (sizes or {}).get(n, len(b))} for n, b in files.items()]
    r = requests.post(
        f"{stack.api_url}/v1/uploads",
        headers=headers,
        json={"folder_id": folder, "files": declared},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def upload_all(batch: dict[str, Any], files: dict[str, bytes]) -> None:
    for entry in batch["files"]:
        post = entry["upload"]
        if post is None:
            continue
        r = requests.post(
            post["url"],
            data=post["fields"],
            files={"file": (entry["name"], files[entry["name"]])},
            timeout=30,
        )
        assert r.status_code in (200, 204), r.text


def wait_done(
    stack: LocalStack, headers: dict[str, str], batch_id: str, timeout: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = requests.get(
            f"{stack.api_url}/v1/uploads/{batch_id}", headers=headers, timeout=10
        ).json()
        if state["done"]:
            return dict(state)
        time.sleep(0.2)
    raise AssertionError(f"upload {batch_id} did not finish: {state}")


def test_upload_stores_good_files_and_explains_the_rest(local_stack: LocalStack) -> None:
    headers = login(local_stack, "bob@acme.example", "acme")
    files = {
        "good.eml": GOOD,
        "noid.eml": NO_ID,
        "photo.png": PNG,
        "utf16.txt": UTF16,
        "export.mbox": MBOX,
        "empty.eml": b"",
        "huge.eml": b"x",
    }
    batch = start(local_stack, headers, files, sizes={"huge.eml": 50 * 1024 * 1024})
    by_name = {f["name"]: f for f in batch["files"]}
    # Refused before any URL is issued.
    assert by_name["huge.eml"]["status"] == "rejected" and by_name["huge.eml"]["upload"] is None
    assert by_name["huge.eml"]["reason"] == "too_large"
    assert by_name["empty.eml"]["status"] == "rejected" and by_name["empty.eml"]["upload"] is None
    post = by_name["good.eml"]["upload"]
    assert post["fields"]["key"].startswith("uploads/acme/")
    assert "good.eml" not in post["fields"]["key"]  # names are never keys
    upload_all(batch, files)
    state = wait_done(local_stack, headers, batch["id"])
    result = {f["name"]: f for f in state["files"]}
    assert result["good.eml"]["status"] == "stored"
    assert result["noid.eml"]["status"] == "stored"
    assert (result["photo.png"]["status"], result["photo.png"]["reason"]) == ("rejected", "binary")
    assert (result["utf16.txt"]["status"], result["utf16.txt"]["reason"]) == ("rejected", "utf16")
    assert (result["export.mbox"]["status"], result["export.mbox"]["reason"]) == (
        "rejected",
        "mbox",
    )
    assert all(f["message"] for f in state["files"] if f["status"] == "rejected")

    message_id = result["good.eml"]["message_id"]
    message = requests.get(
        f"{local_stack.api_url}/v1/messages/{message_id}", headers=headers, timeout=10
    ).json()
    assert message["subject"] == "日本語の件名"
    assert message["from"][0] == {"name": "山田", "email": "yamada@example.jp"}
    assert message["source"] == {"type": "upload", "id": batch["id"]}
    raw = requests.get(
        f"{local_stack.api_url}/v1/messages/{message_id}/raw",
        headers={**headers, "Accept": "message/rfc822"},
        timeout=10,
    )
    assert (
        raw.status_code == 200
        and hashlib.sha256(raw.content).hexdigest() == hashlib.sha256(GOOD).hexdigest()
    )
    noid = requests.get(
        f"{local_stack.api_url}/v1/messages/{result['noid.eml']['message_id']}",
        headers=headers,
        timeout=10,
    ).json()
    assert (
        noid["message_id_header"].endswith("@mailport.invalid>")
        or "mailport" in noid["message_id_header"]
    )
    # Nothing is left in the upload bucket.
    listed = boto3.client("s3").list_objects_v2(
        Bucket=local_stack.physical_id("UploadBucket"), Prefix="uploads/acme/"
    )
    assert not [o for o in listed.get("Contents", []) if batch["id"] in o["Key"]]


def test_the_same_file_twice_is_a_duplicate(local_stack: LocalStack) -> None:
    # A user of its own: the demo users' mailboxes are shared with other tiers' tests.
    headers = login(local_stack, f"twice-{uuid.uuid4().hex[:6]}@acme.example", "acme")
    raw = GOOD.replace(b"good-1", b"twice-1")
    first = start(local_stack, headers, {"a.eml": raw})
    upload_all(first, {"a.eml": raw})
    assert wait_done(local_stack, headers, first["id"])["files"][0]["status"] == "stored"
    second = start(local_stack, headers, {"again.eml": raw})
    upload_all(second, {"again.eml": raw})
    again = wait_done(local_stack, headers, second["id"])["files"][0]
    assert again["status"] == "duplicate" and again["message"]
    folder = requests.get(f"{local_stack.api_url}/v1/folders", headers=headers, timeout=10).json()[
        "folders"
    ][0]
    assert folder["id"] == "inbox" and folder["total"] == 1


def test_repeated_and_stray_events_change_nothing(local_stack: LocalStack) -> None:
    headers = login(local_stack, "alice@acme.example", "acme")
    raw = GOOD.replace(b"good-1", b"repeat-1")
    batch = start(local_stack, headers, {"r.eml": raw})
    upload_all(batch, {"r.eml": raw})
    done = wait_done(local_stack, headers, batch["id"])
    before = requests.get(f"{local_stack.api_url}/v1/folders", headers=headers, timeout=10).json()
    key = batch["files"][0]["upload"]["fields"]["key"]
    event = {
        "Records": [
            {
                "messageId": "dup-1",
                "receiptHandle": "x",
                "body": json.dumps(
                    {
                        "Records": [
                            {
                                "eventSource": "aws:s3",
                                "eventName": "ObjectCreated:Post",
                                "s3": {
                                    "bucket": {"name": local_stack.physical_id("UploadBucket")},
                                    "object": {"key": key, "size": len(raw)},
                                },
                            }
                        ]
                    }
                ),
                "attributes": {},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn",
                "awsRegion": "us-east-1",
            }
        ]
    }
    result = local_stack.lambdas["EmlIngestFunction"].invoke(event)
    assert result == {"batchItemFailures": []}
    after = requests.get(f"{local_stack.api_url}/v1/folders", headers=headers, timeout=10).json()
    assert after == before
    assert (
        requests.get(
            f"{local_stack.api_url}/v1/uploads/{batch['id']}", headers=headers, timeout=10
        ).json()
        == done
    )
    # An object under another user's prefix naming alice's batch: removed, not stored.
    s3 = boto3.client("s3")
    stray = key.replace("/acme/", "/acme/").split("/")
    stray[2] = "someone-else"
    stray_key = "/".join(stray)
    s3.put_object(Bucket=local_stack.physical_id("UploadBucket"), Key=stray_key, Body=raw)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if "Contents" not in s3.list_objects_v2(
            Bucket=local_stack.physical_id("UploadBucket"), Prefix=stray_key
        ):
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the stray upload was not removed")
    assert (
        requests.get(f"{local_stack.api_url}/v1/folders", headers=headers, timeout=10).json()
        == after
    )


def test_other_users_batches_are_404(local_stack: LocalStack) -> None:
    alice = login(local_stack, "alice@acme.example", "acme")
    batch = start(local_stack, alice, {"x.eml": GOOD})
    bob = login(local_stack, "bob@acme.example", "acme")
    r = requests.get(f"{local_stack.api_url}/v1/uploads/{batch['id']}", headers=bob, timeout=10)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_basic_plan_cannot_upload(local_stack: LocalStack) -> None:
    dave = login(local_stack, "dave@smallco.example", "smallco")
    r = requests.post(
        f"{local_stack.api_url}/v1/uploads",
        headers=dave,
        json={"folder_id": "inbox", "files": [{"name": "a.eml", "size": 10}]},
        timeout=10,
    )
    assert r.status_code == 403
    assert (
        r.json()["error"]["code"] == "plan_required" and "advanced" in r.json()["error"]["message"]
    )
    assert (
        requests.get(f"{local_stack.api_url}/v1/folders", headers=dave, timeout=10).status_code
        == 200
    )


@pytest.mark.parametrize(
    "body",
    [
        None,
        {"files": [{"name": "a", "size": 1}]},
        {"folder_id": "inbox"},
        {"folder_id": "inbox", "files": []},
        {"folder_id": "inbox", "files": [{"name": "", "size": 1}]},
        {"folder_id": "inbox", "files": [{"name": "a", "size": -1}]},
        {"folder_id": "inbox", "files": [{"name": "a", "size": "1"}]},
        {"folder_id": "inbox", "apply_rules": "yes", "files": [{"name": "a", "size": 1}]},
    ],
)
def test_bad_upload_requests_are_400(local_stack: LocalStack, body: object) -> None:
    headers = login(local_stack, "alice@acme.example", "acme")
    r = requests.post(f"{local_stack.api_url}/v1/uploads", headers=headers, json=body, timeout=10)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["message"]


def test_upload_into_someone_elses_folder_is_404(local_stack: LocalStack) -> None:
    alice = login(local_stack, "alice@acme.example", "acme")
    folder = requests.post(
        f"{local_stack.api_url}/v1/folders", headers=alice, json={"name": "Private"}, timeout=10
    ).json()
    bob = login(local_stack, "bob@acme.example", "acme")
    r = requests.post(
        f"{local_stack.api_url}/v1/uploads",
        headers=bob,
        json={"folder_id": folder["id"], "files": [{"name": "a", "size": 5}]},
        timeout=10,
    )
    assert r.status_code == 404


def test_a_presigned_post_is_refused_for_another_key_more_bytes_or_too_late(
    local_stack: LocalStack,
) -> None:
    """S3 checks the POST policy (moto with the local stack's policy check does as S3):
    alice's form used for bob's key, for more bytes than she declared, or after it expired,
    is refused, and nothing is stored or ingested. The same form, unchanged, then works.
    """
    tag = uuid.uuid4().hex[:8]
    alice = login(local_stack, f"alice-{tag}@acme.example", "acme")
    bob = login(local_stack, f"bob-{tag}@acme.example", "acme")
    raw = f"From: a@example.org\r\nSubject: policy {tag}\r\nMessage-ID: <{tag}@x>\r\n\r\nhi\r\n"
    files = {"m.eml": raw.encode()}
    mine, theirs = start(local_stack, alice, files), start(local_stack, bob, files)
    post = mine["files"][0]["upload"]
    key, their_key = post["fields"]["key"], theirs["files"][0]["upload"]["fields"]["key"]
    assert key.split("/")[2] != their_key.split("/")[2]  # uploads/<tenant>/<user>/…

    def send(body: bytes, form: dict[str, Any]) -> requests.Response:
        return requests.post(form["url"], data=form["fields"], files={"file": body}, timeout=30)

    condition_failed = "<Message>Invalid according to Policy: Policy Condition failed: "
    to_bob = send(files["m.eml"], {**post, "fields": {**post["fields"], "key": their_key}})
    assert to_bob.status_code == 403 and "<Code>AccessDenied</Code>" in to_bob.text
    assert f'{condition_failed}["eq", "$key", "{key}"]' in to_bob.text
    bigger = send(files["m.eml"] + b"x" * 1000, post)
    assert bigger.status_code == 400 and "<Code>EntityTooLarge</Code>" in bigger.text
    bucket = local_stack.physical_id("UploadBucket")
    objects = S3UploadBucket(bucket, client=Clients().s3_presign)
    expired = objects.presign(key, len(files["m.eml"]), expires_s=-1)
    late = send(files["m.eml"], expired)
    assert late.status_code == 403 and "Policy expired." in late.text
    listed = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix="uploads/acme/")
    assert not {key, their_key} & {o["Key"] for o in listed.get("Contents", [])}

    # The form as it was given is taken; by the time it is ingested, any event the refused
    # ones had made would have been too (one queue): bob has nothing, alice one message.
    upload_all(mine, files)
    assert wait_done(local_stack, alice, mine["id"])["files"][0]["status"] == "stored"
    bobs = requests.get(f"{local_stack.api_url}/v1/uploads/{theirs['id']}", headers=bob, timeout=10)
    assert bobs.json()["files"][0]["status"] == "pending"
    for who, count in ((bob, 0), (alice, 1)):
        inbox = requests.get(
            f"{local_stack.api_url}/v1/folders/inbox/messages", headers=who, timeout=10
        ).json()["messages"]
        assert len(inbox) == count
