"""Microsoft 365 sign-in: start a flow, finish it at the callback, keep the connection, and
give migrations fresh access tokens from it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace

from mailport.domain.mailbox import Owner
from mailport.domain.oauth import (
    FLOW_TTL_S,
    MAX_CONNECTIONS,
    ConnectionInUse,
    ConnectionStatus,
    OAuthConnection,
    OAuthFlow,
    OAuthFlowInvalid,
    OAuthMailboxMismatch,
    SignInRequired,
    cache_context,
    new_binding,
    parse_email,
    same_binding,
)
from mailport.domain.remote import Credentials
from mailport.errors import Conflict, LimitExceeded, MailportError, NotFound, ValidationFailed
from mailport.ports import IdentityProvider, OAuthStore, SecretBox

log = logging.getLogger(__name__)


def connection_id_for(owner: Owner, email: str) -> str:
    """One connection per user and mailbox: signing in again for the same address updates it
    (so a job waiting on it resumes), even after the connection was removed and re-added.
    """
    text = f"{owner.tenant_id}\x1f{owner.user_id}\x1f{email.lower()}"
    return "m" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class OAuthService:
    """The sign-in use-cases and the ``AccessTokens`` port for migrations."""

    def __init__(
        self,
        store: OAuthStore,
        provider: IdentityProvider,
        *,
        secrets: SecretBox,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._store = store
        self._provider = provider
        self._secrets = secrets
        self._clock = clock
        # Set by the wiring: what happens after a sign-in (waiting migrations resume), and
        # whether a migration still uses a connection. Kept as callables so this module does
        # not import the migration use-cases.
        self.on_signed_in: Callable[[Owner, str], object] | None = None
        self.in_use: Callable[[Owner, str], bool] | None = None

    # -- the API ------------------------------------------------------------------------

    def start(
        self, owner: Owner, payload: object, redirect_uri: str
    ) -> tuple[dict[str, object], str]:
        """Begin a sign-in for a mailbox; the response and the browser-binding cookie value."""
        body = payload if isinstance(payload, Mapping) else {}
        email = parse_email(body.get("email"))
        existing = self._store.list_connections(owner.tenant_id, owner.user_id)
        connection_id = connection_id_for(owner, email)
        if len(existing) >= MAX_CONNECTIONS and all(
            c.connection_id != connection_id for c in existing
        ):
            raise LimitExceeded(f"you can keep at most {MAX_CONNECTIONS} Microsoft 365 sign-ins")
        url, details = self._provider.begin(email, redirect_uri)
        cookie, binding = new_binding()
        state = str(details.get("state", ""))
        if not state:
            raise ValidationFailed("the identity provider gave no state")
        self._store.put_flow(
            OAuthFlow(
                state=state,
                tenant_id=owner.tenant_id,
                user_id=owner.user_id,
                email=email,
                binding=binding,
                details=details,
                expires_at=self._clock() + dt.timedelta(seconds=FLOW_TTL_S),
                connection_id=connection_id,
            )
        )
        log.info("sign-in started", extra={"connection_id": connection_id})
        return {"authorize_url": url, "expires_in": FLOW_TTL_S, "email": email}, cookie

    def finish(self, params: Mapping[str, str], cookie: str | None) -> OAuthConnection:
        """The callback: check the flow is this browser's, redeem the code, keep the tokens.

        The flow is taken (deleted) first, so a replayed callback finds nothing, and it is
        checked against the browser's cookie, so a link started by someone else can't
        attach their mailbox — or this user's — to the wrong account.
        """
        state = params.get("state") or ""
        flow = self._store.take_flow(state) if state else None
        if flow is None:
            raise OAuthFlowInvalid(
                "this sign-in has expired or was already used; start again from mailport"
            )
        if not same_binding(flow.binding, cookie):
            raise OAuthFlowInvalid(
                "this sign-in was started in another browser or by another user; "
                "start again from mailport"
            )
        grant = self._provider.complete(flow.details, params)
        if not grant.is_for(flow.email):
            who = sorted(grant.usernames)[0] if grant.usernames else "another account"
            raise OAuthMailboxMismatch(
                f"you signed in as {who}, but the mailbox to import is {flow.email}: "
                f"sign in as {flow.email}"
            )
        owner = Owner(flow.tenant_id, flow.user_id)
        connection_id = flow.connection_id or connection_id_for(owner, flow.email)
        sealed = self._secrets.seal(
            grant.cache, cache_context(owner.tenant_id, owner.user_id, connection_id)
        )
        now = self._clock()
        before = self._store.get_connection(owner.tenant_id, owner.user_id, connection_id)
        if before is None:
            connection = self._store.save_connection(
                OAuthConnection(
                    connection_id=connection_id,
                    tenant_id=owner.tenant_id,
                    user_id=owner.user_id,
                    email=flow.email,
                    account_id=grant.account_id,
                    status=ConnectionStatus.READY,
                    created_at=now,
                    updated_at=now,
                    sealed_cache=sealed,
                ),
                new=True,
            )
        else:
            connection = self._renew(before, grant.account_id, sealed, now)
        log.info("signed in", extra={"connection_id": connection_id})
        if self.on_signed_in is not None:
            try:
                self.on_signed_in(owner, connection_id)
            except MailportError:
                # The sign-in is saved; the scheduler's sweep starts what is queued.
                log.exception("could not resume migrations", extra={"connection_id": connection_id})
        return connection

    def _renew(
        self, before: OAuthConnection, account_id: str, sealed: bytes, now: dt.datetime
    ) -> OAuthConnection:
        """Save a new sign-in over a connection; it wins over a token refresh that a job
        saved meanwhile (the refreshed tokens belong to the old sign-in).
        """
        for _ in range(3):
            try:
                return self._store.save_connection(
                    replace(
                        before,
                        account_id=account_id,
                        status=ConnectionStatus.READY,
                        updated_at=now,
                        sealed_cache=sealed,
                    )
                )
            except Conflict:
                fresh = self._store.get_connection(
                    before.tenant_id, before.user_id, before.connection_id
                )
                if fresh is None:
                    raise
                before = fresh
        raise Conflict("the sign-in could not be saved; try again")

    def list(self, owner: Owner) -> list[OAuthConnection]:
        """The user's Microsoft 365 connections."""
        return self._store.list_connections(owner.tenant_id, owner.user_id)

    def delete(self, owner: Owner, connection_id: str) -> None:
        """Forget a sign-in (not while a migration still needs it)."""
        if self._store.get_connection(owner.tenant_id, owner.user_id, connection_id) is None:
            raise NotFound("no such Microsoft 365 connection")
        if self.in_use is not None and self.in_use(owner, connection_id):
            raise ConnectionInUse("a migration still uses this sign-in: cancel it first")
        self._store.delete_connection(owner.tenant_id, owner.user_id, connection_id)

    # -- AccessTokens -----------------------------------------------------------------------

    def connection_email(self, tenant_id: str, user_id: str, connection_id: str) -> str | None:
        """The mailbox address of a ready connection of the user, or None."""
        c = self._store.get_connection(tenant_id, user_id, connection_id)
        if c is None:
            return None
        if c.status is not ConnectionStatus.READY:
            raise SignInRequired(f"sign in to Microsoft 365 again as {c.email} first")
        return c.email

    def mailbox_token(self, tenant_id: str, user_id: str, connection_id: str) -> Credentials:
        """XOAUTH2 credentials with a token valid for at least five more minutes."""
        c = self._store.get_connection(tenant_id, user_id, connection_id)
        if c is None:
            raise SignInRequired("the Microsoft 365 sign-in was removed; sign in again")
        try:
            return self._token(c)
        except SignInRequired:
            # Another step may have rotated the refresh token since we read it: once more
            # with what is saved now, before asking the user.
            fresh = self._store.get_connection(tenant_id, user_id, connection_id)
            if fresh is not None and fresh.version != c.version:
                return self._token(fresh)
            raise

    def _token(self, c: OAuthConnection) -> Credentials:
        if c.status is not ConnectionStatus.READY:
            raise SignInRequired(f"sign in to Microsoft 365 again as {c.email} to continue")
        context = cache_context(c.tenant_id, c.user_id, c.connection_id)
        try:
            token = self._provider.access_token(
                self._secrets.open(c.sealed_cache, context), c.account_id
            )
        except SignInRequired:
            self._mark(c, ConnectionStatus.NEEDS_SIGNIN, None)
            raise
        if token.cache is not None:
            self._mark(c, ConnectionStatus.READY, self._secrets.seal(token.cache, context))
        return Credentials(c.email, oauth2_token=token.token)

    def _mark(self, c: OAuthConnection, status: ConnectionStatus, sealed: bytes | None) -> None:
        # On a conflict someone saved a newer cache (or signed in again) meanwhile: theirs wins.
        with contextlib.suppress(Conflict):
            self._store.save_connection(
                replace(
                    c,
                    status=status,
                    updated_at=self._clock(),
                    sealed_cache=sealed if sealed is not None else c.sealed_cache,
                )
            )
