"""Google sign-in against real parts: GoogleIdentity (Authlib) against the fake identity
provider's Google endpoints over https with its own CA (auth-code flow with PKCE, state and
nonce, an offline refresh token that does not rotate, a revoked grant), and the access token
it gives logging in to Dovecot over XOAUTH2 (its oauth2 passdb introspects the same tokens).
"""

from __future__ import annotations

import json
import time
import urllib.parse
import uuid

import pytest
import requests

from mailport.adapters.google_identity import GoogleIdentity
from mailport.adapters.imap import ImapConnector
from mailport.adapters.pop3 import Pop3Connector
from mailport.domain.network import LOCAL_TESTS
from mailport.domain.oauth import OAuthDenied, OAuthFlowInvalid, Purpose, SignInRequired
from mailport.domain.remote import Credentials, ServerAddress
from tests.support.dovecot import Dovecot
from tests.support.fake_idp import FakeIdentityProvider

REDIRECT = "http://127.0.0.1:9/v1/oauth/google/callback"


def _provider(idp: FakeIdentityProvider) -> GoogleIdentity:
    return GoogleIdentity(
        lambda: (idp.client_id, idp.client_secret),
        authorize_url=idp.google_authorize_url,
        token_url=idp.google_token_url,
        issuer=idp.google_issuer,
        ca_file=idp.ca_file,
    )


def _http() -> requests.Session:
    http = requests.Session()
    http.trust_env = False  # no proxy or CA bundle from the environment
    return http


def _consent(idp: FakeIdentityProvider, authorize_url: str) -> dict[str, str]:
    """The user signs in and consents: the query Google sends the browser back with."""
    answer = _http().get(authorize_url, verify=idp.ca_file, allow_redirects=False)
    assert answer.status_code == 302
    location = urllib.parse.urlsplit(answer.headers["Location"])
    assert location.geturl().startswith(REDIRECT)
    return dict(urllib.parse.parse_qsl(location.query))


def _user() -> str:
    return f"g-{uuid.uuid4().hex[:8]}@gmail.example"


def test_sign_in_cached_token_forced_refresh_and_revocation(fake_idp: FakeIdentityProvider) -> None:
    provider, user = _provider(fake_idp), _user()
    url, details = provider.begin(user, REDIRECT, Purpose.POP)
    assert fake_idp.google_authorize_url and url.startswith(fake_idp.google_authorize_url)
    params = _consent(fake_idp, url)
    asked = fake_idp.google_params_asked[-1]
    assert fake_idp.google_scopes_asked[-1] == "openid email https://mail.google.com/"
    assert (asked["access_type"], asked["prompt"], asked["login_hint"]) == (
        "offline",
        "consent",
        user,
    )
    assert asked["code_challenge_method"] == "S256" and asked["state"] == details["state"]

    redeemed = fake_idp.code_redemptions
    grant = provider.complete(details, params)
    assert fake_idp.code_redemptions == redeemed + 1
    assert grant.is_for(user) and not grant.is_for("someone@gmail.example")
    assert grant.account_id.isdigit()
    refresh_token = json.loads(grant.cache)["refresh_token"]

    # The access token from the redemption is used while it has over five minutes left.
    before = fake_idp.refreshes_for[user]
    cached = provider.access_token(grant.cache, grant.account_id, Purpose.POP)
    assert cached.token and cached.cache is None and fake_idp.refreshes_for[user] == before
    assert cached.expires_at > time.time() + 300

    # Forced (the server refused it): refreshed, and the refresh token is kept (no rotation).
    forced = provider.access_token(grant.cache, grant.account_id, Purpose.POP, force=True)
    assert fake_idp.refreshes_for[user] == before + 1 and forced.token != cached.token
    assert forced.cache is not None
    assert json.loads(forced.cache)["refresh_token"] == refresh_token
    again = provider.access_token(forced.cache, grant.account_id, Purpose.POP, force=True)
    assert again.token not in (forced.token, cached.token)

    fake_idp.revoke(user)
    with pytest.raises(SignInRequired, match="sign in again") as info:
        provider.access_token(forced.cache, grant.account_id, Purpose.POP, force=True)
    assert refresh_token not in str(info.value)


