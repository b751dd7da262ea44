"""The one place where domain errors become HTTP statuses."""

from __future__ import annotations

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


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    """The JSON body of every error response: ``{"error": {"code", "message"}}``."""
    return {"error": {"code": code, "message": message}}
