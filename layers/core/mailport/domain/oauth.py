"""Sign-in with Microsoft or Google (OAuth2 authorization code flow with PKCE): the flows in
progress, the connections they leave behind, and how they fail.

A *flow* lives from "Authenticate" until the callback: it is bound to the user who started it
and to their browser (a random value in an HttpOnly cookie, stored here only as a hash), and
is used once. A *connection* is what a successful sign-in leaves: the mailbox address it is
for and the token cache, sealed with KMS for that user and connection only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from mailport.catalogue import say
from mailport.errors import Conflict, MailportError, ValidationFailed

FLOW_TTL_S = 600  # the user has 10 minutes to sign in and consent
MAX_CONNECTIONS = 10  # per user, like POP accounts
_EMAIL = re.compile(r"^[^@\s\"<>()\[\],;:\\]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")


class OAuthNotConfigured(MailportError):
    """No app registration for this provider is set up for this deployment."""

    code = "oauth_not_configured"


class OAuthFlowInvalid(ValidationFailed):
    """The callback does not belong to a flow in progress (wrong, used, expired state or
    another browser's flow).
    """

    code = "oauth_state_invalid"


class OAuthDenied(ValidationFailed):
    """The user declined, or the identity provider refused the sign-in."""

    code = "oauth_denied"


class OAuthScopeMissing(OAuthDenied):
    """The user signed in but did not grant access to the mailbox (Google lets a user untick
    single permissions on its consent screen).
    """

    code = "oauth_scope_missing"


class OAuthAdminBlocked(OAuthDenied):
    """The organisation's administrator does not let mailport reach this account (Google
    Workspace's API controls: ``admin_policy_enforced``, ``org_internal``).
    """

    code = "oauth_admin_blocked"


class OAuthMailboxMismatch(ValidationFailed):
    """The user signed in as someone else than the mailbox they asked to import."""

    code = "oauth_wrong_mailbox"


class SignInRequired(Conflict):
    """The saved sign-in no longer works (refresh token revoked or expired): the user must
    sign in again. A job waiting on it is paused, not failed.
    """

    code = "signin_required"


class ConnectionInUse(Conflict):
    """A migration still uses the connection."""

    code = "connection_in_use"


class OAuthProvider(StrEnum):
    """Whose sign-in it is (an app registration per deployment for each)."""

    MICROSOFT = "microsoft"  # Microsoft 365 work accounts and Outlook.com / Hotmail
    GOOGLE = "google"  # Gmail and Google Workspace

    @property
    def label(self) -> str:
        """The provider's name as a person reads it."""
        return "Google" if self is OAuthProvider.GOOGLE else "Microsoft"


def parse_provider(value: object) -> OAuthProvider:
    """A provider named by a stored item or a route (``microsoft`` before Google existed)."""
    try:
        return OAuthProvider(str(value or OAuthProvider.MICROSOFT.value))
    except ValueError as e:
        raise ValidationFailed(say("oauth.provider_invalid")) from e


class Purpose(StrEnum):
    """What a sign-in is for: it decides the scope asked for (and nothing more is asked).
    Microsoft grants POP and IMAP as separate scopes, so a POP account's sign-in is its own
    connection even for a mailbox also being migrated.
    """

    IMAP = "imap"  # an IMAP migration
    POP = "pop"  # a POP account's automatic fetching


class ConnectionStatus(StrEnum):
    """Whether a connection's tokens still work."""

    READY = "ready"
    NEEDS_SIGNIN = "needs_signin"


def parse_email(value: object) -> str:
    """A mailbox address as the user typed it (trimmed, lower-cased)."""
    if not isinstance(value, str) or not _EMAIL.match(value.strip()):
        raise ValidationFailed(say("oauth.email_invalid"))
    return value.strip().lower()


def new_binding() -> tuple[str, str]:
    """A browser binding: the cookie value and the hash the flow keeps."""
    value = secrets.token_urlsafe(32)
    return value, binding_hash(value)


def binding_hash(value: str) -> str:
    """What the flow stores of its browser's cookie (never the cookie itself)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def same_binding(stored: str, presented: str | None) -> bool:
    """True if the browser presenting ``presented`` is the one that started the flow."""
    return bool(presented) and hmac.compare_digest(stored, binding_hash(presented or ""))


@dataclass(frozen=True, slots=True)
class OAuthFlow:
    """A sign-in in progress (keyed by its ``state``, which the provider echoes)."""

    state: str
    tenant_id: str
    user_id: str
    email: str
    binding: str  # sha256 of the browser's cookie
    details: Mapping[str, Any] = field(repr=False)  # msal's flow: PKCE verifier, nonce, ...
    expires_at: dt.datetime
    connection_id: str | None = None  # signing in again for an existing connection
    purpose: Purpose = Purpose.IMAP
    provider: OAuthProvider = OAuthProvider.MICROSOFT


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """What a completed sign-in gives: the serialized token cache and who signed in."""

    cache: str = field(repr=False)
    usernames: frozenset[str]  # preferred_username, email, upn claims (lower-cased)
    account_id: str  # msal's home_account_id; Google's ``sub``

    def is_for(self, email: str) -> bool:
        """True if the signed-in identity is the mailbox asked for."""
        return email.lower() in self.usernames


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A bearer token for XOAUTH2, and the token cache if the provider rotated it."""

    token: str = field(repr=False)
    cache: str | None = field(default=None, repr=False)
    expires_at: float = 0.0  # epoch seconds; 0: unknown (not kept between uses)


@dataclass(frozen=True, slots=True)
class OAuthConnection:
    """A user's signed-in mailbox (Microsoft 365, Outlook.com, Gmail or Google Workspace), for
    a migration or a POP account (``purpose``).
    """

    connection_id: str
    tenant_id: str
    user_id: str
    email: str
    account_id: str
    status: ConnectionStatus
    created_at: dt.datetime
    updated_at: dt.datetime
    sealed_cache: bytes = field(repr=False)
    provider: OAuthProvider = OAuthProvider.MICROSOFT
    version: int = 0
    purpose: Purpose = Purpose.IMAP


def cache_context(tenant_id: str, user_id: str, connection_id: str) -> dict[str, str]:
    """KMS encryption context of a connection's token cache: it opens for this one only."""
    return {"tenant": tenant_id, "user": user_id, "oauth": connection_id}


def new_connection_id() -> str:
    """A fresh connection id."""
    return f"c{secrets.token_hex(8)}"
