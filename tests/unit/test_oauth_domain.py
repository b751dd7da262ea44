"""Microsoft 365 sign-in, the pure parts: addresses, browser binding, the callback page, and
the service's rules with fake ports (the real ones are in tests/integration/test_oauth.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
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
    ready = oauth_page.page(ok=True, detail="a@b.example", code="ready", connection={"id": "m1"})
    assert "メールをインポートする準備ができました" in ready and 'data-status="ready"' in ready


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
    def __init__(self) -> None:
        self.states = iter(range(1000))
        self.refresh_error: Exception | None = None
        self.caches_seen: list[str] = []

    def begin(self, email: str, redirect_uri: str) -> tuple[str, dict[str, Any]]:
        state = f"s{next(self.states)}"
        return f"https://idp/authorize?state={state}", {"state": state}

    def complete(self, details: Mapping[str, Any], params: Mapping[str, str]) -> TokenGrant:
        return TokenGrant("cache-1", frozenset({params["who"]}), "acct")

    def access_token(self, cache: str, account_id: str) -> AccessToken:
        self.caches_seen.append(cache)
        if self.refresh_error is not None and cache == "cache-1":
            raise self.refresh_error
        return AccessToken("token", cache + "+")


class Box:
    def seal(self, secret: str, context: Mapping[str, str]) -> bytes:
        return json.dumps([secret, dict(context)]).encode()

    def open(self, sealed: bytes, context: Mapping[str, str]) -> str:
        secret, sealed_for = json.loads(sealed)
        assert sealed_for == dict(context)
        return str(secret)


def _service() -> tuple[OAuthService, Store, Provider]:
    store, provider = Store(), Provider()
    return OAuthService(store, provider, secrets=Box(), clock=lambda: NOW), store, provider


def _sign_in(service: OAuthService, owner: Owner, email: str) -> OAuthConnection:
    started, cookie = service.start(owner, {"email": email}, "https://api/cb")
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
    assert service.mailbox_token("t", "u", cid).oauth2_token == "token"
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
    assert service.mailbox_token("t", "u", cid).oauth2_token == "token"
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
