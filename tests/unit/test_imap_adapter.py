"""The IMAP connector and session against a tiny scripted IMAP server on 127.0.0.1 (the
pure parts: test_imap_parser.py; the capped connection and error translation: test_imap_wire.py).
"""

from __future__ import annotations

import base64
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme

from mailport.adapters.imap import ImapConnector, ImapSession
from mailport.adapters.imap.wire import Client
from mailport.domain.network import LOCAL_TESTS
from mailport.domain.remote import (
    Credentials,
    ImapFolder,
    RemoteAuthFailed,
    RemoteError,
    RemoteProtocolError,
    RemoteTlsError,
    RemoteTransient,
    ServerAddress,
)

# -- a scripted IMAP server on 127.0.0.1 -----------------------------------------------

Handler = Callable[[str, str], bytes]

CAPS = b"IMAP4rev1 AUTH=PLAIN"


def _default(tag: str, line: str) -> bytes:
    verb = line.split(" ")[1].upper() if " " in line else ""
    if verb == "CAPABILITY":
        return b"* CAPABILITY " + CAPS + b"\r\n" + tag.encode() + b" OK done\r\n"
    if verb == "LOGOUT":
        return b"* BYE bye\r\n" + tag.encode() + b" OK done\r\n"
    return tag.encode() + b" OK done\r\n"


class FakeServer:
    """Accepts one connection, sends ``greeting``, answers each line via ``handler``."""

    def __init__(
        self,
        greeting: bytes,
        handler: Handler = _default,
        tls: ssl.SSLContext | None = None,
        starttls: ssl.SSLContext | None = None,
    ):
        self.greeting = greeting
        self.handler = handler
        self.tls = tls
        self.starttls = starttls  # after answering STARTTLS with OK, handshake with this
        self.received: list[bytes] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            with conn:
                conn.sendall(self.greeting)
                self._loop(conn)
        except OSError:
            pass

    def _loop(self, conn: socket.socket) -> None:
        buf = b""
        while True:
            data = conn.recv(65536)
            if not data:
                return
            buf += data
            self.received.append(data)
            while b"\r\n" in buf:
                line, buf = buf.split(b"\r\n", 1)
                text = line.decode("utf-8", "replace")
                tag = text.split(" ", 1)[0]
                reply = self.handler(tag, text)
                if reply:
                    conn.sendall(reply)
                upgrade = text.upper().endswith(" STARTTLS") and f"{tag} OK" in reply.decode()
                if self.starttls is not None and upgrade:
                    conn = self.starttls.wrap_socket(conn, server_side=True)

    def close(self) -> None:
        self.sock.close()
        self.thread.join(timeout=5)

    @property
    def transcript(self) -> bytes:
        return b"".join(self.received)


@pytest.fixture
def serve() -> Iterator[Callable[..., FakeServer]]:
    servers: list[FakeServer] = []

    def make(
        greeting: bytes,
        handler: Handler = _default,
        tls: ssl.SSLContext | None = None,
        starttls: ssl.SSLContext | None = None,
    ) -> FakeServer:
        server = FakeServer(greeting, handler, tls, starttls)
        servers.append(server)
        return server

    yield make
    for s in servers:
        s.close()


def _plain(port: int) -> ServerAddress:
    return ServerAddress("127.0.0.1", port, ssl=False)


def test_refuses_without_starttls_before_sending_password(serve: Callable[..., FakeServer]) -> None:
    server = serve(b"* OK [CAPABILITY " + CAPS + b"] ready\r\n")
    with pytest.raises(RemoteTlsError, match="STARTTLS"):
        ImapConnector(network=LOCAL_TESTS, connect_timeout=5, read_timeout=5).open(
            _plain(server.port), Credentials("u", "s3cret-pw")
        )
    assert b"LOGIN" not in server.transcript.upper()
    assert b"s3cret-pw" not in server.transcript


def test_refuses_preauth_on_plain_connection(serve: Callable[..., FakeServer]) -> None:
    server = serve(b"* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] welcome\r\n")
    with pytest.raises(RemoteTlsError, match="pre-authenticated"):
        ImapConnector(network=LOCAL_TESTS, read_timeout=5).open(
            _plain(server.port), Credentials("u", "s3cret")
        )
    assert b"s3cret" not in server.transcript


