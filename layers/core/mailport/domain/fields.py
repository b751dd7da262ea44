"""Checks of single fields of a hand-validated request body (IMAP connections and server
templates), written once, in the wording the migration's messages have always had
(``connection.host``). A POP account's body is checked at the API's edge (``api_inputs``).
"""

from __future__ import annotations

from collections.abc import Mapping

from mailport.errors import ValidationFailed

MAX_PORT = 65535
# What would end or cut a mail protocol's command line (a LOGIN with "\r\n" smuggles a command).
_LINE_BREAKS = "\r\n\x00"


def boolean(value: object, label: str) -> bool:
    """``value`` if it is true or false (not 0 or "yes")."""
    if not isinstance(value, bool):
        raise ValidationFailed(f"{label} must be true or false")
    return value


def port(value: object, problem: str) -> int:
    """``value`` if it is a TCP port number (1 to 65535; not a bool or a string)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PORT:
        raise ValidationFailed(problem)
    return value


def required_line(
    data: Mapping[str, object], name: str, limit: int, *, label: str, strip: bool = True
) -> str:
    """The field as one line of at most ``limit`` characters, not blank; trimmed unless
    ``strip`` is false (a password is used as typed).
    """
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(f"{label} is required")
    if len(value) > limit or any(ch in value for ch in _LINE_BREAKS):
        raise ValidationFailed(f"{label} is not valid")
    return value.strip() if strip else value
