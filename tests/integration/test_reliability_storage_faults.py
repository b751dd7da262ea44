"""S3 and DynamoDB failing at the botocore level (the HTTP answer replaced in the client's
event hooks, below the adapters and botocore's own retries), against moto over HTTP.

- Throttling and 5xx that botocore's retries absorb: the message is stored once.
- A DynamoDB commit whose answer was lost (the write happened, the caller saw a 500): the
  retry finds it stored and the folder's counters are not added twice.
- S3 failing for good in the middle of a POP run: the run fails and says so, nothing is
  deleted from the server, it does not count towards switching the account off, and the
  next run stores the rest, none twice.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from mailport.adapters.clients import Clients
from mailport.adapters.dynamodb_mailbox import DynamoMailbox
from mailport.adapters.s3 import S3RawStore
from mailport.domain.accounts import RunStatus
from mailport.domain.mailbox import InsertOutcome, Owner, Source, SourceType, message_id_for
from mailport.errors import TransientError
from mailport.usecases.importing import Importer, ImportRequest
from mailport.usecases.mailbox import MailboxService
from mailport_local.stack import LocalStack
from tests.integration import test_pop_import as pop
from tests.support.dovecot import Dovecot

pytestmark = pytest.mark.stack


class Body:
    """An injected answer's body, as botocore streams it."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


def dynamodb_error(status: int, code: str) -> AWSResponse:
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "x"})
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "injected"}
    return AWSResponse("https://dynamodb.injected", status, headers, Body(body.encode()))


def s3_error(status: int, code: str) -> AWSResponse:
    body = f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()
    return AWSResponse("https://s3.injected", status, {"x-amz-request-id": "i"}, Body(body))


class Faults:
    """Answers the first ``times`` requests of one operation with ``response`` (None: all)."""

    def __init__(self, response: AWSResponse, times: int | None) -> None:
        self.response, self.times = response, times
        self.seen = 0
        self.lock = threading.Lock()

    def __call__(self, **_: Any) -> AWSResponse | None:
        with self.lock:
            self.seen += 1
            if self.times is None or self.seen <= self.times:
                return self.response
        return None  # let the real request through


@pytest.fixture
def owner() -> Owner:
    return Owner("acme", f"u-{uuid.uuid4().hex[:10]}")


@pytest.fixture
def parts(local_stack: LocalStack) -> tuple[DynamoMailbox, S3RawStore, str]:
    bucket = local_stack.physical_id("MailBucket")
    clients = Clients()
    return (
        DynamoMailbox(local_stack.physical_id("MailportTable"), client=clients.dynamodb),
        S3RawStore(bucket, client=clients.s3),
        bucket,
    )


def mail(n: int) -> bytes:
    return f"From: a@example.com\r\nSubject: s{n}\r\nMessage-ID: <s{n}@x>\r\n\r\nbody\r\n".encode()


def request(owner: Owner, raw: bytes, key: str) -> ImportRequest:
    return ImportRequest(
        owner=owner,
        raw=raw,
        folder_id="inbox",
        source=Source(SourceType.UPLOAD, "b"),
        message_id=message_id_for("upload", "b", key),
    )


def objects(bucket: str, owner: Owner) -> list[str]:
    listed = boto3.client("s3").list_objects_v2(
        Bucket=bucket, Prefix=f"mail/{owner.tenant_id}/{owner.user_id}/"
    )
    return [o["Key"] for o in listed.get("Contents", [])]


def test_throttling_and_5xx_absorbed_by_retries_store_once(
    parts: tuple[DynamoMailbox, S3RawStore, str], owner: Owner
) -> None:
    store, raw_store, bucket = parts
    importer, service = Importer(store, raw_store), MailboxService(store, raw_store)
    service.ensure_system_folders(owner)  # so the message's own write is the first one
    ddb = Faults(dynamodb_error(400, "ThrottlingException"), times=2)
    s3 = Faults(s3_error(503, "SlowDown"), times=1)
    store._client().meta.events.register("before-send.dynamodb.TransactWriteItems", ddb)
    raw_store._s3.meta.events.register("before-send.s3.PutObject", s3)
    try:
        result = importer.store(request(owner, mail(1), "k1"))
    finally:
        store._client().meta.events.unregister("before-send.dynamodb.TransactWriteItems", ddb)
        raw_store._s3.meta.events.unregister("before-send.s3.PutObject", s3)
    assert result.outcome is InsertOutcome.STORED
    assert ddb.seen == 3 and s3.seen == 2  # the faults did happen, and were retried
    assert (service.folder(owner, "inbox").total, len(objects(bucket, owner))) == (1, 1)


