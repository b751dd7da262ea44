"""Copy slots: of the running migrations, at most so many copy at once; the rest wait their
turn in the state machine. Real Dovecot, DynamoDB in moto over HTTP, a clock the test moves.
"""

from __future__ import annotations

import datetime as dt
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from mailport.adapters.clients import LazyClient
from mailport.adapters.dynamodb_copy_slots import DynamoCopySlots
from mailport.adapters.imap import ImapConnector
from mailport.domain.mailbox import Owner
from mailport.domain.network import LOCAL_TESTS
from mailport.domain.remote import RemoteTransient
from mailport_local.stack import LocalStack
from tests.integration.test_migration_runner import Env, build
from tests.support.dovecot import Dovecot

pytestmark = [pytest.mark.stack, pytest.mark.dovecot]


def alone(env: Env) -> dt.datetime:
    """Move this test's clock a day on: leases other tests' chunks hold on the shared table
    have run out for it, so its slots are its own. Now, on that clock.
    """
    env.clock.offset += dt.timedelta(days=1)
    return env.clock()


def free(env: Env, now: dt.datetime) -> bool:
    """Whether the one slot of a cap of 1 is free (taken by a probe, then given back)."""
    probe = f"probe-{uuid.uuid4().hex[:8]}"
    took = env.slots.take_copy_slot(probe, 1, now, now + dt.timedelta(seconds=5))
    env.slots.give_copy_slot(probe)
    return took


def behind(
    env: Env, count: int, holder: str, lease: dt.timedelta
) -> tuple[Owner, dict[str, Any], dict[str, str], dict[str, Any]]:
    """A new job of ``count`` messages whose first chunk finds the one slot (a cap of 1)
    held by ``holder`` for ``lease``: its owner, the job, its ref, and the step's cursor.
    """
    now = alone(env)
    me, job, ref = env.started(count)
    cursor = env.runner.plan(ref)
    assert env.slots.take_copy_slot(holder, 1, now, now + lease)
    waited = env.runner.copy_chunk(ref, cursor)
    assert (waited["done"], waited["wait_s"]) == (False, 30)  # back to the Wait state
    return me, job, ref, waited