def test_short_lived_tokens_are_refreshed_on_every_use(fake_idp: FakeIdentityProvider) -> None:
    provider, user = _provider(fake_idp), _user()
    lifetime = fake_idp.token_lifetime_s
    fake_idp.token_lifetime_s = 60  # under the five-minute margin
    try:
        url, details = provider.begin(user, REDIRECT, Purpose.IMAP)
        grant = provider.complete(details, _consent(fake_idp, url))
        before = fake_idp.refreshes_for[user]
        tokens = {provider.access_token(grant.cache, grant.account_id).token for _ in range(3)}
        assert len(tokens) == 3 and fake_idp.refreshes_for[user] == before + 3
    finally:
        fake_idp.token_lifetime_s = lifetime


def test_replayed_foreign_or_declined_callbacks_are_refused(
    fake_idp: FakeIdentityProvider,
) -> None:
    provider, user = _provider(fake_idp), _user()
    url, details = provider.begin(user, REDIRECT, Purpose.POP)
    params = _consent(fake_idp, url)
    provider.complete(details, params)
    with pytest.raises(OAuthDenied):  # the code is single use
        provider.complete(details, params)
    other_url, other_details = provider.begin(user, REDIRECT, Purpose.POP)
    with pytest.raises(OAuthFlowInvalid):  # a state from another flow
        provider.complete(details, _consent(fake_idp, other_url))
    fake_idp.deny = True
    try:
        declined = _consent(fake_idp, provider.begin(user, REDIRECT, Purpose.POP)[0])
    finally:
        fake_idp.deny = False
    assert declined["error"] == "access_denied"
    with pytest.raises(OAuthDenied, match="cancelled or refused"):
        provider.complete(other_details, declined)


def test_signing_in_as_another_account_is_seen(fake_idp: FakeIdentityProvider) -> None:
    provider, user = _provider(fake_idp), _user()
    url, details = provider.begin(user, REDIRECT, Purpose.POP)
    fake_idp.sign_in_as = "mallory@gmail.example"
    try:
        params = _consent(fake_idp, url)
    finally:
        fake_idp.sign_in_as = None
    grant = provider.complete(details, params)
    assert not grant.is_for(user) and grant.is_for("mallory@gmail.example")


def test_a_wrong_client_secret_is_refused_by_the_token_endpoint(
    fake_idp: FakeIdentityProvider,
) -> None:
    wrong = GoogleIdentity(
        lambda: (fake_idp.client_id, "not-the-secret"),
        authorize_url=fake_idp.google_authorize_url,
        token_url=fake_idp.google_token_url,
        issuer=fake_idp.google_issuer,
        ca_file=fake_idp.ca_file,
    )
    url, details = wrong.begin(_user(), REDIRECT, Purpose.POP)
    with pytest.raises(OAuthDenied, match="invalid_client"):
        wrong.complete(details, _consent(fake_idp, url))


@pytest.mark.dovecot
@pytest.mark.parametrize("purpose", list(Purpose))
def test_the_access_token_logs_in_over_xoauth2(
    fake_idp: FakeIdentityProvider, dovecot: Dovecot, purpose: Purpose
) -> None:
    provider, user = _provider(fake_idp), _user()
    dovecot.add_user(user, f"pw-{uuid.uuid4().hex}")
    url, details = provider.begin(user, REDIRECT, purpose)
    grant = provider.complete(details, _consent(fake_idp, url))
    token = provider.access_token(grant.cache, grant.account_id).token
    credentials = Credentials(user, oauth2_token=token)
    if purpose is Purpose.IMAP:
        server = ServerAddress(dovecot.host, dovecot.imaps_port, True, str(dovecot.ca_pem))
        session = ImapConnector(network=LOCAL_TESTS).open(server, credentials)
        assert [f.name for f in session.folders()][:1] == ["INBOX"]
        session.logout()
    else:
        server = ServerAddress(dovecot.host, dovecot.pop3s_port, True, str(dovecot.ca_pem))
        pop = Pop3Connector(network=LOCAL_TESTS).open(server, credentials)
        assert pop.entries() == []
        pop.quit()
