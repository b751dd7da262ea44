"""Microsoft and Google sign-in (for a migration or a POP account): start, the callback the
provider sends the browser to, and the user's connections.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import api_views as views
from api_http import Routes, body, current_request, json_response, language, logger, owner, said
from chalice.app import Response

from mailport import oauth_page
from mailport.catalogue import say
from mailport.domain.identity import Feature
from mailport.domain.oauth import OAuthFlowInvalid, OAuthProvider
from mailport.errors import MailportError
from mailport.http import status_for
from mailport.wiring import container

if TYPE_CHECKING:
    from api_inputs import SigninStartInput

routes = Routes(__name__)


# ---------------------------------------------------------------- Microsoft and Google sign-in
def _callback_url(provider: OAuthProvider) -> str:
    """Where the provider sends the browser back: this API's own callback route for it, as
    the browser reached it (the stage prefix on an execute-api URL, none on a custom domain),
    unless the deployment names it (it must match the app registration's redirect URI).
    """
    settings = container().settings
    configured = (
        settings.google_redirect_uri
        if provider is OAuthProvider.GOOGLE
        else settings.oauth_redirect_uri
    )
    if configured:
        return configured
    request = current_request()
    assert request is not None  # only called inside a request
    proto = request.headers.get("x-forwarded-proto", "http")
    full = str(request.context.get("path") or request.path)
    prefix = full[: -len(request.path)] if full.endswith(request.path) else ""
    host = request.headers.get("host", "")
    return f"{proto}://{host}{prefix}/v1/oauth/{provider.value}/callback"


def _start(provider: OAuthProvider, request: SigninStartInput) -> Response:
    pop = request.get("purpose") == "pop"
    caller = owner(Feature.POP_IMPORT if pop else Feature.IMAP_MIGRATION)
    callback = _callback_url(provider)
    started, cookie = container().oauth.start(caller, request, callback, provider)
    response = json_response(started)
    response.headers["Set-Cookie"] = oauth_page.cookie_header(
        cookie, secure=callback.startswith("https:"), max_age=int(str(started["expires_in"]))
    )
    return response


@routes.api("/v1/oauth/microsoft/start", methods=["POST"])
def start_microsoft_signin() -> Response:
    """Begin a Microsoft sign-in for ``{email, purpose}`` (a migration's or a POP account's):
    the URL to open in a new window. The flow is bound to this browser by an HttpOnly cookie
    checked at the callback.
    """
    from api_inputs import SigninStartInput  # noqa: PLC0415 (lazily: pydantic on first use)

    return _start(OAuthProvider.MICROSOFT, body(SigninStartInput))


@routes.api("/v1/oauth/google/start", methods=["POST"])
def start_google_signin() -> Response:
    """Begin a Google sign-in (Gmail, Google Workspace) for ``{email, purpose}``, as the
    Microsoft one: the URL to open in a new window, the flow bound to this browser.
    """
    from api_inputs import SigninStartInput  # noqa: PLC0415 (lazily: pydantic on first use)

    return _start(OAuthProvider.GOOGLE, body(SigninStartInput))


def _callback(provider: OAuthProvider) -> Response:
    request = current_request()
    params = {k: str(v) for k, v in ((request.query_params if request else None) or {}).items()}
    cookie = oauth_page.read_cookie(request.headers.get("cookie") if request else None)
    connection: dict[str, object] | None = None
    stray = False  # not this browser's flow: its cookie may belong to a sign-in under way
    try:
        signed_in = container().oauth.finish(params, cookie, provider)
        connection = dict(views.oauth_connection(signed_in))
        status, code, detail = 200, "ready", signed_in.email
    except OAuthFlowInvalid as e:
        status, code, detail, stray = status_for(e), e.code, e.text(language()), True
    except MailportError as e:
        status, code, detail = status_for(e), e.code, e.text(language())
    except Exception:
        logger.exception("unhandled error in the sign-in callback")
        status, code, detail = 500, "internal_error", said(say("site.internal"))
    html = oauth_page.page(
        ok=connection is not None,
        detail=detail,
        code=code,
        connection=connection,
        language=language(),
    )
    headers: dict[str, str | list[str]] = {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "no-store",
        # The URL holds the one-time code: never send it on as a referrer.
        "Referrer-Policy": "no-referrer",
        "Content-Security-Policy": (
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'"
        ),
    }
    if not stray:  # this browser's flow is used up; a stray link leaves a sign-in be
        headers["Set-Cookie"] = oauth_page.cookie_header("", secure=False, max_age=0)
    return Response(body=html, status_code=status, headers=headers)


# Public: the browser comes back from the provider without our token; the flow's state and
# the HttpOnly cookie set by /start identify it. The view answers its errors as HTML itself.
@routes.api("/v1/oauth/microsoft/callback", methods=["GET"], public=True, wrap=False)
def microsoft_callback() -> Response:
    """Microsoft sends the browser here: finish the sign-in and show the result (an HTML page
    for the sign-in window, which tells the console window that opened it).
    """
    return _callback(OAuthProvider.MICROSOFT)


@routes.api("/v1/oauth/google/callback", methods=["GET"], public=True, wrap=False)
def google_callback() -> Response:
    """Google sends the browser here: finish the sign-in and show the result, as for
    Microsoft.
    """
    return _callback(OAuthProvider.GOOGLE)


@routes.api("/v1/oauth/providers", methods=["GET"])
def oauth_providers() -> Response:
    """Whose sign-ins this service offers (its app registrations filled in), for the
    migration page to offer only those and say why the others are missing.
    """
    owner(Feature.IMAP_MIGRATION)
    return json_response(views.signin_providers(container().oauth.available()))


@routes.api("/v1/oauth/connections", methods=["GET"])
def oauth_connections() -> Response:
    """The user's sign-ins (provider, mailbox address and whether it still works)."""
    return json_response(
        views.oauth_connections(container().oauth.list(owner(Feature.IMAP_MIGRATION)))
    )


@routes.api("/v1/oauth/connections/{connection_id}", methods=["DELETE"])
def delete_oauth_connection(connection_id: str) -> Response:
    """Forget a sign-in (refused while a migration still uses it)."""
    container().oauth.delete(owner(Feature.IMAP_MIGRATION), connection_id)
    return Response(body="", status_code=204)
