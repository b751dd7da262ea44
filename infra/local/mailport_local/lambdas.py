"""Run the functions' real handlers in-process, as Lambda would.

Each function gets a small pool of execution environments; an environment is the handler module
loaded by file path under a unique name, so module globals (Powertools' batch processor, cached
clients) are never shared between concurrent invocations, as on Lambda.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import queue
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from mailport_local import calls
from mailport_local.metrics import INSIDE_FUNCTION
from mailport_local.provision import ACCOUNT_ID, REGION
from mailport_local.template import FunctionSpec

log = logging.getLogger(__name__)

Handler = Callable[[Any, Any], Any]

# Module loading reads the environment (Powertools takes its service name at import time), so
# loads happen one at a time with that function's own variables in place.
_LOAD_LOCK = threading.Lock()


@dataclass
class LocalContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    timeout_s: int
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s
        self.invoked_function_arn = (
            f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"
        )
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = f"local/{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds until this invocation's timeout."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class InvocationError(Exception):
    """A handler raised: carries Lambda's error payload."""

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(f"{payload['errorType']}: {payload['errorMessage']}")
        self.payload = payload


@dataclass
class LocalFunction:
    """One function: its spec, physical name and a pool of loaded environments."""

    spec: FunctionSpec
    name: str
    concurrency: int = 1
    environment: dict[str, str] = field(default_factory=dict)
    override: Handler | None = None
    stack: str = ""  # which stack's function (calls.RESOLVERS)
    invocations: int = 0
    errors: int = 0
    _pool: queue.Queue[Handler] = field(default_factory=queue.Queue)
    _loaded: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _load(self) -> Handler:
        module_name = f"mailport_fn_{self.spec.logical_id}_{self._loaded}"
        spec = importlib.util.spec_from_file_location(module_name, self.spec.module_file)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {self.spec.module_file}")
        module: ModuleType = importlib.util.module_from_spec(spec)
        with _LOAD_LOCK:
            saved = {k: os.environ.get(k) for k in self.environment}
            os.environ.update(self.environment)
            # Log handlers made at import bind to the process's real stdout (as on Lambda),
            # not to whatever a test harness has swapped in for the moment.
            stdout, sys.stdout = sys.stdout, sys.__stdout__
            # Lambda puts the function's code directory on sys.path (LAMBDA_TASK_ROOT), so a
            # handler imports the modules beside it by their own names.
            folder = str(Path(self.spec.module_file).resolve().parent)
            if folder not in sys.path:
                sys.path.append(folder)
            # What a handler does at cold start (clients warmed, parts built) is its own.
            caller = calls.CALLER.set((self.stack, self.spec.logical_id))
            try:
                sys.modules[module_name] = module
                spec.loader.exec_module(module)
            finally:
                calls.CALLER.reset(caller)
                sys.stdout = stdout
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
        self._loaded += 1
        handler: Handler = getattr(module, self.spec.attribute)
        return handler

    def _acquire(self) -> Handler:
        with self._lock:
            if self._pool.empty() and self._loaded < self.concurrency:
                return self._load()
        return self._pool.get()

    def invoke(self, event: Any) -> Any:
        """Run the handler on ``event``; raise ``InvocationError`` if it raises."""
        with self._lock:
            self.invocations += 1
        context = LocalContext(self.name, self.spec.memory, self.spec.timeout)
        if self.override is not None:
            return self._call(self.override, event, context)
        handler = self._acquire()
        try:
            return self._call(handler, event, context)
        finally:
            self._pool.put(handler)

    def _call(self, handler: Handler, event: Any, context: LocalContext) -> Any:
        inside = INSIDE_FUNCTION.set(True)
        caller = calls.CALLER.set((self.stack, self.spec.logical_id))
        try:
            return handler(event, context)
        except Exception as e:
            with self._lock:
                self.errors += 1
            log.info("%s raised %s", self.name, type(e).__name__)
            raise InvocationError(
                {
                    "errorType": type(e).__name__,
                    "errorMessage": str(e),
                    "stackTrace": traceback.format_exception(e)[-5:],
                }
            ) from e
        finally:
            calls.CALLER.reset(caller)
            INSIDE_FUNCTION.reset(inside)


