"""POP3 adapter (RFC 1939, CAPA/PIPELINING RFC 2449, STLS RFC 2595, AUTH RFC 5034).

A small client of its own over a socket instead of ``poplib``: poplib's TLS defaults to an
unverified context (python/cpython#91826), it reads a RETR answer into memory without a bound
and it cannot pipeline.  Three layers:

* pure parsers (``parse_uidl``, ``parse_list``, ``unstuff``), tested with bytes;
* ``_Wire``: bounded line/body reads over anything socket-like (tests swap in a fake);
* ``Pop3Session`` (``PopMailbox``) and ``Pop3Connector`` (``PopConnector``), which translate
  every failure into the ``Remote*`` errors at the boundary.

TLS is always verified (hostname included).  Without implicit TLS the server must offer and
complete STLS before any credential is sent.  Error messages never contain the password or
token and cap what the server said at ``_TEXT_CAP`` characters.
"""

from __future__ import annotations

import base64
import contextlib
import re
import socket
import ssl
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Protocol

from mailport.adapters.net import Resolve, Watchdog, connect_vetted
from mailport.domain.network import NetworkPolicy
from mailport.domain.remote import (
    Credentials,
    PopEntry,
    RemoteAuthFailed,
    RemoteProtocolError,
    RemoteTlsError,
    RemoteTransient,
    RemoteUnreachable,
    ServerAddress,
    server_text,
)
from mailport.errors import MailportError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_LINE",
    "PIPELINE_WINDOW",
    "Pop3Connector",
    "Pop3Session",
    "SocketLike",
    "parse_list",
    "parse_uidl",
    "unstuff",
]

MAX_LINE = 1 << 20  # one protocol line (status, listing) at most 1 MiB
DEFAULT_MAX_BYTES = 50 << 20  # one message at most 50 MiB
PIPELINE_WINDOW = 50  # commands in flight when the server offers PIPELINING
_LISTING_CAP = 64 << 20  # a LIST/UIDL answer (≈ 20 bytes a message)
_CAPA_CAP = 64 << 10
_RECV = 256 << 10
_TEXT_CAP = 200
_MAX_DIGITS = 18
_UIDL_TOKEN = re.compile(rb"[\x21-\x7e]{1,512}")
_TRANSIENT_CODES = ("[IN-USE]", "[LOGIN-DELAY]", "[SYS/TEMP]")


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


Dial = Callable[[ServerAddress], SocketLike]
WrapTls = Callable[[SocketLike, ServerAddress], SocketLike]


# -- pure helpers ----------------------------------------------------------------------


