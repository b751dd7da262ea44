"""The mailport REST API: routes only. Each route parses its input, calls one use-case and
shapes the result; errors become HTTP statuses in ``mailport.http``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from chalice.app import Chalice, CognitoUserPoolAuthorizer, Response

from mailport import __version__, oauth_page
from mailport.domain.identity import Feature, Principal
from mailport.domain.mailbox import Owner
from mailport.domain.oauth import OAuthFlowInvalid
from mailport.errors import (
    Forbidden,
    MailportError,
    NotFound,
    Unauthenticated,
    ValidationFailed,
)
from mailport.http import error_body, status_for
from mailport.signin import hosted_signin_config
from mailport.tracing import TRACED
from mailport.usecases.me import who_am_i
from mailport.wiring import container

if TYPE_CHECKING:
    from mailport.domain.accounts import PopAccount

logger = Logger()
tracer = Tracer(patch_modules=TRACED)
app = Chalice(app_name="mailport")
app.log.disabled = True  # Powertools' Logger is the one log; Chalice's would duplicate lines.
# Only raw messages are bytes (Chalice's defaults name types no route answers). The API
# Gateway definition in template.yaml is generated from these routes (`make api`), this list
# and which routes are public included.
app.api.binary_types[:] = ["message/rfc822"]
# API Gateway checks the token against template.yaml's user pool before the function runs;
# the function reads the claims it passes on (``principal``).
_COGNITO = CognitoUserPoolAuthorizer(
    "CognitoAuthorizer",
    # A CloudFormation reference, which Chalice copies into the definition as it is.
    provider_arns=cast("list[str]", [{"Fn::GetAtt": ["UserPool", "Arn"]}]),
)

_OPENAPI = json.loads((Path(__file__).with_name("openapi.json")).read_text(encoding="utf-8"))

View = Callable[..., Any]


def _json(body: object, status: int = 200) -> Response:
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json"})


def _errors_to_responses(view: View) -> View:
    """Turn domain errors into the API's error shape; log the unexpected ones."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except MailportError as e:
            return _json(error_body(e.code, e.message), status_for(e))
        except Exception:
            logger.exception("unhandled error")
            return _json(error_body("internal_error", "Something went wrong on our side."), 500)

    return wrapper


def route(
    path: str, methods: list[str], *, public: bool = False, wrap: bool = True
) -> Callable[[View], View]:
    """``app.route`` behind the Cognito authorizer unless ``public``, with the error contract
    applied unless the view answers its errors itself (``wrap=False``).
    """
    authorizer = None if public else _COGNITO

    def register(view: View) -> View:
        handler = _errors_to_responses(view) if wrap else view
        app.route(path, methods=methods, authorizer=authorizer)(handler)
        return view

    return register


@app.middleware("http")
def _uniform_errors(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Chalice's own errors (405, 415, ...) come as ``{"Code","Message"}``: reshape them."""
    response = get_response(event)
    body = response.body
    if isinstance(body, dict) and set(body) == {"Code", "Message"}:
        response.body = error_body(str(body["Code"]), str(body["Message"]))
    return response


def principal() -> Principal:
    """The caller, from the claims API Gateway's Cognito authorizer put on the request."""
    request = app.current_request
    context = request.context if request is not None else {}
    claims = (context.get("authorizer") or {}).get("claims")
    if not isinstance(claims, dict):
        raise Unauthenticated("sign in first")
    return Principal.from_claims(claims)


@route("/v1/health", methods=["GET"], public=True)
def health() -> Response:
    """Liveness: answers without touching any dependency."""
    return _json({"status": "ok", "version": __version__})


@route("/v1/openapi.json", methods=["GET"], public=True)
def openapi() -> Response:
    """The OpenAPI document of this API."""
    return _json(_OPENAPI)


@route("/v1/auth/config", methods=["GET"], public=True)
def auth_config() -> Response:
    """Where the console signs in (public: asked before anyone has): the hosted UI's OAuth
    endpoints and the app client. 404 ``not_configured`` where there is no hosted sign-in (the
    local stack, whose console uses its demo users, or a stack deployed without ConsoleUrl).
    """
    config = hosted_signin_config(container().settings)
    if config is None:
        return _json(error_body("not_configured", "There is no hosted sign-in here."), 404)
    return _json(config)


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
    # the user pool's domain: the only other origins the console talks to.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "connect-src 'self' https://*.amazonaws.com https://*.amazoncognito.com "
    "http://127.0.0.1:* http://localhost:*; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
}


