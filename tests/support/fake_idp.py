"""A fake Microsoft identity platform for tests: OpenID discovery, the authorize endpoint (a
user who signs in and consents at once), the token endpoint (authorization code with PKCE,
refresh tokens that rotate and can be revoked) over https with its own CA, and a token
introspection endpoint over http for Dovecot's ``oauth2`` passdb.

Google's endpoints live under ``/google`` of the same server and share its tokens (so the same
Dovecot accepts them): a refresh token only with ``access_type=offline``, refreshes that do
not rotate it, and ID tokens with ``email`` and ``email_verified``.

msal refuses http authorities, so the identity side is https (``trustme``'s CA); Dovecot
introspects over plain http on loopback. See /work/shared/notes/aws-local.md and
mail-servers.md for the facts this builds on.
"""

from __future__ import annotations

import base64
import binascii
import collections
import hashlib
import http.server
import json
import secrets
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trustme

TENANT = "contoso"
IMAP_SCOPE = "https://outlook.office.com/IMAP.AccessAsUser.All"
GOOGLE_AUTHORIZE_PATH = "/google/o/oauth2/v2/auth"
GOOGLE_TOKEN_PATH = "/google/token"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unsigned_jwt(claims: dict[str, Any]) -> str:
    header = _b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64url(json.dumps(claims).encode())}."


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str
    user: str
    scope: str = ""
    google: bool = False
    offline: bool = False  # Google: access_type=offline, so a refresh token
    challenge_method: str = "S256"


@dataclass
class _Grant:
    user: str
    revoked: bool = False
    scope: str = ""
    google: bool = False


