"""The public routes (health, this API's document, where to sign in, the web console)
and who the caller is.
"""

from __future__ import annotations

import json
from pathlib import Path

import api_views as views
from api_http import Routes, body, json_response, principal
from chalice.app import Response

from mailport import __version__
from mailport.catalogue import say
from mailport.errors import NotFound
from mailport.http import error_body
from mailport.signin import hosted_signin_config
from mailport.usecases.me import set_language, who_am_i
from mailport.wiring import container

_OPENAPI = json.loads((Path(__file__).with_name("openapi.json")).read_text(encoding="utf-8"))

routes = Routes(__name__)


@routes.api("/v1/health", methods=["GET"], public=True)
def health() -> Response:
    """Liveness: answers without touching any dependency."""
    return json_response({"status": "ok", "version": __version__})


@routes.api("/v1/openapi.json", methods=["GET"], public=True)
def openapi() -> Response:
    """The OpenAPI document of this API."""
    return json_response(_OPENAPI)


@routes.api("/v1/auth/config", methods=["GET"], public=True)
def auth_config() -> Response:
    """Where the console signs in (public: asked before anyone has): the hosted UI's OAuth
    endpoints and the app client. 404 ``not_configured`` where there is no hosted sign-in (the
    local stack, whose console uses its demo users, or a stack deployed without ConsoleUrl).
    """
    config = hosted_signin_config(container().settings)
    if config is None:
        return json_response(error_body("not_configured", "There is no hosted sign-in here."), 404)
    return json_response(config)


# ---------------------------------------------------------------- web console (public files)
_CONSOLE_DIR = Path(__file__).with_name("console")
_CONSOLE_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".svg": "image/svg+xml; charset=utf-8",
}
# Only the console's own files, by exact name: a request can never name any other path.
_CONSOLE_FILES = {
    p.name: _CONSOLE_TYPES[p.suffix]
    for p in (_CONSOLE_DIR.iterdir() if _CONSOLE_DIR.is_dir() else ())
    if p.is_file() and p.suffix in _CONSOLE_TYPES
}
_CONSOLE_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Uploads go straight to S3 (presigned POST); the hosted sign-in's token endpoint is on
    # the user pool's domain: the only other origins the console talks to. A message's HTML
    # is shown in a sandboxed srcdoc iframe, which inherits this policy (and adds its own,
    # narrower one): its inline styles need 'unsafe-inline', and the remote images a reader
    # asked to see need https: (the console itself builds no markup from text: dom.js).
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: https:; object-src 'none'; "
    "connect-src 'self' https://*.amazonaws.com https://*.amazoncognito.com "
    "http://127.0.0.1:* http://localhost:*; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
}


@routes.api("/", methods=["GET"], public=True)
def console_root() -> Response:
    """The web console lives under /console/ (relative, so an API stage prefix is kept)."""
    return Response(body="", status_code=302, headers={"Location": "console/index.html"})


@routes.api("/console/{file}", methods=["GET"], public=True)
def console_file(file: str) -> Response:
    """One of the console's static files (public: the console signs in by itself)."""
    content_type = _CONSOLE_FILES.get(file)
    if content_type is None:
        raise NotFound(say("site.console_file_missing", file=file))
    text = (_CONSOLE_DIR / file).read_text(encoding="utf-8")
    return Response(
        body=text, status_code=200, headers={**_CONSOLE_HEADERS, "Content-Type": content_type}
    )


@routes.api("/v1/me", methods=["GET"])
def me() -> Response:
    """The signed-in user, their tenant, plan and features."""
    return json_response(views.me(who_am_i(principal(), container().directory)))


@routes.api("/v1/me", methods=["PATCH"])
def update_me() -> Response:
    """The user's own settings (``{language}``): notices are written in it."""
    from api_inputs import MeChange  # noqa: PLC0415 (lazily: see api_validation's docstring)

    change = body(MeChange)
    return json_response(
        views.me(set_language(principal(), container().directory, change["language"]))
    )
