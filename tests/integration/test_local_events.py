"""Step Functions' "Execution Status Change" events in the local stack: the event's shape, rule
matching (moto's matcher), asynchronous delivery with retries, and the hook on moto's engine that
reports every ended execution (SUCCEEDED, FAILED, ABORTED, TIMED_OUT) to the scheduler's rule."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from mailport_local.events import (
    PAYLOAD_LIMIT,
    EventBus,
    Rule,
    execution_status_event,
    matches,
)
from mailport_local.lambdas import LocalFunction
from mailport_local.stack import LocalStack
from mailport_local.template import functions, load_template
from tests.support.wait import wait_for

ACCOUNT, REGION = "123456789012", "us-east-1"
SM_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:mailport-local-migration"
EXEC_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:mailport-local-migration:job-1"
START = dt.datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC)
STOP = START + dt.timedelta(seconds=2)
# What the worker override answers every step: all copied, nothing to wait for.
DONE = {"done": True, "wait_s": 0, "continue_as_new": False}


def describe(status: str, **extra: Any) -> dict[str, Any]:
    out = {
        "executionArn": EXEC_ARN,
        "stateMachineArn": SM_ARN,
        "name": "job-1",
        "status": status,
        "startDate": START,
        "stopDate": STOP,
        "input": '{"job":{"job_id":"job-1"}}',
        "inputDetails": {"included": True},
    }
    return out | extra


def scheduler_pattern(state_machine_arn: str = SM_ARN) -> dict[str, Any]:
    """The template's pattern for the scheduler, with ``!Ref MigrationStateMachine`` resolved."""
    spec = next(
        s for s in functions(load_template()) if s.logical_id == "MigrationSchedulerFunction"
    )
    pattern: dict[str, Any] = json.loads(
        json.dumps(spec.events["ExecutionEnded"]["Properties"]["Pattern"])
    )
    pattern["detail"]["stateMachineArn"] = [state_machine_arn]
    return pattern


# ------------------------------------------------------------------ the event (pure)


def test_succeeded_event_has_the_documented_shape() -> None:
    event = execution_status_event(
        describe("SUCCEEDED", output='{"ok":true}', outputDetails={"included": True}),
        ACCOUNT,
        REGION,
        now=STOP,
    )
    assert set(event) == {
        *("version", "id", "detail-type", "source", "account", "time", "region", "resources"),
        "detail",
    }
    assert event["version"] == "0"
    assert uuid.UUID(event["id"])
    assert event["detail-type"] == "Step Functions Execution Status Change"
    assert event["source"] == "aws.states"
    assert (event["account"], event["region"]) == (ACCOUNT, REGION)
    assert event["time"] == "2025-01-02T03:04:07Z"
    assert event["resources"] == [EXEC_ARN]
    assert event["detail"] == {
        "executionArn": EXEC_ARN,
        "stateMachineArn": SM_ARN,
        "name": "job-1",
        "status": "SUCCEEDED",
        "startDate": 1735787045678,
        "stopDate": 1735787047678,
        "input": '{"job":{"job_id":"job-1"}}',
        "output": '{"ok":true}',
        "inputDetails": {"included": True},
        "outputDetails": {"included": True},
        "error": None,
        "cause": None,
    }


def test_failed_and_aborted_events_carry_no_output() -> None:
    failed = execution_status_event(
        describe("FAILED", error="MigrationFailed", cause="imap gone"), ACCOUNT, REGION
    )["detail"]
    assert (failed["status"], failed["error"], failed["cause"]) == (
        "FAILED",
        "MigrationFailed",
        "imap gone",
    )
    assert failed["output"] is None and failed["outputDetails"] is None
    # moto passes "" for StopExecution's absent error and cause; AWS sends null.
    aborted = execution_status_event(describe("ABORTED", error="", cause=""), ACCOUNT, REGION)
    assert aborted["detail"]["status"] == "ABORTED"
    assert aborted["detail"]["error"] is None and aborted["detail"]["cause"] is None


