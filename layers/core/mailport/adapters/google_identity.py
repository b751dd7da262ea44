"""Google sign-in (Gmail, Google Workspace) through Authlib's OAuth2 client: the auth-code
flow with PKCE S256, state and nonce, the ID token's claims checked, and the refresh token
kept in a small JSON cache, with Google's answers translated into the domain's errors.

Authlib needs only requests and cryptography (msal brings both); google-auth-oauthlib would
add google-auth, oauthlib, requests-oauthlib, rsa and pyasn1.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mailport.adapters.app_credentials import credentials_ready
from mailport.catalogue import Words, say
from mailport.domain.oauth import (
    AccessToken,
    OAuthAdminBlocked,
    OAuthDenied,
    OAuthFlowInvalid,
    OAuthNotConfigured,
    OAuthScopeMissing,
    Purpose,
    SignInRequired,
    TokenGrant,
)
from mailport.errors import TransientError

if TYPE_CHECKING:
    from requests.adapters import BaseAdapter

log = logging.getLogger(__name__)

GOOGLE_ISSUER = "https://accounts.google.com"
AUTHORIZE_URL = "https://accounts.google.com/o/oauth2/v2/auth"
TOKEN_ENDPOINT = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL)
# Google has one scope for both IMAP and POP (Gmail's "OAuth 2.0 Mechanism"); openid and email
# only tell which mailbox signed in.
MAIL_SCOPE = "https://mail.google.com/"
SCOPE = f"openid email {MAIL_SCOPE}"
_MARGIN_S = 300.0  # a cached access token is used while it has over five minutes left
_SKEW_S = 60.0  # clock skew allowed on the ID token's exp
_TIMEOUT_S = (5.0, 20.0)  # connect, read
# The client id and secret in the form: Google's documented way; Authlib's default,
# client_secret_basic, does not form-encode them first (RFC 6749 2.3.1).
_CLIENT_AUTH = "client_secret_post"
# Only the user can help: the grant was revoked, expired, or the password changed. (A
# refresh refused as invalid_request can't get better by itself either: retrying it for ever
# would hide it, so it asks for a new sign-in too.)
_SIGN_IN_AGAIN = {"invalid_grant", "invalid_request"}
# Google refuses mailport's OAuth client itself (deleted, secret reset): no retry helps.
_APP_REFUSED = {"invalid_client", "unauthorized_client"}
# A Workspace admin limits which apps may reach the domain's mail (API controls), or the
# OAuth client is "internal" to another organization.
_ADMIN_REFUSED = {"admin_policy_enforced", "org_internal"}
_GOOGLE = "Google"  # the provider's name in messages


def _libs() -> tuple[Any, Any, Any]:
    """Authlib's session, its error and requests, imported on first use: every function
    wires this adapter and few use it (the same reason msal is imported late).
    """
    import requests  # noqa: PLC0415
    from authlib.integrations.base_client.errors import OAuthError  # noqa: PLC0415
    from authlib.integrations.requests_client import OAuth2Session  # noqa: PLC0415

    return OAuth2Session, OAuthError, requests


@dataclass(frozen=True, slots=True)
class _Cache:
    refresh_token: str
    access_token: str
    expires_at: float
    scope: str

    def dump(self) -> str:
        return json.dumps(
            {
                "refresh_token": self.refresh_token,
                "access_token": self.access_token,
                "expires_at": self.expires_at,
                "scope": self.scope,
            }
        )

    @classmethod
    def load(cls, raw: str) -> _Cache:
        try:
            value = json.loads(raw)
            refresh = value["refresh_token"]
            access = value.get("access_token") or ""
            expires_at = float(value.get("expires_at") or 0.0)
            scope = str(value.get("scope") or "")
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            raise SignInRequired(say("oauth.saved_unreadable", provider=_GOOGLE)) from e
        if not isinstance(refresh, str) or not refresh or not isinstance(access, str):
            raise SignInRequired(say("oauth.saved_incomplete", provider=_GOOGLE))
        return cls(refresh, access, expires_at, scope)


class GoogleIdentity:
    """``IdentityProvider`` for Google accounts (or a Google-like provider in tests).
    ``transport`` replaces the HTTP adapter the sessions send through (tests).
    """

    def __init__(
        self,
        credentials: Callable[[], tuple[str, str]] | None,
        *,
        authorize_url: str = AUTHORIZE_URL,
        token_url: str = TOKEN_ENDPOINT,
        issuer: str = GOOGLE_ISSUER,
        ca_file: str | None = None,
        transport: BaseAdapter | None = None,
    ) -> None:
        self._credentials = credentials
        self._authorize_url = authorize_url
        self._token_url = token_url
        # Google's ID tokens name their issuer with or without the scheme (OpenID Connect
        # guide, "Validating an ID token").
        self._issuers = {issuer} | ({"accounts.google.com"} if issuer == GOOGLE_ISSUER else set())
        self._ca_file = ca_file
        self._transport = transport

    @functools.cached_property
    def _adapter(self) -> BaseAdapter:
        """One connection pool for every session: a warm function reuses the TLS connection
        to the token endpoint (a session is made per call: Authlib's holds the token).
        """
        if self._transport is not None:
            return self._transport
        _, _, requests = _libs()
        adapter: BaseAdapter = requests.adapters.HTTPAdapter()
        return adapter

    def _session(self, client_id: str, secret: str) -> Any:
        session_class, _, _ = _libs()
        session = session_class(
            client_id,
            secret,
            token_endpoint_auth_method=_CLIENT_AUTH,
            code_challenge_method="S256",
            default_timeout=_TIMEOUT_S,
        )
        if self._ca_file:
            # A test provider with its own CA (local only). trust_env off: a
            # REQUESTS_CA_BUNDLE in the environment would override ``verify``.
            session.trust_env = False
            session.verify = self._ca_file
        session.mount("https://", self._adapter)
        return session

    def _client(self) -> tuple[str, str]:
        if self._credentials is None:
            raise OAuthNotConfigured(say("oauth.not_set_up", provider=_GOOGLE))
        return self._credentials()

    def configured(self) -> bool:
        """Whether the app registration is filled in (``credentials_ready``)."""
        return credentials_ready(self._credentials)

    def begin(
        self, email: str, redirect_uri: str, purpose: Purpose = Purpose.IMAP
    ) -> tuple[str, dict[str, Any]]:
        """The authorize URL and the flow's details (state, PKCE verifier, nonce); the same
        scope for both purposes.
        """
        client_id, secret = self._client()
        details = {
            "state": secrets.token_urlsafe(32),
            "code_verifier": secrets.token_urlsafe(64),  # 86 characters (RFC 7636: 43-128)
            "nonce": secrets.token_urlsafe(32),
            "redirect_uri": redirect_uri,
        }
        url, _ = self._session(client_id, secret).create_authorization_url(
            self._authorize_url,
            state=details["state"],
            code_verifier=details["code_verifier"],
            redirect_uri=redirect_uri,
            scope=SCOPE,
            nonce=details["nonce"],
            # offline: else no refresh token; consent: Google gives a refresh token again
            # only when the user consents again (a second sign-in would have none).
            access_type="offline",
            prompt="consent",
            login_hint=email,
        )
        return str(url), details

    def complete(self, details: Mapping[str, Any], params: Mapping[str, str]) -> TokenGrant:
        """Redeem the code; the refresh token (and the first access token) is the grant."""
        if params.get("error"):
            error = str(params["error"])
            denied = OAuthAdminBlocked if error in _ADMIN_REFUSED else OAuthDenied
            raise denied(_denial(error))
        expected = str(details.get("state") or "")
        if not expected or not _same(expected, params.get("state")):
            raise OAuthFlowInvalid(say("oauth.flow_mismatch"))
        if not params.get("code"):
            raise OAuthDenied(say("oauth.google_no_code"))
        client_id, secret = self._client()
        answer = self._redeem(client_id, secret, details, params["code"])
        claims = _id_token_claims(answer.get("id_token"))
        reason = _claims_problem(claims, self._issuers, client_id, str(details.get("nonce", "")))
        if reason:
            raise OAuthDenied(say("oauth.google_check_failed", claim=reason))
        if MAIL_SCOPE not in str(answer.get("scope", "")).split():
            # Google lets the user untick single permissions on the consent screen.
            raise OAuthScopeMissing(say("oauth.google_scope_missing"))
        if not answer.get("refresh_token"):
            raise OAuthDenied(say("oauth.google_no_refresh_token"))
        verified = claims.get("email_verified") in (True, "true")
        email = claims.get("email")
        usernames = frozenset({email.lower()} if verified and isinstance(email, str) else ())
        cache = _Cache(
            str(answer["refresh_token"]),
            str(answer.get("access_token") or ""),
            _expiry(answer),
            str(answer.get("scope", "")),
        )
        return TokenGrant(cache.dump(), usernames, str(claims["sub"]))

    def _redeem(
        self, client_id: str, secret: str, details: Mapping[str, Any], code: str
    ) -> Mapping[str, Any]:
        _, oauth_error, requests = _libs()
        try:
            answer: Mapping[str, Any] = self._session(client_id, secret).fetch_token(
                self._token_url,
                grant_type="authorization_code",
                code=code,
                code_verifier=str(details.get("code_verifier", "")),
                redirect_uri=str(details.get("redirect_uri", "")),
            )
        except oauth_error as e:
            error = str(e.error or "")
            log.warning("code redemption refused", extra={"oauth_error": error})
            if error in _ADMIN_REFUSED:
                raise OAuthAdminBlocked(_app_refusal(error)) from e
            if error in _APP_REFUSED:
                raise OAuthDenied(_app_refusal(error)) from e
            raise OAuthDenied(
                say("oauth.provider_refused_signin", provider=_GOOGLE, error=error[:60])
            ) from e
        except (requests.RequestException, ValueError) as e:
            raise TransientError(say("oauth.unreachable_later", provider=_GOOGLE)) from e
        return answer

    def access_token(
        self, cache: str, account_id: str, purpose: Purpose = Purpose.IMAP, *, force: bool = False
    ) -> AccessToken:
        """A valid access token: the cached one while it has over five minutes left (a chunk
        runs at most five minutes), else refreshed. ``account_id`` and ``purpose`` change
        nothing: the cache holds one account, and one scope serves IMAP and POP.
        """
        saved = _Cache.load(cache)
        if not force and saved.access_token and saved.expires_at - time.time() > _MARGIN_S:
            return AccessToken(saved.access_token, None, expires_at=saved.expires_at)
        client_id, secret = self._client()
        answer = self._refresh(client_id, secret, saved.refresh_token)
        token = answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise TransientError(say("oauth.google_no_access_token"))
        # Google keeps the refresh token (no rotation) and sends none back; a new one, if
        # ever sent, replaces it.
        fresh = _Cache(
            str(answer.get("refresh_token") or saved.refresh_token),
            token,
            _expiry(answer),
            str(answer.get("scope") or saved.scope),
        )
        return AccessToken(token, fresh.dump(), expires_at=fresh.expires_at)

    def _refresh(self, client_id: str, secret: str, refresh_token: str) -> Mapping[str, Any]:
        _, oauth_error, requests = _libs()
        try:
            answer: Mapping[str, Any] = self._session(client_id, secret).refresh_token(
                self._token_url, refresh_token=refresh_token
            )
        except oauth_error as e:
            error = str(e.error or "")
            log.warning("token refresh refused", extra={"oauth_error": error})
            if error in _SIGN_IN_AGAIN:
                raise SignInRequired(say("oauth.google_signin_revoked")) from e
            if error in _APP_REFUSED | _ADMIN_REFUSED:
                again = say("oauth.then_sign_in_again", problem=_app_refusal(error))
                raise SignInRequired(again) from e
            raise TransientError(
                say("oauth.refresh_failed", provider=_GOOGLE, error=error[:60])
            ) from e
        except (requests.RequestException, ValueError) as e:
            raise TransientError(say("oauth.unreachable_retrying", provider=_GOOGLE)) from e
        return answer


def _denial(error: str) -> Words:
    """What the callback's ``error`` means for the user."""
    if error == "admin_policy_enforced":
        return say("oauth.google_admin_policy")
    if error == "org_internal":
        return say("oauth.google_org_internal")
    return say("oauth.signin_cancelled", provider=_GOOGLE, error=error[:60])


def _app_refusal(error: str) -> Words:
    if error in _ADMIN_REFUSED:
        return say("oauth.google_app_blocked", error=error)
    return say("oauth.app_registration_refused", provider=_GOOGLE, error=error)


def _id_token_claims(id_token: object) -> dict[str, Any]:
    """The ID token's claims, unverified: OpenID Connect Core 3.1.3.7 step 6 lets a client
    skip the signature of an ID token it received straight from the token endpoint over TLS
    it verified (this one; it came in the code redemption's answer).
    """
    try:
        payload = str(id_token).split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error) as e:
        raise OAuthDenied(say("oauth.google_no_id_token")) from e
    if not isinstance(claims, dict):
        raise OAuthDenied(say("oauth.google_no_id_token"))
    return claims