@route("/", methods=["GET"], public=True)
def console_root() -> Response:
    """The web console lives under /console/ (relative, so an API stage prefix is kept)."""
    return Response(body="", status_code=302, headers={"Location": "console/index.html"})


@route("/console/{file}", methods=["GET"], public=True)
def console_file(file: str) -> Response:
    """One of the console's static files (public: the console signs in by itself)."""
    content_type = _CONSOLE_FILES.get(file)
    if content_type is None:
        raise NotFound(f"no such console file: {file}")
    text = (_CONSOLE_DIR / file).read_text(encoding="utf-8")
    return Response(
        body=text, status_code=200, headers={**_CONSOLE_HEADERS, "Content-Type": content_type}
    )


@route("/v1/me", methods=["GET"])
def me() -> Response:
    """The signed-in user, their tenant, plan and features."""
    return _json(who_am_i(principal(), container().directory).to_json())


def owner(feature: Feature = Feature.MAILBOX) -> Owner:
    """The caller's mailbox, once their tenant's plan is known to include ``feature``."""
    caller = principal()
    tenant = container().directory.get_tenant(caller.tenant_id)
    if tenant is None:
        raise Forbidden("your organisation is not registered with mailport")
    tenant.require(feature)
    return Owner(caller.tenant_id, caller.user_id)


def admin(feature: Feature) -> Owner:
    """Like ``owner``, for the tenant's admins only."""
    if not principal().admin:
        raise Forbidden("only your organisation's administrators may do this")
    return owner(feature)


def body() -> Any:
    """The request's JSON body (refused clearly when it is not JSON)."""
    request = app.current_request
    raw = request.raw_body if request is not None else b""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise ValidationFailed("the request body is not valid JSON") from e


def query(name: str) -> str | None:
    """One query-string parameter."""
    request = app.current_request
    params: Mapping[str, Any] = (request.query_params if request is not None else None) or {}
    value = params.get(name)
    return str(value) if value is not None else None


# ---------------------------------------------------------------- folders
@route("/v1/folders", methods=["GET"])
def list_folders() -> Response:
    """Every folder with total and unread counts, system folders first."""
    folders = container().mailbox.folders(owner())
    return _json({"folders": [f.to_json() for f in folders]})


@route("/v1/folders", methods=["POST"])
def create_folder() -> Response:
    """Create a folder (``{name, parent_id?}``)."""
    data = _object(body())
    folder = container().mailbox.create_folder(owner(), data.get("name"), data.get("parent_id"))
    return _json(folder.to_json(), 201)


@route("/v1/folders/{folder_id}", methods=["PATCH"])
def update_folder(folder_id: str) -> Response:
    """Rename and/or move a folder (``{name?, parent_id?}``)."""
    data = _object(body())
    changes = {k: data[k] for k in ("name", "parent_id") if k in data}
    unknown = set(data) - {"name", "parent_id"}
    if unknown or not changes:
        raise ValidationFailed("send name and/or parent_id")
    folder = container().mailbox.update_folder(owner(), folder_id, **changes)
    return _json(folder.to_json())


@route("/v1/folders/{folder_id}", methods=["DELETE"])
def delete_folder(folder_id: str) -> Response:
    """Delete an empty folder."""
    container().mailbox.delete_folder(owner(), folder_id)
    return Response(body="", status_code=204)


@route("/v1/folders/{folder_id}/messages", methods=["GET"])
def list_messages(folder_id: str) -> Response:
    """A page of the folder's messages, newest first (``?limit=&cursor=``)."""
    page = container().mailbox.messages(owner(), folder_id, query("limit"), query("cursor"))
    return _json(page.to_json())


# ---------------------------------------------------------------- messages
@route("/v1/messages/{message_id}", methods=["GET"])
def get_message(message_id: str) -> Response:
    """One message's index entry."""
    return _json(container().mailbox.message(owner(), message_id).to_json())


