"""API Gateway (REST, v1 proxy events) and its Cognito authorizer, stood in for locally.

Routes come from template.yaml's ``Type: Api`` events; a request becomes the event API Gateway
would send, with the token's claims under ``requestContext.authorizer.claims`` (strings, as
API Gateway passes them). ``POST /v1/local/login``, ``GET /v1/local/metrics`` and the demo
mail server's ``GET /v1/local/demo-mail`` and ``POST /v1/local/demo-mail/drop`` live only
here: they are not routes of the app or the template, so no deployed stack can have them.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import jwt
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from mailport.catalogue import Words, language_of, say
from mailport.domain.identity import Plan, Tenant, User
from mailport.http import GATEWAY_ANSWERS, error_body
from mailport.ports import Directory
from mailport_local.demo_mail import DemoMail
from mailport_local.dovecot import DovecotError
from mailport_local.lambdas import InvocationError, LocalLambdas
from mailport_local.metrics import RECORDER
from mailport_local.template import ApiRoute

log = logging.getLogger(__name__)

TOKEN_ISSUER = "mailport-local"  # noqa: S105 - an issuer name, not a secret
TOKEN_TTL_S = 12 * 3600
STAGE = "v1api"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


def user_id_for(tenant: str, email: str) -> str:
    """A stable user id (Cognito's ``sub``) for a demo user."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"mailport-local:{tenant}:{email.lower()}"))


@dataclass
class LocalAuth:
    """Signs and checks the local stand-in for Cognito ID tokens (HS256, local secret)."""

    secret: bytes
    directory: Directory

    def login(self, body: Any) -> str:
        """Validate ``{"email","tenant","plan","admin"}``, make sure both exist, sign a token."""
        if not isinstance(body, dict):
            raise ValueError("send a JSON object with email and tenant")
        email = str(body.get("email") or "").strip().lower()
        tenant_id = str(body.get("tenant") or "").strip().lower()
        if not _EMAIL.match(email):
            raise ValueError("email must be an address like alice@example.com")
        if not _SLUG.match(tenant_id):
            raise ValueError("tenant must be lowercase letters, digits and dashes")
        plan_value = body.get("plan")
        admin = body.get("admin", False)
        if not isinstance(admin, bool):
            raise ValueError("admin must be true or false")
        try:
            plan = Plan(plan_value) if plan_value is not None else None
        except ValueError as e:
            raise ValueError("plan must be 'basic' or 'advanced'") from e
        tenant = self.directory.get_tenant(tenant_id)
        if tenant is None or (plan is not None and plan != tenant.plan):
            name = tenant.name if tenant else tenant_id
            self.directory.put_tenant(Tenant(tenant_id, name, plan or Plan.BASIC))
        user_id = user_id_for(tenant_id, email)
        user = self.directory.get_user(tenant_id, user_id)
        if user is None or user.admin != admin:
            display = user.display_name if user else email.split("@")[0].capitalize()
            self.directory.put_user(User(user_id, tenant_id, email, display, admin))
        return self.sign(user_id, email, tenant_id, admin)

    def sign(self, user_id: str, email: str, tenant_id: str, admin: bool) -> str:
        """An ID token with the claims Cognito would put in it."""
        now = int(time.time())
        claims = {
            "sub": user_id,
            "email": email,
            "custom:tenant": tenant_id,
            "custom:admin": "true" if admin else "false",
            "token_use": "id",
            "iss": TOKEN_ISSUER,
            "aud": TOKEN_ISSUER,
            "iat": now,
            "exp": now + TOKEN_TTL_S,
        }
        if admin:
            claims["cognito:groups"] = "admins"
        return jwt.encode(claims, self.secret, algorithm="HS256")

    def claims(self, authorization: str | None) -> dict[str, str] | None:
        """The token's claims as strings, or None if it is missing, forged or expired."""
        if not authorization:
            return None
        token = authorization.removeprefix("Bearer ").strip()
        try:
            data = jwt.decode(
                token, self.secret, algorithms=["HS256"], audience=TOKEN_ISSUER, issuer=TOKEN_ISSUER
            )
        except jwt.PyJWTError:
            return None
        return {k: str(v) for k, v in data.items()}


@dataclass(frozen=True)
class _CompiledRoute:
    route: ApiRoute
    pattern: re.Pattern[str]
    names: tuple[str, ...]


def _compile(route: ApiRoute) -> _CompiledRoute:
    names: list[str] = []
    parts: list[str] = []
    for segment in route.path.strip("/").split("/"):
        param = re.fullmatch(r"\{([A-Za-z0-9_]+)(\+?)\}", segment)
        if param is None:
            parts.append(re.escape(segment))
            continue
        names.append(param[1])
        # {name+} is API Gateway's greedy parameter: it may span slashes.
        parts.append(f"(?P<{param[1]}>.+)" if param[2] else f"(?P<{param[1]}>[^/]+)")
    return _CompiledRoute(route, re.compile("^/" + "/".join(parts) + "$"), tuple(names))


def _said(request: Request, words: Words) -> str:
    """``words`` in the language the request asks for (as the API's own answers are)."""
    return words.render(language_of(request.headers.get("Accept-Language")))


def _gateway(request: Request, kind: str, words: Words) -> Response:
    """API Gateway's own answer of ``kind`` (its status and code, ``GATEWAY_ANSWERS``), in
    words more precise than its English and in the request's language.
    """
    answer = GATEWAY_ANSWERS[kind]
    assert answer.status is not None  # the kinds answered here have a status of their own
    return _json(answer.status, error_body(answer.code, _said(request, words)))


class _DropRefused(ValueError):
    """A demo-mail drop that can't be done as asked."""

    def __init__(self, words: Words) -> None:
        super().__init__(str(words))
        self.words = words


def _json(status: int, body: object, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body), status=status, headers=headers or {}, content_type="application/json"
    )


