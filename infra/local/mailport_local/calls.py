"""Every AWS call each function makes, recorded as it is made, so the tests can check it
against that function's role in template.yaml (tests/integration/test_least_privilege.py).

On Lambda a call is signed with the function's own role; locally every function shares this
process's credentials, so nothing would notice a call the role doesn't allow. The recorder
notes who made each call instead: the function whose invocation is running (a context
variable, carried into the thread pools a handler starts), Lambda's event source polling on
the function's behalf, and the state machine invoking its tasks.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import json
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import botocore.handlers
import botocore.signers

# On whose behalf this thread is calling AWS: (the stack, the logical id in template.yaml of
# its function or state machine); None outside them (tests, the stack's own provisioning).
CALLER: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "aws_caller", default=None
)
# Each stack's way of resolving the template's intrinsic functions to its own names (key ids,
# queue URLs differ between the stacks one test session starts).
RESOLVERS: dict[str, Callable[[Any], Any]] = {}


@dataclass(frozen=True)
class Call:
    """One call as the SDK was asked to make it: the operation and its parameters."""

    stack: str
    caller: str
    service: str  # botocore's service name: dynamodb, s3, sqs, kms, ...
    operation: str  # the API's operation name: TransactWriteItems, PutObject, ...
    params: dict[str, Any]
    presigned: bool = False  # signed here, sent later by someone else (a browser)


@dataclass
class CallRecorder:
    """The calls made so far in this process, in order; in a child process that runs one
    handler (tests/integration/test_reliability_kills.py), also appended to ``sink`` as
    they are made, since the child may be killed at any moment.
    """

    calls: list[Call] = field(default_factory=list)
    sink: str | None = None
    enabled: bool = False  # the tests turn it on (LocalStackConfig.record_calls); make run not
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, call: Call) -> None:
        """Keep one call (when enabled)."""
        if not self.enabled:
            return
        with self._lock:
            self.calls.append(call)
            if self.sink is not None:
                line = json.dumps(dataclasses.asdict(call), default=_no_bytes)
                with open(self.sink, "a", encoding="utf-8") as f:
                    f.write(line + "\n")

    def snapshot(self) -> list[Call]:
        """The calls so far (a copy)."""
        with self._lock:
            return list(self.calls)


RECORDER = CallRecorder()


def _no_bytes(value: Any) -> Any:
    """Bodies and binary attributes are not what IAM judges: left out of a sink's lines."""
    return None


def record_child(sink: str, stack: str, caller: str) -> None:
    """In a process that runs one of ``stack``'s handlers by itself: every call is
    ``caller``'s, appended to ``sink`` (read back with ``read_sink``).
    """
    install()
    RECORDER.sink = sink
    RECORDER.enabled = True
    CALLER.set((stack, caller))


# The sinks of the children this process started (each child's calls, as it made them).
CHILD_SINKS: list[str] = []


def every_call() -> list[Call]:
    """The calls made in this process and in the children it started."""
    out = RECORDER.snapshot()
    for sink in CHILD_SINKS:
        with contextlib.suppress(FileNotFoundError):
            out += read_sink(sink)
    return out


def read_sink(path: str) -> list[Call]:
    """The calls a child appended to ``path`` (a line cut short by a kill is skipped)."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            with contextlib.suppress(ValueError, TypeError):
                out.append(Call(**json.loads(line)))
    return out


# The key of the presigned POST being signed: botocore signs it under CreateBucket's model
# with the bucket alone, so the hook would not otherwise know which object it allows.
_POST_KEY: contextvars.ContextVar[str | None] = contextvars.ContextVar("post_key", default=None)


def _before_parameter_build(params: Any, model: Any, context: Any, **_: Any) -> None:
    """Botocore's hook for every call and presigned request, before it is serialized."""
    who = CALLER.get()
    if who is None:
        return
    service = model.service_model.service_name
    presigned = bool(context and context.get("is_presign_request"))
    operation = model.name
    if presigned and service == "s3" and operation == "CreateBucket":
        # generate_presigned_post borrows CreateBucket's model: the request is an upload.
        operation = "PostObject"
        params = {**(params or {}), "Key": _POST_KEY.get()}
    RECORDER.add(Call(*who, service, operation, _slim(params or {}), presigned))


# What tests/support/iam_access.py reads of a call; bodies, items and attribute values are
# dropped, so a long test session holds names, not mail.
_KEPT = (
    "TableName",
    "IndexName",
    "Bucket",
    "Key",
    "CopySource",
    "QueueUrl",
    "KeyId",
    "SecretId",
    "stateMachineArn",
    "executionArn",
    "Source",
    "FunctionName",
)


def _slim(params: dict[str, Any]) -> dict[str, Any]:
    """The names in a call's parameters that IAM authorizes it on."""
    out = {k: params[k] for k in _KEPT if isinstance(params.get(k), str | dict)}
    if isinstance(params.get("RequestItems"), dict):
        out["RequestItems"] = dict.fromkeys(params["RequestItems"])
    if isinstance(params.get("TransactItems"), list):
        out["TransactItems"] = [
            {kind: {"TableName": body.get("TableName")}}
            for item in params["TransactItems"]
            for kind, body in item.items()
        ]
    if isinstance(params.get("Delete"), dict):
        objects = params["Delete"].get("Objects") or []
        out["Delete"] = {"Objects": [{"Key": o.get("Key")} for o in objects]}
    return out


def install() -> None:
    """Record the calls of every botocore session made from now on (idempotent).

    botocore registers ``BUILTIN_HANDLERS`` on each new session, so the hook reaches the
    clients the functions make without touching their code; thread pools are made to carry
    the submitter's context (Python 3.12's don't), so work a handler hands to a pool stays
    that handler's.
    """
    hook = ("before-parameter-build", _before_parameter_build)
    if hook in botocore.handlers.BUILTIN_HANDLERS:
        return
    botocore.handlers.BUILTIN_HANDLERS.append(hook)
    presign_post = botocore.signers.generate_presigned_post

    def generate_presigned_post(self: Any, Bucket: str, Key: str, *a: Any, **k: Any) -> Any:  # noqa: N803 - botocore's names
        token = _POST_KEY.set(Key)
        try:
            return presign_post(self, Bucket, Key, *a, **k)
        finally:
            _POST_KEY.reset(token)

    # Clients made from now on take it (add_generate_presigned_post reads the module's name).
    botocore.signers.generate_presigned_post = generate_presigned_post
    submit: Callable[..., Future[Any]] = ThreadPoolExecutor.submit

    def submit_in_context(
        self: ThreadPoolExecutor, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> Future[Any]:
        return submit(self, contextvars.copy_context().run, fn, *args, **kwargs)

    ThreadPoolExecutor.submit = submit_in_context  # type: ignore[method-assign,assignment]
