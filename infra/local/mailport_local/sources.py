"""Stand-ins for Lambda's event sources: the SQS event source mapping and the schedule."""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import boto3

from mailport_local import calls
from mailport_local.lambdas import InvocationError, LocalFunction
from mailport_local.provision import ACCOUNT_ID, REGION

log = logging.getLogger(__name__)


def _record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """An SQS message in the shape Lambda hands it to a function."""
    attributes = {}
    for name, value in (message.get("MessageAttributes") or {}).items():
        attributes[name] = {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value["DataType"],
        }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": attributes,
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


@dataclass
class SqsEventSource:
    """Lambda's SQS event source mapping, as documented.

    Receives batches; a handler that raises leaves the whole batch to come back after the
    visibility timeout; with ``ReportBatchItemFailures`` only the listed records come back (an
    unknown or empty identifier fails the batch, as on Lambda); moto's redrive policy moves a
    message to the DLQ after ``maxReceiveCount`` receives.
    """

    function: LocalFunction
    queue_url: str
    queue_arn: str
    batch_size: int = 10
    report_batch_item_failures: bool = False
    wait_seconds: int = 1
    pollers: int = 1  # Lambda scales pollers with load; locally, one per environment
    batching_window_s: float = 0.0  # MaximumBatchingWindowInSeconds
    session: boto3.session.Session = field(default_factory=boto3.session.Session)
    batches: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        """Start polling in daemon threads."""
        for n in range(self.pollers):
            thread = threading.Thread(
                target=self._run, name=f"sqs→{self.function.name}#{n}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop polling and wait for the batches in hand."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self) -> None:
        # Lambda polls the queue with the function's own role (the event source mapping).
        calls.CALLER.set((self.function.stack, self.function.spec.logical_id))
        sqs = self.session.client("sqs")
        while not self._stop.is_set():
            try:
                self.poll_once(sqs)
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("polling %s failed", self.queue_url)
                self._stop.wait(1)

    def poll_once(self, sqs: Any = None) -> int:
        """Receive one batch and deliver it; return how many messages it held."""
        sqs = sqs or self.session.client("sqs")
        messages = self._receive(sqs, self.batch_size, self.wait_seconds)
        if not messages:
            return 0
        # Like Lambda, gather up to a full batch for at most the batching window.
        deadline = time.monotonic() + self.batching_window_s
        while len(messages) < self.batch_size and time.monotonic() < deadline:
            more = self._receive(sqs, self.batch_size - len(messages), 0)
            if not more:
                time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
            messages += more
        self.batches += 1
        records = [_record(m, self.queue_arn) for m in messages]
        try:
            result = self.function.invoke({"Records": records})
        except InvocationError:
            return len(messages)  # all come back after the visibility timeout
        done = self._succeeded(records, result)
        for i in range(0, len(done), 10):
            entries = [
                {"Id": str(n), "ReceiptHandle": r["receiptHandle"]}
                for n, r in enumerate(done[i : i + 10])
            ]
            sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
        return len(messages)

    def _receive(self, sqs: Any, count: int, wait: int) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(count, 10),
            WaitTimeSeconds=wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        return got

    def _succeeded(self, records: list[dict[str, Any]], result: Any) -> list[dict[str, Any]]:
        if not self.report_batch_item_failures:
            return records
        failures = (result or {}).get("batchItemFailures", []) if isinstance(result, dict) else []
        ids = {r["messageId"] for r in records}
        failed = set()
        for failure in failures:
            item = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not item or item not in ids:
                return []  # Lambda treats a malformed response as a failure of the whole batch
            failed.add(item)
        return [r for r in records if r["messageId"] not in failed]


_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")


def rate_seconds(expression: str) -> float:
    """Seconds between runs of an EventBridge ``rate(...)`` expression."""
    match = _RATE.match(expression.strip())
    if not match:
        raise ValueError(f"only rate() schedules run locally, not {expression!r}")
    unit = {"minute": 60, "hour": 3600, "day": 86400}[match.group(2).rstrip("s")]
    return int(match.group(1)) * unit


@dataclass
class Schedule:
    """An EventBridge schedule: invokes the function every ``interval`` seconds."""

    function: LocalFunction
    interval: float
    rule_name: str
    fired: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def event(self, now: dt.datetime | None = None) -> dict[str, Any]:
        """A Scheduled Event as EventBridge sends it."""
        now = now or dt.datetime.now(dt.UTC)
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT_ID,
            "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": REGION,
            "resources": [f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{self.rule_name}"],
            "detail": {},
        }

    def fire(self) -> Any:
        """Invoke the function once now."""
        self.fired += 1
        return self.function.invoke(self.event())

    def start(self) -> None:
        """Fire every ``interval`` seconds in a daemon thread (first after one interval)."""
        self._thread = threading.Thread(
            target=self._run, name=f"schedule→{self.function.name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop firing."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.fire()
            except InvocationError:
                log.warning("scheduled run of %s failed", self.function.name)
