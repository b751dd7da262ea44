"""The fetch queue adapter against SQS (moto over HTTP): many requests go out in parallel
batches of 10, each exactly once, with its delay."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest

from mailport.adapters.clients import LazyClient
from mailport.adapters.sqs import SqsFetchQueue
from mailport.domain.accounts import FetchRequest, RunTrigger
from mailport_local.stack import LocalStack

pytestmark = pytest.mark.stack


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
        seen += [json.loads(m["Body"])["account_id"] for m in got["Messages"]]
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(got["Messages"])
            ],
        )
    assert sorted(seen) == sorted(f"a{i}" for i in range(95))  # "late" waits (900 s cap)
    sqs.delete_queue(QueueUrl=url)
