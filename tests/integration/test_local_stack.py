"""The local stack against moto's server over real HTTP: resources from template.yaml, the
DynamoDB adapter, S3 → SQS → function, the SQS event source's semantics, Step Functions."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_plus

import boto3
import pytest

from mailport.adapters.clients import LazyClient
from mailport.adapters.dynamodb import DynamoDirectory
from mailport.domain.identity import Plan, Tenant, User
from mailport.errors import StorageError, TransientError
from mailport_local.lambdas import LocalFunction
from mailport_local.sources import SqsEventSource
from mailport_local.stack import LocalStack
from mailport_local.template import load_template
from tests.support.wait import wait_for

pytestmark = pytest.mark.stack


def test_tables_have_the_templates_schema(local_stack: LocalStack) -> None:
    template = load_template()["Resources"]
    ddb = boto3.client("dynamodb")
    tables = [lid for lid, r in template.items() if r["Type"] == "AWS::DynamoDB::Table"]
    assert tables == ["MailportTable"]  # one table, single-table design
    for logical in tables:
        desc = ddb.describe_table(TableName=local_stack.physical_id(logical))["Table"]
        props = template[logical]["Properties"]
        assert desc["KeySchema"] == props["KeySchema"]
        want = {g["IndexName"]: g["KeySchema"] for g in props.get("GlobalSecondaryIndexes", [])}
        got = {g["IndexName"]: g["KeySchema"] for g in desc.get("GlobalSecondaryIndexes", [])}
        assert got == want


def test_the_fetch_batch_size_parameter_sizes_the_source_and_the_worker(
    local_stack: LocalStack,
) -> None:
    # One number, the parameter's default: the event source's batch and the worker's threads.
    default = load_template()["Parameters"]["FetchBatchSize"]["Default"]
    assert local_stack.sqs_sources["PopFetchFunction.FetchWork"].batch_size == default
    worker = local_stack.lambdas["PopFetchFunction"].environment
    assert worker["FETCH_BATCH_SIZE"] == str(default)
    # The other SQS source keeps its literal batch and window.
    ingest = local_stack.sqs_sources["EmlIngestFunction.Uploads"]
    assert (ingest.batch_size, ingest.batching_window_s) == (10, 1.0)


def test_directory_adapter_round_trip(local_stack: LocalStack) -> None:
    directory = DynamoDirectory(
        local_stack.physical_id("MailportTable"), client=LazyClient("dynamodb")
    )
    tenant = Tenant(f"t-{uuid.uuid4().hex[:8]}", "日本語の会社", Plan.ADVANCED)
    directory.put_tenant(tenant)
    assert directory.get_tenant(tenant.tenant_id) == tenant
    user = User("u1", tenant.tenant_id, "a@x.example", "髙橋 ①", admin=True)
    directory.put_user(user)
    assert directory.get_user(tenant.tenant_id, "u1") == user
    assert directory.get_user(tenant.tenant_id, "nobody") is None
    assert directory.get_tenant("no-such-tenant") is None


def test_directory_adapter_translates_errors(local_stack: LocalStack) -> None:
    with pytest.raises(StorageError) as err:
        DynamoDirectory("no-such-table", client=LazyClient("dynamodb")).get_tenant("x")
    assert "reading the organisation" in err.value.message
    assert isinstance(err.value.__cause__, Exception)


def test_directory_adapter_unreachable_service_is_transient() -> None:
    from botocore.config import Config

    dead = boto3.session.Session().client(
        "dynamodb",
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    directory = DynamoDirectory("t", client=lambda: dead)
    with pytest.raises(TransientError):
        directory.get_tenant("x")


def test_demo_tenants_are_seeded(local_stack: LocalStack) -> None:
    directory = DynamoDirectory(
        local_stack.physical_id("MailportTable"), client=LazyClient("dynamodb")
    )
    acme, smallco = directory.get_tenant("acme"), directory.get_tenant("smallco")
    assert acme is not None and acme.plan is Plan.ADVANCED
    assert smallco is not None and smallco.plan is Plan.BASIC


def test_upload_reaches_the_ingest_function(local_stack: LocalStack) -> None:
    fn = local_stack.lambdas["EmlIngestFunction"]
    seen: list[dict[str, Any]] = []
    fn.override = lambda event, ctx: seen.append(event) or {"batchItemFailures": []}
    try:
        key = f"uploads/t/u/{uuid.uuid4().hex}/日本語 file.eml"
        boto3.client("s3").put_object(
            Bucket=local_stack.physical_id("UploadBucket"), Key=key, Body=b"Subject: hi\r\n\r\nbody"
        )

        def delivered() -> bool:
            # S3 URL-encodes keys in events (moto also encodes "/"): decode as the handler must.
            keys = [
                unquote_plus(json.loads(r["body"])["Records"][0]["s3"]["object"]["key"])
                for e in seen
                for r in e["Records"]
                if "Records" in json.loads(r["body"])
            ]
            return key in keys

        wait_for(delivered, what="the S3 notification to reach the ingest function")
        record = next(r for e in seen for r in e["Records"] if "Records" in json.loads(r["body"]))
        assert record["eventSource"] == "aws:sqs"
        assert record["eventSourceARN"].endswith(
            local_stack.physical_id("UploadQueue").rsplit("/", 1)[1]
        )
        assert int(record["attributes"]["ApproximateReceiveCount"]) >= 1
    finally:
        fn.override = None


@pytest.fixture
def test_queue(local_stack: LocalStack) -> Iterator[tuple[str, str, str]]:
    """A queue with a 1 s visibility timeout and a DLQ after 2 receives."""
    sqs = boto3.client("sqs")
    name = f"esm-{uuid.uuid4().hex[:8]}"
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": "1",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    yield url, arn, dlq
    sqs.delete_queue(QueueUrl=url)
    sqs.delete_queue(QueueUrl=dlq)


def _count(url: str) -> int:
    attrs = boto3.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def test_event_source_partial_failure_redelivery_and_dlq(
    local_stack: LocalStack, test_queue: tuple[str, str, str]
) -> None:
    url, arn, dlq = test_queue
    sqs = boto3.client("sqs")
    for body in ("ok-1", "poison", "ok-2"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    deliveries: list[str] = []

    def handler(event: dict[str, Any], ctx: Any) -> dict[str, Any]:
        failures = []
        for r in event["Records"]:
            deliveries.append(r["body"])
            if r["body"] == "poison":
                failures.append({"itemIdentifier": r["messageId"]})
        return {"batchItemFailures": failures}

    fn = LocalFunction(
        spec=local_stack.lambdas["PopFetchFunction"].spec, name="test-fn", override=handler
    )
    source = SqsEventSource(fn, url, arn, batch_size=10, report_batch_item_failures=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not _count(dlq):
        source.poll_once()
    # The good ones were delivered once and deleted; the poison one came back after the
    # visibility timeout, then moved to the DLQ after maxReceiveCount (2) receives.
    assert deliveries.count("ok-1") == 1 and deliveries.count("ok-2") == 1
    assert deliveries.count("poison") == 2
    assert _count(url) == 0
    moved = sqs.receive_message(QueueUrl=dlq)["Messages"]
    assert [m["Body"] for m in moved] == ["poison"]


def test_event_source_handler_crash_returns_the_whole_batch(
    local_stack: LocalStack, test_queue: tuple[str, str, str]
) -> None:
    url, arn, _ = test_queue
    boto3.client("sqs").send_message(QueueUrl=url, MessageBody="m")
    calls: list[int] = []

    def crash(event: dict[str, Any], ctx: Any) -> None:
        calls.append(len(event["Records"]))
        if len(calls) == 1:
            raise RuntimeError("worker died")

    fn = LocalFunction(
        spec=local_stack.lambdas["PopFetchFunction"].spec, name="test-fn", override=crash
    )
    source = SqsEventSource(fn, url, arn, report_batch_item_failures=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(calls) < 2:
        source.poll_once()
    assert calls == [1, 1]
    wait_for(lambda: _count(url) == 0, what="the queue to drain")


def _run(local_stack: LocalStack, job_id: str, **extra: Any) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions")
    arn = sfn.start_execution(
        stateMachineArn=local_stack.physical_id("MigrationStateMachine"),
        name=job_id,
        input=json.dumps({"job": {"job_id": job_id}, **extra}),
    )["executionArn"]
    wait_for(
        lambda: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING",
        timeout=60,
        what="the execution to end",
    )
    result = dict(sfn.describe_execution(executionArn=arn))
    result["history"] = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return result


def _entered(history: list[dict[str, Any]]) -> list[str]:
    return [
        e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e
    ]


def _fake_worker(fail_on: str | None = None, transient_once: str | None = None) -> Any:
    """A worker that walks the machine without a job: two chunks, then done."""
    calls: list[str] = []

    class ImapGone(Exception):
        pass

    def worker(event: dict[str, Any], ctx: Any) -> dict[str, Any]:
        step = event["step"]
        calls.append(step)
        if step == fail_on:
            raise ImapGone("the source server closed the connection")
        if step == transient_once and calls.count(step) == 1:
            raise TransientError("too many connections")
        if step in ("plan", "copy_chunk"):
            chunks = int((event.get("cursor") or {}).get("chunks", 0)) + (step == "copy_chunk")
            return {"done": chunks >= 2, "wait_s": 0, "continue_as_new": False, "chunks": chunks}
        if step == "rollback":
            return {"done": True}
        return {"step": step}

    worker.calls = calls  # type: ignore[attr-defined]
    return worker


def test_migration_machine_runs_from_the_asl_file(local_stack: LocalStack) -> None:
    fn = local_stack.lambdas["MigrationWorkerFunction"]
    fn.override = worker = _fake_worker()
    try:
        run = _run(local_stack, f"ok-{uuid.uuid4().hex[:8]}")
    finally:
        fn.override = None
    assert run["status"] == "SUCCEEDED"
    assert _entered(run["history"]) == [
        "Route",
        "Plan",
        "MoreToCopy",
        "CopyChunk",
        "MoreToCopy",
        "CopyChunk",
        "MoreToCopy",
        "Finalize",
        "NotifyCompleted",
        "Completed",
    ]
    assert worker.calls == ["plan", "copy_chunk", "copy_chunk", "finalize", "notify"]


def test_a_failing_task_ends_in_the_catch_branch(local_stack: LocalStack) -> None:
    fn = local_stack.lambdas["MigrationWorkerFunction"]
    fn.override = worker = _fake_worker(fail_on="plan")
    try:
        run = _run(local_stack, f"fail-{uuid.uuid4().hex[:8]}")
    finally:
        fn.override = None
    assert run["status"] == "FAILED"
    assert run["error"] == "MigrationFailed"
    assert _entered(run["history"]) == [
        "Route",
        "Plan",
        "Rollback",
        "RollbackMore",
        "NotifyRolledBack",
        "MigrationFailed",
    ]
    assert worker.calls == ["plan", "rollback", "notify"]  # not retried: not a transient error


def _scripted(replies: dict[str, list[dict[str, Any]]]) -> Any:
    """A worker answering each step from a script (the last answer repeats)."""
    calls: list[str] = []

    def worker(event: dict[str, Any], ctx: Any) -> dict[str, Any]:
        step = event["step"] + (f":{event['mode']}" if "mode" in event else "")
        calls.append(step)
        script = replies.get(step, [{}])
        return script[min(calls.count(step), len(script)) - 1]

    worker.calls = calls  # type: ignore[attr-defined]
    return worker


CURSOR = {"done": False, "wait_s": 0, "continue_as_new": False, "chunks": 0}


def test_a_pace_wait_pauses_then_copies_on(local_stack: LocalStack) -> None:
    fn = local_stack.lambdas["MigrationWorkerFunction"]
    fn.override = _scripted(
        {"plan": [CURSOR], "copy_chunk": [{**CURSOR, "wait_s": 1}, {**CURSOR, "done": True}]}
    )
    try:
        run = _run(local_stack, f"pace-{uuid.uuid4().hex[:8]}")
    finally:
        fn.override = None
    assert run["status"] == "SUCCEEDED"
    entered = _entered(run["history"])
    assert entered[:7] == [
        "Route",
        "Plan",
        "MoreToCopy",
        "CopyChunk",
        "MoreToCopy",
        "Pause",
        "CopyChunk",
    ]


def test_continue_as_new_ends_this_execution_in_success(local_stack: LocalStack) -> None:
    fn = local_stack.lambdas["MigrationWorkerFunction"]
    fn.override = worker = _scripted(
        {"plan": [CURSOR], "copy_chunk": [{**CURSOR, "continue_as_new": True}]}
    )
    try:
        run = _run(local_stack, f"can-{uuid.uuid4().hex[:8]}")
    finally:
        fn.override = None
    assert run["status"] == "SUCCEEDED"
    assert _entered(run["history"])[-2:] == ["ContinueAsNew", "ContinuedAsNew"]
    assert worker.calls == ["plan", "copy_chunk", "continue"]


def test_a_rollback_started_by_the_scheduler_loops_until_done(local_stack: LocalStack) -> None:
    fn = local_stack.lambdas["MigrationWorkerFunction"]
    fn.override = worker = _scripted({"rollback:rollback": [{"done": False}, {"done": True}]})
    error = {"Error": "ExecutionEnded", "Cause": "stopped"}
    try:
        run = _run(local_stack, f"rb-{uuid.uuid4().hex[:8]}", mode="rollback", error=error)
    finally:
        fn.override = None
    assert run["status"] == "FAILED" and run["error"] == "MigrationFailed"
    assert _entered(run["history"]) == [
        "Route",
        "Rollback",
        "RollbackMore",
        "Rollback",
        "RollbackMore",
        "NotifyRolledBack",
        "MigrationFailed",
    ]
    assert worker.calls == ["rollback:rollback", "rollback:rollback", "notify"]


def test_a_revert_runs_on_its_own_branch(local_stack: LocalStack) -> None:
    fn = local_stack.lambdas["MigrationWorkerFunction"]
    fn.override = _scripted({"rollback:revert": [{"done": True}]})
    try:
        run = _run(local_stack, f"rv-{uuid.uuid4().hex[:8]}", mode="revert")
    finally:
        fn.override = None
    assert run["status"] == "SUCCEEDED"
    assert _entered(run["history"]) == ["Route", "Revert", "RevertMore", "Reverted"]


def test_a_recovery_that_gave_up_only_tells_the_user(local_stack: LocalStack) -> None:
    fn = local_stack.lambdas["MigrationWorkerFunction"]
    fn.override = worker = _fake_worker()
    try:
        run = _run(local_stack, f"gu-{uuid.uuid4().hex[:8]}", mode="give_up")
    finally:
        fn.override = None
    assert run["status"] == "FAILED"  # it reports a failure, visibly, to the alarms too
    assert _entered(run["history"]) == ["Route", "NotifyRollbackFailed", "RollbackFailed"]
    assert worker.calls == ["notify"]


def test_a_rollback_that_keeps_failing_ends_in_notify_rollback_failed(
    local_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The machine's own path from exhausted Rollback retries (the first try and six more)
    to NotifyRollbackFailed, which tells the user (the runner side is
    test_reliability_faults.py::test_a_rollback_that_never_finishes_ends_failed_and_says_so).
    The ASL is the template's; only the waits between retries are not slept (2 s doubling
    to 64 s: two minutes), but recorded, so the retrier that ran is known to be Rollback's.
    """
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    waits: list[float] = []
    monkeypatch.setattr(retrier_decl, "time", type("NoSleep", (), {"sleep": waits.append}))
    calls: list[str] = []

    def worker(event: dict[str, Any], ctx: Any) -> dict[str, Any]:
        calls.append(f"{event['step']}:{event.get('mode') or event.get('outcome')}")
        if event["step"] == "rollback":
            raise StorageError("deleting the message: the storage service is down")
        return {"notified": event.get("outcome")}

    fn = local_stack.lambdas["MigrationWorkerFunction"]
    fn.override = worker
    error = {"Error": "JobCancelled", "Cause": "cancelled by the user"}
    try:
        run = _run(local_stack, f"rbf-{uuid.uuid4().hex[:8]}", mode="rollback", error=error)
    finally:
        fn.override = None
    assert run["status"] == "FAILED" and run["error"] == "RollbackFailed"
    assert _entered(run["history"]) == [
        "Route",
        "Rollback",
        "NotifyRollbackFailed",
        "RollbackFailed",
    ]
    assert calls == ["rollback:rollback"] * 7 + ["notify:rollback_failed"]
    assert waits == [2, 4, 8, 16, 32, 64]  # Rollback's retrier: 2 s, doubling, six times


