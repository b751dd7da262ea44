"""POP3 client (wire, session, connector) against a scripted fake server."""

from __future__ import annotations

import base64
import socket

import pytest

from mailport.adapters.pop3 import Pop3Connector, Pop3Session, SocketLike
from mailport.adapters.pop3 import session as pop3_session
from mailport.domain.remote import (
    Credentials,
    PopEntry,
    RemoteAuthFailed,
    RemoteProtocolError,
    RemoteTlsError,
    RemoteTransient,
    RemoteUnreachable,
    ServerAddress,
)

PASSWORD = "s3cret-Pa55"
CREDS = Credentials("alice", PASSWORD)
POP3S = ServerAddress("pop.example", 995, ssl=True)
POP3 = ServerAddress("pop.example", 110, ssl=False)


# -- a scripted server behind a fake socket -------------------------------------------------


def stuff(raw: bytes) -> bytes:
    lines = raw.split(b"\r\n")
    return b"\r\n".join(b"." + line if line.startswith(b".") else line for line in lines)


class FakeServer:
    """A POP3 server in memory; it answers every complete command line it is sent."""

    def __init__(
        self,
        messages: list[bytes],
        *,
        capa: tuple[bytes, ...] = (b"USER", b"UIDL", b"PIPELINING", b"STLS"),
        drop_in_retr: int | None = None,
    ) -> None:
        self.messages = messages
        self.capa = capa
        self.drop_in_retr = drop_in_retr
        self.out = bytearray(b"+OK ready\r\n")
        self.writes: list[bytes] = []  # each sendall
        self.commands: list[bytes] = []
        self.tls = False
        self.closed = False
        self.deleted: set[int] = set()
        self.dropped = False

    # socket-like
    def recv(self, bufsize: int, /) -> bytes:
        chunk = bytes(self.out[: min(bufsize, 65536)])
        del self.out[: len(chunk)]
        return chunk

    def sendall(self, data: bytes, /) -> None:
        assert not self.closed
        self.writes.append(data)
        for line in data.split(b"\r\n")[:-1]:
            self.commands.append(line)
            if not self.dropped:
                self.out += self.answer(line)

    def close(self) -> None:
        self.closed = True

    # protocol
    def answer(self, line: bytes) -> bytes:
        verb, _, arg = line.partition(b" ")
        handler = getattr(self, "do_" + verb.decode().lower(), None)
        return handler(arg) if handler else b"-ERR unknown command\r\n"

    def do_capa(self, _: bytes) -> bytes:
        return b"+OK\r\n" + b"".join(c + b"\r\n" for c in self.capa) + b".\r\n"

    def do_stls(self, _: bytes) -> bytes:
        return b"+OK begin TLS\r\n"

    def do_user(self, _: bytes) -> bytes:
        return b"+OK\r\n"

    def do_pass(self, arg: bytes) -> bytes:
        if arg.decode() == PASSWORD:
            return b"+OK logged in\r\n"
        return b"-ERR [AUTH] Authentication failed for password " + arg + b"\r\n"

    def do_auth(self, arg: bytes) -> bytes:
        return b"+ \r\n" if arg == b"XOAUTH2" else b"-ERR\r\n"

    def do_(self, arg: bytes) -> bytes:  # an empty line: answer to a SASL error challenge
        return b"-ERR [AUTH] token refused\r\n"

    def _listing(self, fmt: bytes, values: list[bytes]) -> bytes:
        lines = [fmt % (n, v) for n, v in enumerate(values, 1) if n not in self.deleted]
        return b"+OK\r\n" + b"".join(line + b"\r\n" for line in lines) + b".\r\n"

    def do_list(self, _: bytes) -> bytes:
        return self._listing(b"%d %s", [b"%d" % len(m) for m in self.messages])

    def do_uidl(self, _: bytes) -> bytes:
        if b"UIDL" not in self.capa:
            return b"-ERR no UIDL\r\n"
        return self._listing(b"%d %s", [b"u%d" % n for n in range(len(self.messages))])

    def do_retr(self, arg: bytes) -> bytes:
        n = int(arg)
        if not 1 <= n <= len(self.messages):
            return b"-ERR no such message\r\n"
        answer = b"+OK %d octets\r\n" % len(self.messages[n - 1]) + stuff(self.messages[n - 1])
        if n == self.drop_in_retr:
            self.dropped = True
            return answer[: len(answer) // 2]
        return answer + b".\r\n"

    def do_dele(self, arg: bytes) -> bytes:
        self.deleted.add(int(arg))
        return b"+OK\r\n"

    def do_quit(self, _: bytes) -> bytes:
        return b"+OK bye\r\n"


def message(n: int, extra: bytes = b"") -> bytes:
    return b"Subject: m%d\r\n\r\n.dotted line\r\n..two\r\nbody %d\r\n%s\r\n" % (n, n, extra)


def connector(fake: FakeServer, **kwargs: int) -> Pop3Connector:
    def wrap(sock: SocketLike, server: ServerAddress) -> SocketLike:
        assert sock is fake
        fake.tls = True
        return sock

    return Pop3Connector(dial=lambda server: fake, wrap_tls=wrap, **kwargs)  # type: ignore[arg-type]


def open_session(fake: FakeServer, **kwargs: int) -> Pop3Session:
    return connector(fake, **kwargs).open(POP3S, CREDS)


# -- login and TLS ---------------------------------------------------------------------------


def test_stls_then_login() -> None:
    fake = FakeServer([])
    session = connector(fake).open(POP3, CREDS)
    assert fake.tls
    assert fake.commands[:3] == [b"CAPA", b"STLS", b"USER alice"]
    assert fake.commands[4] == b"CAPA"  # again after login
    assert session.pipelined
    session.quit()
    assert fake.closed


def test_stls_missing_refuses_before_credentials() -> None:
    fake = FakeServer([], capa=(b"USER", b"UIDL"))
    with pytest.raises(RemoteTlsError, match="STLS"):
        connector(fake).open(POP3, CREDS)
    assert fake.commands == [b"CAPA"]
    assert not any(PASSWORD.encode() in w for w in fake.writes)
    assert fake.closed and not fake.tls


def test_stls_refused_is_tls_error() -> None:
    fake = FakeServer([])
    fake.do_stls = lambda _: b"-ERR no TLS today\r\n"  # type: ignore[method-assign]
    with pytest.raises(RemoteTlsError, match="refused STLS"):
        connector(fake).open(POP3, CREDS)
    assert b"USER alice" not in fake.commands


def test_stls_injection_is_refused() -> None:
    fake = FakeServer([])
    fake.do_stls = lambda _: b"+OK go\r\n+OK injected\r\n"  # type: ignore[method-assign]
    with pytest.raises(RemoteTlsError, match="before the TLS handshake"):
        connector(fake).open(POP3, CREDS)
    assert not fake.tls
    assert b"USER alice" not in fake.commands


def test_wrong_password_is_auth_failed_without_password() -> None:
    fake = FakeServer([])
    with pytest.raises(RemoteAuthFailed) as info:
        connector(fake).open(POP3S, Credentials("alice", "wrong-" + PASSWORD))
    assert PASSWORD not in str(info.value)
    assert "Authentication failed" in info.value.message
    assert info.value.__cause__ is None
    assert fake.closed


def test_in_use_is_transient() -> None:
    fake = FakeServer([])
    fake.do_pass = lambda arg: b"-ERR [IN-USE] mailbox locked\r\n"  # type: ignore[method-assign]
    with pytest.raises(RemoteTransient, match="IN-USE"):
        open_session(fake)


def test_xoauth2() -> None:
    fake = FakeServer([])
    seen: list[bytes] = []
    answer = fake.answer

    def spy(line: bytes) -> bytes:
        if fake.commands[-2:-1] == [b"AUTH XOAUTH2"]:
            seen.append(base64.b64decode(line))
            return b"+OK welcome\r\n"
        return answer(line)

    fake.answer = spy  # type: ignore[method-assign]
    connector(fake).open(POP3S, Credentials("alice", oauth2_token="tok"))
    assert seen == [b"user=alice\x01auth=Bearer tok\x01\x01"]
    assert not any(c.startswith(b"PASS") for c in fake.commands)


def test_xoauth2_refused() -> None:
    fake = FakeServer([])
    answer = fake.answer
    fake.answer = lambda line: (  # type: ignore[method-assign]
        b"+ eyJzdGF0dXMiOiI0MDEifQ==\r\n" if line.startswith(b"dXNl") else answer(line)
    )
    with pytest.raises(RemoteAuthFailed, match="token refused") as info:
        connector(fake).open(POP3S, Credentials("alice", oauth2_token="tok-secret"))
    assert "tok-secret" not in str(info.value)


def test_unreachable() -> None:
    def dial(server: ServerAddress) -> SocketLike:
        raise socket.gaierror(-2, "Name or service not known")

    with pytest.raises(RemoteUnreachable, match="Name or service"):
        Pop3Connector(dial=dial).open(POP3S, CREDS)


def test_greeting_err_is_transient() -> None:
    fake = FakeServer([])
    fake.out = bytearray(b"-ERR too busy\r\n")
    with pytest.raises(RemoteTransient, match="too busy"):
        open_session(fake)


# -- the session -----------------------------------------------------------------------------


def test_entries() -> None:
    msgs = [message(1), message(2), message(3)]
    session = open_session(FakeServer(msgs))
    assert session.entries() == [
        PopEntry(1, "u0", len(msgs[0])),
        PopEntry(2, "u1", len(msgs[1])),
        PopEntry(3, "u2", len(msgs[2])),
    ]


def test_entries_without_uidl() -> None:
    session = open_session(FakeServer([message(1)], capa=(b"USER",)))
    assert session.entries() == [PopEntry(1, None, len(message(1)))]


@pytest.mark.parametrize("pipelining", [True, False])
def test_retrieve_order_pipelined_and_plain(pipelining: bool) -> None:
    msgs = [message(n, b"x" * n) for n in range(1, 121)]
    fake = FakeServer(msgs, capa=(b"USER", b"PIPELINING") if pipelining else (b"USER",))
    session = open_session(fake)
    writes_before = len(fake.writes)
    order = [*range(120, 0, -2), *range(1, 121, 2)]
    got = list(session.retrieve(order))
    assert [n for n, _ in got] == order
    assert all(raw == msgs[n - 1] for n, raw in got)
    retr_writes = [w.count(b"RETR") for w in fake.writes[writes_before:]]
    assert retr_writes == ([50, 50, 20] if pipelining else [1] * 120)


def test_retrieve_unstuffs_and_keeps_crlf() -> None:
    raw = b".\r\n..\r\nline\r\n.\r\nend without newline"
    session = open_session(FakeServer([raw + b"\r\n", b""]))
    assert list(session.retrieve([1, 2])) == [(1, raw + b"\r\n"), (2, b"")]


def test_abandoned_retrieve_is_drained() -> None:
    msgs = [message(n) for n in range(1, 11)]
    fake = FakeServer(msgs)
    session = open_session(fake)
    for number, _ in session.retrieve(range(1, 11)):
        if number == 3:
            break
    session.delete([4])
    assert fake.deleted == {4}
    assert list(session.retrieve([5])) == [(5, msgs[4])]


def test_server_drops_mid_retr_is_transient() -> None:
    msgs = [message(n, b"y" * 5000) for n in range(1, 6)]
    fake = FakeServer(msgs, drop_in_retr=3)
    session = open_session(fake)
    got: list[int] = []
    with pytest.raises(RemoteTransient, match="closed the connection"):
        for number, _ in session.retrieve([1, 2, 3, 4, 5]):
            got.append(number)
    assert got == [1, 2]
    assert fake.closed
    with pytest.raises(RemoteTransient):
        session.quit()


def test_oversize_message_is_protocol_error_and_bounded() -> None:
    big = b"z" * 1000 + b"\r\n"
    msgs = [message(1), big * 10_000]  # ~10 MB
    fake = FakeServer(msgs)
    session = open_session(fake, max_bytes=100_000)
    with pytest.raises(RemoteProtocolError, match="larger than 100000"):
        list(session.retrieve([1, 2]))
    assert len(fake.out) > 9_000_000  # stopped reading long before the end
    assert fake.closed


def test_message_exactly_at_limit() -> None:
    raw = b"a" * 998 + b"\r\n"
    session = open_session(FakeServer([raw]), max_bytes=1000)
    assert list(session.retrieve([1])) == [(1, raw)]


def test_overlong_status_line_is_protocol_error() -> None:
    fake = FakeServer([])
    session = open_session(fake)
    fake.do_list = lambda _: b"+OK " + b"x" * (2 << 20)  # type: ignore[method-assign]
    with pytest.raises(RemoteProtocolError, match="line longer"):
        session.entries()


@pytest.mark.parametrize("command", ["LIST", "UIDL"])
def test_a_listing_over_its_byte_cap_is_refused_before_its_end(
    monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.setattr(pop3_session, "_LISTING_CAP", 4096)  # 64 MB deployed: same code, less RAM
    fake = FakeServer([message(1), message(2)])
    session = open_session(fake)
    endless = b"+OK\r\n" + b"".join(b"%d 123456\r\n" % n for n in range(1, 300_001)) + b".\r\n"
    setattr(fake, f"do_{command.lower()}", lambda _: endless)
    with pytest.raises(RemoteProtocolError, match="listing larger than 4096 bytes"):
        session.entries()
    assert fake.closed and b"QUIT" not in fake.commands  # closed without QUIT
    assert len(fake.out) > len(endless) - 100_000  # stopped a read or two past the cap
    with pytest.raises(RemoteTransient, match="closed"):  # never read on from mid-listing
        session.entries()


def test_retr_err_is_protocol_error() -> None:
    session = open_session(FakeServer([message(1)]))
    with pytest.raises(RemoteProtocolError, match="RETR 7 refused"):
        list(session.retrieve([1, 7]))


def test_delete_quit_and_close() -> None:
    fake = FakeServer([message(n) for n in range(1, 4)])
    session = open_session(fake)
    session.delete([1, 3])
    assert fake.deleted == {1, 3}
    session.quit()
    assert fake.commands[-1] == b"QUIT"
    fake2 = FakeServer([message(1)])
    session2 = open_session(fake2)
    session2.delete([1])
    session2.close()
    assert fake2.closed and b"QUIT" not in fake2.commands


@pytest.mark.parametrize("server", [POP3S, POP3], ids=["pop3s", "stls"])
def test_a_handshake_the_server_closes_is_a_tls_error(server: ServerAddress) -> None:
    """A plain port given as the SSL one: the server hangs up on the ClientHello."""
    import ssl

    fake = FakeServer([])

    def wrap(sock: SocketLike, _server: ServerAddress) -> SocketLike:
        raise ssl.SSLEOFError(8, "EOF occurred in violation of protocol")

    connector = Pop3Connector(dial=lambda _s: fake, wrap_tls=wrap)
    with pytest.raises(RemoteTlsError, match="check the port and the SSL setting"):
        connector.open(server, CREDS)
    assert b"USER alice" not in fake.commands
