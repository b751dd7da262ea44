"""Microsoft 365 sign-in, the pure parts: addresses, browser binding, the callback page, and
the service's rules with fake ports (the real ones are in tests/integration/test_oauth.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import time
from collections.abc import Mapping
from typing import Any

import pytest

from mailport import oauth_page
from mailport.domain.mailbox import Owner
from mailport.domain.oauth import (
    AccessToken,
    ConnectionInUse,
    ConnectionStatus,
    OAuthConnection,
    OAuthFlow,
    OAuthFlowInvalid,
    OAuthNotConfigured,
    OAuthProvider,
    Purpose,
    SignInRequired,
    TokenGrant,
    binding_hash,
    new_binding,
    parse_email,
    same_binding,
)
from mailport.errors import Conflict, LimitExceeded, ValidationFailed
from mailport.usecases.oauth import OAuthService, connection_id_for


@pytest.mark.parametrize("value", ["Me@Contoso.example ", "a.b+c@sub.example.co.jp"])
def test_addresses_are_accepted_and_normalised(value: str) -> None:
    assert parse_email(value) == value.strip().lower()


@pytest.mark.parametrize(
    "value",
    [
        None,
        3,
        "",
        "no-at.example",
        "a@b",
        "a@b.c\r\nBcc: x@y.z",
        "a b@c.example",
        "x" * 70 + "@a.example",
    ],
)
def test_bad_addresses_are_refused(value: object) -> None:
    with pytest.raises(ValidationFailed):
        parse_email(value)


def test_the_binding_matches_only_its_own_cookie() -> None:
    cookie, stored = new_binding()
    assert stored == binding_hash(cookie) and cookie not in stored
    assert same_binding(stored, cookie)
    assert not same_binding(stored, None) and not same_binding(stored, "")
    assert not same_binding(stored, new_binding()[0])


def test_one_connection_per_user_and_mailbox() -> None:
    a = connection_id_for(Owner("t", "u"), "Me@Contoso.example")
    assert a == connection_id_for(Owner("t", "u"), "me@contoso.example")
    assert a != connection_id_for(Owner("t", "v"), "me@contoso.example")
    assert a != connection_id_for(Owner("t2", "u"), "me@contoso.example")


def test_the_cookie_is_httponly_lax_and_secure_over_https() -> None:
    header = oauth_page.cookie_header("v", secure=True, max_age=600)
    assert {"HttpOnly", "SameSite=Lax", "Secure", "Max-Age=600"} <= {
        p.strip() for p in header.split(";")
    }
    assert "Secure" not in oauth_page.cookie_header("v", secure=False, max_age=0)
    assert oauth_page.read_cookie("a=1; mailport_oauth=xyz; b=2") == "xyz"
    assert oauth_page.read_cookie("mailport_oauthx=1") is None
    assert oauth_page.read_cookie(None) is None


def test_the_callback_page_escapes_what_it_shows() -> None:
    hostile = '</script><script>alert(1)</script><b>"x"</b>'
    html = oauth_page.page(ok=False, detail=hostile, code="oauth_denied", connection=None)
    assert "<script>alert(1)" not in html and "&lt;/script&gt;" in html
    script = html[html.index("<script>") + len("<script>") : html.rindex("</script>")]
    assert "</script" not in script  # the JSON can't close its own script element
    message = json.loads(re.search(r"var message = (\{.*\});", script).group(1))  # type: ignore[union-attr]
    assert message["message"] == hostile and message["status"] == "error"
    ready = oauth_page.page(
        ok=True, detail="a@b.example", code="ready", connection={"id": "m1"}, language="ja"
    )
    assert "メールを取り込む準備ができました" in ready and 'data-status="ready"' in ready
    assert '<html lang="ja">' in ready and "Ready to import" not in ready
    english = oauth_page.page(ok=True, detail="a@b.example", code="ready", connection=None)
    assert "Ready to import your mail" in english and "準備" not in english


# -- the service with fake ports ---------------------------------------------------------


NOW = dt.datetime(2026, 11, 28, 12, tzinfo=dt.UTC)


class Store:
    def __init__(self) -> None:
        self.flows: dict[str, OAuthFlow] = {}
        self.connections: dict[tuple[str, str, str], OAuthConnection] = {}

    def put_flow(self, flow: OAuthFlow) -> None:
        self.flows[flow.state] = flow

    def take_flow(self, state: str) -> OAuthFlow | None:
        return self.flows.pop(state, None)

    def list_connections(self, tenant_id: str, user_id: str) -> list[OAuthConnection]:
        return [c for k, c in self.connections.items() if k[:2] == (tenant_id, user_id)]

    def get_connection(self, tenant_id: str, user_id: str, cid: str) -> OAuthConnection | None:
        return self.connections.get((tenant_id, user_id, cid))

    def save_connection(self, c: OAuthConnection, *, new: bool = False) -> OAuthConnection:
        key = (c.tenant_id, c.user_id, c.connection_id)
        current = self.connections.get(key)
        if (current is not None) == new or (current and current.version != c.version):
            raise Conflict("changed")
        saved = dataclasses.replace(c, version=c.version + (0 if new else 1))
        self.connections[key] = saved
        return saved

    def delete_connection(self, tenant_id: str, user_id: str, cid: str) -> None:
        self.connections.pop((tenant_id, user_id, cid), None)


class Provider:
    def configured(self) -> bool:
        return True

    def __init__(self) -> None:
        self.states = iter(range(1000))
        self.refresh_error: Exception | None = None
        self.caches_seen: list[str] = []
        self.purposes: list[Purpose] = []
        self.forced: list[bool] = []
        self.lifetime_s = 0.0  # 0: tokens come without an expiry (never held)

    def begin(
        self, email: str, redirect_uri: str, purpose: Purpose = Purpose.IMAP
    ) -> tuple[str, dict[str, Any]]:
        self.purposes.append(purpose)
        state = f"s{next(self.states)}"
        return f"https://idp/authorize?state={state}", {"state": state}

    def complete(self, details: Mapping[str, Any], params: Mapping[str, str]) -> TokenGrant:
        return TokenGrant("cache-1", frozenset({params["who"]}), "acct")

    def access_token(
        self, cache: str, account_id: str, purpose: Purpose = Purpose.IMAP, *, force: bool = False
    ) -> AccessToken:
        self.caches_seen.append(cache)
        self.forced.append(force)
        if self.refresh_error is not None and cache == "cache-1":
            raise self.refresh_error
        expires = time.time() + self.lifetime_s if self.lifetime_s else 0.0
        return AccessToken(f"token{len(self.caches_seen)}", cache + "+", expires_at=expires)


class Box:
    def seal(self, secret: str, context: Mapping[str, str]) -> bytes:
        return json.dumps([secret, dict(context)]).encode()

    def open(self, sealed: bytes, context: Mapping[str, str]) -> str:
        secret, sealed_for = json.loads(sealed)
        assert sealed_for == dict(context)
        return str(secret)

    def needs_resealing(self, sealed: bytes) -> bool:
        return False


def _service() -> tuple[OAuthService, Store, Provider]:
    store, provider = Store(), Provider()
    service = OAuthService(
        store, {OAuthProvider.MICROSOFT: provider}, secrets=Box(), clock=lambda: NOW
    )
    return service, store, provider


def _sign_in(
    service: OAuthService, owner: Owner, email: str, purpose: str = "imap"
) -> OAuthConnection:
    started, cookie = service.start(owner, {"email": email, "purpose": purpose}, "https://api/cb")
    state = str(started["authorize_url"]).rsplit("=", 1)[1]
    return service.finish({"state": state, "code": "c", "who": email}, cookie)


def test_at_most_ten_mailboxes_but_signing_in_again_is_always_possible() -> None:
    service, _, _ = _service()
    me = Owner("t", "u")
    first = _sign_in(service, me, "m0@contoso.example")
    for n in range(1, 10):
        _sign_in(service, me, f"m{n}@contoso.example")
    with pytest.raises(LimitExceeded):
        service.start(me, {"email": "m10@contoso.example"}, "https://api/cb")
    assert _sign_in(service, me, "m0@contoso.example").connection_id == first.connection_id


def test_a_connection_in_use_is_not_removed() -> None:
    service, store, _ = _service()
    me = Owner("t", "u")
    cid = _sign_in(service, me, "m@contoso.example").connection_id
    service.in_use = lambda owner, connection_id: connection_id == cid
    with pytest.raises(ConnectionInUse):
        service.delete(me, cid)
    service.in_use = lambda owner, connection_id: False
    service.delete(me, cid)
    assert store.connections == {}


def test_a_rotated_cache_is_saved_and_a_concurrent_rotation_is_retried_once() -> None:
    service, store, provider = _service()
    me = Owner("t", "u")
    cid = _sign_in(service, me, "m@contoso.example").connection_id
    assert service.mailbox_token("t", "u", cid).oauth2_token == "token1"
    key = ("t", "u", cid)
    assert json.loads(store.connections[key].sealed_cache)[0] == "cache-1+"  # rotated, saved

    # Another step rotated the cache between our read and our refresh: the stale cache is
    # refused, the saved one works, and the connection stays ready.
    context = {"tenant": "t", "user": "u", "oauth": cid}
    current = store.connections[key]
    stale = dataclasses.replace(
        current, sealed_cache=Box().seal("cache-1", context), version=current.version - 1
    )
    provider.refresh_error = SignInRequired("revoked")
    real_get = store.get_connection
    reads = [stale]
    store.get_connection = lambda *a: reads.pop() if reads else real_get(*a)  # type: ignore[method-assign]
    assert service.mailbox_token("t", "u", cid).oauth2_token.startswith("token")
    assert store.connections[key].status is ConnectionStatus.READY
    store.get_connection = real_get  # type: ignore[method-assign]

    # Really revoked: the connection is marked and further calls don't hit the provider.
    store.connections[key] = dataclasses.replace(
        store.connections[key],
        sealed_cache=Box().seal("cache-1", {"tenant": "t", "user": "u", "oauth": cid}),
    )
    with pytest.raises(SignInRequired):
        service.mailbox_token("t", "u", cid)
    assert store.connections[key].status is ConnectionStatus.NEEDS_SIGNIN
    calls = len(provider.caches_seen)
    with pytest.raises(SignInRequired):
        service.mailbox_token("t", "u", cid)
    assert len(provider.caches_seen) == calls


def test_a_pop_sign_in_is_its_own_connection_asking_its_own_scope() -> None:
    service, _, provider = _service()
    me = Owner("t", "u")
    imap = _sign_in(service, me, "m@contoso.example")
    pop = _sign_in(service, me, "m@contoso.example", purpose="pop")
    assert provider.purposes == [Purpose.IMAP, Purpose.POP]
    assert (imap.purpose, pop.purpose) == (Purpose.IMAP, Purpose.POP)
    assert imap.connection_id != pop.connection_id
    # A migration's sign-in holds no POP scope, and the other way round.
    assert service.connection_email("t", "u", pop.connection_id, Purpose.POP) == "m@contoso.example"
    assert service.connection_email("t", "u", pop.connection_id, Purpose.IMAP) is None
    assert service.connection_email("t", "u", imap.connection_id, Purpose.POP) is None
    with pytest.raises(ValidationFailed, match="purpose"):
        service.start(me, {"email": "m@contoso.example", "purpose": "smtp"}, "https://api/cb")
    # Ten of each: POP accounts' sign-ins don't use up the migrations' ten.
    for n in range(1, 10):
        _sign_in(service, me, f"m{n}@contoso.example", purpose="pop")
    with pytest.raises(LimitExceeded, match="POP"):
        service.start(me, {"email": "x@contoso.example", "purpose": "pop"}, "https://api/cb")
    _sign_in(service, me, "x@contoso.example")


def test_a_live_token_is_held_so_a_poll_reads_nothing() -> None:
    service, store, provider = _service()
    provider.lifetime_s = 3600
    me = Owner("t", "u")
    cid = _sign_in(service, me, "m@contoso.example", purpose="pop").connection_id
    first = service.mailbox_token("t", "u", cid)
    reads = 0
    real_get = store.get_connection

    def counted(*a: str) -> OAuthConnection | None:
        nonlocal reads
        reads += 1
        return real_get(*a)

    store.get_connection = counted  # type: ignore[method-assign]
    assert service.mailbox_token("t", "u", cid) == first
    assert (reads, len(provider.caches_seen)) == (0, 1)  # no read, no KMS, no token call
    # Other users never get it: the key is the tenant, the user and the connection.
    with pytest.raises(SignInRequired):
        service.mailbox_token("t", "v", cid)
    # The server refused it: ``fresh`` reads the connection and forces a refresh.
    again = service.mailbox_token("t", "u", cid, fresh=True)
    assert again != first and provider.forced[-1] is True
    # A sign-in again drops what was held for the old one.
    _sign_in(service, me, "m@contoso.example", purpose="pop")
    service.mailbox_token("t", "u", cid)
    assert len(provider.caches_seen) == 3


def test_a_token_near_its_end_is_not_given_out() -> None:
    service, _, provider = _service()
    provider.lifetime_s = 299  # under msal's five-minute margin: never held
    me = Owner("t", "u")
    cid = _sign_in(service, me, "m@contoso.example", purpose="pop").connection_id
    service.mailbox_token("t", "u", cid)
    service.mailbox_token("t", "u", cid)
    assert len(provider.caches_seen) == 2


def test_the_provider_is_configured_only_with_a_filled_in_registration() -> None:
    from mailport.adapters.msal_identity import MsalMicrosoft
    from mailport.domain.oauth import OAuthNotConfigured
    from mailport.errors import StorageError

    assert MsalMicrosoft(None).configured() is False
    assert MsalMicrosoft(lambda: ("id", "secret")).configured() is True

    def empty() -> tuple[str, str]:
        raise OAuthNotConfigured("not set up yet")

    def denied() -> tuple[str, str]:
        raise StorageError("reading the app registration failed (AccessDenied)")

    assert MsalMicrosoft(empty).configured() is False
    assert MsalMicrosoft(denied).configured() is False


def test_a_removed_app_registration_asks_for_a_sign_in_not_an_operator_error() -> None:
    from mailport.domain.oauth import OAuthNotConfigured

    service, _, provider = _service()
    cid = _sign_in(service, Owner("t", "u"), "m@contoso.example", purpose="pop").connection_id
    provider.refresh_error = OAuthNotConfigured("Microsoft 365 sign-in is not set up")
    with pytest.raises(SignInRequired, match="sign in again once it is"):
        service.mailbox_token("t", "u", cid)


def test_google_and_microsoft_sign_ins_are_kept_apart() -> None:
    """Each connection refreshes at its own provider, a callback finishes only its own
    provider's flows, and a Google token is never given where a Microsoft one is asked for.
    """
    store, microsoft, google = Store(), Provider(), Provider()
    service = OAuthService(
        store,
        {OAuthProvider.MICROSOFT: microsoft, OAuthProvider.GOOGLE: google},
        secrets=Box(),
        clock=lambda: NOW,
    )
    me = Owner("t", "u")
    ms = _sign_in(service, me, "m@contoso.example")
    started, cookie = service.start(
        me, {"email": "m@contoso.example"}, "https://api/cb", OAuthProvider.GOOGLE
    )
    assert started["provider"] == "google" and started["connection_id"] != ms.connection_id
    state = str(started["authorize_url"]).rsplit("=", 1)[1]
    # Google's flow coming back to Microsoft's callback is refused (and used up).
    with pytest.raises(OAuthFlowInvalid, match="wrong place"):
        service.finish({"state": state, "code": "c", "who": "m@contoso.example"}, cookie)
    assert google.purposes == [Purpose.IMAP] and microsoft.purposes == [Purpose.IMAP]
    started, cookie = service.start(
        me, {"email": "m@contoso.example"}, "https://api/cb", OAuthProvider.GOOGLE
    )
    state = str(started["authorize_url"]).rsplit("=", 1)[1]
    gm = service.finish(
        {"state": state, "code": "c", "who": "m@contoso.example"}, cookie, OAuthProvider.GOOGLE
    )
    assert gm.provider is OAuthProvider.GOOGLE and gm.connection_id == started["connection_id"]
    assert ms.provider is OAuthProvider.MICROSOFT
    assert gm.connection_id == connection_id_for(
        me, "m@contoso.example", Purpose.IMAP, OAuthProvider.GOOGLE
    )
    # The mailbox is offered only for the provider that signed it in.
    g, m = OAuthProvider.GOOGLE, OAuthProvider.MICROSOFT
    assert service.connection_email("t", "u", gm.connection_id, Purpose.IMAP, g)
    assert service.connection_email("t", "u", gm.connection_id, Purpose.IMAP, m) is None
    assert service.connection_email("t", "u", ms.connection_id, Purpose.IMAP, g) is None
    # Tokens come from the connection's own provider.
    service.mailbox_token("t", "u", gm.connection_id)
    assert (len(google.caches_seen), len(microsoft.caches_seen)) == (1, 0)
    service.mailbox_token("t", "u", ms.connection_id)
    assert (len(google.caches_seen), len(microsoft.caches_seen)) == (1, 1)


def test_a_provider_the_stack_lacks_is_not_configured_and_cannot_start() -> None:
    service, _, _ = _service()  # Microsoft only
    assert service.configured(OAuthProvider.MICROSOFT) is True
    assert service.configured(OAuthProvider.GOOGLE) is False
    with pytest.raises(OAuthNotConfigured, match="Google"):
        service.start(
            Owner("t", "u"), {"email": "m@gmail.example"}, "https://api/cb", OAuthProvider.GOOGLE
        )


def test_a_token_is_given_only_for_the_provider_and_purpose_asked_for() -> None:
    service, _, provider = _service()
    provider.lifetime_s = 3600.0  # held after the first call
    me = Owner("t", "u")
    pop = _sign_in(service, me, "m@contoso.example", purpose="pop")
    right = (OAuthProvider.MICROSOFT, Purpose.POP)
    assert service.mailbox_token("t", "u", pop.connection_id, expect=right).oauth2_token
    for wrong in ((OAuthProvider.GOOGLE, Purpose.POP), (OAuthProvider.MICROSOFT, Purpose.IMAP)):
        # Held or read, a token for another use is refused (no provider call either).
        calls = len(provider.caches_seen)
        with pytest.raises(SignInRequired, match="not a"):
            service.mailbox_token("t", "u", pop.connection_id, expect=wrong)
        with pytest.raises(SignInRequired, match="not a"):
            service.mailbox_token("t", "u", pop.connection_id, fresh=True, expect=wrong)
        assert len(provider.caches_seen) == calls
