"""Other people's mail servers: addresses, what they report, and how they fail."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from mailport.domain.text import printable
from mailport.errors import MailportError, TransientError


@dataclass(frozen=True, slots=True)
class ServerAddress:
    """Where to connect. ``ssl``: implicit TLS (POP3S 995, IMAPS 993); otherwise the client
    upgrades with STLS/STARTTLS and refuses to go on without it.
    """

    host: str
    port: int
    ssl: bool = True
    ca_file: str | None = None  # extra CA to trust (tests; private servers an admin allows)
    any_port: bool = False  # an admin's template named the port: not limited to mail ports


@dataclass(frozen=True, slots=True)
class Credentials:
    """A login: a password, or an OAuth2 access token (XOAUTH2)."""

    username: str
    password: str = field(default="", repr=False)
    oauth2_token: str = field(default="", repr=False)


def server_text(text: str, limit: int) -> str:
    """What a remote server said, fit for an error message: one line of printable text, at
    most ``limit`` characters (control characters and bidi overrides would garble or
    disguise it).
    """
    text = " ".join(printable(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class RemoteError(MailportError):
    """The remote server could not be used."""

    code = "remote_error"


class RemoteAuthFailed(RemoteError):
    """Wrong user name or password, or the token was refused."""

    code = "remote_auth_failed"


class RemoteUnreachable(RemoteError):
    """No connection: unknown host, refused, timed out."""

    code = "remote_unreachable"


class RemoteTlsError(RemoteError):
    """TLS could not be established or the certificate is not trusted."""

    code = "remote_tls_failed"


class RemoteProtocolError(RemoteError):
    """The server said something we can't accept (or the protocol is not enabled)."""

    code = "remote_protocol_error"


class RemoteTransient(TransientError):
    """A failure a later retry may fix: a dropped connection, a busy server.

    ``retry_after_s``: how long the server asked us to back off, when it said (Microsoft
    365's "Request is throttled. Suggested Backoff Time: N milliseconds").
    """

    code = "remote_temporarily_unavailable"

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class PopEntry:
    """One message on a POP3 server: its number this session, its UIDL (if supported), size."""

    number: int
    uidl: str | None
    size: int


@dataclass(frozen=True, slots=True)
class ImapFolder:
    """One IMAP mailbox (folder) as listed and examined."""

    name: str  # decoded (modified UTF-7 → Unicode), with the server's delimiter
    raw_name: bytes  # as the server knows it, for commands
    delimiter: str | None
    special_use: frozenset[str]  # e.g. {"\\Sent", "\\Trash"} (RFC 6154)
    selectable: bool = True
    uidvalidity: int = 0
    uidnext: int = 0
    messages: int = 0


@dataclass(frozen=True, slots=True)
class ImapMessage:
    """One fetched message: raw bytes exactly as the server sent them."""

    uid: int
    flags: frozenset[str]
    internal_date: dt.datetime | None
    size: int
    raw: bytes