def _cap(text: str | bytes) -> str:
    """Server text fit for an error message: decoded, one line, at most ``_TEXT_CAP`` chars."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return server_text(text, _TEXT_CAP)


def unstuff(data: bytes) -> bytes:
    """Undo RFC 1939 byte-stuffing: a line starting with "." loses that first ".".

    ``data`` is a multi-line body without its terminating "." line.
    """
    if data.startswith(b"."):
        data = data[1:]
    return data.replace(b"\n.", b"\n")


def _number(field: bytes, line: bytes, what: str) -> int:
    if not field.isdigit() or len(field) > _MAX_DIGITS:
        raise RemoteProtocolError(f"malformed {what} line: {_cap(line)}")
    return int(field)


def _numbered(line: bytes, what: str) -> tuple[int, bytes]:
    """``(message number, second field)`` of a listing line."""
    fields = line.split()
    if len(fields) < 2:  # noqa: PLR2004
        raise RemoteProtocolError(f"malformed {what} line: {_cap(line)}")
    number = _number(fields[0], line, what)
    if number < 1:
        raise RemoteProtocolError(f"malformed {what} line: {_cap(line)}")
    return number, fields[1]


def _add(out: Mapping[int, object], number: int, line: bytes, what: str) -> None:
    if number in out:
        raise RemoteProtocolError(f"duplicate message {number} in {what}: {_cap(line)}")


def parse_uidl(lines: Iterable[bytes]) -> dict[int, str]:
    """A UIDL listing (``"1 QhdPYR:00WBw1Ph7x7"`` lines) as ``{number: uidl}``."""
    out: dict[int, str] = {}
    for line in lines:
        number, token = _numbered(line, "UIDL")
        if len(line.split()) != 2 or not _UIDL_TOKEN.fullmatch(token):  # noqa: PLR2004
            raise RemoteProtocolError(f"malformed UIDL line: {_cap(line)}")
        _add(out, number, line, "UIDL")
        out[number] = token.decode("ascii")
    return out


def parse_list(lines: Iterable[bytes]) -> dict[int, int]:
    """A LIST scan listing (``"1 1234"`` lines) as ``{number: size in octets}``."""
    out: dict[int, int] = {}
    for line in lines:
        number, size = _numbered(line, "LIST")
        _add(out, number, line, "LIST")
        out[number] = _number(size, line, "LIST")
    return out


def _body_end(buf: bytearray, start: int) -> int:
    """Offset of the terminating "." line in ``buf`` (a body from offset 0), or -1."""
    if buf.startswith(b".\r\n"):
        return 0
    i = buf.find(b"\n.\r\n", start)
    return i + 1 if i >= 0 else -1


# -- the wire ----------------------------------------------------------------------------


class _Negative(Exception):
    """The server answered -ERR; ``text`` is what it said (capped)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class _Wire:
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
            raise RemoteTlsError("the server sent data before the TLS handshake")
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
            raise RemoteTransient("the POP3 server closed the connection")
        self._buf += chunk

    def _too_slow(self, cause: BaseException | None) -> None:
        if self._watchdog is not None and self._watchdog.expired:
            raise RemoteTransient(
                "the POP3 server sent too slowly: the run stopped at its time limit"
            ) from cause

    def readline(self) -> bytes:
        """One line with its line ending; at most ``max_line`` bytes."""
        start = 0
        while (end := self._buf.find(b"\n", start)) < 0:
            if len(self._buf) > self._max_line:
                raise RemoteProtocolError(f"POP3 line longer than {self._max_line} bytes")
            start = len(self._buf)
            self._fill()
        if end >= self._max_line:
            raise RemoteProtocolError(f"POP3 line longer than {self._max_line} bytes")
        line = bytes(self._buf[: end + 1])
        del self._buf[: end + 1]
        return line

    def reply(self) -> tuple[str, str]:
        """``(kind, text)``: kind is "+OK", "-ERR" or "+" (a SASL continuation)."""
        line = self.readline()
        for kind in ("+OK", "-ERR", "+"):
            if line.startswith(kind.encode()):
                return kind, _cap(line[len(kind) :])
        raise RemoteProtocolError(f"unexpected POP3 reply: {_cap(line)}")

    def status(self) -> str:
        """The text of a +OK reply; ``_Negative`` for -ERR."""
        kind, text = self.reply()
        if kind == "-ERR":
            raise _Negative(text)
        if kind != "+OK":
            raise RemoteProtocolError(f"unexpected POP3 reply: + {text}")
        return text

    def listing(self, max_bytes: int) -> list[bytes]:
        """The lines of a multi-line answer (unstuffed, without line endings)."""
        lines: list[bytes] = []
        total = 0
        while (line := self.readline().rstrip(b"\r\n")) != b".":
            total += len(line)
            if total > max_bytes:
                raise RemoteProtocolError(f"POP3 listing larger than {max_bytes} bytes")
            lines.append(line[1:] if line.startswith(b".") else line)
        return lines

    def body(self, max_bytes: int) -> bytes:
        """A multi-line message body, unstuffed, CRLFs as received; at most ``max_bytes``."""
        wire_limit = max_bytes + max_bytes // 8 + 8  # stuffing adds at most a byte a line
        scan = 0
        while (end := _body_end(self._buf, scan)) < 0:
            if len(self._buf) > wire_limit:
                raise RemoteProtocolError(f"message larger than {max_bytes} bytes")
            scan = max(0, len(self._buf) - 3)
            self._fill()
        raw = unstuff(bytes(self._buf[:end]))
        del self._buf[: end + 3]
        if len(raw) > max_bytes:
            raise RemoteProtocolError(f"message larger than {max_bytes} bytes")
        return raw