def test_naive_dates_are_utc_and_large_payloads_are_left_out() -> None:
    big = json.dumps({"blob": "x" * PAYLOAD_LIMIT})
    detail = execution_status_event(
        describe(
            "SUCCEEDED",
            startDate=START.replace(tzinfo=None),
            output=big,
            outputDetails={"included": True},
        ),
        ACCOUNT,
        REGION,
    )["detail"]
    assert detail["startDate"] == 1735787045678
    assert detail["output"] is None and detail["outputDetails"] == {"included": False}
    assert detail["input"] is not None  # the input alone fits
    detail = execution_status_event(describe("FAILED", input=big), ACCOUNT, REGION)["detail"]
    assert detail["input"] is None and detail["inputDetails"] == {"included": False}


# ------------------------------------------------------------------ matching and rules (pure)


@pytest.mark.parametrize(
    ("change", "hit"),
    [
        ({}, True),
        ({"status": "FAILED"}, True),
        ({"status": "ABORTED"}, True),
        ({"status": "TIMED_OUT"}, True),
        ({"status": "RUNNING"}, False),
        ({"stateMachineArn": SM_ARN + "-other"}, False),
    ],
)
def test_the_schedulers_pattern(change: dict[str, Any], hit: bool) -> None:
    event = execution_status_event(describe("SUCCEEDED"), ACCOUNT, REGION)
    event["detail"].update(change)
    assert matches(scheduler_pattern(), event) is hit


def test_pattern_checks_top_level_fields_and_missing_keys() -> None:
    event = execution_status_event(describe("SUCCEEDED"), ACCOUNT, REGION)
    assert not matches(scheduler_pattern(), event | {"source": "aws.events"})
    assert not matches(scheduler_pattern(), event | {"detail-type": "Scheduled Event"})
    assert not matches({"detail": {"redriveCount": [0]}}, event)  # absent key: no match
    assert matches({"detail": {"name": [{"prefix": "job-"}]}}, event)
    assert matches({"detail": {"status": [{"anything-but": ["RUNNING"]}]}}, event)


def _recorder(calls: list[Any], fail_first: int = 0) -> LocalFunction:
    spec = functions(load_template())[0]

    def handler(event: Any, ctx: Any) -> None:
        calls.append(event)
        if len(calls) <= fail_first:
            raise RuntimeError("target down")

    return LocalFunction(spec=spec, name="recorder", override=handler)


def test_rule_properties() -> None:
    fn = _recorder([])
    pattern = {"source": ["aws.states"]}
    assert Rule.from_event("r", {"Pattern": pattern, "State": "DISABLED"}, fn) is None
    assert Rule.from_event("r", {"Pattern": pattern, "Enabled": False}, fn) is None
    assert Rule.from_event("r", {"Pattern": pattern, "EventBusName": "custom"}, fn) is None
    with pytest.raises(ValueError, match="InputTransformer"):
        Rule.from_event("r", {"Pattern": pattern, "InputTransformer": {}}, fn)
    with pytest.raises(Exception, match="array"):
        Rule.from_event("r", {"Pattern": {"source": "aws.states"}}, fn)
    event = {"detail": {"status": "FAILED"}}
    rule = Rule.from_event("r", {"Pattern": pattern, "InputPath": "$.detail"}, fn)
    assert rule is not None and rule.payload(event) == {"status": "FAILED"}
    rule = Rule.from_event("r", {"Pattern": pattern, "Input": '{"fixed": 1}'}, fn)
    assert rule is not None and rule.payload(event) == {"fixed": 1}


def test_delivery_retries_then_gives_up() -> None:
    calls: list[Any] = []
    bus = EventBus(backoff_s=0.01)
    assert bus.deliver(Rule("r", {}, _recorder(calls, fail_first=2)), {"id": "e1"})
    assert len(calls) == 3 and bus.delivered == 1
    calls.clear()
    assert not bus.deliver(Rule("r", {}, _recorder(calls, fail_first=99)), {"id": "e2"})
    assert len(calls) == 3 and bus.failed == 1


def test_put_does_not_wait_for_the_target() -> None:
    release, calls = threading.Event(), []

    def handler(event: Any, ctx: Any) -> None:
        calls.append(event)
        release.wait(10)

    slow = LocalFunction(spec=functions(load_template())[0], name="slow", override=handler)
    bus = EventBus(rules=[Rule("r", {"source": ["aws.states"]}, slow)])
    bus.start()
    try:
        started = time.monotonic()
        assert bus.put({"source": "aws.states", "id": "e"}) == 1
        assert bus.put({"source": "aws.events", "id": "other"}) == 0
        assert time.monotonic() - started < 0.5
        wait_for(lambda: calls, what="the delivery")
    finally:
        release.set()
        bus.stop()
    assert [e["id"] for e in calls] == ["e"]


