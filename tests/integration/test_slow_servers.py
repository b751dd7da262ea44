"""Servers that send too slowly for any one read to time out (a byte every 0.2 s): the
session is cut at its time limit and fails as a clear transient error, instead of holding
the worker until Lambda kills it with nothing saved or said (docs/reliability.md, Gap 2).
"""

from __future__ import annotations

import uuid

import pytest

from mailport.adapters.imap import ImapConnector
from mailport.adapters.pop3 import Pop3Connector
from mailport.domain.network import LOCAL_TESTS
from mailport.domain.remote import Credentials, RemoteTransient, ServerAddress
from tests.support.dovecot import Dovecot
from tests.support.faultproxy import FaultProxy

# Without the cut, each test would wait for the trickle to finish (hours): this stops it.
pytestmark = [pytest.mark.dovecot, pytest.mark.timeout(120)]

BIG = 200_000  # bytes: far more than a few seconds of trickle
FAST = 30_000  # server bytes at full speed first: TLS handshake, greeting, login, listings


def _user(dovecot: Dovecot) -> tuple[str, str]:
    user, password = f"slow-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    dovecot.add_user(user, password)
    raw = b"From: a@example.org\r\nSubject: big\r\n\r\n" + b"x" * BIG + b"\r\n"
    dovecot.seed_maildir(user, "INBOX", [(raw, set(), 1_700_000_000.0)])
    return user, password


# With a deadline from the connect on, the watchdog was armed before the TLS wrap detached
# the plain socket: it must still cut the connection once TLS is up.
@pytest.mark.parametrize("deadline", [None, 60.0], ids=["armed_after_tls", "armed_before_tls"])
def test_a_trickling_pop3_server_is_cut_at_the_time_limit(
    dovecot: Dovecot, deadline: float | None
) -> None:
    user, password = _user(dovecot)
    target = ("127.0.0.1", dovecot.pop3s_port)
    with FaultProxy(target, trickle_after=FAST, trickle_every=0.2) as proxy:
        server = ServerAddress("127.0.0.1", proxy.port, True, str(dovecot.ca_pem))
        session = Pop3Connector(network=LOCAL_TESTS).open(
            server, Credentials(user, password), deadline_s=deadline
        )
        session.stop_after(2.0)
        with pytest.raises(RemoteTransient, match="too slowly"):
            list(session.retrieve([1]))
        session.close()


def test_a_trickling_imap_server_is_cut_at_the_time_limit(dovecot: Dovecot) -> None:
    user, password = _user(dovecot)
    target = ("127.0.0.1", dovecot.imaps_port)
    with FaultProxy(target, trickle_after=FAST, trickle_every=0.2) as proxy:
        server = ServerAddress("127.0.0.1", proxy.port, True, str(dovecot.ca_pem))
        session = ImapConnector(network=LOCAL_TESTS).open(server, Credentials(user, password))
        inbox = session.examine(next(f for f in session.folders() if f.name == "INBOX"))
        session.stop_after(2.0)
        with pytest.raises(RemoteTransient, match="too slowly"):
            list(session.fetch(session.sizes(1, inbox.uidnext - 1)))
        session.logout()


def test_a_session_that_ends_in_time_is_not_cut(dovecot: Dovecot) -> None:
    user, password = _user(dovecot)
    server = ServerAddress("127.0.0.1", dovecot.pop3s_port, True, str(dovecot.ca_pem))
    session = Pop3Connector(network=LOCAL_TESTS).open(server, Credentials(user, password))
    session.stop_after(60.0)
    [(number, raw)] = list(session.retrieve([1]))
    assert number == 1 and len(raw) > BIG
    session.quit()
