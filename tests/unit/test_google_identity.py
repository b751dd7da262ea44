"""GoogleIdentity through Authlib, with a fake HTTP transport mounted on its sessions (no
sockets): the authorize URL, the code redemption and its ID token checks, the cached access
token and the refresh, and how Google's refusals become the domain's errors.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter

from mailport.adapters.google_identity import GOOGLE_ISSUER, GoogleIdentity
from mailport.domain.oauth import (
    OAuthDenied,
    OAuthFlowInvalid,
    OAuthNotConfigured,
    OAuthScopeMissing,
    Purpose,
    SignInRequired,
    TokenGrant,
)
from mailport.errors import MailportError, StorageError, TransientError

CLIENT_ID = "1234-test.apps.googleusercontent.com"
SECRET = "GOCSPX-unit-test-secret"
REDIRECT = "https://mailport.example/v1/oauth/google/callback"
TOKEN_URL = "https://oauth2.googleapis.com/token"
MAIL = "https://mail.google.com/"
REFRESH = "1//refresh-token-value"
ACCESS = "ya29.first-access-token"

type Outcome = tuple[int, Any] | Exception


class FakeTransport(BaseAdapter):
    """Answers each request with the next outcome: (status, JSON body) or an exception."""

    def __init__(self, *outcomes: Outcome) -> None:
        super().__init__()
        self.outcomes = list(outcomes)
        self.sent: list[requests.PreparedRequest] = []
        self.timeouts: list[Any] = []

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, timeout: Any = None, **_: Any
    ) -> requests.Response:
        self.sent.append(request)
        self.timeouts.append(timeout)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        status, body = outcome
        response = requests.Response()
        response.status_code = status
        response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
        response.headers["Content-Type"] = "application/json"
        response.request, response.url = request, str(request.url)
        return response

    def close(self) -> None:
        pass

    def form(self, index: int = -1) -> dict[str, str]:
        body = self.sent[index].body
        text = body.decode() if isinstance(body, bytes) else str(body)
        return dict(urllib.parse.parse_qsl(text))


def _jwt(claims: Mapping[str, Any]) -> str:
    def part(value: Mapping[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'kid': 'k1'})}.{part(claims)}.c2lnbmF0dXJl"


def _provider(*outcomes: Outcome) -> tuple[GoogleIdentity, FakeTransport]:
    transport = FakeTransport(*outcomes)
    return GoogleIdentity(lambda: (CLIENT_ID, SECRET), transport=transport), transport


def _claims(nonce: str, /, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": GOOGLE_ISSUER,
        "azp": CLIENT_ID,
        "aud": CLIENT_ID,
        "sub": "110248495921238986420",
        "email": "Ann.Lee@Gmail.com",
        "email_verified": True,
        "nonce": nonce,
        "iat": now,
        "exp": now + 3600,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _answer(id_token: str, **changes: Any) -> dict[str, Any]:
    answer = {
        "access_token": ACCESS,
        "expires_in": 3599,
        "refresh_token": REFRESH,
        "scope": f"{MAIL} openid https://www.googleapis.com/auth/userinfo.email",
        "token_type": "Bearer",
        "id_token": id_token,
    }
    answer.update(changes)
    return {k: v for k, v in answer.items() if v is not None}


def _sign_in(
    claims: Mapping[str, Any] | None = None, **answer: Any
) -> tuple[TokenGrant, FakeTransport, dict[str, Any]]:
    provider, transport = _provider()
    _, details = provider.begin("ann.lee@gmail.com", REDIRECT, Purpose.POP)
    id_token = _jwt(_claims(details["nonce"], **(claims or {})))
    transport.outcomes.append((200, _answer(id_token, **answer)))
    grant = provider.complete(details, {"code": "4/0Acode", "state": details["state"]})
    return grant, transport, details


def _cache(*, left_s: float, access: str = ACCESS) -> str:
    return json.dumps(
        {
            "refresh_token": REFRESH,
            "access_token": access,
            "expires_at": time.time() + left_s,
            "scope": MAIL,
        }
    )


@pytest.mark.parametrize("purpose", list(Purpose))
def test_the_authorize_url_asks_for_mail_offline_with_pkce(purpose: Purpose) -> None:
    provider, transport = _provider()
    url, details = provider.begin("ann.lee@gmail.com", REDIRECT, purpose)
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://accounts.google.com/o/oauth2/v2/auth"
    )
    assert query["scope"] == "openid email https://mail.google.com/"
    assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == REDIRECT == details["redirect_uri"]
    assert query["code_challenge_method"] == "S256"
    digest = hashlib.sha256(details["code_verifier"].encode()).digest()
    assert query["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert 43 <= len(details["code_verifier"]) <= 128  # RFC 7636
    assert query["access_type"] == "offline" and query["prompt"] == "consent"
    assert query["login_hint"] == "ann.lee@gmail.com"
    assert query["state"] == details["state"] and query["nonce"] == details["nonce"]
    assert json.loads(json.dumps(details)) == details  # kept in DynamoDB as it is
    assert SECRET not in url and SECRET not in json.dumps(details)
    assert transport.sent == []  # nothing is sent to begin
    _, again = provider.begin("ann.lee@gmail.com", REDIRECT, purpose)
    assert {k: again[k] != details[k] for k in ("state", "code_verifier", "nonce")} == {
        "state": True,
        "code_verifier": True,
        "nonce": True,
    }


def test_a_sign_in_redeems_the_code_and_keeps_the_refresh_token() -> None:
    grant, transport, details = _sign_in()
    assert grant.usernames == {"ann.lee@gmail.com"} and grant.is_for("ann.lee@gmail.com")
    assert grant.account_id == "110248495921238986420"
    cache = json.loads(grant.cache)
    assert cache["refresh_token"] == REFRESH and cache["access_token"] == ACCESS
    assert cache["expires_at"] == pytest.approx(time.time() + 3599, abs=5)
    assert MAIL in cache["scope"].split()
    assert len(transport.sent) == 1 and transport.sent[0].url == TOKEN_URL
    assert transport.form() == {
        "grant_type": "authorization_code",
        "code": "4/0Acode",
        "code_verifier": details["code_verifier"],
        "redirect_uri": REDIRECT,
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
    }
    assert transport.timeouts[0] is not None  # a hung endpoint can't hold the function


def test_googles_issuer_without_scheme_and_a_string_email_verified_are_accepted() -> None:
    grant, _, _ = _sign_in({"iss": "accounts.google.com", "email_verified": "true"})
    assert grant.is_for("ann.lee@gmail.com")


@pytest.mark.parametrize(
    ("changes", "claim"),
    [
        ({"aud": "another-app.apps.googleusercontent.com"}, "aud"),
        ({"aud": [CLIENT_ID, "other"], "azp": "other"}, "aud"),
        ({"iss": "https://evil.example"}, "iss"),
        ({"nonce": "a-replayed-nonce"}, "nonce"),
        ({"nonce": None}, "nonce"),
        ({"exp": int(time.time()) - 3600}, "exp"),
        ({"sub": None}, "sub"),
    ],
)
def test_an_id_token_that_fails_a_check_is_refused(changes: dict[str, Any], claim: str) -> None:
    with pytest.raises(OAuthDenied, match=rf"\({claim}\)"):
        _sign_in(changes)


@pytest.mark.parametrize("verified", [False, "false", None])
def test_an_unverified_email_names_no_mailbox(verified: object) -> None:
    grant, _, _ = _sign_in({"email_verified": verified})
    assert grant.usernames == frozenset() and not grant.is_for("ann.lee@gmail.com")


@pytest.mark.parametrize("id_token", ["", "not-a-jwt", "a.!!!.c", "a.W10.c"])
def test_an_unreadable_id_token_is_refused(id_token: str) -> None:
    provider, transport = _provider()
    _, details = provider.begin("a@gmail.com", REDIRECT, Purpose.IMAP)
    transport.outcomes.append((200, _answer(id_token)))
    with pytest.raises(OAuthDenied, match="ID token"):
        provider.complete(details, {"code": "c", "state": details["state"]})


def test_no_refresh_token_or_no_mail_scope_is_refused() -> None:
    with pytest.raises(OAuthDenied, match="no refresh token"):
        _sign_in(refresh_token=None)
    with pytest.raises(OAuthScopeMissing, match="did not grant access to the mailbox"):
        _sign_in(scope="openid https://www.googleapis.com/auth/userinfo.email")


@pytest.mark.parametrize(
    ("error", "words", "code"),
    [
        ("access_denied", "cancelled or refused", "oauth_denied"),
        ("admin_policy_enforced", "administrator", "oauth_admin_blocked"),
    ],
)
def test_a_refusal_in_the_callback_is_denied_without_a_request(
    error: str, words: str, code: str
) -> None:
    provider, transport = _provider()
    _, details = provider.begin("a@gmail.com", REDIRECT, Purpose.POP)
    with pytest.raises(OAuthDenied, match=words) as denied:
        provider.complete(details, {"error": error, "state": details["state"]})
    assert denied.value.code == code  # the console words it by code
    assert transport.sent == []


@pytest.mark.parametrize("state", ["another-flows-state", "", "é-not-ascii"])
def test_a_callback_of_another_flow_is_refused_before_redeeming(state: str) -> None:
    provider, transport = _provider()
    _, details = provider.begin("a@gmail.com", REDIRECT, Purpose.POP)
    with pytest.raises(OAuthFlowInvalid):
        provider.complete(details, {"code": "c", "state": state})
    assert transport.sent == []


@pytest.mark.parametrize(
    ("outcome", "error"),
    [
        ((400, {"error": "invalid_grant", "error_description": "Bad Request"}), OAuthDenied),
        ((401, {"error": "invalid_client", "error_description": "Unauthorized"}), OAuthDenied),
        ((500, b"<html>oops</html>"), TransientError),
        (requests.ConnectionError("refused"), TransientError),
    ],
)
def test_a_failed_redemption(outcome: Outcome, error: type[Exception]) -> None:
    provider, _ = _provider(outcome)
    _, details = provider.begin("a@gmail.com", REDIRECT, Purpose.POP)
    with pytest.raises(error):
        provider.complete(details, {"code": "c", "state": details["state"]})


def test_a_cached_token_with_over_five_minutes_left_is_used_as_it_is() -> None:
    provider, transport = _provider()
    cache = _cache(left_s=301)
    token = provider.access_token(cache, "sub", Purpose.POP)
    assert (token.token, token.cache) == (ACCESS, None)
    assert token.expires_at == json.loads(cache)["expires_at"]
    assert transport.sent == []


@pytest.mark.parametrize(("left_s", "force"), [(299, False), (-10, False), (3000, True)])
def test_a_token_near_its_end_or_forced_is_refreshed(left_s: float, force: bool) -> None:
    fresh = {"access_token": "ya29.fresh", "expires_in": 3599, "scope": MAIL}
    provider, transport = _provider((200, fresh | {"token_type": "Bearer"}))
    token = provider.access_token(_cache(left_s=left_s), "sub", Purpose.IMAP, force=force)
    assert token.token == "ya29.fresh" and token.cache is not None
    assert token.expires_at == pytest.approx(time.time() + 3599, abs=5)
    assert transport.form() == {
        "grant_type": "refresh_token",
        "refresh_token": REFRESH,
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
    }
    saved = json.loads(token.cache)
    # Google does not rotate refresh tokens: the old one is kept.
    assert saved["refresh_token"] == REFRESH and saved["access_token"] == "ya29.fresh"
    assert saved["expires_at"] == token.expires_at
    # The saved cache is used from then on, without another request.
    assert provider.access_token(token.cache, "sub", Purpose.IMAP).token == "ya29.fresh"
    assert len(transport.sent) == 1


def test_a_new_refresh_token_replaces_the_old_one() -> None:
    answer = {"access_token": "ya29.b", "expires_in": 3599, "refresh_token": "1//new"}
    provider, _ = _provider((200, answer))
    token = provider.access_token(_cache(left_s=0), "sub", Purpose.POP)
    assert token.cache is not None and json.loads(token.cache)["refresh_token"] == "1//new"


@pytest.mark.parametrize(
    ("outcome", "error", "words"),
    [
        (
            (400, {"error": "invalid_grant", "error_description": "Token has been revoked."}),
            SignInRequired,
            "revoked, expired, or the password changed",
        ),
        ((401, {"error": "invalid_client"}), SignInRequired, "app registration"),
        ((400, {"error": "unauthorized_client"}), SignInRequired, "app registration"),
        ((400, {"error": "admin_policy_enforced"}), SignInRequired, "administrator"),
        ((400, {"error": "org_internal"}), SignInRequired, "administrator"),
        # A malformed refresh can't mend itself: a new sign-in, not retries for ever.
        ((400, {"error": "invalid_request"}), SignInRequired, "sign in again"),
        ((400, {"error": "temporarily_unavailable"}), TransientError, "could not refresh"),
        ((500, {"error": "internal_failure"}), TransientError, "unreachable"),
        ((503, b"Service Unavailable"), TransientError, "unreachable"),
        ((200, {"token_type": "Bearer"}), TransientError, "no access token"),
        (requests.ConnectionError("connection reset"), TransientError, "unreachable"),
        (requests.Timeout("read timed out"), TransientError, "unreachable"),
    ],
)
def test_refresh_failures_and_what_they_mean(
    outcome: Outcome, error: type[MailportError], words: str, caplog: pytest.LogCaptureFixture
) -> None:
    provider, _ = _provider(outcome)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(error, match=words) as info:
        provider.access_token(_cache(left_s=0, access="ya29.stale"), "sub", Purpose.POP)
    shown = f"{info.value} {info.value!r} {info.value.args!r} {caplog.text}"
    for secret in (REFRESH, "ya29.stale", SECRET):
        assert secret not in shown


@pytest.mark.parametrize(
    "cache",
    ["", "not json", "[1, 2]", "{}", '{"refresh_token": ""}', '{"refresh_token": 5}'],
)
def test_an_unreadable_cache_asks_for_a_sign_in(cache: str) -> None:
    provider, transport = _provider()
    with pytest.raises(SignInRequired):
        provider.access_token(cache, "sub", Purpose.POP)
    assert transport.sent == []


def test_the_provider_is_configured_only_with_a_filled_in_client() -> None:
    def empty() -> tuple[str, str]:
        raise OAuthNotConfigured("not set up yet")

    def denied() -> tuple[str, str]:
        raise StorageError("reading the app registration failed (AccessDenied)")

    assert GoogleIdentity(None).configured() is False
    assert GoogleIdentity(lambda: ("id", "secret")).configured() is True
    assert GoogleIdentity(empty).configured() is False
    assert GoogleIdentity(denied).configured() is False
    with pytest.raises(OAuthNotConfigured, match="Google"):
        GoogleIdentity(None).begin("a@gmail.com", REDIRECT, Purpose.POP)