def test_busy_greeting_is_transient(serve: Callable[..., FakeServer]) -> None:
    server = serve(b"* BYE Too many connections from your IP\r\n")
    with pytest.raises(RemoteTransient):
        ImapConnector(network=LOCAL_TESTS, read_timeout=5).open(
            _plain(server.port), Credentials("u", "p")
        )


def test_huge_literal_in_greeting_is_refused(serve: Callable[..., FakeServer]) -> None:
    server = serve(b"* OK {99999999999}\r\n")
    with pytest.raises(RemoteProtocolError, match="too large"):
        ImapConnector(network=LOCAL_TESTS, read_timeout=5).open(
            _plain(server.port), Credentials("u", "p")
        )


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _server_tls(ca: trustme.CA, name: str = "127.0.0.1") -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(name).configure_cert(ctx)
    return ctx


def _imaps(port: int, ca: trustme.CA, tmp_path: Path) -> ServerAddress:
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return ServerAddress("127.0.0.1", port, ssl=True, ca_file=str(ca_file))


def test_hostname_is_checked(
    serve: Callable[..., FakeServer], ca: trustme.CA, tmp_path: Path
) -> None:
    server = serve(b"* OK ready\r\n", tls=_server_tls(ca, "mail.example.org"))
    with pytest.raises(RemoteTlsError):
        ImapConnector(network=LOCAL_TESTS, read_timeout=5).open(
            _imaps(server.port, ca, tmp_path), Credentials("u", "p")
        )


STARTTLS_CAPS = b"IMAP4rev1 STARTTLS AUTH=PLAIN"


def _starttls_handler(after_ok: bytes = b"", refuse: str = "") -> Handler:
    """Answers STARTTLS with ``refuse`` (NO or BAD) or OK followed, in the same write, by
    ``after_ok``: plaintext pipelined before the handshake (STARTTLS injection, as in
    CVE-2011-0411), here a forged capability list and a forged LOGIN answer.
    """

    def handler(tag: str, line: str) -> bytes:
        if line.upper().endswith(" STARTTLS"):
            if refuse:
                return f"{tag} {refuse}\r\n".encode()
            return f"{tag} OK begin TLS now\r\n".encode() + after_ok
        if line.upper().split(" ")[1:2] == ["CAPABILITY"]:
            return b"* CAPABILITY " + STARTTLS_CAPS + b"\r\n" + tag.encode() + b" OK done\r\n"
        return _default(tag, line)

    return handler


def _starttls_address(port: int, ca: trustme.CA, tmp_path: Path) -> ServerAddress:
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return ServerAddress("127.0.0.1", port, ssl=False, ca_file=str(ca_file))


def test_starttls_upgrades_then_logs_in(
    serve: Callable[..., FakeServer], ca: trustme.CA, tmp_path: Path
) -> None:
    """The control for the two tests below: the same scripted server, well behaved."""
    server = serve(
        b"* OK [CAPABILITY " + STARTTLS_CAPS + b"] ready\r\n",
        _starttls_handler(),
        starttls=_server_tls(ca),
    )
    session = ImapConnector(network=LOCAL_TESTS, read_timeout=5).open(
        _starttls_address(server.port, ca, tmp_path), Credentials("u", "s3cret-pw")
    )
    session.logout()
    assert b' LOGIN u "s3cret-pw"' in server.transcript  # sent, after the handshake


@pytest.mark.parametrize("answer", ["NO STARTTLS refused by policy", "BAD unknown command"])
def test_a_refused_starttls_is_a_tls_error(
    serve: Callable[..., FakeServer], ca: trustme.CA, tmp_path: Path, answer: str
) -> None:
    server = serve(
        b"* OK [CAPABILITY " + STARTTLS_CAPS + b"] ready\r\n", _starttls_handler(refuse=answer)
    )
    with pytest.raises(RemoteTlsError, match="STARTTLS"):
        ImapConnector(network=LOCAL_TESTS, read_timeout=5).open(
            _starttls_address(server.port, ca, tmp_path), Credentials("u", "s3cret-pw")
        )
    assert b"STARTTLS" in server.transcript.upper()  # it was asked, and said NO
    assert b"LOGIN" not in server.transcript.upper()
    assert b"AUTHENTICATE" not in server.transcript.upper()
    assert b"s3cret-pw" not in server.transcript


