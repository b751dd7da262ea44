"""Who is who: tenants and users, and the OAuth sign-in (flows, connections, tokens)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from mailport.domain.identity import Tenant, User
    from mailport.domain.oauth import (
        AccessToken,
        OAuthConnection,
        OAuthFlow,
        OAuthProvider,
        Purpose,
        TokenGrant,
    )
    from mailport.domain.remote import Credentials


class Directory(Protocol):
    """Tenants and users."""

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        """The tenant, or None."""
        ...

    def put_tenant(self, tenant: Tenant) -> None:
        """Create or replace a tenant."""
        ...

    def get_user(self, tenant_id: str, user_id: str) -> User | None:
        """The user, or None."""
        ...

    def put_user(self, user: User) -> None:
        """Create or replace a user."""
        ...

    def set_language(self, user: User, language: str) -> None:
        """Keep the user's choice of language (their item made if there is none)."""
        ...


class IdentityProvider(Protocol):
    """An OAuth2 identity provider (Microsoft's through msal, Google's through Authlib)."""

    def configured(self) -> bool:
        """Whether the deployment's app registration is there to sign in with."""
        ...

    def begin(self, email: str, redirect_uri: str, purpose: Purpose) -> tuple[str, dict[str, Any]]:
        """The URL to send the browser to (asking for ``purpose``'s scope only), and the
        flow's details to keep until the callback (``OAuthNotConfigured`` if the deployment
        has no app registration).
        """
        ...

    def complete(self, details: Mapping[str, Any], params: Mapping[str, str]) -> TokenGrant:
        """Redeem the callback's code (``OAuthDenied`` if refused)."""
        ...

    def access_token(
        self, cache: str, account_id: str, purpose: Purpose, *, force: bool = False
    ) -> AccessToken:
        """A fresh access token from a token cache, refreshed silently when needed or when
        ``force``d (``SignInRequired`` if the refresh token no longer works; transient errors
        otherwise).
        """
        ...


class OAuthStore(Protocol):
    """Sign-in flows in progress and the connections they leave."""

    def put_flow(self, flow: OAuthFlow) -> None:
        """Keep a new flow until it is used or expires."""
        ...

    def take_flow(self, state: str) -> OAuthFlow | None:
        """Remove and return the flow (once: a second call gets None); None if expired."""
        ...

    def list_connections(self, tenant_id: str, user_id: str) -> list[OAuthConnection]:
        """The user's connections, oldest first."""
        ...

    def get_connection(
        self, tenant_id: str, user_id: str, connection_id: str
    ) -> OAuthConnection | None:
        """One connection, or None."""
        ...

    def save_connection(self, connection: OAuthConnection, *, new: bool = False) -> OAuthConnection:
        """Create (``new``) or update if unchanged since read (``Conflict`` otherwise)."""
        ...

    def delete_connection(self, tenant_id: str, user_id: str, connection_id: str) -> None:
        """Remove a connection (no error if gone)."""
        ...


class AccessTokens(Protocol):
    """Access tokens for a user's OAuth connection (what a migration or a POP account logs
    in with).
    """

    def connection_email(
        self,
        tenant_id: str,
        user_id: str,
        connection_id: str,
        purpose: Purpose,
        provider: OAuthProvider = ...,
    ) -> str | None:
        """The mailbox of the user's connection for ``purpose`` with ``provider`` (default
        Microsoft); None if there is no such connection (``SignInRequired`` if it needs a new
        sign-in first).
        """
        ...

    def mailbox_token(
        self,
        tenant_id: str,
        user_id: str,
        connection_id: str,
        *,
        fresh: bool = False,
        expect: tuple[OAuthProvider, Purpose] | None = None,
    ) -> Credentials:
        """XOAUTH2 credentials (``SignInRequired`` when the user must sign in again, also when
        the app registration is gone, or when the connection is not ``expect``'s provider and
        purpose). A token this process already holds is given while it has five minutes left,
        without reading the connection; ``fresh`` reads it again (the server refused it).
        """
        ...