def test_a_job_waits_for_a_copy_slot_and_copies_once_one_is_free(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    env = build(local_stack, dovecot, max_copying=1, copy_wait_s=30)
    # Another job's chunk is copying (its worker holds the one slot).
    me, job, ref, waited = behind(env, 3, "other-job", dt.timedelta(minutes=10))
    view = env.service.get(me, job["id"])
    assert view["state"] == "running" and view["counts"]["imported"] == 0
    env.slots.give_copy_slot("other-job")
    cursor = env.runner.copy_chunk(ref, waited)
    while not cursor["done"]:
        cursor = env.runner.copy_chunk(ref, cursor)
    env.runner.finalize(ref)
    assert env.service.get(me, job["id"])["counts"]["imported"] == 3
    assert free(env, env.clock())  # the chunk gave its slot back


def test_a_dead_workers_slot_frees_itself_when_its_lease_runs_out(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    env = build(local_stack, dovecot, max_copying=1, copy_wait_s=30)
    # A worker took the slot and died (Lambda's timeout): nobody gives it back.
    _, _, ref, cursor = behind(env, 2, "dead-job", dt.timedelta(seconds=60))
    env.clock.offset += dt.timedelta(seconds=61)
    cursor = env.runner.copy_chunk(ref, cursor)
    assert cursor["wait_s"] == 0 and cursor["done"]


class Failing:
    """A connector whose sessions fail their FETCH, as a dropped server would."""

    def __init__(self, real: ImapConnector) -> None:
        self.real = real

    def open(self, server: Any, credentials: Any) -> Any:
        session = self.real.open(server, credentials)

        class Session:
            def __getattr__(self, name: str) -> Any:
                return getattr(session, name)

            def fetch(self, sized: Any) -> Any:
                raise RemoteTransient("connection reset")

        return Session()


def test_a_failed_chunk_gives_its_slot_back(local_stack: LocalStack, dovecot: Dovecot) -> None:
    env = build(local_stack, dovecot, max_copying=1)
    alone(env)
    _, _, ref = env.started(2)
    cursor = env.runner.plan(ref)
    env.runner._connector = Failing(ImapConnector(network=LOCAL_TESTS))
    with pytest.raises(RemoteTransient):
        env.runner.copy_chunk(ref, cursor)  # the state machine retries the step
    assert free(env, env.clock())


def test_racing_workers_never_hold_more_slots_than_the_cap(local_stack: LocalStack) -> None:
    slots = DynamoCopySlots(local_stack.physical_id("MailportTable"), client=LazyClient("dynamodb"))
    now = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)  # past every other test's lease
    until = now + dt.timedelta(minutes=10)
    holders = [f"race-{uuid.uuid4().hex[:8]}" for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        took = list(pool.map(lambda h: slots.take_copy_slot(h, 3, now, until), holders))
    try:
        assert sum(took) == 3
        # Asking again (a retried step) keeps a holder's own slot, and takes no second one.
        winner = holders[took.index(True)]
        assert slots.take_copy_slot(winner, 3, now, until)
        loser = holders[took.index(False)]
        assert not slots.take_copy_slot(loser, 3, now, until)
    finally:
        for holder in holders:
            slots.give_copy_slot(holder)
    assert slots.take_copy_slot(holders[0], 1, now, until)
    slots.give_copy_slot(holders[0])


def test_a_job_back_from_its_chunk_lets_the_one_waiting_go_first(local_stack: LocalStack) -> None:
    slots = DynamoCopySlots(local_stack.physical_id("MailportTable"), client=LazyClient("dynamodb"))
    now = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)  # past every other test's lease
    lease = dt.timedelta(minutes=10)
    a, b, c = (f"line-{uuid.uuid4().hex[:8]}" for _ in range(3))
    try:
        assert slots.take_copy_slot(a, 1, now, now + lease)
        assert not slots.take_copy_slot(b, 1, now, now + lease)  # b waits in line
        slots.give_copy_slot(a)  # a's chunk ends; its next chunk asks a second later
        later = now + dt.timedelta(seconds=1)
        assert not slots.take_copy_slot(a, 1, later, later + lease)  # behind b
        later += dt.timedelta(seconds=30)
        assert slots.take_copy_slot(b, 1, later, later + lease)  # b's turn
        slots.give_copy_slot(b)
        assert not slots.take_copy_slot(c, 1, later, later + lease)  # a waited longer
        assert slots.take_copy_slot(a, 1, later, later + lease)
    finally:
        for holder in (a, b, c):
            slots.give_copy_slot(holder)


def test_a_job_that_stops_asking_leaves_the_line(local_stack: LocalStack) -> None:
    slots = DynamoCopySlots(local_stack.physical_id("MailportTable"), client=LazyClient("dynamodb"))
    now = dt.datetime.now(dt.UTC) + dt.timedelta(days=4)
    lease = dt.timedelta(minutes=10)
    a, b, c = (f"gone-{uuid.uuid4().hex[:8]}" for _ in range(3))
    try:
        assert slots.take_copy_slot(a, 1, now, now + lease)
        assert not slots.take_copy_slot(b, 1, now, now + lease)  # b's job then ends
        assert not slots.take_copy_slot(c, 1, now, now + lease)
        slots.give_copy_slot(a)
        # Rolled back: its place is given up at once, so c goes next.
        slots.give_copy_slot(b)
        assert slots.take_copy_slot(c, 1, now, now + lease)
        slots.give_copy_slot(c)
        # Or it just stops asking: after 5 minutes it no longer holds anyone back.
        assert slots.take_copy_slot(a, 1, now, now + lease)
        assert not slots.take_copy_slot(b, 1, now, now + lease)  # in line, never again
        slots.give_copy_slot(a)
        soon = now + dt.timedelta(seconds=1)
        assert not slots.take_copy_slot(c, 1, soon, soon + lease)  # behind b, for now
        later = now + dt.timedelta(seconds=301)
        slots.give_copy_slot(c)  # c's job ends too: b alone was in line
        assert slots.take_copy_slot(a, 1, later, later + lease)
    finally:
        for holder in (a, b, c):
            slots.give_copy_slot(holder)


def test_a_long_wait_goes_on_in_a_new_execution(local_stack: LocalStack, dovecot: Dovecot) -> None:
    # Each wait adds ~9 events to the execution's history, which holds 25,000 at most.
    env = build(local_stack, dovecot, max_copying=1, copy_wait_s=30, chunks_per_execution=3)
    _, job, ref, cursor = behind(env, 1, "busy-job", dt.timedelta(minutes=10))
    try:
        assert (cursor["chunks"], cursor["continue_as_new"]) == (1, False)
        cursor = env.runner.copy_chunk(ref, cursor)
        assert (cursor["chunks"], cursor["continue_as_new"]) == (2, False)
        cursor = env.runner.copy_chunk(ref, cursor)
        assert (cursor["chunks"], cursor["continue_as_new"], cursor["wait_s"]) == (3, True, 30)
    finally:
        env.slots.give_copy_slot("busy-job")
        env.slots.give_copy_slot(str(job["id"]))  # out of the line, for the next tests