def test_plaintext_injected_after_the_starttls_ok_is_refused(
    serve: Callable[..., FakeServer], ca: trustme.CA, tmp_path: Path
) -> None:
    injected = (
        b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n"  # STARTTLS gone, as if already upgraded
        b"a9 OK LOGIN completed\r\n"
    )
    server = serve(
        b"* OK [CAPABILITY " + STARTTLS_CAPS + b"] ready\r\n",
        _starttls_handler(after_ok=injected),
        starttls=_server_tls(ca),  # a real handshake follows: a client that only
        # discarded the injected bytes would go on and log in
    )
    with pytest.raises(RemoteTlsError, match="before the TLS handshake"):
        ImapConnector(network=LOCAL_TESTS, read_timeout=5).open(
            _starttls_address(server.port, ca, tmp_path), Credentials("u", "s3cret-pw")
        )
    assert b"STARTTLS" in server.transcript.upper()
    assert b"LOGIN" not in server.transcript.upper()
    assert b"AUTHENTICATE" not in server.transcript.upper()
    assert b"s3cret-pw" not in server.transcript


def test_login_failure_text_is_scrubbed(
    serve: Callable[..., FakeServer], ca: trustme.CA, tmp_path: Path
) -> None:
    def handler(tag: str, line: str) -> bytes:
        if " LOGIN " in line.upper():
            return f"{tag} NO [AUTHENTICATIONFAILED] wrong password hunter2\r\n".encode()
        return _default(tag, line)

    server = serve(b"* OK ready\r\n", handler, tls=_server_tls(ca))
    with pytest.raises(RemoteAuthFailed) as info:
        ImapConnector(network=LOCAL_TESTS, read_timeout=5).open(
            _imaps(server.port, ca, tmp_path), Credentials("u", "hunter2")
        )
    assert "hunter2" not in str(info.value)
    # The server's words as it said them (imaplib hands them over as bytes, not b'…').
    assert str(info.value) == "IMAP login refused: [AUTHENTICATIONFAILED] wrong password ***"


def test_xoauth2_used_when_token_given(
    serve: Callable[..., FakeServer], ca: trustme.CA, tmp_path: Path
) -> None:
    state: dict[str, str] = {}

    def tracking(tag: str, line: str) -> bytes:
        if "tag" in state:  # the client's base64 XOAUTH2 line
            state["sasl"] = line
            return f"{state.pop('tag')} OK authenticated\r\n".encode()
        if " AUTHENTICATE XOAUTH2" in line.upper():
            state["tag"] = tag
            return b"+ \r\n"
        return _default(tag, line)

    server = serve(
        b"* OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2] ready\r\n", tracking, tls=_server_tls(ca)
    )
    session = ImapConnector(network=LOCAL_TESTS, read_timeout=5).open(
        _imaps(server.port, ca, tmp_path), Credentials("u", oauth2_token="tok-123")
    )
    session.logout()
    assert base64.b64decode(state["sasl"]) == b"user=u\x01auth=Bearer tok-123\x01\x01"
    assert b" LOGIN " not in server.transcript


# -- a selected session on a plain fake connection (login/TLS bypassed) ----------------


def _session(port: int, max_literal: int = 1000) -> ImapSession:
    client = Client(
        _plain(port),
        ssl.create_default_context(),
        timeout=5.0,
        max_literal=max_literal,
        dial=lambda host, port, timeout: socket.create_connection((host, port), timeout),
    )
    client.login("u", "p")
    return ImapSession(client)


def _examine_ok(tag: str) -> bytes:
    return (
        b"* 3 EXISTS\r\n* OK [UIDVALIDITY 42] v\r\n* OK [UIDNEXT 10] n\r\n"
        + tag.encode()
        + b" OK [READ-ONLY] EXAMINE done\r\n"
    )


