"""Opening a POP3 session (the ``PopConnector`` port): dial, TLS or STLS, log in, CAPA.

TLS is always verified (hostname included). Without implicit TLS the server must offer and
complete STLS before any credential is sent. Failures become ``Remote*`` errors here, at the
boundary; login errors never contain the password or token.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Callable, Iterator

from mailport.adapters.net import Resolve, connect_vetted, tls_context
from mailport.adapters.pop3.parser import (
    UnsafeField,
    cap,
    parse_capa,
    xoauth2_error,
    xoauth2_response,
)
from mailport.adapters.pop3.session import DEFAULT_MAX_BYTES, PIPELINE_WINDOW, Pop3Session
from mailport.adapters.pop3.wire import Negative, SocketLike, Wire, boundary
from mailport.catalogue import Words, say
from mailport.domain.network import NetworkPolicy
from mailport.domain.remote import (
    Credentials,
    RemoteAuthFailed,
    RemoteTlsError,
    RemoteTransient,
    ServerAddress,
    login_refused,
)
from mailport.errors import MailportError

__all__ = ["Dial", "Pop3Connector", "WrapTls"]

Dial = Callable[[ServerAddress], SocketLike]
WrapTls = Callable[[SocketLike, ServerAddress], SocketLike]

_CAPA_CAP = 64 << 10
_TRANSIENT_CODES = ("[IN-USE]", "[LOGIN-DELAY]", "[SYS/TEMP]")
_FIELDS = {
    "user name": say("remote.field_user_name"),
    "password": say("remote.field_password"),
    "token": say("remote.field_token"),
}


@contextlib.contextmanager
def _handshake(where: str) -> Iterator[None]:
    """A TLS handshake the server ends by closing: it does not speak TLS there (a plain port
    given as the SSL one) - a TLS problem for the user, not a dropped line.
    """
    try:
        yield
    except (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionResetError) as e:
        raise RemoteTlsError(say("remote.pop3_tls_handshake_closed", where=where)) from e


def _default_wrap(sock: SocketLike, server: ServerAddress) -> SocketLike:
    """Verified TLS (certificate chain and host name) over ``sock``."""
    if not isinstance(sock, socket.socket):
        raise TypeError("TLS needs a real socket")
    try:
        context = tls_context(server.ca_file)
    except OSError as e:
        raise RemoteTlsError(say("remote.ca_file_unreadable", detail=cap(str(e)))) from e
    return context.wrap_socket(sock, server_hostname=server.host)


def _capabilities(wire: Wire) -> frozenset[str]:
    """CAPA as a set of capability names (empty when the server has no CAPA)."""
    wire.send([b"CAPA"])
    try:
        wire.status()
    except Negative:
        return frozenset()
    return parse_capa(wire.listing(_CAPA_CAP))


def _argument(value: str, what: str) -> bytes:
    if any(c in value for c in "\r\n\0"):
        raise RemoteAuthFailed(say("remote.field_line_break", field=_FIELDS[what]))
    return value.encode("utf-8")


def _login_error(
    said: str, credentials: Credentials, *, token: bool = False, no_xoauth2: bool = False
) -> MailportError:
    """The domain error for a refused login: "try later", or why the login was refused
    (``login_refused`` tells an app password or a sign-in from a wrong password).
    ``said``: the server's answer; ``no_xoauth2``: it refused AUTH XOAUTH2 itself.
    """
    text = said
    for secret in (credentials.password, credentials.oauth2_token):
        if secret:
            text = text.replace(secret, "***")
    if any(code in text.upper() for code in _TRANSIENT_CODES):
        return RemoteTransient(say("remote.pop3_login_later", said=text))
    user = credentials.username
    message: Words = (
        say("remote.pop3_xoauth2_unavailable", user=user, said=text)
        if no_xoauth2
        else say("remote.pop3_login_failed", user=user, said=text)
    )
    return login_refused(message, text, token=token)


def _user_pass(wire: Wire, credentials: Credentials) -> None:
    user = _argument(credentials.username, "user name")
    password = _argument(credentials.password, "password")
    try:
        wire.send([b"USER " + user])
        wire.status()
        wire.send([b"PASS " + password])
        wire.status()
    except Negative as e:
        # Not chained: the server's text is already in the message, scrubbed of secrets.
        raise _login_error(e.text, credentials) from None


def _xoauth2(wire: Wire, credentials: Credentials) -> None:
    """AUTH XOAUTH2 (RFC 5034) with the response after the "+": a token makes the command
    longer than the 255 octets an initial response may take. Only ever called after TLS
    (``Pop3Connector.open`` secures the connection first).
    """
    try:
        sasl = xoauth2_response(credentials.username, credentials.oauth2_token)
    except UnsafeField as e:
        raise RemoteAuthFailed(
            say("remote.field_control_character", field=_FIELDS[e.field])
        ) from None
    wire.send([b"AUTH XOAUTH2"])
    kind, text = wire.reply()
    if kind != "+":  # no XOAUTH2 here: not a refused token
        raise _login_error(text, credentials, no_xoauth2=True) from None
    try:
        wire.send([sasl])
        kind, text = wire.reply()
        if kind == "+":  # Google: the error's details (base64 JSON); answer empty, then -ERR
            reason = xoauth2_error(text)
            wire.send([b""])
            kind, text = wire.reply()
            text = f"{text} ({reason})" if reason else text
        if kind != "+OK":
            raise Negative(text)
    except Negative as e:
        raise _login_error(e.text, credentials, token=True) from None


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

    def _tcp(self, server: ServerAddress, within: float | None = None) -> SocketLike:
        # A deadline shorter than the connect timeout bounds the connect too: a host that
        # drops the SYN must not hold the invocation for the whole timeout.
        timeout = self._connect_timeout if within is None else min(self._connect_timeout, within)
        sock = connect_vetted(server.host, server.port, timeout, self._network, self._resolve)
        sock.settimeout(self._read_timeout)
        return sock

    def open(
        self, server: ServerAddress, credentials: Credentials, *, deadline_s: float | None = None
    ) -> Pop3Session:
        """Connect, secure (implicit TLS or STLS), authenticate; the session. ``deadline_s``:
        the session is cut that long after it connected, whatever it is doing (until the
        caller sets another limit with ``stop_after``).
        """
        wire = self._connect(server, deadline_s)
        try:
            where = f"{server.host}:{server.port}"
            with boundary(say("remote.pop3_doing_session", where=where)):
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

    def _connect(self, server: ServerAddress, deadline_s: float | None = None) -> Wire:
        where = f"{server.host}:{server.port}"
        with boundary(say("remote.pop3_doing_connect", where=where), connecting=True):
            own = self._dial == self._tcp  # not a test's dial
            sock = self._tcp(server, deadline_s) if own else self._dial(server)
        wire = Wire(sock)
        if deadline_s is not None:
            wire.stop_after(deadline_s)
        try:
            with boundary(say("remote.pop3_doing_greeting", where=where), connecting=True):
                if server.ssl:
                    with _handshake(where):
                        wire.upgrade(lambda s: self._wrap(s, server))
                wire.status()  # the greeting
        except Negative as e:
            wire.close()
            raise RemoteTransient(
                say("remote.pop3_session_refused", where=where, said=e.text)
            ) from e
        except BaseException as e:
            wire.close()
            if wire.cut_short:  # not a TLS problem: the deadline cut the handshake
                raise RemoteTransient(say("remote.pop3_answer_too_slow", where=where)) from e
            raise
        return wire

    def _secure(self, wire: Wire, server: ServerAddress) -> None:
        """STLS unless the connection is implicit TLS; nothing secret is sent before."""
        if server.ssl:
            return
        where = f"{server.host}:{server.port}"
        if "STLS" not in _capabilities(wire):
            raise RemoteTlsError(say("remote.pop3_no_stls", where=where))
        wire.send([b"STLS"])
        try:
            wire.status()
        except Negative as e:
            raise RemoteTlsError(say("remote.pop3_stls_refused", where=where, said=e.text)) from e
        with _handshake(where):
            wire.upgrade(lambda s: self._wrap(s, server))