# ------------------------------------------------------------------ through moto's engine


@pytest.fixture
def scheduler(local_stack: LocalStack) -> Iterator[list[dict[str, Any]]]:
    """Every event the scheduler function receives for this module's executions (``ev-*``);
    late events of other tests' executions still reach the real handler."""
    seen: list[dict[str, Any]] = []
    fn = local_stack.lambdas["MigrationSchedulerFunction"]
    real = fn._acquire()
    fn._pool.put(real)

    def record(event: dict[str, Any], ctx: Any) -> Any:
        if not event["detail"]["name"].startswith("ev-"):
            return real(event, ctx)
        seen.append(event)
        return None

    fn.override = record
    try:
        yield seen
    finally:
        fn.override = None


def _worker(local_stack: LocalStack, handler: Callable[[Any, Any], Any]) -> LocalFunction:
    fn = local_stack.lambdas["MigrationWorkerFunction"]
    fn.override = handler
    return fn


def _start(local_stack: LocalStack, prefix: str) -> tuple[str, str]:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    arn = boto3.client("stepfunctions").start_execution(
        stateMachineArn=local_stack.physical_id("MigrationStateMachine"),
        name=name,
        input=json.dumps({"job": {"job_id": name}}),
    )["executionArn"]
    return name, arn


def _events_for(seen: list[dict[str, Any]], arn: str) -> list[dict[str, Any]]:
    return [e for e in list(seen) if e["detail"]["executionArn"] == arn]


def _ended(arn: str, timeout: float) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions")
    return dict(
        wait_for(
            lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d,
            timeout=timeout,
            what="the execution to end",
        )
    )


def _one_event(seen: list[dict[str, Any]], arn: str, timeout: float = 30.0) -> dict[str, Any]:
    wait_for(lambda: _events_for(seen, arn), timeout=timeout, what="the status-change event")
    time.sleep(0.5)  # a second (duplicate) event would arrive by now
    got = _events_for(seen, arn)
    assert len(got) == 1, got
    return got[0]


def _ms(value: dt.datetime) -> int:
    return int(value.timestamp() * 1000)


@pytest.mark.stack
def test_succeeded_execution_reaches_the_scheduler(
    local_stack: LocalStack, scheduler: list[dict[str, Any]]
) -> None:
    fn = _worker(local_stack, lambda e, c: dict(DONE))
    try:
        name, arn = _start(local_stack, "ev-ok")
        final = _ended(arn, timeout=60)
        event = _one_event(scheduler, arn)
    finally:
        fn.override = None
    assert final["status"] == "SUCCEEDED"
    detail = event["detail"]
    assert (detail["status"], detail["name"], detail["executionArn"]) == ("SUCCEEDED", name, arn)
    assert detail["stateMachineArn"] == local_stack.physical_id("MigrationStateMachine")
    assert event["resources"] == [arn] and event["source"] == "aws.states"
    assert json.loads(detail["input"]) == {"job": {"job_id": name}}
    assert json.loads(detail["output"]) == json.loads(final["output"])
    assert (detail["startDate"], detail["stopDate"]) == (
        _ms(final["startDate"]),
        _ms(final["stopDate"]),
    )


@pytest.mark.stack
def test_failed_execution_reaches_the_scheduler(
    local_stack: LocalStack, scheduler: list[dict[str, Any]]
) -> None:
    class ImapGone(Exception):
        pass

    def failing(event: dict[str, Any], ctx: Any) -> dict[str, Any]:
        # The compensation step retries every error for about two minutes: let it succeed so
        # the run fails fast (if the step is renamed the run still fails, only slower).
        if event.get("step") == "rollback":
            return dict(DONE)
        raise ImapGone("the source server closed the connection")

    fn = _worker(local_stack, failing)
    try:
        name, arn = _start(local_stack, "ev-fail")
        final = _ended(arn, timeout=240)
        event = _one_event(scheduler, arn)
    finally:
        fn.override = None
    assert final["status"] == "FAILED"
    detail = event["detail"]
    assert (detail["status"], detail["name"], detail["executionArn"]) == ("FAILED", name, arn)
    assert (detail["error"], detail["cause"]) == (final.get("error"), final.get("cause"))
    assert detail["output"] is None


