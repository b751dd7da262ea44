"""Domain exceptions. Adapters translate library errors into these (``raise ... from e``);
the API maps each class to one HTTP status in one place (``mailport.http``).
"""

from __future__ import annotations


class MailportError(Exception):
    """Base of every error the domain reports to a caller."""

    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationFailed(MailportError):
    """The request is malformed or a value is out of range."""

    code = "invalid_request"


class Unauthenticated(MailportError):
    """No valid identity came with the request."""

    code = "unauthenticated"


class Forbidden(MailportError):
    """The caller is known but may not do this."""

    code = "forbidden"


class PlanRequired(Forbidden):
    """The tenant's plan does not include the feature."""

    code = "plan_required"


class NotFound(MailportError):
    """The thing does not exist, or belongs to somebody else (never say which)."""

    code = "not_found"


class Conflict(MailportError):
    """The request collides with the current state (a limit, a duplicate, a race)."""

    code = "conflict"


class LimitExceeded(Conflict):
    """A per-user or per-tenant limit would be exceeded."""

    code = "limit_exceeded"


class TransientError(MailportError):
    """A dependency failed in a way that a retry may fix (throttling, timeouts, resets)."""

    code = "temporarily_unavailable"


class StorageError(MailportError):
    """A storage dependency failed in a way a retry will not fix."""

    code = "storage_error"
