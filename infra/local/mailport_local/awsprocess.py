"""The emulated AWS in a process of its own, as AWS is never in a Lambda function's process.

In one process, moto, the functions, the API and their callers share one interpreter lock: on
these 2-core machines the emulator, which every AWS call pays, then also waits for the
functions' own Python. ``LocalStackConfig(aws_process=True)`` runs moto here instead, in a
child started with ``python -m mailport_local.awsprocess``, and the benchmarks use it.

Two things moto does call back into the stack's process, through ``Bridge`` (an HTTP server on
loopback that the child is given the address of):

- Step Functions' Lambda tasks: moto's ``LambdaFunction.invoke`` posts the event to
  ``/invoke/<function>``, where the stack runs the real handler (``LocalLambdas``);
- "Execution Status Change" events: the execution hook posts them to ``/event``, where the
  stack's ``EventBus`` matches them against the template's rules.

Not available in this mode: persistence (``Snapshot`` reads KMS key material from moto's
memory) and tests that reach into moto's backends.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, Any

import requests

from mailport_local.lambdas import InvocationError, LocalLambdas

log = logging.getLogger(__name__)

_READY = "mailport-aws-port "


# ------------------------------------------------------------------ the stack's side


class Bridge:
    """What the child calls back: function invocations and service events."""

    def __init__(self, lambdas: LocalLambdas, events: Any, host: str = "127.0.0.1") -> None:
        bridge = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, answer = bridge.handle(self.path, body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_: Any) -> None:
                pass  # one line per invocation would drown the stack's own log

        self._lambdas = lambdas
        self._events = events
        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="aws-bridge", daemon=True
        )

    def handle(self, path: str, body: bytes) -> tuple[int, bytes]:
        """Answer one callback: ``(status, JSON body)``."""
        if path == "/event":
            self._events.put(json.loads(body))
            return 200, b"{}"
        if path.startswith("/invoke/"):
            try:
                fn = self._lambdas.by_name(path.removeprefix("/invoke/"))
            except KeyError:
                return 404, json.dumps({"error": "no such function"}).encode()
            try:
                result = fn.invoke(json.loads(body) if body else {})
            except InvocationError as e:
                return 200, json.dumps({"error": e.payload}).encode()
            return 200, json.dumps({"result": result}).encode()
        return 404, b"{}"

    def start(self) -> None:
        """Serve in a daemon thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()


class AwsProcess:
    """The child process serving moto on ``host``; ``port`` once started."""

    def __init__(self, host: str, callback_url: str) -> None:
        self._host = host
        self._callback = callback_url
        self._child: subprocess.Popen[str] | None = None
        self.port = 0

    def start(self) -> None:
        """Start the child and wait until it serves."""
        self._child = subprocess.Popen(  # noqa: S603 - our own module, by our interpreter
            [sys.executable, "-m", "mailport_local.awsprocess", self._host, self._callback],
            stdin=subprocess.PIPE,  # the child exits when this closes: it never outlives us
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._child.stdout is not None
        line = self._child.stdout.readline()
        if not line.startswith(_READY):
            self._child.kill()
            raise RuntimeError(f"the AWS emulator did not start (said {line!r})")
        self.port = int(line.removeprefix(_READY))

    @property
    def pid(self) -> int | None:
        """The child's process id (benchmarks read its memory)."""
        return self._child.pid if self._child is not None else None

    def stop(self) -> None:
        """Stop the child."""
        if self._child is None:
            return
        assert self._child.stdin is not None
        self._child.stdin.close()
        try:
            self._child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._child.kill()
            self._child.wait()


# ------------------------------------------------------------------ the child's side


class _Caller:
    """Posts to the bridge, one keep-alive session per thread."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._local = threading.local()

    def post(self, path: str, body: bytes) -> dict[str, Any]:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.trust_env = False  # loopback: never through a proxy
        # A migration's step may run for minutes (Lambda's own timeout is the limit).
        response = session.post(self._url + path, data=body, timeout=960)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer


def _hook_lambda(caller: _Caller) -> None:
    from moto.awslambda.models import LambdaFunction

    def invoke(self: Any, body: str, request_headers: Any, response_headers: Any) -> bytes:
        answer = caller.post(f"/invoke/{self.function_name}", (body or "").encode("utf-8"))
        if "error" in answer:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(answer["error"]).encode("utf-8")
        return json.dumps(answer.get("result")).encode("utf-8")

    LambdaFunction.invoke = invoke  # type: ignore[method-assign]


def _forward_events(caller: _Caller) -> None:
    from mailport_local import events

    def forward(event: dict[str, Any]) -> None:
        caller.post("/event", json.dumps(event).encode("utf-8"))

    events.add_listener(forward)


def _exit_with_parent(stdin: IO[str]) -> None:
    stdin.read()  # returns at EOF: the stack closed our stdin or ended
    os._exit(0)


def main(argv: list[str] | None = None) -> None:
    """Serve moto with the stack's fixes and hooks until stdin closes."""
    parser = argparse.ArgumentParser(prog="mailport_local.awsprocess")
    parser.add_argument("host")
    parser.add_argument("callback_url")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    from mailport_local import moto_patches
    from mailport_local.awsserver import AwsServer

    moto_patches.install()
    caller = _Caller(args.callback_url)
    _hook_lambda(caller)
    _forward_events(caller)
    server = AwsServer(args.host)
    # moto's Step Functions engine calls Lambda at localhost:MOTO_PORT.
    os.environ["MOTO_PORT"] = str(server.port)
    server.start()
    print(f"{_READY}{server.port}", flush=True)
    _exit_with_parent(sys.stdin)


if __name__ == "__main__":
    main()
