"""Microsoft 365 sign-in against real parts: msal against the fake identity provider over
https (auth-code flow with PKCE and state, silent refresh, revoked grants), KMS envelope
sealing of a large token cache in moto, the OAuth store in DynamoDB, and XOAUTH2 logins to
Dovecot whose oauth2 passdb introspects the provider's tokens.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests

from mailport.adapters.app_credentials import SecretsManagerAppCredentials
from mailport.adapters.clients import Clients
from mailport.adapters.dynamodb_oauth import DynamoOAuth
from mailport.adapters.imap import ImapConnector
from mailport.adapters.kms import SecretUnreadable
from mailport.adapters.msal_identity import MsalMicrosoft
from mailport.domain.mailbox import Owner
from mailport.domain.network import LOCAL_TESTS
from mailport.domain.oauth import (
    OAuthDenied,
    OAuthFlowInvalid,
    OAuthMailboxMismatch,
    OAuthNotConfigured,
    OAuthProvider,
    SignInRequired,
)
from mailport.domain.remote import Credentials, RemoteAuthFailed, ServerAddress
from mailport.usecases.oauth import OAuthService
from mailport_local.stack import LocalStack
from tests.support.dovecot import Dovecot
from tests.support.fake_idp import FakeIdentityProvider
from tests.support.secrets import kms_box

pytestmark = pytest.mark.dovecot

REDIRECT = "http://127.0.0.1:9/v1/oauth/microsoft/callback"


def _provider(idp: FakeIdentityProvider) -> MsalMicrosoft:
    return MsalMicrosoft(
        lambda: (idp.client_id, idp.client_secret),
        authority=idp.authority,
        ca_file=idp.ca_file,
        instance_discovery=False,
    )


def _browser(idp: FakeIdentityProvider) -> requests.Session:
    http = requests.Session()
    http.trust_env = False
    http.verify = idp.ca_file
    return http


def _consent(idp: FakeIdentityProvider, authorize_url: str) -> dict[str, str]:
    """The user signs in and consents: the query Microsoft sends the browser back with."""
    answer = _browser(idp).get(authorize_url, allow_redirects=False)
    assert answer.status_code == 302
    location = urllib.parse.urlsplit(answer.headers["Location"])
    assert location.geturl().startswith(REDIRECT)
    return dict(urllib.parse.parse_qsl(location.query))


@pytest.fixture
def user(dovecot: Dovecot) -> str:
    name = f"m365-{uuid.uuid4().hex[:8]}@contoso.example"
    dovecot.add_user(name, f"pw-{uuid.uuid4().hex}")
    return name


def test_auth_code_flow_refresh_and_revocation(fake_idp: FakeIdentityProvider, user: str) -> None:
    provider = _provider(fake_idp)
    url, details = provider.begin(user, REDIRECT)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert query["code_challenge_method"] == "S256" and query["state"] == details["state"]
    assert query["login_hint"] == user and "IMAP.AccessAsUser.All" in query["scope"]

    grant = provider.complete(details, _consent(fake_idp, url))
    assert grant.is_for(user) and not grant.is_for("someone@contoso.example")

    # A fresh token comes from the cache without a refresh while it has > 5 minutes left.
    before = fake_idp.refreshes_for[user]
    token = provider.access_token(grant.cache, grant.account_id)
    assert token.token and token.cache is None and fake_idp.refreshes_for[user] == before

    # A grant whose tokens are short-lived must refresh; once revoked, the user must sign in.
    lifetime = fake_idp.token_lifetime_s
    try:
        fake_idp.token_lifetime_s = 60  # under msal's 5-minute margin: every call refreshes
        short = provider.complete(*_flow(provider, fake_idp, user))
        fake_idp.revoke(user)
        with pytest.raises(SignInRequired):
            provider.access_token(short.cache, short.account_id)
    finally:
        fake_idp.token_lifetime_s = lifetime


def _flow(
    provider: MsalMicrosoft, idp: FakeIdentityProvider, user: str
) -> tuple[dict[str, Any], dict[str, str]]:
    url, details = provider.begin(user, REDIRECT)
    return details, _consent(idp, url)


def test_short_lived_tokens_are_refreshed_and_rotated(
    fake_idp: FakeIdentityProvider, user: str
) -> None:
    provider = _provider(fake_idp)
    lifetime = fake_idp.token_lifetime_s
    fake_idp.token_lifetime_s = 60
    try:
        grant = provider.complete(*_flow(provider, fake_idp, user))
        cache, tokens = grant.cache, set()
        for _ in range(3):
            fresh = provider.access_token(cache, grant.account_id)
            assert fresh.cache is not None  # rotated refresh token: must be saved
            cache = fresh.cache
            tokens.add(fresh.token)
        assert len(tokens) == 3
    finally:
        fake_idp.token_lifetime_s = lifetime


def test_replayed_or_foreign_callbacks_are_refused(
    fake_idp: FakeIdentityProvider, user: str
) -> None:
    provider = _provider(fake_idp)
    details, params = _flow(provider, fake_idp, user)
    provider.complete(details, params)
    with pytest.raises(OAuthDenied):  # the code is single use
        provider.complete(details, params)
    other_details, other_params = _flow(provider, fake_idp, user)
    with pytest.raises(OAuthFlowInvalid):  # a state from another flow
        provider.complete(details, other_params)
    with pytest.raises(OAuthDenied):
        provider.complete(other_details, {"error": "access_denied", "state": params["state"]})


def test_xoauth2_login_to_dovecot(
    fake_idp: FakeIdentityProvider, dovecot: Dovecot, user: str
) -> None:
    provider = _provider(fake_idp)
    grant = provider.complete(*_flow(provider, fake_idp, user))
    token = provider.access_token(grant.cache, grant.account_id).token
    connector = ImapConnector(network=LOCAL_TESTS)
    server = ServerAddress(dovecot.host, dovecot.imaps_port, True, str(dovecot.ca_pem))
    session = connector.open(server, Credentials(user, oauth2_token=token))
    assert [f.name for f in session.folders()][:1] == ["INBOX"]
    session.logout()
    # Another mailbox's token, an expired token, and a password as a token are refused.
    other = f"other-{uuid.uuid4().hex[:6]}@contoso.example"
    dovecot.add_user(other, "pw")
    for username, bearer in (
        (user, fake_idp.access_token_for(other)),
        (user, "pw-not-a-token"),
    ):
        with pytest.raises(RemoteAuthFailed):
            connector.open(server, Credentials(username, oauth2_token=bearer))
    fake_idp.expire_access_tokens()
    with pytest.raises(RemoteAuthFailed):
        connector.open(server, Credentials(user, oauth2_token=token))


@pytest.fixture
def service(local_stack: LocalStack, fake_idp: FakeIdentityProvider) -> Iterator[OAuthService]:
    clients = Clients()
    table = local_stack.physical_id("MailportTable")
    yield OAuthService(
        DynamoOAuth(table, client=clients.dynamodb),
        {OAuthProvider.MICROSOFT: _provider(fake_idp)},
        secrets=kms_box(local_stack, clients.kms, clients.dynamodb),
    )


def _start(service: OAuthService, owner: Owner, email: str) -> tuple[str, str]:
    started, cookie = service.start(owner, {"email": email}, REDIRECT)
    return str(started["authorize_url"]), cookie


def test_service_binds_the_flow_to_its_user_and_browser(
    service: OAuthService, fake_idp: FakeIdentityProvider, user: str
) -> None:
    alice = Owner("acme", f"u{uuid.uuid4().hex[:8]}")
    url, cookie = _start(service, alice, user)
    params = _consent(fake_idp, url)
    with pytest.raises(OAuthFlowInvalid):  # another browser (no or another cookie)
        service.finish(params, "someone-elses-cookie")
    with pytest.raises(OAuthFlowInvalid):  # and the flow is used up by that attempt
        service.finish(params, cookie)

    url, cookie = _start(service, alice, user)
    connection = service.finish(_consent(fake_idp, url), cookie)
    assert connection.email == user and connection.status == "ready"
    assert [c.connection_id for c in service.list(alice)] == [connection.connection_id]
    assert service.list(Owner("acme", "bob")) == []
    credentials = service.mailbox_token("acme", alice.user_id, connection.connection_id)
    assert credentials.username == user and credentials.oauth2_token
    # Another user can't use alice's connection id.
    with pytest.raises(SignInRequired):
        service.mailbox_token("acme", "bob", connection.connection_id)


def test_service_refuses_a_token_for_another_mailbox(
    service: OAuthService, fake_idp: FakeIdentityProvider, user: str
) -> None:
    alice = Owner("acme", f"u{uuid.uuid4().hex[:8]}")
    url, cookie = _start(service, alice, user)
    fake_idp.sign_in_as = "mallory@contoso.example"
    try:
        params = _consent(fake_idp, url)
    finally:
        fake_idp.sign_in_as = None
    with pytest.raises(OAuthMailboxMismatch, match=r"mallory@contoso\.example"):
        service.finish(params, cookie)
    assert service.list(alice) == []


def test_service_marks_a_revoked_connection_and_recovers_on_sign_in(
    service: OAuthService, fake_idp: FakeIdentityProvider, user: str
) -> None:
    alice = Owner("acme", f"u{uuid.uuid4().hex[:8]}")
    url, cookie = _start(service, alice, user)
    connection_id = service.finish(_consent(fake_idp, url), cookie).connection_id
    lifetime = fake_idp.token_lifetime_s
    fake_idp.token_lifetime_s = 60
    try:
        url, cookie = _start(service, alice, user)  # signing in again: same connection
        assert service.finish(_consent(fake_idp, url), cookie).connection_id == connection_id
        fake_idp.revoke(user)
        with pytest.raises(SignInRequired):
            service.mailbox_token("acme", alice.user_id, connection_id)
        assert service.list(alice)[0].status == "needs_signin"
        resumed: list[str] = []
        service.on_signed_in = lambda owner, cid: resumed.append(cid)
        url, cookie = _start(service, alice, user)
        service.finish(_consent(fake_idp, url), cookie)
        assert resumed == [connection_id]
        assert service.list(alice)[0].status == "ready"
        assert service.mailbox_token("acme", alice.user_id, connection_id).oauth2_token
    finally:
        fake_idp.token_lifetime_s = lifetime


def test_large_secrets_are_sealed_with_a_data_key(local_stack: LocalStack) -> None:
    box = kms_box(local_stack)
    context = {"tenant": "acme", "user": "alice", "oauth": "c1"}
    secret = "x" * 9000 + "ü"
    sealed = box.seal(secret, context)
    assert secret.encode() not in sealed
    assert box.open(sealed, context) == secret
    with pytest.raises(SecretUnreadable):
        box.open(sealed, {**context, "user": "bob"})
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(SecretUnreadable):
        box.open(tampered, context)


def test_flows_expire(service: OAuthService, fake_idp: FakeIdentityProvider, user: str) -> None:
    late = OAuthService(
        service._store,
        service._providers,
        secrets=service._secrets,
        clock=lambda: dt.datetime.now(dt.UTC) - dt.timedelta(minutes=11),
    )
    url, cookie = _start(late, Owner("acme", "alice"), user)
    with pytest.raises(OAuthFlowInvalid, match="expired"):
        service.finish(_consent(fake_idp, url), cookie)


def test_the_app_registration_comes_from_secrets_manager(local_stack: LocalStack) -> None:
    client = boto3.client("secretsmanager")
    arn = client.create_secret(
        Name=f"m365-{uuid.uuid4().hex[:6]}", SecretString='{"client_id": "", "client_secret": ""}'
    )["ARN"]
    app = SecretsManagerAppCredentials(arn, client=lambda: client)
    with pytest.raises(OAuthNotConfigured):  # as deployed, before the operator fills it in
        app()
    with pytest.raises(OAuthNotConfigured):
        MsalMicrosoft(None).begin("a@contoso.example", REDIRECT)
    client.put_secret_value(SecretId=arn, SecretString='{"client_id": "id", "client_secret": "s"}')
    assert app() == ("id", "s")  # filled in: used at once (an empty one is never kept)
