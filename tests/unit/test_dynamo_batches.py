"""Batch writes and reads retry what DynamoDB leaves unprocessed (it does so when it
throttles) a bounded number of times, backing off in between, then say "busy"."""

from __future__ import annotations

from typing import Any

import pytest

from mailport.adapters import aws_errors
from mailport.adapters.dynamo_table import DynamoTable
from mailport.errors import TransientError


class Client:
    """Leaves everything unprocessed for the first ``refuse`` calls."""

    def __init__(self, refuse: int) -> None:
        self.refuse = refuse
        self.calls = 0

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
        self.calls += 1
        return {"UnprocessedItems": RequestItems if self.calls <= self.refuse else {}}

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
        self.calls += 1
        if self.calls <= self.refuse:
            return {"Responses": {}, "UnprocessedKeys": RequestItems}
        return {"Responses": {"t": [{"PK": {"S": "a"}}]}}


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(aws_errors.time, "sleep", slept.append)
    return slept


def test_unprocessed_items_are_retried_with_backoff(waits: list[float]) -> None:
    client = Client(refuse=2)
    DynamoTable("t", client=lambda: client)._batch_write("saving", [{"PutRequest": {}}] * 3)
    assert client.calls == 3 and len(waits) == 2 and all(0 <= w <= 1.6 for w in waits)


def test_a_table_that_stays_busy_is_reported_not_looped_on(waits: list[float]) -> None:
    client = Client(refuse=10**9)
    with pytest.raises(TransientError, match="busy"):
        DynamoTable("t", client=lambda: client)._batch_write("saving", [{"PutRequest": {}}])
    assert client.calls == 8 and len(waits) == 7
    client = Client(refuse=10**9)
    with pytest.raises(TransientError, match="busy"):
        list(
            DynamoTable("t", client=lambda: client)._batch_get(
                "reading", [{"PK": {"S": "a"}}], None
            )
        )
    assert client.calls == 8


def test_reads_come_back_after_a_throttle(waits: list[float]) -> None:
    client = Client(refuse=1)
    got = list(
        DynamoTable("t", client=lambda: client)._batch_get("reading", [{"PK": {"S": "a"}}], None)
    )
    assert got == [{"PK": {"S": "a"}}] and client.calls == 2 and len(waits) == 1
