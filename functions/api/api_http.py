"""What every area's routes share: the Cognito authorizer, the error contract, the
middleware that hands them the request, and reading the caller, the body and the query.
The routes are in ``api_routes_*``, one Chalice blueprint per area, which ``mailport_api``
registers on the app.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any, cast, overload

import api_validation
from aws_lambda_powertools import Logger
from chalice.app import Blueprint, Chalice, CognitoUserPoolAuthorizer, Request, Response

from mailport.catalogue import Words, language_of, say
from mailport.domain.identity import Feature, Principal
from mailport.domain.mailbox import Owner
from mailport.errors import Forbidden, MailportError, Unauthenticated, ValidationFailed
from mailport.http import error_body, status_for
from mailport.wiring import container

logger = Logger()
# The request being served: set by ``serve`` (the app's HTTP middleware) for the routes of
# every area, whichever app they are registered on.
_REQUEST: ContextVar[Request | None] = ContextVar("mailport_request", default=None)
# API Gateway checks the token against template.yaml's user pool before the function runs;
# the function reads the claims it passes on (``principal``).
_COGNITO = CognitoUserPoolAuthorizer(
    "CognitoAuthorizer",
    # A CloudFormation reference, which Chalice copies into the definition as it is.
    provider_arns=cast("list[str]", [{"Fn::GetAtt": ["UserPool", "Arn"]}]),
)

View = Callable[..., Any]


def json_response(body: object, status: int = 200) -> Response:
    """A JSON answer."""
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json"})


def _errors_to_responses(view: View) -> View:
    """Turn domain errors into the API's error shape; log the unexpected ones."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except MailportError as e:
            return json_response(error_body(e.code, e.text(language())), status_for(e))
        except Exception:
            logger.exception("unhandled error")
            return json_response(error_body("internal_error", said(say("site.internal"))), 500)

    return wrapper


class Routes(Blueprint):
    """One area's routes, a Chalice blueprint: ``app.register_blueprint`` adds them to the
    app, each under its view function's name (which ``infra/api_definition.py`` and
    ``infra/openapi_document.py`` key operations by).

    The routes are recorded here and added with ``app.route`` at registration: Chalice's own
    blueprint routes can be registered once only (it pops ``methods`` from what it recorded),
    and the tests load the app more than once.
    """

    def __init__(self, import_name: str) -> None:
        super().__init__(import_name)
        self._routes: list[tuple[str, tuple[str, ...], CognitoUserPoolAuthorizer | None, View]] = []

    def api(
        self, path: str, methods: list[str], *, public: bool = False, wrap: bool = True
    ) -> Callable[[View], View]:
        """A route behind the Cognito authorizer unless ``public``, with the error contract
        applied unless the view answers its errors itself (``wrap=False``).
        """
        authorizer = None if public else _COGNITO

        def record(view: View) -> View:
            handler = _errors_to_responses(view) if wrap else view
            self._routes.append((path, tuple(methods), authorizer, handler))
            return view

        return record

    def register(self, app: Chalice, options: dict[str, Any]) -> None:
        """Add the routes to ``app`` (``app.register_blueprint`` calls this)."""
        super().register(app, options)
        for path, methods, authorizer, handler in self._routes:
            app.route(path, methods=list(methods), authorizer=authorizer)(handler)


def serve(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """The app's HTTP middleware: the request is the routes' for the time they answer it, and
    Chalice's own errors (405, 415, ...), which come as ``{"Code","Message"}``, are reshaped.
    """
    token = _REQUEST.set(event)
    try:
        response = get_response(event)
    finally:
        _REQUEST.reset(token)
    body = response.body
    if isinstance(body, dict) and set(body) == {"Code", "Message"}:
        # Chalice's own words are English; its codes (``BadRequestError``, ...) are ours.
        code = str(body["Code"])
        words = _CHALICE_WORDS.get(code)
        message = said(words) if words else str(body["Message"])
        response.body = error_body(code, message)
    return response


# What Chalice itself answers before a route runs, in the catalogue's words.
# (chalice/app.py: ``error_response`` calls and ``ChaliceViewError`` subclasses' names.)
_CHALICE_WORDS = {
    "BadRequest": say("site.not_acceptable"),  # the Accept header asks for nothing it serves
    "BadRequestError": say("site.bad_request"),
    "MethodNotAllowedError": say("site.method_not_allowed"),
    "UnsupportedMediaType": say("site.unsupported_media_type"),
    "NotFoundError": say("site.no_such_route"),
    "ForbiddenError": say("site.forbidden"),
    "UnauthorizedError": say("site.unauthenticated"),
    "RequestTimeoutError": say("site.timeout"),
    "TooManyRequestsError": say("site.too_many_requests"),
    "InternalServerError": say("site.internal"),
    "ChaliceViewError": say("site.internal"),
}


def language() -> str:
    """The language to answer the caller in: what their ``Accept-Language`` asks for (the
    console sends the user's choice), else the catalogue's default.
    """
    request = current_request()
    headers: Mapping[str, str] = (request.headers if request is not None else None) or {}
    return language_of(headers.get("accept-language"))


def said(words: Words) -> str:
    """``words`` in the caller's language."""
    return words.render(language())


def current_request() -> Request | None:
    """The request being answered (None outside one)."""
    return _REQUEST.get()


def principal() -> Principal:
    """The caller, from the claims API Gateway's Cognito authorizer put on the request."""
    request = current_request()
    context = request.context if request is not None else {}
    claims = (context.get("authorizer") or {}).get("claims")
    if not isinstance(claims, dict):
        raise Unauthenticated(say("site.sign_in_first"))
    return Principal.from_claims(claims)


def owner(feature: Feature = Feature.MAILBOX) -> Owner:
    """The caller's mailbox, once their tenant's plan is known to include ``feature``."""
    caller = principal()
    tenant = container().directory.get_tenant(caller.tenant_id)
    if tenant is None:
        raise Forbidden(say("site.tenant_unknown"))
    tenant.require(feature)
    return Owner(caller.tenant_id, caller.user_id)


def admin(feature: Feature) -> Owner:
    """Like ``owner``, for the tenant's admins only."""
    if not principal().admin:
        raise Forbidden(say("site.admins_only"))
    return owner(feature)


@overload
def body() -> Any: ...
@overload
def body[T](model: type[T]) -> T: ...
def body(model: type[Any] | None = None) -> Any:
    """The request's JSON body (refused clearly when it is not JSON), checked against
    ``model`` (one of ``api_inputs``) when given: a clear 400 naming the field otherwise.
    """
    request = current_request()
    raw = request.raw_body if request is not None else b""
    data = None
    if raw:
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as e:
            raise ValidationFailed(say("site.body_not_json")) from e
    return data if model is None else api_validation.validate(model, data)


def query(name: str) -> str | None:
    """One query-string parameter."""
    request = current_request()
    params: Mapping[str, Any] = (request.query_params if request is not None else None) or {}
    value = params.get(name)
    return str(value) if value is not None else None
