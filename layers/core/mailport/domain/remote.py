"""Other people's mail servers: addresses, what they report, and how they fail."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from mailport.catalogue import Words, say
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
    next_step: Words | None = None  # what the user should do, when not "check the password"


class RemoteAppPasswordRequired(RemoteAuthFailed):
    """The provider refuses the account's own password from an app: an app password is needed
    (or the provider's sign-in, where mailport offers it).
    """

    code = "remote_app_password_required"
    next_step = say("remote.step_app_password")


class RemoteSigninRequired(RemoteAuthFailed):
    """The provider takes no password from an app for this account, or refused the sign-in
    (OAuth2 access token) mailport sent: the user must sign in with the provider (again).
    """

    code = "remote_signin_required"
    next_step = say("remote.step_sign_in_again")


# Provider answers that mean "not a wrong password: this account needs another way in".
# Matched case-insensitively anywhere in the server's words (after the status word and tag).
_APP_PASSWORD_MARKERS = (
    # Gmail IMAP `NO [ALERT] Application-specific password required:
    # https://support.google.com/accounts/answer/185833 (Failure)` and POP3 `-ERR [AUTH]
    # Application-specific password required: …` — the page it links is Google Account Help,
    # "Sign in with app passwords".
    "APPLICATION-SPECIFIC PASSWORD REQUIRED",
)
_SIGNIN_MARKERS = (
    # Gmail POP3 `-ERR [AUTH] Web login required: https://support.google.com/mail/answer/78754`
    # and IMAP `NO [ALERT] Please log in via your web browser: …` (Gmail Help, "Fix problems
    # logging in to Gmail from another email app" is the linked page; Yahoo answers the same
    # `[AUTH] Web login required` on POP3).
    "WEB LOGIN REQUIRED",
    "PLEASE LOG IN VIA YOUR WEB BROWSER",
    "[WEBALERT",
    # Outlook.com/Exchange Online after Basic Auth ended (Microsoft Learn, "Deprecation of Basic
    # authentication in Exchange Online"): IMAP `NO Basic authentication is disabled.`,
    # `… [BasicAuthBlocked]`, and `LOGIN failed. Account is blocked. Login to your account via
    # a web browser to verify your identity.`
    "BASICAUTHBLOCKED",
    "BASIC AUTHENTICATION IS DISABLED",
    "LOGIN TO YOUR ACCOUNT VIA A WEB BROWSER",
)


def refusal_kind(said: str, *, token: bool = False) -> type[RemoteAuthFailed]:
    """Which ``RemoteAuthFailed`` a login refusal is, from the server's words. ``token``: the
    login sent an OAuth2 access token (XOAUTH2), so any refusal means "sign in again".

    A bare Microsoft `LOGIN failed.` stays a plain password failure: Exchange Online answers
    the same to a wrong password, so it says nothing about basic auth.
    """
    upper = said.upper()
    if any(marker in upper for marker in _APP_PASSWORD_MARKERS):
        return RemoteAppPasswordRequired
    if token or any(marker in upper for marker in _SIGNIN_MARKERS):
        return RemoteSigninRequired
    return RemoteAuthFailed


def login_refused(message: Words, said: str, *, token: bool = False) -> RemoteAuthFailed:
    """The domain error for a refused login: ``message`` for the user, which holds ``said``,
    the server's (already scrubbed) words, which alone are classified; the next step is added
    when there is a better one than "check the password".
    """
    kind = refusal_kind(said, token=token)
    if kind.next_step is None:
        return kind(message)
    return kind(say("remote.with_next_step", message=message, step=kind.next_step))


def xoauth2_reason(details: bytes) -> str:
    """The reason in a failed XOAUTH2's challenge, already base64-decoded: Google's JSON
    (``{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}``, Google for
    Developers, "OAuth 2.0 Mechanism") as ``"status 401, scope https://mail.google.com/"``;
    ``""`` when it is not such JSON. At most 200 characters of printable text.
    """
    try:
        parsed = json.loads(details)
    except ValueError:  # json.JSONDecodeError and UnicodeDecodeError alike
        return ""
    if not isinstance(parsed, dict):
        return ""
    parts = [f"{key} {parsed[key]}" for key in ("status", "scope") if key in parsed]
    return server_text(", ".join(parts), 200)


class RemoteUnreachable(RemoteError):
    """No connection: unknown host, refused, timed out."""

    code = "remote_unreachable"


class RemoteTlsError(RemoteError):
    """TLS could not be established or the certificate is not trusted."""

    code = "remote_tls_failed"


class RemoteProtocolError(RemoteError):
    """The server said something we can't accept (or the protocol is not enabled)."""

    code = "remote_protocol_error"


class RemoteFolderGone(RemoteProtocolError):
    """The folder is not on the server (any more): deleted or renamed since it was listed."""

    code = "remote_folder_gone"


class RemoteTransient(TransientError):
    """A failure a later retry may fix: a dropped connection, a busy server.

    ``retry_after_s``: how long the server asked us to back off, when it said (Microsoft
    365's "Request is throttled. Suggested Backoff Time: N milliseconds").
    """

    code = "remote_temporarily_unavailable"

    def __init__(self, message: Words | str, retry_after_s: float | None = None) -> None:
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