def _claims_problem(
    claims: Mapping[str, Any], issuers: set[str], client_id: str, nonce: str
) -> str | None:
    """Which of OpenID Connect Core 3.1.3.7's checks fails (the claim's name), if any."""
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    exp = claims.get("exp")
    problems = {
        "iss": claims.get("iss") not in issuers,
        # Several audiences: the authorized party must be mailport (3.1.3.7 steps 4-5).
        "aud": client_id not in audiences
        or (len(audiences) > 1 and claims.get("azp") != client_id),
        "exp": not isinstance(exp, int | float) or exp + _SKEW_S < time.time(),
        "nonce": not nonce or not _same(nonce, claims.get("nonce")),
        "sub": not isinstance(claims.get("sub"), str) or not claims["sub"],
    }
    return next((name for name, failed in problems.items() if failed), None)


def _same(expected: str, given: object) -> bool:
    """Constant-time equality of a secret we made and a value from outside (any text)."""
    return isinstance(given, str) and hmac.compare_digest(expected.encode(), given.encode())


def _expiry(answer: Mapping[str, Any]) -> float:
    """When the access token stops working (epoch seconds); 0 if Google did not say."""
    try:
        return time.time() + float(answer["expires_in"])
    except (KeyError, TypeError, ValueError):
        return 0.0