def _mailbox_handler(body_literal: bytes) -> Handler:
    def handler(tag: str, line: str) -> bytes:
        upper = line.upper()
        if " EXAMINE " in upper:
            return _examine_ok(tag)
        if "BODY.PEEK[]" in upper:
            return (
                b'* 1 FETCH (UID 4 FLAGS (\\Seen) INTERNALDATE "17-Jul-2024 10:00:00 +0200" '
                b"RFC822.SIZE 5 BODY[] " + body_literal + b")\r\n" + tag.encode() + b" OK done\r\n"
            )
        if "RFC822.SIZE" in upper:
            return (
                b"* 1 FETCH (UID 4 RFC822.SIZE 5)\r\n* 2 FETCH (FLAGS (\\Seen))\r\n"
                + tag.encode()
                + b" OK done\r\n"
            )
        if upper.endswith(" CAPABILITY"):
            return b"* CAPABILITY IMAP4rev1 SPECIAL-USE\r\n" + tag.encode() + b" OK done\r\n"
        if " LIST " in upper:
            return (
                b'* LIST (\\HasNoChildren \\Sent) "/" "Sent"\r\n'
                b'* LIST (\\Noselect) "/" "&ZeVnLIqe-"\r\n' + tag.encode() + b" OK done\r\n"
            )
        return _default(tag, line)

    return handler


def test_session_examine_list_and_fetch(serve: Callable[..., FakeServer]) -> None:
    server = serve(
        b"* OK [CAPABILITY IMAP4rev1 SPECIAL-USE] hi\r\n", _mailbox_handler(b"{5}\r\nab\r\nc")
    )
    session = _session(server.port)
    folders = session.folders()
    assert [(f.name, f.special_use, f.selectable) for f in folders] == [
        ("Sent", {"\\Sent"}, True),
        ("日本語", frozenset(), False),
    ]
    assert b"RETURN (SPECIAL-USE)" in server.transcript
    info = session.examine(folders[0])
    assert (info.uidvalidity, info.uidnext, info.messages) == (42, 10, 3)
    assert b"EXAMINE" in server.transcript
    assert session.sizes(1, 9) == {4: 5}
    # UID 5 is gone since its size was known: skipped. The sizes are not asked again.
    [message] = list(session.fetch({4: 5, 5: 7}))
    assert server.transcript.count(b"(RFC822.SIZE)") == 1
    assert (message.uid, message.raw, message.flags, message.size) == (
        4,
        b"ab\r\nc",
        frozenset({"\\Seen"}),
        5,
    )
    assert message.internal_date is not None and message.internal_date.utcoffset() is not None
    assert b"BODY.PEEK[]" in server.transcript
    session.logout()


def _utf8_handler(tag: str, line: str) -> bytes:
    upper = line.upper()
    if " LIST " in upper:  # raw UTF-8 names, as RFC 6855 servers (and some others) send
        return (
            b'* LIST (\\HasNoChildren) "/" "Caf\xc3\xa9s"\r\n'
            b'* LIST (\\HasNoChildren) "/" {9}\r\n\xc3\xa9t\xc3\xa9 "1"\r\n'
            + tag.encode()
            + b" OK done\r\n"
        )
    if " EXAMINE " in upper:  # no UIDNEXT: the session asks STATUS
        return b"* 3 EXISTS\r\n* OK [UIDVALIDITY 42] v\r\n" + tag.encode() + b" OK done\r\n"
    if " STATUS " in upper:
        name = line.split(" ", 2)[2].rsplit(" ", 1)[0].encode()
        return b"* STATUS " + name + b" (UIDNEXT 10)\r\n" + tag.encode() + b" OK done\r\n"
    return _default(tag, line)


def test_a_utf8_folder_is_named_in_utf8_and_opened_with_its_listed_bytes(
    serve: Callable[..., FakeServer],
) -> None:
    server = serve(b"* OK [CAPABILITY IMAP4rev1] hi\r\n", _utf8_handler)
    session = _session(server.port)
    cafes, ete = session.folders()
    assert (cafes.name, cafes.raw_name) == ("Cafés", b"Caf\xc3\xa9s")
    assert (ete.name, ete.raw_name) == ('été "1"', b'\xc3\xa9t\xc3\xa9 "1"')
    info = session.examine(cafes)
    assert (info.name, info.uidvalidity, info.uidnext, info.messages) == ("Cafés", 42, 10, 3)
    assert session.examine(ete).uidnext == 10
    sent = server.transcript
    assert b' EXAMINE "Caf\xc3\xa9s"\r\n' in sent
    assert b' STATUS "Caf\xc3\xa9s" (UIDNEXT)\r\n' in sent
    assert b' EXAMINE "\xc3\xa9t\xc3\xa9 \\"1\\""\r\n' in sent
    session.logout()


