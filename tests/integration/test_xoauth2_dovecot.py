"""XOAUTH2 on POP3 and IMAP against the private Dovecot, whose oauth2 passdb asks the fake
identity provider's introspection endpoint which tokens are valid for which user.

Password logins go on working next to it (the passwd-file passdb is limited to PLAIN/LOGIN,
so a password is never taken as a token nor a token as a password).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from mailport.adapters.imap import ImapConnector
from mailport.adapters.pop3 import Pop3Connector
from mailport.domain.network import LOCAL_TESTS
from mailport.domain.remote import (
    Credentials,
    RemoteAuthFailed,
    RemoteSigninRequired,
    ServerAddress,
)
from tests.support.dovecot import Dovecot
from tests.support.fake_idp import FakeIdentityProvider

pytestmark = pytest.mark.dovecot

type Login = Callable[[Dovecot, Credentials], None]


def _pop3(dovecot: Dovecot, credentials: Credentials, *, ssl: bool = True) -> None:
    port = dovecot.pop3s_port if ssl else dovecot.pop3_port
    server = ServerAddress(dovecot.host, port, ssl=ssl, ca_file=str(dovecot.ca_pem))
    session = Pop3Connector(network=LOCAL_TESTS).open(server, credentials)
    try:
        assert session.entries() == []
    finally:
        session.quit()


def _pop3_stls(dovecot: Dovecot, credentials: Credentials) -> None:
    _pop3(dovecot, credentials, ssl=False)


def _imap(dovecot: Dovecot, credentials: Credentials, *, ssl: bool = True) -> None:
    port = dovecot.imaps_port if ssl else dovecot.imap_port
    server = ServerAddress(dovecot.host, port, ssl=ssl, ca_file=str(dovecot.ca_pem))
    session = ImapConnector(network=LOCAL_TESTS).open(server, credentials)
    try:
        assert [f.name for f in session.folders()][:1] == ["INBOX"]
    finally:
        session.logout()


def _imap_starttls(dovecot: Dovecot, credentials: Credentials) -> None:
    _imap(dovecot, credentials, ssl=False)


LOGINS: dict[str, Login] = {
    "pop3s": _pop3,
    "pop3-stls": _pop3_stls,
    "imaps": _imap,
    "imap-starttls": _imap_starttls,
}


@pytest.fixture(params=sorted(LOGINS))
def login(request: Any) -> Login:
    return LOGINS[request.param]


@pytest.fixture
def user(dovecot: Dovecot) -> str:
    name = f"xo-{uuid.uuid4().hex[:10]}@gmail.example"
    dovecot.add_user(name, f"pw-{uuid.uuid4().hex}")
    return name


def test_valid_token_logs_in(
    login: Login, dovecot: Dovecot, fake_idp: FakeIdentityProvider, user: str
) -> None:
    login(dovecot, Credentials(user, oauth2_token=fake_idp.access_token_for(user)))


def test_password_login_still_works(login: Login, dovecot: Dovecot) -> None:
    name = f"pw-{uuid.uuid4().hex[:10]}"
    password = f"pw-{uuid.uuid4().hex}"
    dovecot.add_user(name, password)
    login(dovecot, Credentials(name, password))
    with pytest.raises(RemoteAuthFailed) as info:  # a password is no token
        login(dovecot, Credentials(name, oauth2_token=password))
    assert type(info.value) is RemoteSigninRequired
    assert password not in str(info.value)


@pytest.mark.parametrize("whose", ["unknown", "another user's"])
def test_refused_token_means_sign_in_again(
    login: Login, dovecot: Dovecot, fake_idp: FakeIdentityProvider, user: str, whose: str
) -> None:
    if whose == "unknown":
        token = secrets.token_urlsafe(32)
    else:
        other = f"xo-{uuid.uuid4().hex[:10]}@gmail.example"
        dovecot.add_user(other, "pw")
        token = fake_idp.access_token_for(other)
    with pytest.raises(RemoteSigninRequired) as info:
        login(dovecot, Credentials(user, oauth2_token=token))
    error = info.value
    assert isinstance(error, RemoteAuthFailed)  # counted as a login failure, as before
    assert error.code == "remote_signin_required"
    assert "sign in with the provider again" in error.message
    # Dovecot answers Google's way: a base64 JSON challenge first, whose status is kept.
    assert "status 401" in error.message
    assert token not in str(error) and token not in repr(error.args)


def test_expired_token_means_sign_in_again(
    dovecot: Dovecot, fake_idp: FakeIdentityProvider, user: str
) -> None:
    token = fake_idp.access_token_for(user)
    for login in LOGINS.values():
        login(dovecot, Credentials(user, oauth2_token=token))
    fake_idp.expire_access_tokens()
    for login in LOGINS.values():
        with pytest.raises(RemoteSigninRequired) as info:
            login(dovecot, Credentials(user, oauth2_token=token))
        assert token not in str(info.value)