@dataclass
class FakeIdentityProvider:
    """Start with ``start()``; ``authority`` is what msal is given, ``introspection_url`` what
    Dovecot is given. ``sign_in_as`` is who signs in at the authorize endpoint (default: the
    ``login_hint``); ``deny`` makes the user decline consent.
    """

    base: Path
    client_id: str = "mailport-test-client"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    token_lifetime_s: int = 3600
    sign_in_as: str | None = None
    deny: bool = False
    # Observations for the tests.
    refreshes: int = 0
    # Per user: other tests' accounts (polled by a schedule another test fires) refresh too.
    refreshes_for: collections.Counter[str] = field(default_factory=collections.Counter)
    code_redemptions: int = 0
    issued: list[str] = field(default_factory=list)  # every access and refresh token
    google_scopes_asked: list[str] = field(default_factory=list)  # each Google authorize's
    google_params_asked: list[dict[str, str]] = field(default_factory=list)
    _codes: dict[str, _Code] = field(default_factory=dict)
    _grants: dict[str, _Grant] = field(default_factory=dict)  # refresh token → grant
    _refresh_budget: dict[str, int] = field(default_factory=dict)  # user → refreshes left
    _access: dict[str, tuple[str, float]] = field(default_factory=dict)  # token → user, expiry
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> FakeIdentityProvider:
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.base.mkdir(parents=True, exist_ok=True)
        self.ca_file = str(self.base / "idp-ca.pem")
        ca.cert_pem.write_to_path(self.ca_file)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        self._https = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._https.socket = context.wrap_socket(self._https.socket, server_side=True)
        self._http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        for server in (self._https, self._http):
            threading.Thread(target=server.serve_forever, daemon=True).start()
        self.origin = f"https://127.0.0.1:{self._https.server_address[1]}"
        self.authority = f"{self.origin}/{TENANT}"
        self.introspection_url = f"http://127.0.0.1:{self._http.server_address[1]}/introspect"
        return self

    @property
    def google_issuer(self) -> str:
        return f"{self.origin}/google"

    @property
    def google_authorize_url(self) -> str:
        return f"{self.origin}{GOOGLE_AUTHORIZE_PATH}"

    @property
    def google_token_url(self) -> str:
        return f"{self.origin}{GOOGLE_TOKEN_PATH}"

    def stop(self) -> None:
        for server in (self._https, self._http):
            server.shutdown()
            server.server_close()

    # -- controls for tests --------------------------------------------------------------

    def revoke(self, user: str) -> None:
        """The user (or their admin) revoked the grant: refresh tokens now fail."""
        with self._lock:
            for grant in self._grants.values():
                if grant.user == user:
                    grant.revoked = True

    def revoke_after(self, user: str, refreshes: int) -> None:
        """The grant is revoked after ``refreshes`` more successful refreshes (mid-job)."""
        with self._lock:
            self._refresh_budget[user] = refreshes

    def expire_access_tokens(self) -> None:
        """Every access token issued so far stops working (introspection says inactive)."""
        with self._lock:
            self._access = {t: (u, 0.0) for t, (u, _) in self._access.items()}

    def access_token_for(self, user: str) -> str:
        """A valid access token for ``user`` (as if issued to another client)."""
        return str(self._issue(user, nonce="", scope=IMAP_SCOPE)["access_token"])

    # -- the protocol ----------------------------------------------------------------------

    def _issue(self, user: str, nonce: str, scope: str) -> dict[str, Any]:
        """Tokens for what the user consented to: Microsoft's answer names the granted
        scopes, which msal files the access token under (POP and IMAP are separate).
        """
        access = secrets.token_urlsafe(32)
        refresh = secrets.token_urlsafe(32)
        now = int(time.time())
        with self._lock:
            self._access[access] = (user, time.time() + self.token_lifetime_s)
            self._grants[refresh] = _Grant(user, scope=scope)
            self.issued += [access, refresh]
        oid = hashlib.sha256(user.encode()).hexdigest()[:32]
        claims = {
            "iss": f"{self.origin}/{TENANT}/v2.0",
            "aud": self.client_id,
            "sub": oid,
            "oid": oid,
            "tid": TENANT,
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "preferred_username": user,
            "name": user.split("@", maxsplit=1)[0],
        }
        if nonce:
            claims["nonce"] = nonce
        return {
            "token_type": "Bearer",
            "scope": f"{scope} openid profile offline_access",
            "expires_in": self.token_lifetime_s,
            "ext_expires_in": self.token_lifetime_s,
            "access_token": access,
            "refresh_token": refresh,
            "id_token": _unsigned_jwt(claims),
            "client_info": _b64url(json.dumps({"uid": oid, "utid": TENANT}).encode()),
        }

    def _consent(
        self, query: dict[str, str], scope: str, denied: dict[str, str], **flags: Any
    ) -> tuple[int, dict[str, str], bytes]:
        """The user signs in (as ``sign_in_as`` or the login hint) and consents at once, or
        declines (``deny``): the redirect back with a single-use code, or with ``denied``.
        """
        redirect, state = query["redirect_uri"], query.get("state", "")
        if self.deny:
            params = {**denied, "state": state}
        else:
            code = secrets.token_urlsafe(16)
            with self._lock:
                self._codes[code] = _Code(
                    query["client_id"],
                    redirect,
                    query.get("code_challenge", ""),
                    query.get("nonce", ""),
                    self.sign_in_as or query.get("login_hint", ""),
                    scope,
                    **flags,
                )
            params = {"code": code, "state": state}
            if flags.get("google"):
                params["scope"] = scope  # Google names what was granted
        return 302, {"Location": f"{redirect}?{urllib.parse.urlencode(params)}"}, b""

    def _authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        # The mail scopes asked for (msal adds the OpenID ones).
        scope = " ".join(
            x for x in query.get("scope", "").split() if x.startswith("https://outlook.office.com/")
        )
        denied = {"error": "access_denied", "error_description": "declined"}
        return self._consent(query, scope or IMAP_SCOPE, denied)

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if (form.get("client_id"), form.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            return 401, {"error": "invalid_client", "error_description": "bad client"}
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._redeem(form)
        if grant_type == "refresh_token":
            return self._refresh(form)
        return 400, {"error": "unsupported_grant_type"}

    def _redeem(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            code = self._codes.pop(form.get("code", ""), None)  # single use
        if code is None:
            return 400, {"error": "invalid_grant", "error_description": "AADSTS54005: code"}
        verifier = form.get("code_verifier", "")
        challenge = _b64url(hashlib.sha256(verifier.encode()).digest())
        if challenge != code.challenge or form.get("redirect_uri") != code.redirect_uri:
            return 400, {"error": "invalid_grant", "error_description": "PKCE or redirect"}
        self.code_redemptions += 1
        return 200, self._issue(code.user, code.nonce, code.scope)

    def _spend_refresh(self, grant: _Grant) -> None:
        """``revoke_after``'s budget (under the lock): revoke once it is spent."""
        if grant.user in self._refresh_budget:
            left = self._refresh_budget[grant.user]
            self._refresh_budget[grant.user] = left - 1
            if left <= 0:
                del self._refresh_budget[grant.user]
                for other in (grant, *self._grants.values()):
                    if other.user == grant.user:
                        other.revoked = True

    def _refresh(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        token = form.get("refresh_token", "")
        with self._lock:
            grant = self._grants.get(token)
            if grant is not None and grant.google:
                grant = None  # Google's, not this endpoint's
            if grant is not None:
                del self._grants[token]  # rotates
                self._spend_refresh(grant)
        if grant is None or grant.revoked:
            return 400, {
                "error": "invalid_grant",
                "error_description": "AADSTS50173: The provided grant has expired",
                "suberror": "bad_token",
            }
        self.refreshes += 1
        self.refreshes_for[grant.user] += 1
        return 200, self._issue(grant.user, "", grant.scope)

    # -- Google's endpoints (same users, tokens and introspection) ----------------------------

    def _google_authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.google_scopes_asked.append(query.get("scope", ""))
            self.google_params_asked.append(dict(query))
        if query.get("client_id") != self.client_id or query.get("response_type") != "code":
            # Google shows its own error page: the browser is not sent back.
            return 400, {}, json.dumps({"error": "invalid_request"}).encode()
        return self._consent(
            query,
            query.get("scope", ""),
            {"error": "access_denied"},
            google=True,
            offline=query.get("access_type") == "offline",
            challenge_method=query.get("code_challenge_method", "plain"),
        )

    def _google_token(self, form: dict[str, str], authorization: str) -> tuple[int, dict[str, Any]]:
        """Client authentication from the form (client_secret_post) or HTTP Basic."""
        client = (form.get("client_id"), form.get("client_secret"))
        if authorization.startswith("Basic "):
            try:
                pair = base64.b64decode(authorization[6:], validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                pair = ""
            name, _, secret = pair.partition(":")
            client = (urllib.parse.unquote_plus(name), urllib.parse.unquote_plus(secret))
        if client != (self.client_id, self.client_secret):
            return 401, {"error": "invalid_client", "error_description": "Unauthorized"}
        if form.get("grant_type") == "authorization_code":
            return self._google_redeem(form)
        if form.get("grant_type") == "refresh_token":
            return self._google_refresh(form)
        return 400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}

    def _google_redeem(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            code = self._codes.pop(form.get("code", ""), None)  # single use
        if code is None or not code.google:
            return 400, {"error": "invalid_grant", "error_description": "Malformed auth code."}
        verifier = form.get("code_verifier", "")
        if code.challenge_method == "S256":
            verifier = _b64url(hashlib.sha256(verifier.encode()).digest())
        if verifier != code.challenge or form.get("redirect_uri") != code.redirect_uri:
            return 400, {"error": "invalid_grant", "error_description": "Bad Request"}
        self.code_redemptions += 1
        return 200, self._google_issue(code.user, code.scope, code.nonce, offline=code.offline)

    def _google_refresh(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            grant = self._grants.get(form.get("refresh_token", ""))  # kept: no rotation
            if grant is not None and grant.google:
                self._spend_refresh(grant)
        if grant is None or not grant.google or grant.revoked:
            return 400, {
                "error": "invalid_grant",
                "error_description": "Token has been expired or revoked.",
            }
        self.refreshes += 1
        self.refreshes_for[grant.user] += 1
        return 200, self._google_issue(grant.user, grant.scope)

    def _google_issue(
        self, user: str, scope: str, nonce: str = "", *, offline: bool = False
    ) -> dict[str, Any]:
        """Google's answer: a refresh token only for an offline code, an ID token only for
        a code (the refresh answers here carry none).
        """
        access = secrets.token_urlsafe(32)
        now = int(time.time())
        answer: dict[str, Any] = {
            "access_token": access,
            "expires_in": self.token_lifetime_s,
            "scope": scope,
            "token_type": "Bearer",
        }
        with self._lock:
            self._access[access] = (user, time.time() + self.token_lifetime_s)
            self.issued.append(access)
            if offline:
                refresh = f"1//{secrets.token_urlsafe(32)}"
                self._grants[refresh] = _Grant(user, scope=scope, google=True)
                self.issued.append(refresh)
                answer["refresh_token"] = refresh
        if nonce:
            claims = {
                "iss": self.google_issuer,
                "azp": self.client_id,
                "aud": self.client_id,
                "sub": str(int(hashlib.sha256(user.encode()).hexdigest()[:16], 16)),
                "email": user,
                "email_verified": True,
                "nonce": nonce,
                "iat": now,
                "exp": now + 3600,
            }
            answer["id_token"] = _unsigned_jwt(claims)
        return answer

    def _introspect(self, form: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            user, expiry = self._access.get(form.get("token", ""), ("", 0.0))
        if not user or expiry < time.time():
            return {"active": False}
        return {"active": True, "username": user}

    def _get(self, path: str, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        """(status, body, headers) of a GET."""
        if path == GOOGLE_AUTHORIZE_PATH:
            status, headers, body = self._google_authorize(query)
            return status, body, headers
        if path.endswith("/.well-known/openid-configuration"):
            prefix = f"{self.origin}/{TENANT}"
            return (
                200,
                {
                    "issuer": f"{prefix}/v2.0",
                    "authorization_endpoint": f"{prefix}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{prefix}/oauth2/v2.0/token",
                    "jwks_uri": f"{prefix}/discovery/v2.0/keys",
                },
                {},
            )
        if path.endswith("/oauth2/v2.0/authorize"):
            status, headers, body = self._authorize(query)
            return status, body, headers
        return 404, {"error": "not_found"}, {}

    def _post(self, path: str, form: dict[str, str], authorization: str) -> tuple[int, Any]:
        """(status, body) of a POST."""
        if path == GOOGLE_TOKEN_PATH:
            return self._google_token(form, authorization)
        if path.endswith("/oauth2/v2.0/token"):
            return self._token(form)
        if path == "/introspect":
            return 200, self._introspect(form)
        return 404, {"error": "not_found"}

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        idp = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                self._send(*idp._get(url.path, dict(urllib.parse.parse_qsl(url.query))))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                path = urllib.parse.urlsplit(self.path).path
                self._send(*idp._post(path, form, self.headers.get("Authorization", "")))

        return Handler
