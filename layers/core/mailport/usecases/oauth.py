"""Sign-in with Microsoft (work and personal accounts) or Google (Gmail, Workspace): start a
flow, finish it at the callback, keep the connection, and give migrations and POP accounts
fresh access tokens from it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace

from mailport.catalogue import say
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
    OAuthNotConfigured,
    OAuthProvider,
    Purpose,
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


# A token held in memory is given out while it has this much left (msal's own margin): a
# migration chunk or a POP session started with it finishes before it expires.
TOKEN_MARGIN_S = 300.0
HELD_TOKENS = 20_000  # per process; a poll worker sees at most its batch's accounts


def connection_id_for(
    owner: Owner,
    email: str,
    purpose: Purpose = Purpose.IMAP,
    provider: OAuthProvider = OAuthProvider.MICROSOFT,
) -> str:
    """One connection per user, mailbox, purpose and provider: signing in again for the same
    address updates it (so a job or an account waiting on it resumes), even after the
    connection was removed and re-added. Microsoft migrations' ids are the ones saved before
    POP and Google sign-ins existed.
    """
    text = f"{owner.tenant_id}\x1f{owner.user_id}\x1f{email.lower()}"
    if purpose is not Purpose.IMAP:
        text += f"\x1f{purpose.value}"
    if provider is not OAuthProvider.MICROSOFT:
        text += f"\x1f{provider.value}"
    return "m" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def parse_purpose(value: object) -> Purpose:
    """The purpose a start request names (a migration's when it names none)."""
    if value is None:
        return Purpose.IMAP
    try:
        return Purpose(str(value))
    except ValueError as e:
        raise ValidationFailed(say("oauth.purpose_invalid")) from e


def _check_use(
    use: tuple[OAuthProvider, Purpose], expect: tuple[OAuthProvider, Purpose] | None
) -> None:
    """Refuse a connection made for another provider or purpose than the caller's (its ids
    differ by both, so only a bug or a forged id gets here): signing in again is the way on.
    """
    if expect is not None and use != expect:
        provider, purpose = expect
        raise SignInRequired(
            say("oauth.wrong_use_pop", provider=provider.label)
            if purpose is Purpose.POP
            else say("oauth.wrong_use_migration", provider=provider.label)
        )


class OAuthService:
    """The sign-in use-cases and the ``AccessTokens`` port for migrations."""

    def __init__(
        self,
        store: OAuthStore,
        providers: Mapping[OAuthProvider, IdentityProvider],
        *,
        secrets: SecretBox,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._store = store
        self._providers = dict(providers)
        self._secrets = secrets
        self._clock = clock
        # Access tokens this process holds, by (tenant, user, connection): a POP poll every
        # 10 minutes then costs no read, no KMS Decrypt and no token request while its
        # token lives (an hour at Microsoft). Tokens only: the refresh token stays sealed.
        self._held: dict[
            tuple[str, str, str], tuple[float, Credentials, tuple[OAuthProvider, Purpose]]
        ] = {}
        self._held_lock = threading.Lock()
        # Set by the wiring: what happens after a sign-in (waiting migrations resume), and
        # whether a migration still uses a connection. Kept as callables so this module does
        # not import the migration use-cases.
        self.on_signed_in: Callable[[Owner, str], object] | None = None
        self.in_use: Callable[[Owner, str], bool] | None = None

    # -- the API ------------------------------------------------------------------------

    def configured(self, provider: OAuthProvider = OAuthProvider.MICROSOFT) -> bool:
        """Whether this deployment can sign users in with ``provider`` (its app registration
        is filled in); the console hides that sign-in otherwise and says why.
        """
        idp = self._providers.get(provider)
        return idp is not None and idp.configured()

    def available(self) -> dict[OAuthProvider, bool]:
        """Each provider and whether this deployment can sign users in with it."""
        return {p: self.configured(p) for p in OAuthProvider}

    def _idp(self, provider: OAuthProvider) -> IdentityProvider:
        idp = self._providers.get(provider)
        if idp is None:
            raise OAuthNotConfigured(say("oauth.not_set_up", provider=provider.label))
        return idp

    def start(
        self,
        owner: Owner,
        payload: object,
        redirect_uri: str,
        provider: OAuthProvider = OAuthProvider.MICROSOFT,
    ) -> tuple[dict[str, object], str]:
        """Begin a sign-in for a mailbox; the response and the browser-binding cookie value."""
        body = payload if isinstance(payload, Mapping) else {}
        email = parse_email(body.get("email"))
        purpose = parse_purpose(body.get("purpose"))
        existing = [
            c
            for c in self._store.list_connections(owner.tenant_id, owner.user_id)
            if c.purpose is purpose and c.provider is provider
        ]
        connection_id = connection_id_for(owner, email, purpose, provider)
        if len(existing) >= MAX_CONNECTIONS and all(
            c.connection_id != connection_id for c in existing
        ):
            raise LimitExceeded(
                say("oauth.limit_pop", max=MAX_CONNECTIONS, provider=provider.label)
                if purpose is Purpose.POP
                else say("oauth.limit_migration", max=MAX_CONNECTIONS, provider=provider.label)
            )
        url, details = self._idp(provider).begin(email, redirect_uri, purpose)
        cookie, binding = new_binding()
        state = str(details.get("state", ""))
        if not state:
            raise ValidationFailed(say("oauth.no_state"))
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
                purpose=purpose,
                provider=provider,
            )
        )
        log.info("sign-in started", extra={"connection_id": connection_id})
        started = {
            "authorize_url": url,
            "expires_in": FLOW_TTL_S,
            "email": email,
            "purpose": purpose.value,
            "provider": provider.value,
            "connection_id": connection_id,
        }
        return started, cookie

    def finish(
        self,
        params: Mapping[str, str],
        cookie: str | None,
        provider: OAuthProvider = OAuthProvider.MICROSOFT,
    ) -> OAuthConnection:
        """The callback: check the flow is this browser's, redeem the code, keep the tokens.

        The flow is taken (deleted) first, so a replayed callback finds nothing, and it is
        checked against the browser's cookie, so a link started by someone else can't
        attach their mailbox — or this user's — to the wrong account.
        """
        state = params.get("state") or ""
        flow = self._store.take_flow(state) if state else None
        if flow is None:
            raise OAuthFlowInvalid(say("oauth.flow_expired"))
        if flow.provider is not provider:
            # A code from one provider's callback is never redeemed at the other's.
            raise OAuthFlowInvalid(say("oauth.flow_wrong_place"))
        if not same_binding(flow.binding, cookie):
            raise OAuthFlowInvalid(say("oauth.flow_other_browser"))
        grant = self._idp(provider).complete(flow.details, params)
        if not grant.is_for(flow.email):
            # The provider names the account's main address (Google: not an alias or a
            # dotted variant), so entering that one is the other way forward.
            raise OAuthMailboxMismatch(
                say("oauth.wrong_mailbox", who=sorted(grant.usernames)[0], email=flow.email)
                if grant.usernames
                else say("oauth.wrong_mailbox_unnamed", email=flow.email)
            )
        owner = Owner(flow.tenant_id, flow.user_id)
        connection_id = flow.connection_id or connection_id_for(
            owner, flow.email, flow.purpose, provider
        )
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
                    purpose=flow.purpose,
                    provider=provider,
                ),
                new=True,
            )
        else:
            connection = self._renew(before, grant.account_id, sealed, now)
        self._drop(owner.tenant_id, owner.user_id, connection_id)  # the old sign-in's token
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
        raise Conflict(say("oauth.save_conflict"))

    def list(self, owner: Owner) -> list[OAuthConnection]:
        """The user's sign-ins (migrations' and POP accounts', Microsoft's and Google's)."""
        return self._store.list_connections(owner.tenant_id, owner.user_id)

    def delete(self, owner: Owner, connection_id: str) -> None:
        """Forget a sign-in (not while a migration still needs it)."""
        if self._store.get_connection(owner.tenant_id, owner.user_id, connection_id) is None:
            raise NotFound(say("oauth.not_found"))
        if self.in_use is not None and self.in_use(owner, connection_id):
            raise ConnectionInUse(say("oauth.in_use"))
        self._store.delete_connection(owner.tenant_id, owner.user_id, connection_id)
        self._drop(owner.tenant_id, owner.user_id, connection_id)

    # -- AccessTokens -----------------------------------------------------------------------

    def connection_email(
        self,
        tenant_id: str,
        user_id: str,
        connection_id: str,
        purpose: Purpose,
        provider: OAuthProvider = OAuthProvider.MICROSOFT,
    ) -> str | None:
        """The mailbox address of a ready connection of the user for ``purpose`` with
        ``provider``, or None (a migration's sign-in holds no POP scope, and the other way
        round; a Google token is never sent to Microsoft's server, nor the other way round).
        """
        c = self._store.get_connection(tenant_id, user_id, connection_id)
        if c is None or c.purpose is not purpose or c.provider is not provider:
            return None
        if c.status is not ConnectionStatus.READY:
            raise SignInRequired(
                say("oauth.sign_in_again_first", provider=c.provider.label, email=c.email)
            )
        return c.email

    def mailbox_token(
        self,
        tenant_id: str,
        user_id: str,
        connection_id: str,
        *,
        fresh: bool = False,
        expect: tuple[OAuthProvider, Purpose] | None = None,
    ) -> Credentials:
        """XOAUTH2 credentials with a token valid for at least five more minutes, of a
        connection of ``expect``'s provider and purpose when it says (the server the token
        goes to is that provider's: a token for anything else is never given).
        """
        key = (tenant_id, user_id, connection_id)
        if fresh:
            self._drop(*key)
        else:
            with self._held_lock:
                held = self._held.get(key)
            if held is not None and held[0] - TOKEN_MARGIN_S > time.time():
                _check_use(held[2], expect)
                return held[1]
        c = self._store.get_connection(tenant_id, user_id, connection_id)
        if c is None:
            raise SignInRequired(say("oauth.removed"))
        _check_use((c.provider, c.purpose), expect)
        try:
            return self._token(c, force=fresh)
        except SignInRequired:
            # Another step may have rotated the refresh token since we read it: once more
            # with what is saved now, before asking the user.
            again = self._store.get_connection(tenant_id, user_id, connection_id)
            if again is not None and again.version != c.version:
                return self._token(again, force=fresh)
            raise

    def _token(self, c: OAuthConnection, *, force: bool = False) -> Credentials:
        if c.status is not ConnectionStatus.READY:
            raise SignInRequired(
                say("oauth.sign_in_again_to_continue", provider=c.provider.label, email=c.email)
            )
        context = cache_context(c.tenant_id, c.user_id, c.connection_id)
        try:
            token = self._idp(c.provider).access_token(
                self._secrets.open(c.sealed_cache, context), c.account_id, c.purpose, force=force
            )
        except SignInRequired:
            self._mark(c, ConnectionStatus.NEEDS_SIGNIN, None)
            raise
        except OAuthNotConfigured as e:
            # The app registration was removed: whatever waits on this sign-in (a job, a POP
            # account) pauses, and is neither rolled back nor counted, until it is set up
            # again and the user signs in again.
            problem = e.words or e.message
            raise SignInRequired(say("oauth.sign_in_once_set_up", problem=problem)) from e
        if token.cache is not None:
            self._mark(c, ConnectionStatus.READY, self._secrets.seal(token.cache, context))
        credentials = Credentials(c.email, oauth2_token=token.token)
        if token.expires_at:
            self._hold(
                (c.tenant_id, c.user_id, c.connection_id),
                token.expires_at,
                credentials,
                (c.provider, c.purpose),
            )
        return credentials

    def _hold(
        self,
        key: tuple[str, str, str],
        expires_at: float,
        value: Credentials,
        use: tuple[OAuthProvider, Purpose],
    ) -> None:
        with self._held_lock:
            if len(self._held) >= HELD_TOKENS:
                now = time.time()
                self._held = {k: v for k, v in self._held.items() if v[0] > now}
                while len(self._held) >= HELD_TOKENS:  # still full: the oldest go first
                    del self._held[next(iter(self._held))]
            self._held[key] = (expires_at, value, use)

    def _drop(self, tenant_id: str, user_id: str, connection_id: str) -> None:
        with self._held_lock:
            self._held.pop((tenant_id, user_id, connection_id), None)

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