@route("/v1/messages/{message_id}", methods=["PATCH"])
def update_message(message_id: str) -> Response:
    """Change flags and/or move (``{flags?: {seen, flagged, answered}, folder_id?}``)."""
    message = container().mailbox.update_message(owner(), message_id, body())
    return _json(message.to_json())


@route("/v1/messages/{message_id}", methods=["DELETE"])
def delete_message(message_id: str) -> Response:
    """Delete a message for good."""
    container().mailbox.delete_message(owner(), message_id)
    return Response(body="", status_code=204)


@route("/v1/messages/{message_id}/raw", methods=["GET"])
def raw_message(message_id: str) -> Response:
    """The message exactly as received (``Accept: message/rfc822`` or ``*/*``)."""
    raw = container().mailbox.raw(owner(), message_id)
    return Response(
        body=raw,
        status_code=200,
        headers={
            "Content-Type": "message/rfc822",
            "Content-Disposition": f'attachment; filename="{message_id}.eml"',
        },
    )


# ---------------------------------------------------------------- rules
@route("/v1/rules", methods=["GET"])
def get_rules() -> Response:
    """The ordered auto-sort rules."""
    return _json(container().mailbox.rules(owner()))


@route("/v1/rules", methods=["PUT"])
def put_rules() -> Response:
    """Replace the auto-sort rules; each move target must be an existing folder."""
    return _json(container().mailbox.replace_rules(owner(), body()))


# ---------------------------------------------------------------- uploads
@route("/v1/uploads", methods=["POST"])
def create_upload() -> Response:
    """Start an upload batch: per file, a presigned POST (or why it was refused)."""
    batch = container().uploads.create(owner(Feature.EML_UPLOAD), body())
    return _json(batch.to_json(), 201)


@route("/v1/uploads/{upload_id}", methods=["GET"])
def get_upload(upload_id: str) -> Response:
    """The batch and each file's state: pending, stored, duplicate or rejected (with why)."""
    return _json(container().uploads.get(owner(Feature.EML_UPLOAD), upload_id).to_json())


# ---------------------------------------------------------------- external accounts (POP3)
@route("/v1/account-presets", methods=["GET"])
def account_presets() -> Response:
    """The providers the form knows (host, port, SSL) and manual entry."""
    # Imported here, as the container imports the accounts use-case: domain.accounts is
    # ~20 ms of this function's cold start, and most requests never touch an account.
    from mailport.domain.accounts import presets_json  # noqa: PLC0415

    owner(Feature.POP_IMPORT)
    return _json({"presets": presets_json()})


def _account_json(account: PopAccount) -> dict[str, object]:
    return account.to_json(container().accounts.now())


@route("/v1/accounts", methods=["GET"])
def list_accounts() -> Response:
    """The user's external accounts (up to 10) with their fetch status."""
    accounts = container().accounts.list_accounts(owner(Feature.POP_IMPORT))
    return _json({"accounts": [_account_json(a) for a in accounts]})


@route("/v1/accounts", methods=["POST"])
def create_account() -> Response:
    """Register an account: the agreement, the login tried, the password sealed."""
    account = container().accounts.create(owner(Feature.POP_IMPORT), body())
    return _json(_account_json(account), 201)


@route("/v1/accounts/{account_id}", methods=["GET"])
def get_account(account_id: str) -> Response:
    """One account."""
    return _json(_account_json(container().accounts.get(owner(Feature.POP_IMPORT), account_id)))


@route("/v1/accounts/{account_id}", methods=["PATCH"])
def update_account(account_id: str) -> Response:
    """Change settings (a new server or login needs the password again)."""
    account = container().accounts.update(owner(Feature.POP_IMPORT), account_id, body())
    return _json(_account_json(account))


@route("/v1/accounts/{account_id}", methods=["DELETE"])
def delete_account(account_id: str) -> Response:
    """Delete the account (its imported mail stays)."""
    container().accounts.delete(owner(Feature.POP_IMPORT), account_id)
    return Response(body="", status_code=204)


