"""Domain exceptions. Adapters translate library errors into these (``raise ... from e``);
the API maps each class to one HTTP status in one place (``mailport.http``).

Each carries its words for a person as ``Words`` (``mailport.catalogue.say``): a code and
parameters, said in the reader's language where it is shown. ``message`` is the English, for
logs and callers without a language.
"""

from __future__ import annotations

import json

from mailport.catalogue import Words, words_of


class MailportError(Exception):
    """Base of every error the domain reports to a caller."""

    code = "internal_error"

    def __init__(self, message: Words | str) -> None:
        self.words: Words | None = message if isinstance(message, Words) else None
        self.message = str(message)
        super().__init__(self.message)

    def text(self, language: str) -> str:
        """The words for a person reading ``language`` (a plain ``str`` message as it is)."""
        return self.words.render(language) if self.words is not None else self.message


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


def carried(error: MailportError) -> str:
    """``error``'s text for a boundary that keeps only a string (a Lambda's ``errorMessage``,
    which Step Functions hands on as the ``Cause``): its English and, when it has them, its
    words, so the job can show them in the user's language. ``uncarried`` reads it back.
    """
    if error.words is None:
        return error.message
    return json.dumps(
        {"message": error.message, "words": error.words.as_dict()}, ensure_ascii=False
    )


def uncarried(text: str) -> tuple[str, Words | None]:
    """The English and the words of ``carried``'s text (a plain text: no words)."""
    try:
        data = json.loads(text)
    except ValueError:
        return text, None
    if not isinstance(data, dict) or not isinstance(data.get("message"), str):
        return text, None
    return data["message"], words_of(data.get("words"))
