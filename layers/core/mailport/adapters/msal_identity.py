"""Microsoft's identity platform through msal: the auth-code flow (PKCE, state, nonce) and
silent refresh from a serialized token cache, with msal's results and exceptions translated
into the domain's errors.
"""

from __future__ import annotations

import functools
import logging
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

# Kept importable from here (wiring and tests import it from this module).
from mailport.adapters.app_credentials import credentials_ready
from mailport.catalogue import say
from mailport.domain.oauth import (
    AccessToken,
    OAuthDenied,
    OAuthFlowInvalid,
    OAuthNotConfigured,
    Purpose,
    SignInRequired,
    TokenGrant,
)
from mailport.errors import TransientError

log = logging.getLogger(__name__)


def _libs() -> tuple[Any, Any]:
    """Msal and requests, imported on first use: every function wires this adapter, few use
    it, and they add ≈ 50 ms to a cold start (measured with ``-X importtime``).
    """
    import msal  # noqa: PLC0415
    import requests  # noqa: PLC0415

    return msal, requests


# IMAP or POP access to Exchange Online and Outlook.com (Microsoft Learn, "Authenticate an
# IMAP, POP or SMTP connection using OAuth": the same scopes for work and personal accounts).
# Only the one a sign-in is for is asked. msal adds openid, profile and offline_access itself
# (and refuses them in this list): offline_access is what brings a refresh token.
IMAP_SCOPES = ("https://outlook.office.com/IMAP.AccessAsUser.All",)
POP_SCOPES = ("https://outlook.office.com/POP.AccessAsUser.All",)
SCOPES = {Purpose.IMAP: IMAP_SCOPES, Purpose.POP: POP_SCOPES}
# Errors after which only the user can help (the grant is revoked, expired, or needs consent
# again); anything else from the token endpoint is worth a retry.
_SIGN_IN_AGAIN = {"invalid_grant", "interaction_required", "consent_required", "login_required"}
# Microsoft refuses mailport itself (an expired client secret, a changed registration): no
# retry helps, and rolling migrations back would lose days of work. Jobs wait, like for a
# sign-in, until the admin fixes it and the user signs in again.
_APP_REFUSED = {"invalid_client", "unauthorized_client"}
_USERNAME_CLAIMS = ("preferred_username", "email", "upn", "unique_name")
_MICROSOFT = "Microsoft"  # the provider's name in messages


