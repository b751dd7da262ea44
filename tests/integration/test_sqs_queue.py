"""The fetch queue adapter against SQS (moto over HTTP): many requests go out in parallel
batches of 10, each exactly once, with its delay."""

from __future__ import annotations

import json
import time
import uuid

import boto3
import pytest

from mailport.adapters.clients import LazyClient
from mailport.adapters.sqs import SqsFetchQueue
from mailport.domain.accounts import FetchRequest, RunTrigger, fetch_requests
from mailport_local.stack import LocalStack

pytestmark = pytest.mark.stack


def drain(url: str) -> list[list[str]]:
    """Every message now visible: the accounts it carries."""
    sqs = boto3.client("sqs")
    messages: list[list[str]] = []
    while got := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
        "Messages"
    ):
        for m in got:
            messages.append([r.account_id for r in fetch_requests(json.loads(m["Body"]))])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return messages


def test_requests_due_at_the_same_second_share_messages(local_stack: LocalStack) -> None:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"fetch-test-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    now = [FetchRequest("t", "u", f"n{i}", RunTrigger.SCHEDULE, delay_s=0) for i in range(57)]
    later = [FetchRequest("t", "u", f"l{i}", RunTrigger.SCHEDULE, delay_s=2) for i in range(3)]
    queue = SqsFetchQueue(url, client=LazyClient("sqs"), per_message=25)
    queue.send([*now[:30], *later, *now[30:]])  # interleaved: grouped by their second
    first = drain(url)
    assert sorted(len(m) for m in first) == [7, 25, 25]  # the 57 due now, packed
    assert sorted(a for m in first for a in m) == sorted(r.account_id for r in now)
    deadline = time.monotonic() + 20
    second: list[list[str]] = []
    while not second and time.monotonic() < deadline:
        time.sleep(0.5)
        second = drain(url)
    assert [sorted(m) for m in second] == [["l0", "l1", "l2"]]  # one, delayed
    sqs.delete_queue(QueueUrl=url)


def test_every_request_is_queued_once_with_its_delay(local_stack: LocalStack) -> None:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"fetch-test-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    tick = uuid.uuid4().hex
    requests = [
        FetchRequest("t", "u", f"a{i}", RunTrigger.SCHEDULE, tick=tick, delay_s=0)
        for i in range(95)  # ten batches at once, the last one of five
    ]
    queue = SqsFetchQueue(url, client=LazyClient("sqs"))
    queue.send(requests)
    queue.send([FetchRequest("t", "u", "late", RunTrigger.SCHEDULE, delay_s=9999)])
    seen: list[str] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        if not got.get("Messages"):
            break
        seen += [
            r.account_id for m in got["Messages"] for r in fetch_requests(json.loads(m["Body"]))
        ]
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(got["Messages"])
            ],
        )
    assert sorted(seen) == sorted(f"a{i}" for i in range(95))  # "late" waits (900 s cap)
    sqs.delete_queue(QueueUrl=url)
