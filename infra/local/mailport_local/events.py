"""EventBridge's default bus, for the service events the local stack emits itself.

moto never sends Step Functions' "Execution Status Change" events. ``install_execution_hook``
makes its engine report every execution that ends, and ``EventBus`` matches the event against the
template's ``EventBridgeRule`` / ``CloudWatchEvent`` patterns (with moto's own matcher) and invokes
the targets asynchronously, as EventBridge does.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mailport_local.lambdas import InvocationError, LocalFunction

log = logging.getLogger(__name__)

EXECUTION_STATUS_CHANGE = "Step Functions Execution Status Change"
# EventBridge's event size limit: Step Functions leaves out output, then input, above it.
PAYLOAD_LIMIT = 248 * 1024

# ------------------------------------------------------------------ the event


def _epoch_ms(value: Any) -> int | None:
    if not isinstance(value, dt.datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return int(value.timestamp() * 1000)


def _str(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))  # moto's enums are str subclasses


def execution_status_event(
    describe: dict[str, Any], account: str, region: str, now: dt.datetime | None = None
) -> dict[str, Any]:
    """The "Step Functions Execution Status Change" event for a ``DescribeExecution`` output."""
    now = now or dt.datetime.now(dt.UTC)
    status = _str(describe["status"])
    succeeded = status == "SUCCEEDED"
    data_in = describe.get("input")
    data_out = describe.get("output") if succeeded else None
    out_ok = data_out is None or len(json.dumps(data_out)) <= PAYLOAD_LIMIT
    in_ok = len(json.dumps(data_in)) + (len(json.dumps(data_out)) if out_ok else 0) <= PAYLOAD_LIMIT
    arn = str(describe["executionArn"])
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": EXECUTION_STATUS_CHANGE,
        "source": "aws.states",
        "account": account,
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [arn],
        "detail": {
            "executionArn": arn,
            "stateMachineArn": describe["stateMachineArn"],
            "name": describe["name"],
            "status": status,
            "startDate": _epoch_ms(describe.get("startDate")),
            "stopDate": _epoch_ms(describe.get("stopDate")),
            "input": data_in if in_ok else None,
            "output": data_out if out_ok else None,
            "inputDetails": {"included": in_ok},
            "outputDetails": {"included": out_ok} if succeeded else None,
            "error": describe.get("error") or None,
            "cause": describe.get("cause") or None,
        },
    }


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """Whether ``event`` matches an EventBridge event pattern (moto's matcher)."""
    from moto.events.models import EventPattern

    message: Any = event  # moto types it as its own TypedDict
    return bool(EventPattern.load(json.dumps(pattern)).matches_event(message))


# ------------------------------------------------------------------ rules and the bus


def _input_path(event: dict[str, Any], path: str) -> Any:
    """A rule's ``InputPath`` (the ``$.a.b`` subset EventBridge rules use)."""
    value: Any = event
    for part in [p for p in path.removeprefix("$").split(".") if p]:
        value = value.get(part) if isinstance(value, dict) else None
    return value


# The event properties a local rule reads (the rest, e.g. RetryPolicy, apply to AWS only).
RULE_PROPERTIES = frozenset(
    {"Pattern", "EventBusName", "State", "Enabled", "Input", "InputPath", "InputTransformer"}
)


@dataclass(frozen=True)
class Rule:
    """One rule with one function target (a SAM ``EventBridgeRule``/``CloudWatchEvent``)."""

    name: str
    pattern: dict[str, Any]
    function: LocalFunction
    input: str | None = None
    input_path: str | None = None

    @classmethod
    def from_event(cls, name: str, props: dict[str, Any], function: LocalFunction) -> Rule | None:
        """The rule for a (resolved) event's properties; None if it never sees service events."""
        if props.get("State") == "DISABLED" or props.get("Enabled") is False:
            return None
        if props.get("EventBusName", "default") != "default":
            return None  # services send to the default bus only
        if "InputTransformer" in props:
            raise ValueError(f"{name}: InputTransformer is not supported locally")
        from moto.events.models import EventPattern

        pattern = props["Pattern"]
        EventPattern.load(json.dumps(pattern))  # rejects an invalid pattern now, as a deploy would
        return cls(name, pattern, function, props.get("Input"), props.get("InputPath"))

    def payload(self, event: dict[str, Any]) -> Any:
        """What the target receives for ``event``."""
        if self.input is not None:
            return json.loads(self.input)
        if self.input_path is not None:
            return _input_path(event, self.input_path)
        return event


@dataclass
class EventBus:
    """Matches events against rules and invokes targets on worker threads.

    A target is a Lambda function invoked asynchronously: on a function error Lambda retries it
    twice (its default), here after a short backoff instead of one and two minutes.
    """

    rules: list[Rule] = field(default_factory=list)
    workers: int = 2
    attempts: int = 3
    backoff_s: float = 0.5
    delivered: int = 0
    failed: int = 0
    _queue: queue.Queue[tuple[Rule, dict[str, Any]] | None] = field(default_factory=queue.Queue)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def put(self, event: dict[str, Any]) -> int:
        """Queue ``event`` for every matching rule; return how many matched. Never blocks."""
        matched = 0
        for rule in self.rules:
            try:
                hit = matches(rule.pattern, event)
            except Exception:
                log.exception("rule %s: bad pattern", rule.name)
                continue
            if hit:
                matched += 1
                self._queue.put((rule, event))
        return matched

    def start(self) -> None:
        """Start the delivery threads."""
        for n in range(self.workers):
            thread = threading.Thread(target=self._run, name=f"eventbus#{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop after the deliveries in hand (queued ones are dropped)."""
        self._stop.set()
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            item = self._queue.get()
            if item is None:
                return
            self.deliver(*item)

    def deliver(self, rule: Rule, event: dict[str, Any]) -> bool:
        """Invoke ``rule``'s target, retrying on errors; return whether it succeeded."""
        for attempt in range(1, self.attempts + 1):
            try:
                rule.function.invoke(rule.payload(event))
            except InvocationError as e:
                log.warning("rule %s: try %d/%d failed: %s", rule.name, attempt, self.attempts, e)
            except Exception:
                log.exception("rule %s → %s: delivery failed", rule.name, rule.function.name)
            else:
                self.delivered += 1
                return True
            if attempt < self.attempts and self._stop.wait(self.backoff_s * 2 ** (attempt - 1)):
                break
        self.failed += 1
        log.error("rule %s dropped event %s", rule.name, event.get("id"))
        return False


# ------------------------------------------------------------------ the moto hook

Listener = Callable[[dict[str, Any]], Any]
_LISTENERS: list[Listener] = []
_LOCK = threading.Lock()
_INSTALLED = False
_ENDED = "_mailport_end_reported"  # set on a moto Execution once its end is reported


def add_listener(listener: Listener) -> None:
    """Have ``listener`` receive the status-change event of every execution that ends."""
    install_execution_hook()
    with _LOCK:
        _LISTENERS.append(listener)


def remove_listener(listener: Listener) -> None:
    """Stop sending events to ``listener``."""
    with _LOCK:
        if listener in _LISTENERS:
            _LISTENERS.remove(listener)


def _report(execution: Any) -> None:
    """Send an ended execution's event to the listeners; never raises into the engine."""
    try:
        if getattr(execution.state_machine, "type", "STANDARD") != "STANDARD":
            return  # only standard workflows emit events
        event = execution_status_event(
            dict(execution.to_describe_output()), execution.account_id, execution.region_name
        )
        with _LOCK:
            listeners = list(_LISTENERS)
        for listener in listeners:
            listener(event)
    except Exception:
        log.exception("could not report the end of %s", getattr(execution, "exec_arn", "?"))


def install_execution_hook() -> None:
    """Report every ending execution of moto's Step Functions engine (idempotent).

    Replaces two moto internals: ``BaseExecutionWorkerCommunication.terminated`` (the engine's
    thread calls it when the program ends and it sets the final status) and ``Execution.stop``
    (StopExecution). moto leaves a stopped execution RUNNING until its current state returns;
    Step Functions ends it at once, so the patched stop sets ABORTED and reports then. moto is
    pinned exactly; tests/integration/test_local_events.py covers both.
    """
    global _INSTALLED  # noqa: PLW0603 - a process-wide patch, installed once
    with _LOCK:
        if not _INSTALLED:
            _patch_engine()
            _INSTALLED = True


def _patch_engine() -> None:
    from moto.stepfunctions.parser.api import ExecutionStatus
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped
    from moto.stepfunctions.parser.backend.execution import (
        BaseExecutionWorkerCommunication,
        Execution,
    )

    terminated, stop = BaseExecutionWorkerCommunication.terminated, Execution.stop

    def patched_terminated(comm: Any) -> None:
        execution = comm.execution
        with _LOCK:
            reported = getattr(execution, _ENDED, False)
            stopped_at = execution.stop_date
            terminated(comm)
            if reported:
                execution.stop_date = stopped_at  # keep the time StopExecution ended it
            setattr(execution, _ENDED, True)
        if not reported:
            _report(execution)

    def patched_stop(execution: Any, stop_date: dt.datetime, error: Any, cause: Any) -> None:
        stop(execution, stop_date=stop_date, error=error, cause=cause)
        worker = execution.exec_worker
        env = worker.env if worker is not None else None
        with _LOCK:
            if getattr(execution, _ENDED, False) or env is None:
                return
            if not isinstance(env.program_state(), ProgramStopped):
                return  # it had already ended: the engine reports it
            execution.exec_status = ExecutionStatus.ABORTED
            execution.stop_date = stop_date.replace(tzinfo=stop_date.tzinfo or dt.UTC)
            setattr(execution, _ENDED, True)
        _report(execution)

    BaseExecutionWorkerCommunication.terminated = patched_terminated  # type: ignore[method-assign, assignment]
    Execution.stop = patched_stop  # type: ignore[method-assign, assignment]