def test_a_listed_name_with_a_line_break_is_not_sent_back(serve: Callable[..., FakeServer]) -> None:
    server = serve(b"* OK [CAPABILITY IMAP4rev1] hi\r\n", _utf8_handler)
    session = _session(server.port)
    folder = ImapFolder("x", b"x\r\nA1 DELETE INBOX", "/", frozenset())
    with pytest.raises(RemoteProtocolError, match="cannot be sent back"):
        session.examine(folder)
    assert b"DELETE" not in server.transcript
    session.logout()


def test_fetch_refuses_huge_literal(serve: Callable[..., FakeServer]) -> None:
    # Announces ~93 GB; must fail before allocating or reading it.
    server = serve(b"* OK hi\r\n", _mailbox_handler(b"{99999999999}\r\nab"))
    session = _session(server.port)
    session.examine(ImapFolder("INBOX", b"INBOX", "/", frozenset()))
    with pytest.raises(RemoteProtocolError, match="too large"):
        list(session.fetch({4: 5}))


def test_fetch_refuses_more_than_planned(serve: Callable[..., FakeServer]) -> None:
    # Under the per-literal cap (1000) but far over what RFC822.SIZE announced plus one cap.
    server = serve(
        b"* OK hi\r\n",
        _mailbox_handler(b"{900}\r\n" + b"x" * 900 + b" BODY[1] {900}\r\n" + b"y" * 900),
    )
    session = _session(server.port, max_literal=1000)
    session.examine(ImapFolder("INBOX", b"INBOX", "/", frozenset()))
    with pytest.raises(RemoteProtocolError, match="too large"):
        list(session.fetch({4: 5}))


def _flooding_handler(lines: int, line: bytes) -> Handler:
    """A server that answers LIST with ``lines`` untagged lines before its OK."""

    def handler(tag: str, command: str) -> bytes:
        if " LIST " in command.upper():
            return line * lines + tag.encode() + b" OK done\r\n"
        return _mailbox_handler(b"{5}\r\nab\r\nc")(tag, command)

    return handler


def test_endless_untagged_lines_are_refused(serve: Callable[..., FakeServer]) -> None:
    server = serve(b"* OK hi\r\n", _flooding_handler(100_001, b"* OK still here\r\n"))
    session = _session(server.port)
    with pytest.raises(RemoteProtocolError, match="responses"):
        session.folders()


def test_a_few_huge_untagged_lines_are_refused(serve: Callable[..., FakeServer]) -> None:
    server = serve(b"* OK hi\r\n", _flooding_handler(140, b"* OK " + b"x" * 999_000 + b"\r\n"))
    session = _session(server.port)
    with pytest.raises(RemoteProtocolError, match="MB of responses"):
        session.folders()


def test_many_large_literals_in_a_list_answer_are_refused(serve: Callable[..., FakeServer]) -> None:
    literal = b'* LIST () "/" {900}\r\n' + b"x" * 900 + b"\r\n"
    server = serve(b"* OK hi\r\n", _flooding_handler(150_000, literal))
    session = _session(server.port)  # 900-byte literals: each under the per-literal cap
    with pytest.raises(RemoteProtocolError, match="responses"):
        session.folders()


def test_a_single_line_over_imaplibs_cap_is_a_protocol_error(
    serve: Callable[..., FakeServer],
) -> None:
    # imaplib refuses a line over 1,000,000 bytes. The session is closed: the rest of that
    # line must never be read as the answer to a later command.
    line = b"* OK " + b"x" * 1_100_000 + b"\r\n"
    server = serve(b"* OK hi\r\n", _flooding_handler(1, line))
    session = _session(server.port)
    with pytest.raises(RemoteProtocolError, match="line over") as caught:
        session.folders()
    assert len(str(caught.value)) < 300
    with pytest.raises((RemoteError, RemoteTransient)) as again:
        session.folders()
    assert "xxx" not in str(again.value)


def test_a_greeting_line_over_imaplibs_cap_is_a_protocol_error(
    serve: Callable[..., FakeServer],
) -> None:
    server = serve(b"* OK " + b"x" * 1_100_000 + b"\r\n")
    connector = ImapConnector(network=LOCAL_TESTS, connect_timeout=5, read_timeout=5)
    with pytest.raises(RemoteProtocolError, match="line over") as caught:
        connector.open(_plain(server.port), Credentials("u", "p"))
    assert len(str(caught.value)) < 300
