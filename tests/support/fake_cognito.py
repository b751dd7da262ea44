"""A fake Amazon Cognito hosted UI for the console's sign-in tests: the authorize endpoint
(a user who signs in at once), the token endpoint (authorization code with PKCE, for a public
client, with CORS as Cognito allows it) and the logout endpoint, like a user pool domain's
``/oauth2/authorize``, ``/oauth2/token`` and ``/logout``.

It serves plain http on 127.0.0.1 (the console's CSP allows http only on loopback; the real
one is https). The ID token it hands out is whatever the test sets (``id_token``): one the
local gateway signed, so the API accepts it as it would accept Cognito's.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import secrets
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Any


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class FakeCognito:
    """``start()``; ``config()`` is what ``GET /v1/auth/config`` would answer.

    ``redirect_uri`` is the app client's only callback and logout URL. ``id_token`` is
    what the token endpoint returns. ``deny`` makes the user cancel; ``wrong_state`` sends
    the browser back with another state than it was given (as if forged).
    """

    redirect_uri: str
    client_id: str = "fake-cognito-client"
    id_token: str = ""
    deny: bool = False
    wrong_state: bool = False
    # Observations for the tests.
    authorizations: list[dict[str, str]] = field(default_factory=list)
    redemptions: list[dict[str, str]] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)  # why a request was refused
    logouts: int = 0
    _codes: dict[str, str] = field(default_factory=dict)  # code → code_challenge
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> FakeCognito:
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def config(self) -> dict[str, object]:
        return {
            "issuer": f"{self.origin}/us-east-1_fake",
            "authorize_url": f"{self.origin}/oauth2/authorize",
            "token_url": f"{self.origin}/oauth2/token",
            "logout_url": f"{self.origin}/logout",
            "client_id": self.client_id,
            "scopes": ["openid", "email", "profile"],
            "redirect_uri": self.redirect_uri,
        }

    # -- the protocol ----------------------------------------------------------------------

    def _refuse(self, why: str) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.refusals.append(why)
        return 400, {"Content-Type": "text/plain"}, why.encode()

    def _authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.authorizations.append(query)
        problem = self._authorize_problem(query)
        if problem:
            return self._refuse(problem)
        challenge = query["code_challenge"]
        state = query["state"]
        if self.wrong_state:
            state = secrets.token_urlsafe(32)
        if self.deny:
            params = {"error": "access_denied", "error_description": "cancelled", "state": state}
        else:
            code = secrets.token_urlsafe(24)
            with self._lock:
                self._codes[code] = challenge
            params = {"code": code, "state": state}
        location = f"{self.redirect_uri}?{urllib.parse.urlencode(params)}"
        return 302, {"Location": location}, b""

    def _authorize_problem(self, query: dict[str, str]) -> str | None:
        """Why Cognito would refuse this authorization request (None: it wouldn't)."""
        checks = [
            (query.get("client_id") == self.client_id, "unknown client"),
            (query.get("redirect_uri") == self.redirect_uri, "redirect_mismatch"),
            (query.get("response_type") == "code", "unsupported response_type"),
            ("openid" in query.get("scope", "").split(), "scope without openid"),
            (query.get("code_challenge_method") == "S256", "PKCE S256 is required"),
            (len(query.get("code_challenge", "")) == 43, "a SHA-256 code_challenge is required"),
            (len(query.get("state", "")) >= 16, "an unguessable state is required"),
        ]
        return next((why for ok, why in checks if not ok), None)

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.redemptions.append(form)
            challenge = self._codes.pop(form.get("code", ""), None)  # single use
        if form.get("client_id") != self.client_id or "client_secret" in form:
            return 400, {"error": "invalid_client"}
        if form.get("grant_type") != "authorization_code":
            return 400, {"error": "unsupported_grant_type"}
        if challenge is None or form.get("redirect_uri") != self.redirect_uri:
            return 400, {"error": "invalid_grant"}
        if _s256(form.get("code_verifier", "")) != challenge:
            with self._lock:
                self.refusals.append("code_verifier does not match the code_challenge")
            return 400, {"error": "invalid_grant"}
        return 200, {
            "id_token": self.id_token,
            "access_token": secrets.token_urlsafe(32),
            "refresh_token": secrets.token_urlsafe(32),
            "expires_in": 3600,
            "token_type": "Bearer",
        }

    def _logout(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if query.get("client_id") != self.client_id:
            return self._refuse("unknown client")
        if query.get("logout_uri") != self.redirect_uri:
            return self._refuse("logout_uri is not a sign-out URL of the client")
        with self._lock:
            self.logouts += 1
        return 302, {"Location": self.redirect_uri}, b""

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                if url.path == "/oauth2/authorize":
                    self._send(*fake._authorize(query))
                elif url.path == "/logout":
                    self._send(*fake._logout(query))
                else:
                    self._send(404, {}, b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                if urllib.parse.urlsplit(self.path).path != "/oauth2/token":
                    self._send(404, {}, b"")
                    return
                if not self.headers.get("Content-Type", "").startswith(
                    "application/x-www-form-urlencoded"
                ):
                    self._send(400, {}, b"")
                    return
                status, body = fake._token(form)
                # A public client's token request from a browser: Cognito answers with CORS.
                self._send(
                    status,
                    {
                        "Content-Type": "application/json",
                        "Access-Control-Allow-Origin": self.headers.get("Origin", "*"),
                    },
                    json.dumps(body).encode(),
                )

        return Handler
