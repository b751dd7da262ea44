"""Throttling is a pause, not a failure: a relay in front of the test Dovecot answers as
Microsoft 365 and Gmail do when they want a client to slow down (tests/support/imap_relay.py).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from mailport.adapters.imap import ImapConnector
from mailport.domain.mailbox import Owner
from mailport.domain.network import LOCAL_TESTS
from mailport.domain.remote import Credentials, RemoteTransient, ServerAddress
from mailport.usecases.migration_context import MAX_PROVIDER_HOLD_S
from mailport_local.stack import LocalStack
from tests.integration.test_migration_runner import Env, build, owner, ref_of
from tests.support.dovecot import Dovecot
from tests.support.imap_relay import Answer, ImapRelay

pytestmark = [pytest.mark.dovecot]

# (where the provider says it, its words, the pause they mean in seconds)
ANSWERS = [
    (b"FETCH", b"NO Request is throttled. Suggested Backoff Time: 92415 milliseconds", 92.415),
    (b"FETCH", b"NO Request is throttled.", 60.0),
    (b"LOGIN", b"NO [ALERT] Too many simultaneous connections. (Failure)", 60.0),
    (b"FETCH", b"NO [OVERQUOTA] Account exceeded command or bandwidth limits. (Failure)", 1800.0),
    (b"FETCH", b"* BYE [UNAVAILABLE] Temporary System Problem", 60.0),
    (b"EXAMINE", b"* BYE Maximum number of connections from user+IP exceeded", 60.0),
    (b"EXAMINE", b"NO [INUSE] Mailbox in use", 60.0),
]


@dataclass
class Relayed:
    """A new owner's job over a mailbox of its own, reached through a relay."""

    env: Env
    me: Owner
    job: dict[str, Any]
    ref: dict[str, str]
    relay: ImapRelay


@pytest.fixture
def relayed(
    local_stack: LocalStack, dovecot: Dovecot, request: pytest.FixtureRequest
) -> Iterator[Relayed]:
    env = build(local_stack, dovecot)
    me = owner()
    user, password = env.seed_user(getattr(request, "param", 3))
    relay = ImapRelay(dovecot, [])
    try:
        job = env.create(me, user, password, port=relay.port)
        yield Relayed(env, me, job, ref_of(me, job), relay)
    finally:
        relay.close()


@pytest.fixture
def mailbox(dovecot: Dovecot) -> Iterator[tuple[str, str]]:
    user, password = f"thr-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    dovecot.add_user(user, password)
    mail = [(f"Subject: t{i}\r\n\r\nbody {i}\r\n".encode(), set(), 1.7e9 + i) for i in range(3)]
    dovecot.seed_maildir(user, "INBOX", mail)
    yield user, password


@pytest.mark.parametrize(
    ("verb", "line", "wait"), ANSWERS, ids=[a[1][:40].decode() for a in ANSWERS]
)
def test_each_slow_down_answer_is_transient_with_its_wait(
    dovecot: Dovecot, mailbox: tuple[str, str], verb: bytes, line: bytes, wait: float
) -> None:
    relay = ImapRelay(dovecot, [Answer(verb, line)])
    address = ServerAddress("127.0.0.1", relay.port, ssl=True, ca_file=str(dovecot.ca_pem))
    try:
        with pytest.raises(RemoteTransient) as raised:
            session = ImapConnector(network=LOCAL_TESTS).open(address, Credentials(*mailbox))
            try:
                inbox = next(f for f in session.folders() if f.name == "INBOX")
                examined = session.examine(inbox)
                list(session.fetch(session.sizes(1, examined.uidnext)))
            finally:
                session.logout()
    finally:
        relay.close()
    assert relay.answered, f"the relay never answered in Dovecot's place: {raised.value}"
    assert raised.value.retry_after_s == pytest.approx(wait), str(raised.value)
    assert mailbox[1] not in str(raised.value)


@pytest.mark.parametrize("relayed", [5], indirect=True)
def test_a_throttled_job_pauses_and_resumes_on_its_own_without_failing(relayed: Relayed) -> None:
    env, me, job, ref, relay = (relayed.env, relayed.me, relayed.job, relayed.ref, relayed.relay)
    cursor = env.runner.plan(ref)
    # From now on the provider refuses the next login, then drops the next FETCH.
    relay.answers += [
        Answer(b"LOGIN", b"NO [ALERT] Too many simultaneous connections. (Failure)"),
        Answer(b"FETCH", b"* BYE [UNAVAILABLE] Temporary System Problem"),
    ]
    pauses = []
    for _ in range(20):
        cursor = env.runner.copy_chunk(ref, cursor)
        if cursor["done"]:
            break
        if cursor["wait_s"]:
            shown = env.service.get(me, job["id"])
            pauses.append((cursor["wait_s"], shown["state"], shown["paused_by"]))
            assert shown["counts"]["failed"] == 0 and shown["error"] is None
            env.clock.offset += dt.timedelta(seconds=cursor["wait_s"] + 1)
    env.runner.finalize(ref)
    assert pauses == [(60, "paused", "provider"), (60, "paused", "provider")]
    assert len(relay.answered) == 2
    done = env.service.get(me, job["id"])
    assert done["state"] == "completed", done
    assert done["counts"]["imported"] == 5 and done["counts"]["failed"] == 0
    assert done["paused_by"] is None


def test_a_throttled_first_login_pauses_the_plan_which_runs_after_the_wait(
    relayed: Relayed,
) -> None:
    env, me, job, ref = relayed.env, relayed.me, relayed.job, relayed.ref
    relayed.relay.answers.append(
        Answer(b"LOGIN", b"NO [ALERT] Too many simultaneous connections. (Failure)")
    )
    cursor = env.runner.plan(ref)  # the Plan step's login is refused: a pause, not a retry
    assert cursor["wait_s"] == 60 and not cursor["done"]
    shown = env.service.get(me, job["id"])
    assert (shown["state"], shown["paused_by"]) == ("paused", "provider")
    assert shown["progress"]["total_messages"] == 0  # nothing planned yet
    env.clock.offset += dt.timedelta(seconds=61)
    cursor = env.runner.copy_chunk(ref, cursor)  # plans now
    assert env.service.get(me, job["id"])["progress"]["total_messages"] == 3
    while not cursor["done"]:
        cursor = env.runner.copy_chunk(ref, cursor)
    env.runner.finalize(ref)
    done = env.service.get(me, job["id"])
    assert done["state"] == "completed" and done["counts"]["imported"] == 3


def test_a_provider_that_never_relents_fails_the_job_after_a_day_without_progress(
    relayed: Relayed,
) -> None:
    env, me, job, ref = relayed.env, relayed.me, relayed.job, relayed.ref
    cursor = env.runner.plan(ref)
    bandwidth = b"NO [OVERQUOTA] Account exceeded command or bandwidth limits. (Failure)"
    relayed.relay.answers.append(Answer(b"FETCH", bandwidth, every=True))
    with pytest.raises(RemoteTransient, match="bandwidth"):
        for _ in range(200):
            cursor = env.runner.copy_chunk(ref, cursor)
            assert cursor["wait_s"], cursor
            assert env.service.get(me, job["id"])["paused_by"] == "provider"
            env.clock.offset += dt.timedelta(seconds=cursor["wait_s"] + 1)
    # A 30-minute pause for each refused FETCH until a day of them; the next refusal goes to
    # the state machine, whose retries end in the rollback like any other failure.
    assert len(relayed.relay.answered) == MAX_PROVIDER_HOLD_S // 1800 + 1