@contextlib.contextmanager
def _boundary(what: str, *, connecting: bool = False) -> Iterator[None]:
    """Translate socket/TLS failures into the domain's ``Remote*`` errors."""
    try:
        yield
    except MailportError:
        raise
    except (ssl.SSLEOFError, ssl.SSLZeroReturnError) as e:
        raise RemoteTransient(f"{what}: the server closed the connection") from e
    except ssl.SSLError as e:  # certificate errors included
        raise RemoteTlsError(f"{what}: {_cap(str(e))}") from e
    except OSError as e:
        cls = RemoteUnreachable if connecting else RemoteTransient
        raise cls(f"{what}: {_cap(str(e) or type(e).__name__)}") from e


@contextlib.contextmanager
def _handshake(where: str) -> Iterator[None]:
    """A TLS handshake the server ends by closing: it does not speak TLS there (a plain port
    given as the SSL one) - a TLS problem for the user, not a dropped line.
    """
    try:
        yield
    except (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionResetError) as e:
        raise RemoteTlsError(
            f"POP3 server {where} closed the connection during the TLS handshake; "
            "check the port and the SSL setting"
        ) from e


# -- the session -------------------------------------------------------------------------


class Pop3Session:
    """An authenticated POP3 session (``PopMailbox``)."""

    def __init__(
        self,
        wire: _Wire,
        capabilities: frozenset[str],
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        window: int = PIPELINE_WINDOW,
        pipelining: bool = True,
    ) -> None:
        self._wire = wire
        self.capabilities = capabilities
        self._max_bytes = max_bytes
        self._step = max(1, window) if pipelining and "PIPELINING" in capabilities else 1
        self._unread = 0  # RETR answers sent for but not read yet
        self._epoch = 0  # bumped when another command drains them

    @property
    def pipelined(self) -> bool:
        """Whether commands go out in windows."""
        return self._step > 1

    @contextlib.contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        """Translate errors; any failure leaves the session closed (never half-read)."""
        if self._wire.closed:
            raise RemoteTransient("the POP3 session is closed")
        try:
            with _boundary(what):
                yield
        except BaseException:
            self._wire.close()
            raise

    def _ok(self, what: str) -> str:
        try:
            return self._wire.status()
        except _Negative as e:
            raise RemoteProtocolError(f"{what} refused: {e.text}") from e

    def _drain(self) -> None:
        """Read and drop RETR answers nobody will consume (an abandoned ``retrieve``)."""
        if not self._unread or self._wire.closed:
            return
        self._epoch += 1
        with self._guard("RETR"):
            while self._unread:
                with contextlib.suppress(_Negative):
                    self._wire.status()
                    self._wire.body(self._max_bytes)
                self._unread -= 1

    def _listing(self, command: bytes) -> list[bytes] | None:
        """A multi-line answer, or None when the server answers -ERR."""
        with self._guard(command.decode()):
            self._drain()
            self._wire.send([command])
            try:
                self._wire.status()
            except _Negative:
                return None
            return self._wire.listing(_LISTING_CAP)

    def entries(self) -> list[PopEntry]:
        """Every message: number, UIDL (None without UIDL support) and size as LIST says."""
        listed = self._listing(b"LIST")
        if listed is None:
            raise RemoteProtocolError("LIST refused")
        sizes = parse_list(listed)
        uidl_lines = self._listing(b"UIDL")
        uidls = parse_uidl(uidl_lines) if uidl_lines is not None else {}
        return [PopEntry(n, uidls.get(n), sizes[n]) for n in sorted(sizes)]

    def retrieve(self, numbers: Sequence[int]) -> Iterator[tuple[int, bytes]]:
        """``(number, raw bytes)`` in the order asked; RETRs pipelined when offered."""
        wanted = list(numbers)
        for start in range(0, len(wanted), self._step):
            yield from self._retrieve_window(wanted[start : start + self._step])

    def _retrieve_window(self, window: list[int]) -> Iterator[tuple[int, bytes]]:
        with self._guard("RETR"):
            self._drain()
            self._wire.send([b"RETR %d" % n for n in window])
        self._unread = len(window)
        epoch = self._epoch
        try:
            for number in window:
                if self._epoch != epoch:
                    raise RuntimeError("another POP3 command interrupted this retrieve")
                yield number, self._read_message(number)
        finally:
            self._drain()

    def _read_message(self, number: int) -> bytes:
        with self._guard(f"RETR {number}"):
            self._ok(f"RETR {number}")
            raw = self._wire.body(self._max_bytes)
        self._unread -= 1
        return raw

    def delete(self, numbers: Sequence[int]) -> None:
        """Mark messages deleted (DELE); ``quit`` commits."""
        wanted = list(numbers)
        with self._guard("DELE"):
            self._drain()
            for start in range(0, len(wanted), self._step):
                window = wanted[start : start + self._step]
                self._wire.send([b"DELE %d" % n for n in window])
                for number in window:
                    self._ok(f"DELE {number}")

    def quit(self) -> None:
        """QUIT: the server removes the deleted messages, then the connection closes."""
        with self._guard("QUIT"):
            self._drain()
            self._wire.send([b"QUIT"])
            self._ok("QUIT")
        self._wire.close()

    def close(self) -> None:
        """Drop the connection without QUIT: nothing is deleted."""
        self._wire.close()

    def stop_after(self, seconds: float) -> None:
        """Cut the session after ``seconds`` even mid-RETR (a server that trickles)."""
        self._wire.stop_after(seconds)


