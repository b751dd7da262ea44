"""Opening an IMAP session (the ``ImapConnector`` port): dial a vetted address, implicit TLS
or STARTTLS, log in (LOGIN, SASL PLAIN or XOAUTH2).

TLS is always verified (hostname included). Without implicit TLS the server must offer and
complete STARTTLS before any credential is sent, and a plain connection that is already
authenticated (PREAUTH) is refused. Error messages never contain the password or token.
"""

from __future__ import annotations

import dataclasses
import socket
import ssl
from typing import Any

from imapclient import SocketTimeout  # type: ignore[import-untyped]

from mailport.adapters import net
from mailport.adapters.imap.parser import scrub
from mailport.adapters.imap.session import (
    DEFAULT_CHUNK_BYTES,
    DEFAULT_CHUNK_MESSAGES,
    ImapSession,
)
from mailport.adapters.imap.wire import DEFAULT_MAX_BYTES, Client, close, guarded, said_by
from mailport.adapters.net import Resolve, connect_vetted
from mailport.catalogue import Words, say
from mailport.domain.network import NetworkPolicy
from mailport.domain.remote import (
    Credentials,
    RemoteAuthFailed,
    RemoteTlsError,
    ServerAddress,
    login_refused,
    xoauth2_reason,
)

__all__ = ["ImapConnector", "tls_context"]


def tls_context(server: ServerAddress) -> ssl.SSLContext:
    """A verifying context (hostname checked), trusting ``server.ca_file`` too when given
    (one per process: ``net.tls_context`` says why).
    """
    return net.tls_context(server.ca_file)


def _starttls(client: Any, context: ssl.SSLContext) -> None:
    if client._imap.state != "NONAUTH":
        raise RemoteTlsError(say("remote.imap_preauth_plain"))
    if not client.has_capability("STARTTLS"):
        raise RemoteTlsError(say("remote.imap_no_starttls"))
    client.starttls(context)


class _XOAuth2:
    """The XOAUTH2 exchange as imapclient's ``sasl_login`` drives it: the client response to
    the first (empty) challenge; to a second one, which carries the error's details (Google's
    base64 JSON), an empty response, as the mechanism asks, keeping the reason for the error.
    """

    def __init__(self, user: str, token: str) -> None:
        self._response = f"user={user}\x01auth=Bearer {token}\x01\x01".encode()
        self._sent = False
        self.reason = ""

    def __call__(self, challenge: bytes) -> bytes:
        if not self._sent:
            self._sent = True
            return self._response
        self.reason = xoauth2_reason(challenge)
        return b""


def _login(client: Any, credentials: Credentials, xoauth2: _XOAuth2 | None) -> None:
    if xoauth2 is not None:
        client.sasl_login("XOAUTH2", xoauth2)
        return
    password = credentials.password
    ascii_ok = credentials.username.isascii() and password.isascii()
    if ascii_ok and not client.has_capability("LOGINDISABLED"):
        client.login(credentials.username, password)
    else:  # SASL PLAIN carries UTF-8
        client.plain_login(credentials.username, password)


def _refusal(
    e: RemoteAuthFailed, xoauth2: _XOAuth2 | None, secrets: tuple[str, str]
) -> RemoteAuthFailed:
    """``e`` as the precise refusal: an app password or a sign-in needed (``login_refused``),
    judged on what the server said (the library error ``e`` was raised from).
    """
    cause = e.__cause__
    said = scrub(said_by(cause), secrets) if isinstance(cause, Exception) else e.message
    # ``wire.translate`` says a refused login in words: "IMAP login refused: …".
    message: Words = e.words or say("remote.imap_login_refused", said=said)
    if xoauth2 is not None and xoauth2.reason:
        message = say("remote.with_reason", message=message, reason=xoauth2.reason)
    return login_refused(message, said, token=xoauth2 is not None)


def _xoauth2(credentials: Credentials) -> _XOAuth2 | None:
    if not credentials.oauth2_token:
        return None
    return _XOAuth2(credentials.username, credentials.oauth2_token)


class ImapConnector:
    """``ImapConnector``: opens verified, authenticated, read-only sessions."""

    def __init__(
        self,
        *,
        connect_timeout: float = 20.0,
        read_timeout: float = 120.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        chunk_messages: int = DEFAULT_CHUNK_MESSAGES,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        network: NetworkPolicy | None = None,
        resolve: Resolve = socket.getaddrinfo,
    ) -> None:
        self._timeout = SocketTimeout(connect=connect_timeout, read=read_timeout)
        self._network = network or NetworkPolicy()
        self._resolve = resolve
        self._max_bytes = max_bytes
        self._chunk_messages = chunk_messages
        self._chunk_bytes = chunk_bytes

    def open(self, server: ServerAddress, credentials: Credentials) -> ImapSession:
        """Connect (IMAPS, or STARTTLS required), authenticate, return the session."""
        secrets = (credentials.password, credentials.oauth2_token)
        context = tls_context(server)
        client = guarded("connect", secrets, lambda: self._connect(server, context))
        try:
            if not server.ssl:
                guarded("tls", secrets, lambda: _starttls(client, context))
            xoauth2 = _xoauth2(credentials)
            try:
                guarded("login", secrets, lambda: _login(client, credentials, xoauth2))
            except RemoteAuthFailed as e:
                raise _refusal(e, xoauth2, secrets) from e.__cause__
        except BaseException:
            close(client)
            raise
        return ImapSession(
            client,
            chunk_messages=self._chunk_messages,
            chunk_bytes=self._chunk_bytes,
            secrets=secrets,
        )

    def _connect(self, server: ServerAddress, context: ssl.SSLContext) -> Client:
        # An admin's template may name any port; the address is vetted all the same.
        network = (
            dataclasses.replace(self._network, ports=None) if server.any_port else self._network
        )

        def dial(host: str, port: int, timeout: float | None) -> socket.socket:
            return connect_vetted(host, port, timeout, network, self._resolve)

        return Client(
            server, context, timeout=self._timeout, max_literal=self._max_bytes, dial=dial
        )
