"""Throttling is a pause, not a failure: a relay in front of the test Dovecot answers as
Microsoft 365 and Gmail do when they want a client to slow down (tests/support/imap_relay.py).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest

from mailport.adapters.imap import ImapConnector
from mailport.domain.network import LOCAL_TESTS
from mailport.domain.remote import Credentials, RemoteTransient, ServerAddress
from mailport_local.stack import LocalStack
from tests.integration.test_migration_runner import build, owner, ref_of
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
    (b"FETCH", b"NO [LIMIT] Too many sessions", 300.0),
]


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
                list(session.fetch(sorted(session.sizes(1, examined.uidnext))))
            finally:
                session.logout()
    finally:
        relay.close()
    assert relay.answered, "the relay never answered in Dovecot's place"
    assert raised.value.retry_after_s == pytest.approx(wait), str(raised.value)
    assert mailbox[1] not in str(raised.value)


def test_a_throttled_job_pauses_and_resumes_on_its_own_without_failing(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    env = build(local_stack, dovecot)
    me = owner()
    user, password = env.seed_user(5)
    relay = ImapRelay(dovecot, [])
    try:
        job = env.create(me, user, password, port=relay.port)
        ref = ref_of(me, job)
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
    finally:
        relay.close()
    assert pauses == [(60, "paused", "provider"), (60, "paused", "provider")]
    assert len(relay.answered) == 2
    done = env.service.get(me, job["id"])
    assert done["state"] == "completed", done
    assert done["counts"]["imported"] == 5 and done["counts"]["failed"] == 0
    assert done["paused_by"] is None
