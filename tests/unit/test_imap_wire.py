"""IMAP wire: the capped imaplib connection over a socket pair (bytes in, no server), and the
translation of library and socket errors into ``Remote*``.
"""

from __future__ import annotations

import imaplib
import socket
import ssl
import threading
from collections.abc import Iterator

import pytest
from imapclient.exceptions import LoginError

from mailport.adapters.imap.wire import (
    MAX_UNTAGGED,
    CappedIMAP4,
    LiteralTooLarge,
    StartTlsRefused,
    said_by,
    translate,
)
from mailport.domain.remote import (
    RemoteAuthFailed,
    RemoteProtocolError,
    RemoteTlsError,
    RemoteTransient,
    RemoteUnreachable,
)

# -- the capped connection --------------------------------------------------------------


def _answer_capability(server: socket.socket) -> None:
    """Answer the CAPABILITY that imaplib sends when it connects."""
    line = b""
    while not line.endswith(b"\r\n"):
        line += server.recv(1)
    tag = line.split(b" ", 1)[0]
    server.sendall(b"* CAPABILITY IMAP4rev1\r\n" + tag + b" OK done\r\n")


@pytest.fixture
def pair() -> Iterator[tuple[CappedIMAP4, socket.socket]]:
    """A ``CappedIMAP4`` (literal cap 10 bytes) and the server's end of its socket."""
    ours, theirs = socket.socketpair()
    ours.settimeout(5)
    theirs.settimeout(5)
    theirs.sendall(b"* OK hi\r\n")
    answering = threading.Thread(target=_answer_capability, args=(theirs,))
    answering.start()
    conn = CappedIMAP4(
        "127.0.0.1", 143, timeout=5.0, tls=None, max_literal=10, dial=lambda *_: ours
    )
    answering.join(timeout=5)
    conn.untagged_count = conn.untagged_bytes = 0  # as the session does before each command
    yield conn, theirs
    ours.close()
    theirs.close()


def test_a_literal_over_the_cap_is_refused_before_it_is_read(
    pair: tuple[CappedIMAP4, socket.socket],
) -> None:
    conn, server = pair
    server.sendall(b"0123456789abc")
    assert conn.read(10) == b"0123456789"
    with pytest.raises(LiteralTooLarge, match="literal of 11 bytes"):
        conn.read(11)
    assert conn.read(3) == b"abc"  # nothing of the refused one was consumed


def test_a_fetch_budget_counts_every_literal(pair: tuple[CappedIMAP4, socket.socket]) -> None:
    conn, server = pair
    server.sendall(b"abcdefgh")
    conn.budget = 7
    assert conn.read(4) == b"abcd"
    assert conn.budget == 3
    with pytest.raises(LiteralTooLarge, match="more than planned"):
        conn.read(4)
    conn.budget = None
    assert conn.read(4) == b"efgh"


def test_untagged_responses_are_bounded_by_count(pair: tuple[CappedIMAP4, socket.socket]) -> None:
    conn, _ = pair
    for _ in range(MAX_UNTAGGED):
        conn._append_untagged("OK", b"x")
    with pytest.raises(LiteralTooLarge, match="responses"):
        conn._append_untagged("OK", b"x")


def test_untagged_bytes_count_lines_and_their_literals(
    pair: tuple[CappedIMAP4, socket.socket],
) -> None:
    conn, _ = pair
    conn._append_untagged("LIST", (b'() "/" {3}', b"abc"))
    assert (conn.untagged_count, conn.untagged_bytes) == (1, 13)
    conn.untagged_bytes = 128 * 2**20 - 2
    with pytest.raises(LiteralTooLarge, match="MB of responses"):
        conn._append_untagged("OK", b"xyz")


def test_a_line_over_imaplibs_cap_is_literal_too_large(
    pair: tuple[CappedIMAP4, socket.socket],
) -> None:
    conn, server = pair
    # Sent from a thread: more than the socket pair buffers.
    sender = threading.Thread(target=server.sendall, args=(b"x" * 1_000_100 + b"\r\n",))
    sender.start()
    with pytest.raises(LiteralTooLarge, match="line over 1,000,000 bytes"):
        conn.readline()
    conn.shutdown()
    sender.join(timeout=5)


# -- error translation ----------------------------------------------------------------


def test_translate() -> None:
    assert isinstance(translate(ConnectionRefusedError(), "connect"), RemoteUnreachable)
    assert isinstance(translate(TimeoutError(), "connect"), RemoteUnreachable)
    assert isinstance(translate(ConnectionResetError(), "session"), RemoteTransient)
    assert isinstance(translate(ssl.SSLCertVerificationError("x"), "connect"), RemoteTlsError)
    assert isinstance(translate(imaplib.IMAP4.abort("EOF"), "session"), RemoteTransient)
    assert isinstance(translate(imaplib.IMAP4.error("[INUSE] busy"), "login"), RemoteTransient)
    assert isinstance(
        translate(imaplib.IMAP4.error("[AUTHENTICATIONFAILED]"), "login"), RemoteAuthFailed
    )
    assert isinstance(translate(imaplib.IMAP4.error("BAD syntax"), "session"), RemoteProtocolError)
    assert isinstance(translate(ValueError("junk"), "session"), RemoteProtocolError)


def test_translate_limits_and_starttls() -> None:
    too_large = translate(LiteralTooLarge("literal of 99 bytes"), "session")
    assert isinstance(too_large, RemoteProtocolError)
    assert str(too_large) == "IMAP server response too large: literal of 99 bytes"
    assert isinstance(translate(StartTlsRefused("NO"), "tls"), RemoteTlsError)
    # A login refusal without the usual codes is still a refused login.
    assert isinstance(translate(LoginError("nope"), "session"), RemoteAuthFailed)


def test_microsoft_365_throttling_is_transient_with_its_backoff_hint() -> None:
    said = "Request is throttled. Suggested Backoff Time: 92415 milliseconds"
    error = translate(imaplib.IMAP4.error(said), "session")
    assert isinstance(error, RemoteTransient)
    assert error.retry_after_s == 92.415
    # "Slow down" without a time: the usual wait for that answer (a pause, not a failure).
    unavailable = translate(
        imaplib.IMAP4.abort("[UNAVAILABLE] Temporary System Problem"), "session"
    )
    assert isinstance(unavailable, RemoteTransient) and unavailable.retry_after_s == 60
    # A dropped line is not the provider asking: no pause, the state machine retries.
    plain = translate(imaplib.IMAP4.abort("socket error: EOF"), "session")
    assert isinstance(plain, RemoteTransient) and plain.retry_after_s is None
    lost = translate(ConnectionResetError(), "session")
    assert isinstance(lost, RemoteTransient) and lost.retry_after_s is None


def test_said_by_gives_the_servers_words_not_a_bytes_repr() -> None:
    assert said_by(imaplib.IMAP4.error(b"[ALERT] caf\xc3\xa9")) == "[ALERT] café"
    assert said_by(LoginError(str(b"[AUTHENTICATIONFAILED] no"))) == "[AUTHENTICATIONFAILED] no"
    assert said_by(LoginError("b'unterminated")) == "b'unterminated"
    assert said_by(ConnectionResetError()) == "ConnectionResetError"
    assert said_by(OSError(104, "reset")) == "[Errno 104] reset"
