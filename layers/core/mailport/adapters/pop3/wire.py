"""The POP3 wire: commands out, bounded lines and bodies in, over anything socket-like.

Every read is bounded (``MAX_LINE`` a line, a caller's cap a listing or a body), so a server
cannot make the client buffer without limit; ``boundary`` turns socket and TLS failures into
the domain's ``Remote*`` errors.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from mailport.adapters.net import Watchdog
from mailport.adapters.pop3.parser import body_end, cap, parse_reply, unstuff
from mailport.catalogue import Words, say
from mailport.domain.remote import (
    RemoteProtocolError,
    RemoteTlsError,
    RemoteTransient,
    RemoteUnreachable,
)
from mailport.errors import MailportError

__all__ = ["MAX_LINE", "Negative", "SocketLike", "Wire", "boundary"]

MAX_LINE = 1 << 20  # one protocol line (status, listing) at most 1 MiB
_RECV = 256 << 10


class SocketLike(Protocol):
    """What the client needs from a connection (``socket.socket``, ``ssl.SSLSocket``, fakes)."""

    def recv(self, bufsize: int, /) -> bytes:
        """Up to ``bufsize`` bytes; ``b""`` when the peer closed."""
        ...

    def sendall(self, data: bytes, /) -> None:
        """Send everything."""
        ...

    def close(self) -> None:
        """Drop the connection."""
        ...


class Negative(Exception):
    """The server answered -ERR; ``text`` is what it said (capped)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class Wire:
    """Commands out, bounded replies in, over a socket-like object."""

    def __init__(self, sock: SocketLike, *, max_line: int = MAX_LINE) -> None:
        self._sock = sock
        self._buf = bytearray()
        self._max_line = max_line
        self.closed = False
        self._watchdog: Watchdog | None = None

    def upgrade(self, wrap: Callable[[SocketLike], SocketLike]) -> None:
        """Switch to TLS; refuses when the server already sent more (STARTTLS injection)."""
        if self._buf:
            raise RemoteTlsError(say("remote.data_before_tls"))
        self._sock = wrap(self._sock)

    def send(self, lines: Sequence[bytes]) -> None:
        """Send commands in one write (several = pipelined)."""
        self._sock.sendall(b"".join(line + b"\r\n" for line in lines))

    def close(self) -> None:
        """Drop the connection (idempotent)."""
        if self._watchdog is not None:
            self._watchdog.disarm()
        if not self.closed:
            self.closed = True
            with contextlib.suppress(OSError):
                self._sock.close()

    @property
    def cut_short(self) -> bool:
        """Whether ``stop_after``'s time ran out (the connection was cut)."""
        return self._watchdog is not None and self._watchdog.expired

    def stop_after(self, seconds: float) -> None:
        """Cut the connection after ``seconds`` whatever it is doing (``Watchdog``)."""
        if self._watchdog is None:
            self._watchdog = Watchdog(self._sock)
        self._watchdog.arm(seconds)

    def _fill(self) -> None:
        try:
            chunk = self._sock.recv(_RECV)
        except (OSError, ValueError) as e:  # ValueError: TLS unwrapped by the watchdog
            self._too_slow(e)
            raise
        if not chunk:
            self._too_slow(None)
            raise RemoteTransient(say("remote.pop3_closed"))
        self._buf += chunk

    def _too_slow(self, cause: BaseException | None) -> None:
        if self.cut_short:
            raise RemoteTransient(say("remote.pop3_too_slow")) from cause

    def readline(self) -> bytes:
        """One line with its line ending; at most ``max_line`` bytes."""
        start = 0
        while (end := self._buf.find(b"\n", start)) < 0:
            if len(self._buf) > self._max_line:
                raise RemoteProtocolError(say("remote.pop3_line_too_long", limit=self._max_line))
            start = len(self._buf)
            self._fill()
        if end >= self._max_line:
            raise RemoteProtocolError(say("remote.pop3_line_too_long", limit=self._max_line))
        line = bytes(self._buf[: end + 1])
        del self._buf[: end + 1]
        return line

    def reply(self) -> tuple[str, str]:
        """``(kind, text)``: kind is "+OK", "-ERR" or "+" (a SASL continuation)."""
        return parse_reply(self.readline())

    def status(self) -> str:
        """The text of a +OK reply; ``Negative`` for -ERR."""
        kind, text = self.reply()
        if kind == "-ERR":
            raise Negative(text)
        if kind != "+OK":
            raise RemoteProtocolError(say("remote.pop3_unexpected_reply", said=f"+ {text}"))
        return text

    def listing(self, max_bytes: int) -> list[bytes]:
        """The lines of a multi-line answer (unstuffed, without line endings)."""
        lines: list[bytes] = []
        total = 0
        while (line := self.readline().rstrip(b"\r\n")) != b".":
            total += len(line)
            if total > max_bytes:
                raise RemoteProtocolError(say("remote.pop3_listing_too_large", limit=max_bytes))
            lines.append(line[1:] if line.startswith(b".") else line)
        return lines

    def body(self, max_bytes: int) -> bytes:
        """A multi-line message body, unstuffed, CRLFs as received; at most ``max_bytes``."""
        wire_limit = max_bytes + max_bytes // 8 + 8  # stuffing adds at most a byte a line
        scan = 0
        while (end := body_end(self._buf, scan)) < 0:
            if len(self._buf) > wire_limit:
                raise RemoteProtocolError(say("remote.message_too_large", limit=max_bytes))
            scan = max(0, len(self._buf) - 3)
            self._fill()
        raw = unstuff(bytes(self._buf[:end]))
        del self._buf[: end + 3]
        if len(raw) > max_bytes:
            raise RemoteProtocolError(say("remote.message_too_large", limit=max_bytes))
        return raw


@contextlib.contextmanager
def boundary(what: Words, *, connecting: bool = False) -> Iterator[None]:
    """Translate socket/TLS failures into the domain's ``Remote*`` errors; ``what`` says what
    was being done (``remote.pop3_doing_*``).
    """
    try:
        yield
    except MailportError:
        raise
    except (ssl.SSLEOFError, ssl.SSLZeroReturnError) as e:
        raise RemoteTransient(say("remote.connection_closed_during", what=what)) from e
    except ssl.SSLError as e:  # certificate errors included
        raise RemoteTlsError(say("remote.tls_failed_during", what=what, detail=cap(str(e)))) from e
    except OSError as e:
        detail = cap(str(e) or type(e).__name__)
        if connecting:
            raise RemoteUnreachable(
                say("remote.unreachable_during", what=what, detail=detail)
            ) from e
        raise RemoteTransient(say("remote.network_failed_during", what=what, detail=detail)) from e
