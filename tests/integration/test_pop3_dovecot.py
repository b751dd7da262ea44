"""The POP3 adapter against the private Dovecot (POP3S and STLS)."""

from __future__ import annotations

import re
import socket
import time
import uuid

import pytest

from mailport.adapters.pop3 import Pop3Connector, Pop3Session
from mailport.domain.network import LOCAL_TESTS
from mailport.domain.remote import (
    Credentials,
    RemoteAuthFailed,
    RemoteTlsError,
    RemoteUnreachable,
    ServerAddress,
)
from tests.support.dovecot import Dovecot

pytestmark = pytest.mark.dovecot

COUNT = 200
_SEQ = re.compile(rb"X-Seq: (\d+)")


def make_message(i: int) -> bytes:
    """LF-stored like most maildirs; some dotted lines, one long line, one larger body."""
    body = b"".join(b"line %d of message %d\n" % (j, i) for j in range(i % 40))
    extra = b""
    if i % 7 == 0:
        extra += b".\n..\n.dot at start\n"
    if i % 50 == 0:
        extra += b"L" * 300_000 + b"\n"  # one 300 KB line
    return (
        b"From: a@example.com\nTo: b@example.com\nSubject: message %d\nX-Seq: %d\n\n" % (i, i)
        + body
        + extra
        + b"end\n"
    )


def crlf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def seq(raw: bytes) -> int:
    found = _SEQ.search(raw)
    assert found is not None
    return int(found.group(1))


def new_user(dovecot: Dovecot, messages: list[bytes]) -> Credentials:
    name = f"pop-{uuid.uuid4().hex[:12]}"
    password = f"pw-{uuid.uuid4().hex}"
    dovecot.add_user(name, password)
    if messages:
        dovecot.seed_maildir(
            name, "INBOX", [(m, set(), 1_700_000_000.0 + i) for i, m in enumerate(messages)]
        )
    return Credentials(name, password)


def pop3s(dovecot: Dovecot) -> ServerAddress:
    return ServerAddress(dovecot.host, dovecot.pop3s_port, ssl=True, ca_file=str(dovecot.ca_pem))


def pop3_stls(dovecot: Dovecot) -> ServerAddress:
    return ServerAddress(dovecot.host, dovecot.pop3_port, ssl=False, ca_file=str(dovecot.ca_pem))


@pytest.fixture(scope="module")
def seeded(dovecot: Dovecot) -> tuple[Credentials, list[bytes]]:
    messages = [make_message(i) for i in range(COUNT)]
    return new_user(dovecot, messages), messages


def open_pop(dovecot: Dovecot, creds: Credentials, **kwargs: bool) -> Pop3Session:
    return Pop3Connector(network=LOCAL_TESTS, **kwargs).open(pop3s(dovecot), creds)  # type: ignore[arg-type]


@pytest.mark.parametrize("stls", [False, True], ids=["pop3s", "stls"])
def test_login_and_entries(
    dovecot: Dovecot, seeded: tuple[Credentials, list[bytes]], stls: bool
) -> None:
    creds, messages = seeded
    server = pop3_stls(dovecot) if stls else pop3s(dovecot)
    session = Pop3Connector(network=LOCAL_TESTS).open(server, creds)
    try:
        entries = session.entries()
    finally:
        session.quit()
    assert [e.number for e in entries] == list(range(1, COUNT + 1))
    assert sorted(e.size for e in entries) == sorted(len(crlf(m)) for m in messages)
    uidls = [e.uidl for e in entries]
    assert all(uidls) and len(set(uidls)) == COUNT


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "plain"])
def test_retrieve_exact_bytes(
    dovecot: Dovecot, seeded: tuple[Credentials, list[bytes]], pipelining: bool
) -> None:
    creds, messages = seeded
    session = open_pop(dovecot, creds, pipelining=pipelining)
    try:
        assert session.pipelined is pipelining  # Dovecot offers PIPELINING
        entries = session.entries()
        started = time.perf_counter()
        got = list(session.retrieve([e.number for e in entries]))
        elapsed = time.perf_counter() - started
    finally:
        session.quit()
    print(f"\nretrieve {COUNT} messages, pipelining={pipelining}: {elapsed * 1000:.1f} ms")
    assert [n for n, _ in got] == [e.number for e in entries]
    sizes = {e.number: e.size for e in entries}
    for number, raw in got:
        assert raw == crlf(messages[seq(raw)])
        assert len(raw) == sizes[number]
    assert sorted(seq(raw) for _, raw in got) == list(range(COUNT))


def test_delete_then_quit_removes(dovecot: Dovecot) -> None:
    creds = new_user(dovecot, [make_message(i) for i in range(5)])
    session = open_pop(dovecot, creds)
    gone = {seq(raw) for _, raw in session.retrieve([1, 3])}
    session.delete([1, 3])
    session.quit()
    session = open_pop(dovecot, creds)
    try:
        left = {seq(raw) for _, raw in session.retrieve([e.number for e in session.entries()])}
    finally:
        session.quit()
    assert left == set(range(5)) - gone
    assert len(left) == 3


def test_delete_then_close_keeps(dovecot: Dovecot) -> None:
    creds = new_user(dovecot, [make_message(i) for i in range(5)])
    session = open_pop(dovecot, creds)
    session.delete([1, 2, 3, 4, 5])
    session.close()
    session = open_pop(dovecot, creds)
    try:
        assert len(session.entries()) == 5
    finally:
        session.quit()


def test_wrong_password(dovecot: Dovecot) -> None:
    creds = new_user(dovecot, [])
    wrong = Credentials(creds.username, "not-" + creds.password)
    with pytest.raises(RemoteAuthFailed) as info:
        open_pop(dovecot, wrong)
    assert wrong.password not in str(info.value)
    assert creds.username in info.value.message


def test_untrusted_certificate(dovecot: Dovecot) -> None:
    creds = new_user(dovecot, [])
    connector = Pop3Connector(network=LOCAL_TESTS)
    for server in (
        ServerAddress(dovecot.host, dovecot.pop3s_port, ssl=True),
        ServerAddress(dovecot.host, dovecot.pop3_port, ssl=False),
    ):
        with pytest.raises(RemoteTlsError, match="CERTIFICATE_VERIFY_FAILED"):
            connector.open(server, creds)


def test_hostname_checked(dovecot: Dovecot) -> None:
    """The certificate names 127.0.0.1 and localhost; another host name must fail."""
    creds = new_user(dovecot, [])

    def dial(server: ServerAddress) -> socket.socket:
        return socket.create_connection((dovecot.host, server.port), 5)

    server = ServerAddress("mail.example", dovecot.pop3s_port, ca_file=str(dovecot.ca_pem))
    with pytest.raises(RemoteTlsError, match="match"):
        Pop3Connector(network=LOCAL_TESTS, dial=dial).open(server, creds)


def test_closed_port(dovecot: Dovecot) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    creds = Credentials("nobody", "x")
    with pytest.raises(RemoteUnreachable):
        Pop3Connector(network=LOCAL_TESTS, connect_timeout=2).open(
            ServerAddress("127.0.0.1", port), creds
        )