@route("/v1/accounts/{account_id}/fetch", methods=["POST"])
def fetch_account(account_id: str) -> Response:
    """Fetch now (asynchronous): the run to watch in the history."""
    run = container().accounts.fetch_now(owner(Feature.POP_IMPORT), account_id)
    return _json(run.to_json(), 202)


@route("/v1/accounts/{account_id}/runs", methods=["GET"])
def account_runs(account_id: str) -> Response:
    """The account's runs, newest first (``?limit=``)."""
    runs = container().accounts.runs(owner(Feature.POP_IMPORT), account_id, query("limit"))
    return _json({"runs": [r.to_json() for r in runs]})


# ---------------------------------------------------------------- IMAP migration
@route("/v1/imap-templates", methods=["GET"])
def imap_templates() -> Response:
    """The IMAP servers the tenant's admin set up."""
    templates = container().migrations.templates(owner(Feature.IMAP_MIGRATION))
    return _json({"templates": templates})


@route("/v1/admin/imap-templates", methods=["POST"])
def create_imap_template() -> Response:
    """Admin: a new IMAP server template (name, host, port, SSL) for the tenant's users."""
    created = container().migrations.put_template(admin(Feature.IMAP_MIGRATION), body())
    return _json(created, 201)


@route("/v1/admin/imap-templates/{template_id}", methods=["PUT"])
def replace_imap_template(template_id: str) -> Response:
    """Admin: change a template (jobs already queued keep their server)."""
    owner_ = admin(Feature.IMAP_MIGRATION)
    return _json(container().migrations.put_template(owner_, body(), template_id))


@route("/v1/admin/imap-templates/{template_id}", methods=["DELETE"])
def delete_imap_template(template_id: str) -> Response:
    """Admin: remove a template."""
    container().migrations.delete_template(admin(Feature.IMAP_MIGRATION), template_id)
    return Response(body="", status_code=204)


@route("/v1/migrations/preview", methods=["POST"])
def preview_migration() -> Response:
    """A dry run: folders, their targets, counts, sizes, oversize mail, an estimate."""
    return _json(container().migrations.preview(owner(Feature.IMAP_MIGRATION), body()))


@route("/v1/migrations", methods=["POST"])
def create_migration() -> Response:
    """Queue a migration (agreement required; the login is tried first)."""
    job = container().migrations.create(owner(Feature.IMAP_MIGRATION), body())
    return _json(job, 201)


@route("/v1/migrations", methods=["GET"])
def list_migrations() -> Response:
    """The user's migrations, newest first."""
    return _json({"migrations": container().migrations.list(owner(Feature.IMAP_MIGRATION))})


@route("/v1/migrations/{job_id}", methods=["GET"])
def get_migration(job_id: str) -> Response:
    """State, queue position, progress per folder and in total, ETA, counts."""
    return _json(container().migrations.get(owner(Feature.IMAP_MIGRATION), job_id))


@route("/v1/migrations/{job_id}/cancel", methods=["POST"])
def cancel_migration(job_id: str) -> Response:
    """Cancel: a queued job leaves the queue; a running one is rolled back."""
    return _json(container().migrations.cancel(owner(Feature.IMAP_MIGRATION), job_id), 202)


@route("/v1/migrations/{job_id}/revert", methods=["POST"])
def revert_migration(job_id: str) -> Response:
    """Undo a completed migration: remove what it imported."""
    return _json(container().migrations.revert(owner(Feature.IMAP_MIGRATION), job_id), 202)


# ---------------------------------------------------------------- admin: the organisation
@route("/v1/admin/migrations", methods=["GET"])
def admin_migrations() -> Response:
    """Admin: every migration of the organisation, newest first (``?limit=&cursor=``)."""
    caller = admin(Feature.IMAP_MIGRATION)
    return _json(container().admin.migrations(caller.tenant_id, query("limit"), query("cursor")))


@route("/v1/admin/accounts", methods=["GET"])
def admin_accounts() -> Response:
    """Admin: every POP account of the organisation, newest first (``?limit=&cursor=``)."""
    caller = admin(Feature.POP_IMPORT)
    return _json(container().admin.accounts(caller.tenant_id, query("limit"), query("cursor")))