# -- connecting and logging in -----------------------------------------------------------


def _default_wrap(sock: SocketLike, server: ServerAddress) -> SocketLike:
    """Verified TLS (certificate chain and host name) over ``sock``."""
    if not isinstance(sock, socket.socket):
        raise TypeError("TLS needs a real socket")
    try:
        context = ssl.create_default_context(cafile=server.ca_file)
    except OSError as e:
        raise RemoteTlsError(f"cannot load the CA file: {_cap(str(e))}") from e
    return context.wrap_socket(sock, server_hostname=server.host)


def _capabilities(wire: _Wire) -> frozenset[str]:
    """CAPA as a set of capability names (empty when the server has no CAPA)."""
    wire.send([b"CAPA"])
    try:
        wire.status()
    except _Negative:
        return frozenset()
    lines = wire.listing(_CAPA_CAP)
    return frozenset(line.split()[0].decode("ascii", "replace").upper() for line in lines if line)


def _argument(value: str, what: str) -> bytes:
    if any(c in value for c in "\r\n\0"):
        raise RemoteAuthFailed(f"the {what} contains a line break or NUL")
    return value.encode("utf-8")


def _login_error(e: _Negative, credentials: Credentials) -> MailportError:
    text = e.text
    for secret in (credentials.password, credentials.oauth2_token):
        if secret:
            text = text.replace(secret, "***")
    if any(code in text.upper() for code in _TRANSIENT_CODES):
        return RemoteTransient(f"the POP3 server refused the login for now: {text}")
    return RemoteAuthFailed(f"POP3 login failed for {credentials.username!r}: {text}")


def _user_pass(wire: _Wire, credentials: Credentials) -> None:
    user = _argument(credentials.username, "user name")
    password = _argument(credentials.password, "password")
    try:
        wire.send([b"USER " + user])
        wire.status()
        wire.send([b"PASS " + password])
        wire.status()
    except _Negative as e:
        # Not chained: the server's text is already in the message, scrubbed of secrets.
        raise _login_error(e, credentials) from None


