"""The one place where domain errors become HTTP statuses."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from mailport import errors
from mailport.domain.oauth import OAuthNotConfigured
from mailport.domain.remote import RemoteError

# Most specific class first: the first isinstance match wins.
_STATUS: tuple[tuple[type[errors.MailportError], int], ...] = (
    (errors.ValidationFailed, 400),
    (errors.Unauthenticated, 401),
    (errors.PlanRequired, 403),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.LimitExceeded, 409),
    (errors.Conflict, 409),
    (errors.TransientError, 503),
    (OAuthNotConfigured, 503),
    # The server the user named refused or could not be reached: their input, not our fault.
    (RemoteError, 422),
)


def status_for(error: errors.MailportError) -> int:
    """HTTP status for a domain error; anything unknown is a 500."""
    for cls, status in _STATUS:
        if isinstance(error, cls):
            return status
    return 500


def attachment(filename: str) -> str:
    """A Content-Disposition for ``filename``: an ASCII fallback, and RFC 5987's UTF-8 form."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    encoded = urllib.parse.quote(filename, safe="")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    """The JSON body of every error response: ``{"error": {"code", "message"}}``."""
    return {"error": {"code": code, "message": message}}


@dataclass(frozen=True, slots=True)
class GatewayAnswer:
    """What API Gateway answers itself for one of its response types."""

    status: int | None  # None: the status API Gateway chose (its DEFAULT_4XX / DEFAULT_5XX)
    code: str  # a code the console has a label for (its error.<code>)
    words: str  # the catalogue's entry


# API Gateway's own answers, given before the API function runs (no token, no such route,
# throttled), in the API's error shape with codes the console knows. A gateway response's
# template is not run through VTL (API Gateway developer guide, "x-amazon-apigateway-
# gateway-responses.responseTemplates object"), so it cannot choose a language: its words
# are English, and the console shows its own label for the code. The local stack's gateway
# gives the same statuses and codes, in the request's language.
GATEWAY_ANSWERS: dict[str, GatewayAnswer] = {
    "UNAUTHORIZED": GatewayAnswer(401, "unauthenticated", "site.unauthenticated"),
    "ACCESS_DENIED": GatewayAnswer(403, "forbidden", "site.forbidden"),
    # A REST API answers a path (or a method) it has no route for as a missing token (403).
    "MISSING_AUTHENTICATION_TOKEN": GatewayAnswer(404, "not_found", "site.no_such_route"),
    "THROTTLED": GatewayAnswer(429, "temporarily_unavailable", "site.too_many_requests"),
    "INTEGRATION_TIMEOUT": GatewayAnswer(504, "temporarily_unavailable", "site.timeout"),
    "DEFAULT_4XX": GatewayAnswer(None, "invalid_request", "site.bad_request"),
    "DEFAULT_5XX": GatewayAnswer(None, "internal_error", "site.internal"),
}