class LocalLambdas:
    """The registry of in-process functions, by logical id and by physical name."""

    def __init__(self) -> None:
        self._by_name: dict[str, LocalFunction] = {}
        self._by_logical: dict[str, LocalFunction] = {}
        # The state machine whose tasks moto's engine invokes (its role's calls are recorded).
        self.state_machine: str | None = None
        self.stack = f"stack-{uuid.uuid4().hex[:8]}"

    def add(
        self,
        spec: FunctionSpec,
        name: str,
        concurrency: int = 1,
        environment: dict[str, str] | None = None,
    ) -> LocalFunction:
        """Register a function."""
        fn = LocalFunction(
            spec=spec,
            name=name,
            concurrency=concurrency,
            environment=environment or {},
            stack=self.stack,
        )
        _ENVIRONMENTS[(self.stack, spec.logical_id)] = fn.environment
        self._by_name[name] = fn
        self._by_logical[spec.logical_id] = fn
        return fn

    def __getitem__(self, logical_id: str) -> LocalFunction:
        return self._by_logical[logical_id]

    def by_name(self, name_or_arn: str) -> LocalFunction:
        """Look a function up by name or ARN."""
        return self._by_name[name_or_arn.rsplit(":", 1)[-1] if ":" in name_or_arn else name_or_arn]

    def all(self) -> list[LocalFunction]:
        """Every registered function."""
        return list(self._by_logical.values())

    def install_moto_hook(self) -> None:
        """Make moto's Lambda ``Invoke`` (used by its Step Functions engine) run in-process.

        This replaces a moto internal (``LambdaFunction.invoke``); moto is pinned exactly and
        tests/integration/test_local_stack.py covers the hook.
        """
        from moto.awslambda.models import LambdaFunction

        registry = self

        def invoke(
            self: Any, body: str, request_headers: Any, response_headers: Any
        ) -> str | bytes:
            event = json.loads(body) if body else {}
            if registry.state_machine:
                calls.RECORDER.add(
                    calls.Call(
                        registry.stack,
                        registry.state_machine,
                        "lambda",
                        "Invoke",
                        {"FunctionName": self.function_arn},
                    )
                )
            try:
                result = registry.by_name(self.function_name).invoke(event)
            except InvocationError as e:
                response_headers["x-amz-function-error"] = "Unhandled"
                return json.dumps(e.payload).encode("utf-8")
            return json.dumps(result).encode("utf-8")

        LambdaFunction.invoke = invoke  # type: ignore[method-assign]


_CONTAINERS: dict[tuple[str, str], Any] = {}
_CONTAINERS_LOCK = threading.Lock()
# Each function's own variables: a container is built after its module loaded (and the
# process's environment was put back), and another stack may have changed the shared ones.
_ENVIRONMENTS: dict[tuple[str, str], dict[str, str]] = {}


def _function_container() -> Any:
    """The running function's own container (built on its first call), or None outside one."""
    from mailport import wiring
    from mailport.settings import Settings

    who = calls.CALLER.get()
    if who is None:
        return None
    with _CONTAINERS_LOCK:
        made = _CONTAINERS.get(who)
        if made is None:
            env = {**os.environ, **_ENVIRONMENTS.get(who, {})}
            made = _CONTAINERS[who] = wiring.build(Settings.from_env(env))
        return made


def isolate_containers() -> None:
    """Give each function its own ``mailport.wiring.container()``, as each has on Lambda.

    The functions share this interpreter, so the process-wide container (its clients, data
    key cache, index groups) would be shared too: one function's warm cache would hide
    another's calls from the role check, and a fault injected into one would reach all.
    Outside a function (tests, benches) the process-wide one still answers. Idempotent.
    """
    from mailport import wiring

    wiring.scope_containers(_function_container)


def container_of(stack: str, logical_id: str) -> Any:
    """The container ``logical_id`` of ``stack`` uses (built on its first call)."""
    with _CONTAINERS_LOCK:
        return _CONTAINERS[(stack, logical_id)]
