"""The one place boto3 clients are made: on first use, once, under a lock, pooled where many
threads share one.

Adapters take a ``ClientSource`` (a zero-argument callable that returns the client) rather
than a client: most functions wire adapters they never use and each client costs ~15 ms of
cold start (bench/importtime.py), so a client is made only when an adapter first calls. Tests
pass ``lambda: client``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Literal

import boto3
from botocore.config import Config
from botocore.handlers import add_expect_header
from botocore.utils import determine_content_length

ClientSource = Callable[[], Any]
Session = boto3.session.Session  # for callers that bring their own
Service = Literal["dynamodb", "s3", "kms", "sqs", "stepfunctions", "ses", "secretsmanager"]

# Connections kept per client: the fetch worker stores for 10 runs × 8 at once (botocore keeps
# 10 by default and opens, then drops, a new one for each beyond).
# No client-side parameter validation on the two clients every stored message goes through:
# botocore walks every attribute of every item against the model in Python (a third of a
# BatchWriteItem's CPU, ~10 % of the migration worker's per message: bench/imap.py), and the
# service checks the same request anyway (its ValidationException is a ClientError, translated
# like any other). The adapters build their parameters themselves, typed (mypy strict).
_POOLED = Config(max_pool_connections=100, parameter_validation=False)
# SigV4 named: boto3 still signs presigned POSTs with SigV2 by default where a region allows
# it, and S3 refuses SigV2 on buckets created after June 2020 (this stack's).
_SIGV4 = Config(signature_version="s3v4")
# botocore sends every S3 PUT body with "Expect: 100-continue" and waits for the interim
# answer: a second response parsed per stored message (~5 % of the migration worker's CPU
# for each, bench/imap.py), to spare sending a body the service might refuse. Worth it for a
# big body only (the other AWS SDKs ask from 1-2 MB up): below this, the body goes at once.
EXPECT_CONTINUE_BYTES = 1024 * 1024


def _expect_continue_if_large(model: Any, params: dict[str, Any], **_: Any) -> None:
    body = params.get("body")
    if body is None:
        return
    size = determine_content_length(body)  # None: a stream of unknown length, asked as before
    if size is None or size >= EXPECT_CONTINUE_BYTES:
        add_expect_header(model, params)


def expect_continue_for_large_bodies(client: Any) -> None:
    """Make ``client`` (S3) ask "Expect: 100-continue" only for bodies of 1 MiB or more."""
    events = client.meta.events
    events.unregister("before-call.s3", add_expect_header)
    events.register("before-call.s3", _expect_continue_if_large)


class LazyClient:
    """A boto3 client made when first asked for, once, whichever thread asks first.

    Made under a lock because threads ask at the same moment (the fetch worker's ten runs, the
    dispatcher's senders), and botocore doesn't support making clients from one session in
    several threads at once: the clients of one session share its lock.
    """

    def __init__(
        self,
        service: Service,
        session: boto3.session.Session | None = None,
        *,
        config: Config | None = None,
        lock: threading.Lock | None = None,
        customize: Callable[[Any], None] | None = None,
    ) -> None:
        self._service = service
        self._session = session or boto3.session.Session()
        self._config = config
        self._customize = customize  # applied once, to the client as made
        self._client: Any = None
        self._lock = lock or threading.Lock()

    def __call__(self) -> Any:
        """The client."""
        client = self._client
        if client is None:  # only the first calls take the lock
            with self._lock:
                if self._client is None:
                    made = self._session.client(self._service, config=self._config)
                    if self._customize is not None:
                        self._customize(made)
                    self._client = made
                client = self._client
        return client


class Clients:
    """Every client mailport uses, each made on first use from one session."""

    def __init__(self, session: boto3.session.Session | None = None) -> None:
        session = session or boto3.session.Session()
        lock = threading.Lock()

        def lazy(
            service: Service,
            config: Config | None = None,
            customize: Callable[[Any], None] | None = None,
        ) -> LazyClient:
            return LazyClient(service, session, config=config, lock=lock, customize=customize)

        # One client for every adapter on the table, and one for the mail bucket.
        self.dynamodb = lazy("dynamodb", _POOLED)
        self.s3 = lazy("s3", _POOLED, expect_continue_for_large_bodies)
        self.s3_presign = lazy("s3", _SIGV4)
        self.kms = lazy("kms")
        self.sqs = lazy("sqs")
        self.stepfunctions = lazy("stepfunctions")
        self.ses = lazy("ses")
        self.secretsmanager = lazy("secretsmanager")
