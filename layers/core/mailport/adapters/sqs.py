"""The fetch queue on SQS."""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from mailport.adapters.aws_errors import back_off, translate
from mailport.adapters.clients import ClientSource
from mailport.catalogue import say
from mailport.domain.accounts import MAX_PER_MESSAGE, FetchRequest, fetch_message
from mailport.errors import TransientError

MAX_DELAY_S = 900  # SQS's limit on DelaySeconds
_BATCH = 10  # SQS's limit on SendMessageBatch entries
_PARALLEL = 8  # batches in flight at once (boto3 clients are thread-safe)


class SqsFetchQueue:
    """``FetchQueue`` on an SQS queue: up to ``per_message`` requests of the same delay in a
    message, batches of 10 messages.
    """

    def __init__(self, queue_url: str, *, client: ClientSource, per_message: int = 1) -> None:
        self._url = queue_url
        self._client = client  # called when needed: only "fetch now" and the POP functions send
        self._per_message = max(1, min(MAX_PER_MESSAGE, per_message))

    @property
    def _sqs(self) -> Any:
        return self._client()

    def send(self, requests: Sequence[FetchRequest]) -> None:
        """Queue every request; failed entries are retried, then reported. Batches go out a
        few at a time: one SendMessageBatch waits a round trip, and the dispatcher's 10,000
        batches a minute-partition at 1,000,000 accounts would not fit its timeout one by one
        (docs/capacity.md).
        """
        messages = self._messages(requests)
        batches = [messages[i : i + _BATCH] for i in range(0, len(messages), _BATCH)]
        if len(batches) <= 1:
            for batch in batches:
                self._send_batch(batch)
            return
        with ThreadPoolExecutor(max_workers=min(_PARALLEL, len(batches))) as pool:
            for done in pool.map(self._send_batch, batches):  # re-raises the first failure
                del done

    def _messages(self, requests: Sequence[FetchRequest]) -> list[list[FetchRequest]]:
        """The requests in messages: those due at the same second together (the dispatcher
        spreads a minute's accounts over its seconds), in the order given.
        """
        by_delay: dict[int, list[FetchRequest]] = {}
        for r in requests:
            by_delay.setdefault(max(0, min(MAX_DELAY_S, r.delay_s)), []).append(r)
        n = self._per_message
        return [group[i : i + n] for group in by_delay.values() for i in range(0, len(group), n)]

    def _send_batch(self, batch: Sequence[list[FetchRequest]]) -> None:
        entries = {
            str(i): {
                "Id": str(i),
                "MessageBody": json.dumps(fetch_message(message)),
                "DelaySeconds": max(0, min(MAX_DELAY_S, message[0].delay_s)),
            }
            for i, message in enumerate(batch)
        }
        for attempt in range(5):
            if attempt:
                back_off(attempt)
            try:
                result = self._sqs.send_message_batch(
                    QueueUrl=self._url, Entries=list(entries.values())
                )
            except (ClientError, BotoCoreError) as e:
                raise translate(e, say("site.doing_queue_fetch")) from e
            failed = {f["Id"] for f in result.get("Failed", [])}
            entries = {k: v for k, v in entries.items() if k in failed}
            if not entries:
                return
        raise TransientError(say("site.fetch_queue_busy"))