def test_transient_errors_are_retried(local_stack: LocalStack) -> None:
    fn = local_stack.lambdas["MigrationWorkerFunction"]
    fn.override = worker = _fake_worker(transient_once="plan")
    try:
        run = _run(local_stack, f"retry-{uuid.uuid4().hex[:8]}")
    finally:
        fn.override = None
    assert run["status"] == "SUCCEEDED"
    assert worker.calls.count("plan") == 2


def test_event_source_gathers_a_batch_within_the_window(
    local_stack: LocalStack, test_queue: tuple[str, str, str]
) -> None:
    url, arn, _ = test_queue
    sqs = boto3.client("sqs")
    batches: list[int] = []

    def handler(event: dict[str, Any], ctx: Any) -> dict[str, Any]:
        batches.append(len(event["Records"]))
        return {"batchItemFailures": []}

    fn = LocalFunction(
        spec=local_stack.lambdas["PopFetchFunction"].spec, name="test-fn", override=handler
    )
    source = SqsEventSource(fn, url, arn, batch_size=5, batching_window_s=2.0)
    sqs.send_message(QueueUrl=url, MessageBody="first")

    def trickle() -> None:
        for n in range(4):
            time.sleep(0.1)
            sqs.send_message(QueueUrl=url, MessageBody=f"later-{n}")

    import threading

    sender = threading.Thread(target=trickle)
    sender.start()
    source.poll_once()
    sender.join()
    # Lambda waits up to MaximumBatchingWindowInSeconds to fill a batch: one invocation of 5.
    assert batches == [5]
