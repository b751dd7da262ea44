"""Copy slots on the single mailport table (key format: ``mailport.adapters.keys``), one
partition: a running job holds one while a chunk copies, with a lease (``until``) that frees
it if the worker dies mid-chunk; beside them the jobs waiting for one, oldest ``since`` first.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

from mailport.adapters import keys
from mailport.adapters.dynamo_table import ConditionFailed, DynamoTable, as_int, to_ddb
from mailport.adapters.keys import COPYING
from mailport.catalogue import say

COPY_WAITER_TTL_S = 300  # a job waiting for a copy slot asks every 30 s; 10 misses and it's out


class DynamoCopySlots(DynamoTable):
    """``CopySlots`` on DynamoDB."""

    def take_copy_slot(self, holder: str, cap: int, now: dt.datetime, until: dt.datetime) -> bool:
        """One of ``cap`` copy slots for ``holder`` until ``until``; False if all are held.

        A slot whose lease has run out (its worker died mid-chunk) is free; the holder's own
        slot is taken again (a retried step). Jobs that found none wait in line, oldest
        first: a job takes a free slot only if enough are free for every job ahead of it,
        so one that ends a chunk can't take its slot straight back from those waiting. A
        free slot is picked at random so workers asking at once rarely collide.
        """
        now_s = int(now.timestamp())
        slots, waiters = self._copy_state(now_s)
        mine = [n for n, h in slots.items() if h == holder and n < cap]
        if mine and self._put_slot(mine[0], holder, now_s, until):
            return True
        since = waiters.get(holder, now_s)
        ahead = sum(1 for h, s in waiters.items() if h != holder and (s, h) < (since, holder))
        free = [n for n in range(cap) if n not in slots]
        if len(free) > ahead:
            random.shuffle(free)
            for n in free[:3]:
                if self._put_slot(n, holder, now_s, until):
                    if holder in waiters:
                        self._delete_copy_item(keys.waiter_sk(holder), holder)
                    return True
        self._wait_in_line(holder, now_s)
        return False

    def _copy_state(self, now_s: int) -> tuple[dict[int, str], dict[str, int]]:
        """Live slots (number → holder) and live waiters (holder → since when)."""
        slots: dict[int, str] = {}
        waiters: dict[str, int] = {}
        # One partition: the slots (~60 B each) and the jobs waiting for one (~70 B each).
        for item in self._copy_items():
            if as_int(item.get("until")) < now_s:
                continue  # a lease or a place in line that ran out
            slot = keys.slot_of(str(item["SK"]))
            if slot is not None:
                slots[slot] = str(item["holder"])
            else:
                waiters[str(item["holder"])] = as_int(item.get("since"))
        return slots, waiters

    def _put_slot(self, n: int, holder: str, now_s: int, until: dt.datetime) -> bool:
        item = {
            "PK": COPYING,
            "SK": keys.slot_sk(n),
            "holder": holder,
            "until": int(until.timestamp()),
        }
        try:
            self._call(
                say("doing.copy_slot_take"),
                "put_item",
                TableName=self._table,
                Item=to_ddb(item),
                ConditionExpression="attribute_not_exists(PK) OR #u < :now OR holder = :me",
                ExpressionAttributeNames={"#u": "until"},
                ExpressionAttributeValues=to_ddb({":now": now_s, ":me": holder}),
            )
        except ConditionFailed:
            return False  # another worker took it first
        return True

    def _wait_in_line(self, holder: str, now_s: int) -> None:
        # Keeps the first "since"; a waiter that stops asking (its job ended) drops out.
        self._call(
            say("doing.copy_slot_wait"),
            "update_item",
            **self._key(COPYING, keys.waiter_sk(holder)),
            UpdateExpression="SET holder = :me, since = if_not_exists(since, :now), #u = :u",
            ExpressionAttributeNames={"#u": "until"},
            ExpressionAttributeValues=to_ddb(
                {":me": holder, ":now": now_s, ":u": now_s + COPY_WAITER_TTL_S}
            ),
        )

    def _copy_items(self, prefix: str | None = None) -> Iterator[dict[str, Any]]:
        key, values = "PK = :p", {":p": COPYING}
        if prefix:  # DynamoDB refuses an empty string in a key condition
            key, values = f"{key} AND begins_with(SK, :s)", {**values, ":s": prefix}
        return self._query(
            say("doing.copy_slots_read"),
            KeyConditionExpression=key,
            ExpressionAttributeValues=to_ddb(values),
            ConsistentRead=True,
        )

    def _delete_copy_item(self, sk: str, holder: str) -> None:
        # A failed condition: its lease ran out and another job holds it now.
        with contextlib.suppress(ConditionFailed):
            self._call(
                say("doing.copy_slot_free"),
                "delete_item",
                **self._key(COPYING, sk),
                ConditionExpression="holder = :me",
                ExpressionAttributeValues=to_ddb({":me": holder}),
            )

    def give_copy_slot(self, holder: str) -> None:
        """Free ``holder``'s copy slot and its place in line (none is fine: a retried step)."""
        # The slots only (at most the cap), not the line, which can be 20 times longer.
        for item in self._copy_items(keys.SLOT_PREFIX):
            if item.get("holder") == holder:
                self._delete_copy_item(str(item["SK"]), holder)
        self._delete_copy_item(keys.waiter_sk(holder), holder)
