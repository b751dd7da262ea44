"""A stand-in for Microsoft's identity platform: the tests' fake identity provider, and `make
run --demo-microsoft`'s demo one. OpenID discovery, the authorize endpoint, the token endpoint
(authorization code with PKCE, refresh tokens that rotate and can be revoked) over https with
its own CA, and a token introspection endpoint over http for Dovecot's ``oauth2`` passdb.

For the tests the user signs in and consents at once (``sign_in_as``, ``deny``). The demo
(``interactive``) shows a real sign-in page instead, over plain http on loopback so that a
browser needs no certificate exception: "Demo sign-in — not Microsoft", a choice of the demo
mailboxes, then a consent step (Accept / Cancel, which sends the usual ``access_denied``).
msal reads the authorize endpoint from the discovery document, so only discovery and the token
endpoint have to be https. It is never part of a deployed stack: a deployed ``Settings``
refuses any authority that is not Microsoft's (mailport.settings).

Google's endpoints live under ``/google`` of the same server and share its tokens (so the same
Dovecot accepts them): a refresh token only with ``access_type=offline``, refreshes that do
not rotate it, and ID tokens with ``email`` and ``email_verified``.

msal refuses http authorities, so the identity side is https (its own CA); Dovecot
introspects over plain http on loopback. See /work/shared/notes/aws-local.md and
mail-servers.md for the facts this builds on.
"""

from __future__ import annotations

import base64
import binascii
import collections
import hashlib
import html
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

from mailport_local.dovecot_support import make_tls

TENANT = "contoso"
# The demo's Microsoft 365 mailboxes: <demo mail user>@MICROSOFT_DOMAIN (`make run`).
MICROSOFT_DOMAIN = "m365-demo.example"
IMAP_SCOPE = "https://outlook.office.com/IMAP.AccessAsUser.All"
GOOGLE_AUTHORIZE_PATH = "/google/o/oauth2/v2/auth"
GOOGLE_TOKEN_PATH = "/google/token"  # noqa: S105 - a path
# The demo's sign-in and consent forms (interactive only).
SIGNIN_PATH = "/demo/signin"
CONSENT_PATH = "/demo/consent"
_MAX_PENDING = 200  # sign-ins begun and not finished that the demo remembers


