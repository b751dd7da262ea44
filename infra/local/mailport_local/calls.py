"""Every AWS call each function makes, recorded as it is made, so the tests can check it
against that function's role in template.yaml (tests/integration/test_least_privilege.py).

On Lambda a call is signed with the function's own role; locally every function shares this
process's credentials, so nothing would notice a call the role doesn't allow. The recorder
notes who made each call instead: the function whose invocation is running (a context
variable, carried into the thread pools a handler starts), Lambda's event source polling on
the function's behalf, and the state machine invoking its tasks.
"""

from __future__ import annotations

import contextvars
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
    """The calls made so far in this process, in order."""

    calls: list[Call] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, call: Call) -> None:
        """Keep one call."""
        with self._lock:
            self.calls.append(call)

    def snapshot(self) -> list[Call]:
        """The calls so far (a copy)."""
        with self._lock:
            return list(self.calls)


RECORDER = CallRecorder()
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
    RECORDER.add(Call(*who, service, operation, dict(params or {}), presigned))


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