@pytest.mark.stack
def test_stopped_execution_is_aborted_at_once(
    local_stack: LocalStack, scheduler: list[dict[str, Any]]
) -> None:
    entered, release = threading.Event(), threading.Event()

    def blocking(event: dict[str, Any], ctx: Any) -> dict[str, Any]:
        entered.set()
        release.wait(60)
        return dict(DONE)

    sfn = boto3.client("stepfunctions")
    fn = _worker(local_stack, blocking)
    try:
        name, arn = _start(local_stack, "ev-stop")
        assert entered.wait(30), "the first step never ran"
        stopped = sfn.stop_execution(executionArn=arn)["stopDate"]
        # As on AWS, the execution ends when stopped, not when the running step returns.
        assert sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"
        wait_for(lambda: _events_for(scheduler, arn), what="the ABORTED event")
        assert not release.is_set()
        release.set()

        def aborted_in_history() -> bool:
            history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
            return any(e["type"] == "ExecutionAborted" for e in history)

        wait_for(aborted_in_history, what="the engine to finish the stopped execution")
        event = _one_event(scheduler, arn)
        final = sfn.describe_execution(executionArn=arn)
    finally:
        release.set()
        fn.override = None
    detail = event["detail"]
    assert (detail["status"], detail["name"], detail["executionArn"]) == ("ABORTED", name, arn)
    assert detail["output"] is None and detail["error"] is None
    assert final["status"] == "ABORTED"
    assert _ms(final["stopDate"]) == _ms(stopped) == detail["stopDate"]


@pytest.mark.stack
def test_the_scheduler_does_not_hold_up_the_execution_and_is_retried(
    local_stack: LocalStack,
) -> None:
    release, calls = threading.Event(), []

    def slow_then_flaky(event: dict[str, Any], ctx: Any) -> None:
        if not event["detail"]["name"].startswith("ev-slow-"):
            return  # a late event from another test
        calls.append(event)
        release.wait(30)
        if len(calls) == 1:
            raise RuntimeError("table throttled")

    scheduler = local_stack.lambdas["MigrationSchedulerFunction"]
    scheduler.override = slow_then_flaky
    worker = _worker(
        local_stack, lambda e, c: {"done": True, "wait_s": 0, "continue_as_new": False}
    )
    try:
        _, arn = _start(local_stack, "ev-slow")
        assert _ended(arn, timeout=60)["status"] == "SUCCEEDED"  # while the target is blocked
        wait_for(lambda: _events_for(calls, arn), what="the first delivery")
        release.set()
        wait_for(lambda: len(_events_for(calls, arn)) == 2, what="the retry")
    finally:
        release.set()
        scheduler.override = None
        worker.override = None
    first, second = _events_for(calls, arn)
    assert first["id"] == second["id"]  # the same event, delivered again


@pytest.mark.stack
def test_any_state_machine_timing_out_is_reported(local_stack: LocalStack) -> None:
    sfn = boto3.client("stepfunctions")
    machine = sfn.create_state_machine(
        name=f"timeout-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(
            {
                "StartAt": "Sleep",
                "TimeoutSeconds": 1,
                "States": {"Sleep": {"Type": "Wait", "Seconds": 30, "End": True}},
            }
        ),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/test",
    )["stateMachineArn"]
    seen: list[dict[str, Any]] = []
    rule = Rule("test-timeouts", {"detail": {"stateMachineArn": [machine]}}, _recorder(seen))
    local_stack.event_bus.rules.append(rule)
    try:
        arn = sfn.start_execution(stateMachineArn=machine, name="t1", input="{}")["executionArn"]
        event = _one_event(seen, arn, timeout=30)
    finally:
        local_stack.event_bus.rules.remove(rule)
    assert event["detail"]["status"] == "TIMED_OUT"
    assert sfn.describe_execution(executionArn=arn)["status"] == "TIMED_OUT"