_DENIED = {"error": "access_denied", "error_description": "declined"}
_DOCUMENT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #f4f4f4; color: #222; }}
main {{ max-width: 34rem; margin: 2rem auto; background: #fff; padding: 1.5rem 2rem;
  border-radius: 8px; box-shadow: 0 1px 4px #0002; }}
.banner {{ background: #b3261e; color: #fff; font-weight: bold; padding: .6rem 1rem;
  margin: -1.5rem -2rem 1rem; border-radius: 8px 8px 0 0; }}
.problem {{ color: #b3261e; font-weight: bold; }}
code {{ overflow-wrap: anywhere; }}
ul.mailboxes {{ list-style: none; padding: 0; }} ul.mailboxes li {{ margin: .4rem 0; }}
button {{ font: inherit; padding: .35rem .9rem; margin-right: .5rem; }}
input[type=email] {{ font: inherit; width: 100%; box-sizing: border-box; margin: .3rem 0 .6rem; }}
</style></head>
<body><main>
<p class="banner" id="demo-banner">Demo sign-in — not Microsoft<br>
<span lang="ja">デモ用のサインイン — Microsoft ではありません</span></p>
{body}
</main></body></html>
"""


def _problem(en: str, ja: str) -> str:
    return _DOCUMENT.format(
        title="Demo sign-in — not Microsoft",
        body=f'<p class="problem" role="alert">{en}<br><span lang="ja">{ja}</span></p>',
    )


_EXPIRED = _problem(
    "This sign-in has expired or was already used: start again from mailport.",
    "このサインインは期限切れか、使用済みです。mailport からやり直してください。",
)


def _page(status: int, text: str) -> tuple[int, dict[str, str], bytes]:
    """An HTML page of the demo: nothing loaded from elsewhere, never framed or cached."""
    headers = {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "no-store",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
        "frame-ancestors 'none'",
    }
    return status, headers, text.encode("utf-8")


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
class DemoIdentityProvider:
    """Start with ``start()``; ``authority`` is what msal is given, ``introspection_url`` what
    Dovecot is given. ``sign_in_as`` is who signs in at the authorize endpoint (default: the
    ``login_hint``); ``deny`` makes the user decline consent. ``interactive`` (the demo): the
    user picks one of ``mailboxes`` (address → name) on a sign-in page and consents there.
    """

    base: Path
    client_id: str = "mailport-test-client"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    token_lifetime_s: int = 3600
    sign_in_as: str | None = None
    deny: bool = False
    interactive: bool = False
    mailboxes: dict[str, str] = field(default_factory=dict)
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
    _pending: dict[str, tuple[dict[str, str], str]] = field(default_factory=dict)  # sign-ins
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> DemoIdentityProvider:
        """Serve https (msal's side) and http (Dovecot's, and the demo's pages) on loopback."""
        self.base.mkdir(parents=True, exist_ok=True)
        ca_pem, cert_pem, key_pem = make_tls(self.base)
        self.ca_file = str(ca_pem)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_pem, key_pem)
        self._https = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._https.socket = context.wrap_socket(self._https.socket, server_side=True)
        self._http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        for server in (self._https, self._http):
            threading.Thread(target=server.serve_forever, daemon=True).start()
        self.origin = f"https://127.0.0.1:{self._https.server_address[1]}"
        self.authority = f"{self.origin}/{TENANT}"
        self.http_origin = f"http://127.0.0.1:{self._http.server_address[1]}"
        self.introspection_url = f"{self.http_origin}/introspect"
        return self

    @property
    def authorize_url(self) -> str:
        """Where the browser signs in: the demo's page over http, the tests' over https."""
        origin = self.http_origin if self.interactive else self.origin
        return f"{origin}/{TENANT}/oauth2/v2.0/authorize"

    @property
    def google_issuer(self) -> str:
        """Google's issuer on this server."""
        return f"{self.origin}/google"

    @property
    def google_authorize_url(self) -> str:
        """Google's authorize endpoint on this server."""
        return f"{self.origin}{GOOGLE_AUTHORIZE_PATH}"

    @property
    def google_token_url(self) -> str:
        """Google's token endpoint on this server."""
        return f"{self.origin}{GOOGLE_TOKEN_PATH}"

    def stop(self) -> None:
        """Stop serving."""
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
        if self.interactive:
            return self._begin_page(query, scope or IMAP_SCOPE)
        return self._consent(query, scope or IMAP_SCOPE, _DENIED)

    # -- the demo's pages (interactive) ------------------------------------------------------

    def _begin_page(self, query: dict[str, str], scope: str) -> tuple[int, dict[str, str], bytes]:
        """The sign-in page for an authorize request (remembered until the user decides)."""
        if not query.get("redirect_uri") or not query.get("client_id"):
            return _page(
                400,
                _problem("The sign-in request is incomplete.", "サインインの要求が不完全です。"),
            )
        request_id = secrets.token_urlsafe(16)
        with self._lock:
            while len(self._pending) >= _MAX_PENDING:
                del self._pending[next(iter(self._pending))]
            self._pending[request_id] = (dict(query), scope)
        return _page(200, self._signin_html(request_id, query.get("login_hint", ""), ""))

    def _signin_html(self, request_id: str, hint: str, problem: str) -> str:
        picks = "".join(
            f'<li><button type="submit" name="email" value="{html.escape(address)}">'
            f"{html.escape(address)}</button> {html.escape(name)}</li>"
            for address, name in self.mailboxes.items()
        )
        alert = f'<p class="problem" role="alert">{problem}</p>' if problem else ""
        request = f'<input type="hidden" name="request" value="{html.escape(request_id)}">'
        return _DOCUMENT.format(
            title="Demo sign-in — not Microsoft",
            body=f"""<h1>Sign in to a demo mailbox<br>
<span lang="ja">デモのメールボックスにサインイン</span></h1>
<p>This is mailport's local demo identity provider (<code>make run ARGS=--demo-microsoft</code>),
standing in for Microsoft's sign-in. No Microsoft account is used and no password is asked.<br>
<span lang="ja">mailport のローカルのデモ用 ID プロバイダーで、Microsoft のサインインの代わりです。
Microsoft のアカウントは使わず、パスワードも尋ねません。</span></p>
{alert}
<form method="post" action="{SIGNIN_PATH}">{request}
<h2>Demo mailboxes <span lang="ja">デモのメールボックス</span></h2>
<ul class="mailboxes">{picks}</ul>
</form>
<form method="post" action="{SIGNIN_PATH}">{request}
<label for="email">Or enter the address <span lang="ja">またはアドレスを入力</span></label>
<input id="email" name="email" type="email" value="{html.escape(hint)}" autocomplete="off">
<button type="submit">Next <span lang="ja">次へ</span></button>
</form>""",
        )

    def _signin(self, form: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """The address chosen: the consent page, or the sign-in page again with why not."""
        request_id, address = form.get("request", ""), form.get("email", "").strip().lower()
        with self._lock:
            pending = self._pending.get(request_id)
        if pending is None:
            return _page(400, _EXPIRED)
        if address not in self.mailboxes:
            shown = html.escape(address or "(empty)")
            problem = (
                f"{shown} is not a demo mailbox: pick one above.<br>"
                f'<span lang="ja">{shown} はデモのメールボックスではありません。'
                "上から選んでください。</span>"
            )
            return _page(200, self._signin_html(request_id, address, problem))
        hidden = (
            f'<input type="hidden" name="request" value="{html.escape(request_id)}">'
            f'<input type="hidden" name="email" value="{html.escape(address)}">'
        )
        scopes = "".join(f"<li><code>{html.escape(s)}</code></li>" for s in pending[1].split())
        return _page(
            200,
            _DOCUMENT.format(
                title="Demo sign-in — not Microsoft",
                body=f"""<h1>mailport wants to read your mail<br>
<span lang="ja">mailport がメールの読み取りを求めています</span></h1>
<p>Signed in (demo) as <strong class="account">{html.escape(address)}</strong>
<span lang="ja">(デモ) としてサインインしました</span></p>
<p>mailport asks to:<br><span lang="ja">mailport が求めている権限:</span></p>
<ul class="scopes">{scopes}
<li>Keep this access until you remove it <span lang="ja">削除するまでアクセスを保持する</span>
(<code>offline_access</code>)</li></ul>
<form method="post" action="{CONSENT_PATH}">{hidden}
<button type="submit" name="decision" value="accept">Accept <span lang="ja">承諾</span></button>
<button type="submit" name="decision" value="cancel">Cancel
<span lang="ja">キャンセル</span></button>
</form>""",
            ),
        )

    def _decide(self, form: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """Accept: back to mailport with a code; Cancel: with ``access_denied``."""
        address = form.get("email", "").strip().lower()
        with self._lock:
            pending = self._pending.pop(form.get("request", ""), None)
        if pending is None or address not in self.mailboxes:
            return _page(400, _EXPIRED)
        query, scope = pending
        redirect, state = query["redirect_uri"], query.get("state", "")
        if form.get("decision") != "accept":
            params = {**_DENIED, "state": state}
            return 302, {"Location": f"{redirect}?{urllib.parse.urlencode(params)}"}, b""
        code = secrets.token_urlsafe(16)
        with self._lock:
            self._codes[code] = _Code(
                query["client_id"],
                redirect,
                query.get("code_challenge", ""),
                query.get("nonce", ""),
                address,
                scope,
            )
        params = {"code": code, "state": state}
        return 302, {"Location": f"{redirect}?{urllib.parse.urlencode(params)}"}, b""

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
                    "authorization_endpoint": self.authorize_url,
                    "token_endpoint": f"{prefix}/oauth2/v2.0/token",
                    "jwks_uri": f"{prefix}/discovery/v2.0/keys",
                },
                {},
            )
        if path.endswith("/oauth2/v2.0/authorize"):
            status, headers, body = self._authorize(query)
            return status, body, headers
        return 404, {"error": "not_found"}, {}

    def _form_post(self, path: str, form: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        """(status, body, headers) of a POST from the demo's pages."""
        if not self.interactive:
            return 404, {"error": "not_found"}, {}
        status, headers, body = self._signin(form) if path == SIGNIN_PATH else self._decide(form)
        return status, body, headers

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
                headers = {"Content-Type": "application/json", **(headers or {})}
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
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
                if path in (SIGNIN_PATH, CONSENT_PATH):
                    self._send(*idp._form_post(path, form))
                    return
                self._send(*idp._post(path, form, self.headers.get("Authorization", "")))

        return Handler