def _xoauth2(wire: _Wire, credentials: Credentials) -> None:
    """AUTH XOAUTH2 without an initial response (tokens exceed the 255-octet line limit)."""
    user = _argument(credentials.username, "user name").decode()
    token = _argument(credentials.oauth2_token, "token").decode()
    sasl = base64.b64encode(f"user={user}\x01auth=Bearer {token}\x01\x01".encode())
    try:
        wire.send([b"AUTH XOAUTH2"])
        if wire.reply()[0] != "+":
            raise _Negative("XOAUTH2 is not available")
        wire.send([sasl])
        kind, text = wire.reply()
        if kind == "+":  # error details (base64 JSON): answer empty, then comes -ERR
            wire.send([b""])
            kind, text = wire.reply()
        if kind != "+OK":
            raise _Negative(text)
    except _Negative as e:
        raise _login_error(e, credentials) from None


class Pop3Connector:
    """Opens verified-TLS, authenticated POP3 sessions (``PopConnector``).

    ``dial`` and ``wrap_tls`` replace the TCP connect and the TLS wrap (tests use fakes).
    """

    def __init__(
        self,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        connect_timeout: float = 30.0,
        read_timeout: float = 30.0,
        window: int = PIPELINE_WINDOW,
        pipelining: bool = True,
        dial: Dial | None = None,
        wrap_tls: WrapTls | None = None,
        network: NetworkPolicy | None = None,
        resolve: Resolve = socket.getaddrinfo,
    ) -> None:
        self._max_bytes = max_bytes
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._window = window
        self._pipelining = pipelining
        self._dial: Dial = dial or self._tcp
        self._wrap: WrapTls = wrap_tls or _default_wrap
        self._network = network or NetworkPolicy()
        self._resolve = resolve

    def _tcp(self, server: ServerAddress) -> SocketLike:
        sock = connect_vetted(
            server.host, server.port, self._connect_timeout, self._network, self._resolve
        )
        sock.settimeout(self._read_timeout)
        return sock

    def open(self, server: ServerAddress, credentials: Credentials) -> Pop3Session:
        """Connect, secure (implicit TLS or STLS), authenticate; the session."""
        wire = self._connect(server)
        try:
            with _boundary(f"POP3 session with {server.host}:{server.port}"):
                self._secure(wire, server)
                if credentials.oauth2_token:
                    _xoauth2(wire, credentials)
                else:
                    _user_pass(wire, credentials)
                capabilities = _capabilities(wire)  # they may change after login
        except BaseException:
            wire.close()
            raise
        return Pop3Session(
            wire,
            capabilities,
            max_bytes=self._max_bytes,
            window=self._window,
            pipelining=self._pipelining,
        )

    def _connect(self, server: ServerAddress) -> _Wire:
        where = f"{server.host}:{server.port}"
        with _boundary(f"cannot connect to POP3 server {where}", connecting=True):
            sock = self._dial(server)
        wire = _Wire(sock)
        try:
            with _boundary(f"POP3 server {where}", connecting=True):
                if server.ssl:
                    with _handshake(where):
                        wire.upgrade(lambda s: self._wrap(s, server))
                wire.status()  # the greeting
        except _Negative as e:
            wire.close()
            raise RemoteTransient(f"POP3 server {where} refused the session: {e.text}") from e
        except BaseException:
            wire.close()
            raise
        return wire

    def _secure(self, wire: _Wire, server: ServerAddress) -> None:
        """STLS unless the connection is implicit TLS; nothing secret is sent before."""
        if server.ssl:
            return
        where = f"{server.host}:{server.port}"
        if "STLS" not in _capabilities(wire):
            raise RemoteTlsError(f"POP3 server {where} does not offer STLS; not logging in")
        wire.send([b"STLS"])
        try:
            wire.status()
        except _Negative as e:
            raise RemoteTlsError(f"POP3 server {where} refused STLS: {e.text}") from e
        with _handshake(where):
            wire.upgrade(lambda s: self._wrap(s, server))
