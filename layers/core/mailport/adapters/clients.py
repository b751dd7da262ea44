"""boto3 clients made on first use, once."""

from __future__ import annotations

import threading
from typing import Any, Literal

import boto3


class LazyClient:
    """A boto3 client made when first asked for, once, whichever thread asks first.

    Made late because most functions wire adapters they never use (each client costs ~15 ms
    of cold start); made under a lock because threads ask at the same moment (the fetch
    worker's ten runs, the dispatcher's senders), and botocore doesn't support making
    clients from one session in several threads at once.
    """

    def __init__(
        self, service: Literal["kms", "sqs"], session: boto3.session.Session | None = None
    ) -> None:
        self._service = service
        self._session = session or boto3.session.Session()
        self._client: Any = None
        self._lock = threading.Lock()

    def __call__(self) -> Any:
        """The client."""
        with self._lock:
            if self._client is None:
                self._client = self._session.client(self._service)
            return self._client
