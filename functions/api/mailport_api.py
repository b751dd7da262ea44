"""The mailport REST API: routes only. Each route parses its input, calls one use-case and
shapes the result; errors become HTTP statuses in ``mailport.http``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from chalice.app import Chalice, Response

from mailport import __version__
from mailport.domain.identity import Principal
from mailport.errors import MailportError, Unauthenticated
from mailport.http import error_body, status_for
from mailport.usecases.me import who_am_i
from mailport.wiring import container

logger = Logger()
tracer = Tracer()
app = Chalice(app_name="mailport")
app.log.disabled = True  # Powertools' Logger is the one log; Chalice's would duplicate lines.

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


def route(path: str, methods: list[str]) -> Callable[[View], View]:
    """``app.route`` with the error contract applied."""

    def register(view: View) -> View:
        app.route(path, methods=methods)(_errors_to_responses(view))
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


@route("/v1/health", methods=["GET"])
def health() -> Response:
    """Liveness: answers without touching any dependency."""
    return _json({"status": "ok", "version": __version__})


@route("/v1/openapi.json", methods=["GET"])
def openapi() -> Response:
    """The OpenAPI document of this API."""
    return _json(_OPENAPI)


@route("/v1/me", methods=["GET"])
def me() -> Response:
    """The signed-in user, their tenant, plan and features."""
    return _json(who_am_i(principal(), container().directory).to_json())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point (template.yaml ``Handler: mailport_api.handler``)."""
    result: dict[str, Any] = app(event, context)
    return result