@route("/v1/admin/users/{user_id}/accounts/{account_id}/switch-off", methods=["POST"])
def admin_switch_off(user_id: str, account_id: str) -> Response:
    """Admin: switch a user's account's automatic fetching off (the user sees who did)."""
    caller = admin(Feature.POP_IMPORT)
    email = principal().email
    return _json(container().admin.switch_off(caller.tenant_id, user_id, account_id, email))


@route("/v1/admin/users/{user_id}/migrations/{job_id}/cancel", methods=["POST"])
def admin_cancel_migration(user_id: str, job_id: str) -> Response:
    """Admin: cancel a user's migration (it is rolled back)."""
    caller = admin(Feature.IMAP_MIGRATION)
    return _json(container().admin.cancel_migration(caller.tenant_id, user_id, job_id), 202)


# ---------------------------------------------------------------- Microsoft 365 sign-in
def _callback_url() -> str:
    """Where Microsoft sends the browser back: this API's own callback route, as the browser
    reached it (the stage prefix on an execute-api URL, none on a custom domain), unless the
    deployment names it (it must match the app registration's redirect URI).
    """
    configured = container().settings.oauth_redirect_uri
    if configured:
        return configured
    request = app.current_request
    assert request is not None  # only called inside a request
    proto = request.headers.get("x-forwarded-proto", "http")
    full = str(request.context.get("path") or request.path)
    prefix = full[: -len(request.path)] if full.endswith(request.path) else ""
    return f"{proto}://{request.headers.get('host', '')}{prefix}/v1/oauth/microsoft/callback"


@route("/v1/oauth/microsoft/start", methods=["POST"])
def start_microsoft_signin() -> Response:
    """Begin a Microsoft 365 sign-in for ``{email}``: the URL to open in a new window. The
    flow is bound to this browser by an HttpOnly cookie checked at the callback.
    """
    caller = owner(Feature.IMAP_MIGRATION)
    started, cookie = container().oauth.start(caller, body(), _callback_url())
    secure = _callback_url().startswith("https:")
    response = _json(started)
    response.headers["Set-Cookie"] = oauth_page.cookie_header(
        cookie, secure=secure, max_age=int(str(started["expires_in"]))
    )
    return response


# Public: the browser comes back from Microsoft without our token; the flow's state and the
# HttpOnly cookie set by /start identify it. The view answers its errors as HTML itself.
@route("/v1/oauth/microsoft/callback", methods=["GET"], public=True, wrap=False)
def microsoft_callback() -> Response:
    """Microsoft sends the browser here: finish the sign-in and show the result (an HTML page
    for the sign-in window, which tells the console window that opened it).
    """
    request = app.current_request
    params = {k: str(v) for k, v in ((request.query_params if request else None) or {}).items()}
    cookie = oauth_page.read_cookie(request.headers.get("cookie") if request else None)
    connection: dict[str, object] | None = None
    stray = False  # not this browser's flow: its cookie may belong to a sign-in under way
    try:
        connection = container().oauth.finish(params, cookie)
        status, code, detail = 200, "ready", str(connection["email"])
    except OAuthFlowInvalid as e:
        status, code, detail, stray = status_for(e), e.code, e.message, True
    except MailportError as e:
        status, code, detail = status_for(e), e.code, e.message
    except Exception:
        logger.exception("unhandled error in the sign-in callback")
        status, code, detail = 500, "internal_error", "Something went wrong on our side."
    html = oauth_page.page(
        ok=connection is not None, detail=detail, code=code, connection=connection
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


@route("/v1/oauth/connections", methods=["GET"])
def oauth_connections() -> Response:
    """The user's Microsoft 365 sign-ins (mailbox address and whether it still works)."""
    return _json({"connections": container().oauth.list(owner(Feature.IMAP_MIGRATION))})


@route("/v1/oauth/connections/{connection_id}", methods=["DELETE"])
def delete_oauth_connection(connection_id: str) -> Response:
    """Forget a sign-in (refused while a migration still uses it)."""
    container().oauth.delete(owner(Feature.IMAP_MIGRATION), connection_id)
    return Response(body="", status_code=204)


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationFailed("send a JSON object")
    return data


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point (template.yaml ``Handler: mailport_api.handler``)."""
    result: dict[str, Any] = app(event, context)
    return result