def test_a_commit_whose_answer_was_lost_is_not_counted_twice(
    parts: tuple[DynamoMailbox, S3RawStore, str], owner: Owner
) -> None:
    store, raw_store, bucket = parts
    importer, service = Importer(store, raw_store), MailboxService(store, raw_store)
    service.ensure_system_folders(owner)  # so the message's own write is the first one
    lost = {"n": 0}

    def answer_lost(http_response: AWSResponse, parsed: dict[str, Any], **_: Any) -> None:
        if lost["n"] == 0:  # the write went through; the caller is told it failed
            lost["n"] += 1
            http_response.status_code = 500
            parsed["Error"] = {"Code": "InternalServerError", "Message": "injected"}
            parsed.setdefault("ResponseMetadata", {})["HTTPStatusCode"] = 500

    event = "after-call.dynamodb.TransactWriteItems"
    store._client().meta.events.register(event, answer_lost)
    try:
        with pytest.raises(TransientError):
            importer.store(request(owner, mail(2), "k2"))
        again = importer.store(request(owner, mail(2), "k2"))  # the caller's retry
    finally:
        store._client().meta.events.unregister(event, answer_lost)
    assert again.outcome is InsertOutcome.ALREADY_STORED
    inbox = service.folder(owner, "inbox")
    assert (inbox.total, inbox.unread) == (1, 1)  # the counters were added once
    assert len(objects(bucket, owner)) == 1


def test_s3_down_for_good_mid_pop_run_then_the_next_run_completes(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    # Fewer botocore attempts than deployed, so a fault that lasts costs seconds, not minutes.
    s3 = boto3.session.Session().client(
        "s3", config=Config(retries={"mode": "standard", "max_attempts": 2})
    )
    raw = S3RawStore(local_stack.physical_id("MailBucket"), client=lambda: s3)
    env = pop.build_env(local_stack, dovecot, raw)
    name, password = pop.server_user(env, 20)
    account = pop.register(env, name, password, keep_original=False)
    calls = {"n": 0}
    lock = threading.Lock()

    def down_after_eight(**_: Any) -> AWSResponse | None:
        with lock:
            calls["n"] += 1
            return s3_error(503, "ServiceUnavailable") if calls["n"] > 8 else None

    raw._s3.meta.events.register("before-send.s3.PutObject", down_after_eight)
    try:
        broken = pop.run(env, account)
    finally:
        raw._s3.meta.events.unregister("before-send.s3.PutObject", down_after_eight)
    assert broken.status is RunStatus.FAILED
    assert broken.error_code == "temporarily_unavailable" and broken.error
    assert 0 < broken.counts.fetched <= 8 and broken.counts.deleted == 0
    assert pop.on_server(env, name, password) == 20  # nothing deleted that was not stored
    state = env.service.get(env.owner, account.account_id).state
    assert state.last_status == "failed" and state.failures == 0  # our fault: not counted
    # Every message the run stored is in the mailbox, once, and the run's record says so:
    # stores that finished beside the failing one are counted and receipted too.
    stored_before = len(pop.subjects(env))
    assert broken.counts.fetched == stored_before <= 8

    done = pop.run(env, account)
    assert done.status is RunStatus.SUCCEEDED
    assert done.counts.fetched == 20 - stored_before
    assert done.counts.already_present == 0  # the broken run's receipts were kept
    assert done.counts.deleted == 20
    assert pop.subjects(env) == sorted(f"m {i}" for i in range(20))  # none lost, none twice
    assert pop.on_server(env, name, password) == 0