class MsalMicrosoft:
    """``IdentityProvider`` for Microsoft 365 (or any Entra-like authority in tests)."""

    def __init__(
        self,
        credentials: Callable[[], tuple[str, str]] | None,
        *,
        authority: str = "https://login.microsoftonline.com/common",
        ca_file: str | None = None,
        instance_discovery: bool = True,
    ) -> None:
        self._credentials = credentials
        self._authority = authority
        self._ca_file = ca_file
        self._instance_discovery = instance_discovery
        # msal makes an application per token cache (one per user); without a shared HTTP
        # cache each would fetch the authority's metadata again: one request per step.
        self._http_cache: dict[Any, Any] = {}

    @functools.cached_property
    def _http(self) -> Any:
        _, lib = _libs()
        http = lib.Session()
        if self._ca_file:
            # A test identity provider with its own CA (local only). trust_env off: a
            # REQUESTS_CA_BUNDLE in the environment would override ``verify``.
            http.trust_env = False
            http.verify = self._ca_file
        return http

    def _app(self, cache: Any = None) -> Any:
        msal, requests = _libs()
        if self._credentials is None:
            raise OAuthNotConfigured(say("oauth.not_set_up", provider="Microsoft 365"))
        client_id, secret = self._credentials()
        try:
            return msal.ConfidentialClientApplication(
                client_id,
                client_credential=secret,
                authority=self._authority,
                http_client=self._http,
                token_cache=cache,
                instance_discovery=self._instance_discovery,
                http_cache=self._http_cache,
            )
        except (requests.RequestException, ValueError) as e:
            # The authority's metadata could not be read: the provider is down or unreachable.
            raise TransientError(say("oauth.unreachable_later", provider=_MICROSOFT)) from e

    def configured(self) -> bool:
        """Whether the app registration is filled in (``credentials_ready``)."""
        return credentials_ready(self._credentials)

    def begin(
        self, email: str, redirect_uri: str, purpose: Purpose = Purpose.IMAP
    ) -> tuple[str, dict[str, Any]]:
        """The authorize URL and msal's flow (state, nonce, PKCE verifier)."""
        # response_mode=query: the callback is a top-level GET, so the browser sends the
        # SameSite=Lax cookie that binds the flow to it (form_post would be a cross-site POST).
        app = self._app()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "response_mode='form_post'", UserWarning)
            flow: dict[str, Any] = app.initiate_auth_code_flow(
                list(SCOPES[purpose]),
                redirect_uri=redirect_uri,
                login_hint=email,
                prompt="select_account",
                response_mode="query",
            )
        return str(flow["auth_uri"]), flow

    def complete(self, details: Mapping[str, Any], params: Mapping[str, str]) -> TokenGrant:
        """Redeem the code; the token cache it fills is the grant."""
        msal, requests = _libs()
        if params.get("error"):
            error = params["error"][:60]
            raise OAuthDenied(say("oauth.signin_cancelled", provider=_MICROSOFT, error=error))
        cache = msal.SerializableTokenCache()
        try:
            result = self._app(cache).acquire_token_by_auth_code_flow(dict(details), dict(params))
        except ValueError as e:  # msal: the state does not match the flow
            raise OAuthFlowInvalid(say("oauth.flow_mismatch")) from e
        except requests.RequestException as e:
            raise TransientError(say("oauth.unreachable_later", provider=_MICROSOFT)) from e
        if "error" in result:
            log.warning("code redemption refused", extra={"oauth_error": result["error"]})
            refused = str(result["error"])[:60]
            raise OAuthDenied(
                say("oauth.provider_refused_signin", provider=_MICROSOFT, error=refused)
            )
        claims = result.get("id_token_claims") or {}
        usernames = frozenset(
            str(claims[c]).lower() for c in _USERNAME_CLAIMS if isinstance(claims.get(c), str)
        )
        accounts = self._accounts(cache)
        if not accounts:
            raise OAuthDenied(say("oauth.microsoft_no_account"))
        return TokenGrant(cache.serialize(), usernames, str(accounts[0]["home_account_id"]))

    @staticmethod
    def _accounts(cache: Any) -> list[dict[str, Any]]:
        msal, _ = _libs()
        return list(cache.search(msal.TokenCache.CredentialType.ACCOUNT))

    def access_token(
        self, cache: str, account_id: str, purpose: Purpose = Purpose.IMAP, *, force: bool = False
    ) -> AccessToken:
        """A valid access token: from the cache while it has over five minutes left (msal's
        rule), else refreshed. A chunk runs at most five minutes, so the token outlives it.
        """
        msal, requests = _libs()
        token_cache = msal.SerializableTokenCache()
        token_cache.deserialize(cache)
        app = self._app(token_cache)
        account = next(
            (a for a in app.get_accounts() if a.get("home_account_id") == account_id), None
        )
        if account is None:
            raise SignInRequired(say("oauth.saved_incomplete", provider=_MICROSOFT))
        try:
            result = app.acquire_token_silent_with_error(
                list(SCOPES[purpose]), account=account, force_refresh=force
            )
        except requests.RequestException as e:
            raise TransientError(say("oauth.unreachable_retrying", provider=_MICROSOFT)) from e
        if not result:
            raise SignInRequired(say("oauth.microsoft_no_refresh_token"))
        if "access_token" not in result:
            error = str(result.get("error", ""))
            log.warning("token refresh refused", extra={"oauth_error": error})
            if error in _SIGN_IN_AGAIN:
                raise SignInRequired(say("oauth.microsoft_signin_revoked"))
            if error in _APP_REFUSED:
                problem = say("oauth.app_registration_refused", provider=_MICROSOFT, error=error)
                raise SignInRequired(say("oauth.then_sign_in_again", problem=problem))
            raise TransientError(say("oauth.refresh_failed", provider=_MICROSOFT, error=error[:60]))
        changed = token_cache.has_state_changed
        return AccessToken(
            str(result["access_token"]),
            token_cache.serialize() if changed else None,
            expires_at=_expiry(result),
        )


def _expiry(result: Mapping[str, Any]) -> float:
    """When the token stops working (epoch seconds). Msal gives ``expires_in`` for a token
    from its cache too (what is left of it); without one the token is not kept.
    """
    left = result.get("expires_in")
    return time.time() + float(left) if isinstance(left, int | float) else 0.0