@dataclass
class Gateway:
    """A WSGI app that turns HTTP requests into API Gateway proxy events."""

    routes: list[ApiRoute]
    lambdas: LocalLambdas
    auth: LocalAuth
    demo_mail: DemoMail | None = None
    _compiled: list[_CompiledRoute] = field(default_factory=list)
    _server: BaseWSGIServer | None = None
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        # Literal paths before templated ones, as API Gateway prefers the most specific.
        self._compiled = sorted(
            (_compile(r) for r in self.routes), key=lambda c: (len(c.names), -len(c.route.path))
        )

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        """WSGI entry point."""
        request = Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        """Route one request."""
        local = {
            ("POST", "/v1/local/login"): self._login,
            ("GET", "/v1/local/metrics"): self._metrics,
            ("GET", "/v1/local/demo-mail"): self._demo_mail,
            ("POST", "/v1/local/demo-mail/drop"): self._drop_mail,
        }.get((request.method, request.path))
        if local is not None:
            return local(request)
        # Match on the raw path, as API Gateway does, so an encoded "/" stays inside a parameter.
        raw = str(
            request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.path
        )
        raw_path = raw.split("?", 1)[0]
        matches = [(c, m) for c in self._compiled if (m := c.pattern.match(raw_path))]
        if not matches:
            return _gateway(
                request,
                "MISSING_AUTHENTICATION_TOKEN",
                say("site.no_such_resource", path=request.path),
            )
        for compiled, match in matches:
            if compiled.route.method in (request.method, "ANY"):
                params = {k: unquote(v) for k, v in match.groupdict().items()}
                return self._dispatch(request, compiled, params)
        allowed = ", ".join(sorted({c.route.method for c, _ in matches}))
        return _json(
            405,
            error_body(
                "method_not_allowed",
                _said(request, say("site.method_not_here", method=request.method)),
            ),
            {"Allow": allowed},
        )

    def _login(self, request: Request) -> Response:
        try:
            body = json.loads(request.get_data(as_text=True) or "null")
            token = self.auth.login(body)
        except (ValueError, json.JSONDecodeError) as e:
            return _json(400, error_body("invalid_request", str(e)))
        return _json(200, {"token": token})

    def _metrics(self, request: Request) -> Response:
        """What CloudWatch would have received from the functions (admins only)."""
        claims = self.auth.claims(request.headers.get("Authorization"))
        if claims is None:
            return _json(
                401, error_body("unauthenticated", _said(request, say("site.sign_in_first")))
            )
        if claims.get("custom:admin") != "true":
            return _json(
                403, error_body("forbidden", _said(request, say("site.metrics_admins_only")))
            )
        return _json(200, {"metrics": RECORDER.snapshot()})

    def _demo_mail(self, request: Request) -> Response:
        """The demo mail server's addresses and users (public: the sign-in page shows them;
        its passwords open only mailboxes of made-up mail on this machine's loopback).
        """
        if self.demo_mail is None:
            return _json(404, error_body("not_found", _said(request, say("site.no_demo_mail"))))
        return _json(200, self.demo_mail.info())

    def _drop_mail(self, request: Request) -> Response:
        """New mail in a demo mailbox, for the schedule (or fetch now) to pick up."""
        if self.demo_mail is None:
            return _json(404, error_body("not_found", _said(request, say("site.no_demo_mail"))))
        # JSON only: another site's page can't send that without a CORS preflight, which
        # this gateway never grants, so a plain form can't fill the demo mailboxes.
        if request.mimetype != "application/json":
            return _json(
                415, error_body("unsupported_media_type", _said(request, say("site.send_json")))
            )
        try:
            body = json.loads(request.get_data(as_text=True) or "{}")
            if not isinstance(body, dict):
                raise _DropRefused(say("site.demo_drop_object"))
            name = str(body.get("user") or self.demo_mail.info()["users"][0]["username"])
            count = body.get("count", 1)
            if not isinstance(count, int) or isinstance(count, bool):
                raise _DropRefused(say("site.demo_drop_count"))
            subjects = self.demo_mail.drop(name, count)
        except _DropRefused as e:
            return _json(400, error_body("invalid_request", _said(request, e.words)))
        except (ValueError, json.JSONDecodeError) as e:
            return _json(400, error_body("invalid_request", str(e)))
        except (DovecotError, OSError):
            log.exception("could not drop demo mail")
            return _json(
                503, error_body("unavailable", _said(request, say("site.demo_mail_unavailable")))
            )
        return _json(200, {"user": name, "dropped": subjects})

    def _dispatch(
        self, request: Request, compiled: _CompiledRoute, params: dict[str, str]
    ) -> Response:
        claims = None
        if compiled.route.authorized:
            claims = self.auth.claims(request.headers.get("Authorization"))
            if claims is None:
                return _gateway(request, "UNAUTHORIZED", say("site.token_missing"))
        event = self._event(request, compiled.route, params, claims)
        try:
            result = self.lambdas[compiled.route.function].invoke(event)
        except InvocationError:
            log.exception("the API function failed")
            return _json(502, error_body("bad_gateway", "the API function failed"))
        return self._response(result)

    @staticmethod
    def _event(
        request: Request, route: ApiRoute, params: dict[str, str], claims: dict[str, str] | None
    ) -> dict[str, Any]:
        raw = request.get_data()
        text_types = ("application/json", "text/", "application/x-www-form-urlencoded")
        ctype = request.headers.get("Content-Type", "")
        is_text = not raw or any(ctype.startswith(t) for t in text_types)
        if is_text and raw:
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                is_text = False  # not text after all: passed on base64-encoded, not a crash
        query = request.args
        multi_headers: dict[str, list[str]] = {}
        for key, value in request.headers.items():
            multi_headers.setdefault(key, []).append(value)
        authorizer: dict[str, Any] = {"claims": claims} if claims is not None else {}
        return {
            "resource": route.path,
            "path": request.path,
            "httpMethod": request.method,
            "headers": {k: v[-1] for k, v in multi_headers.items()},
            "multiValueHeaders": multi_headers,
            "queryStringParameters": {k: query.getlist(k)[-1] for k in query} or None,
            "multiValueQueryStringParameters": {k: query.getlist(k) for k in query} or None,
            "pathParameters": params or None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": route.path,
                "httpMethod": request.method,
                # As behind a custom domain: the local URL has no stage prefix.
                "path": request.path,
                "stage": STAGE,
                "requestId": str(uuid.uuid4()),
                "requestTimeEpoch": int(time.time() * 1000),
                "identity": {
                    "sourceIp": request.remote_addr or "127.0.0.1",
                    "userAgent": request.user_agent.string,
                },
                "authorizer": authorizer,
            },
            "body": (raw.decode("utf-8") if is_text else base64.b64encode(raw).decode("ascii"))
            if raw
            else None,
            "isBase64Encoded": bool(raw) and not is_text,
        }

    @staticmethod
    def _response(result: Any) -> Response:
        if not isinstance(result, dict) or "statusCode" not in result:
            return _json(
                502, error_body("bad_gateway", "the API function returned a malformed response")
            )
        body = result.get("body") or ""
        data = (
            base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
        )
        response = Response(data, status=int(result["statusCode"]))
        response.headers.clear()
        for key, value in (result.get("headers") or {}).items():
            response.headers[key] = str(value)
        for key, values in (result.get("multiValueHeaders") or {}).items():
            response.headers.remove(key)
            for value in values:
                response.headers.add(key, str(value))
        return response

    def serve(self, host: str, port: int) -> int:
        """Serve in a daemon thread; return the bound port."""
        self._server = make_server(host, port, self, threaded=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="gateway", daemon=True
        )
        self._thread.start()
        return int(self._server.server_port)

    def shutdown(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
