"""What the routes declare beyond their paths and methods (``Operation``), and what the
OpenAPI document says around the operations (component schemas, named error answers).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from api_inputs import (
    AccountInput,
    Connection,
    ImapTemplateInput,
    MigrationInput,
    PreviewInput,
    RulesInput,
)
from api_models import (
    Address,
    Error,
    Folder,
    ImapTemplate,
    Me,
    Message,
    Migration,
    MigrationCounts,
    MigrationPreview,
    OAuthConnection,
    OrgMigration,
    Pace,
    Rules,
    Source,
    Upload,
    UploadFile,
)
from api_models_import import (
    Account,
    AccountStatus,
    FetchRun,
    OrgAccount,
)
from api_models_reading import MessageContent, MessagePart

# The named error answers (components/responses), each the Error shape.
ERRORS = {
    "Unauthorized": "No valid token.",
    "Forbidden": "Not allowed.",
    "BadRequest": "The request is malformed; the message says what to fix.",
    "NotFound": "No such thing, or it is not yours.",
    "Conflict": "The request collides with the current state.",
}
SIGNED_IN: dict[int, Answer | str] = {401: "Unauthorized", 403: "Forbidden"}
ERRORS_4XX: dict[int, Answer | str] = {400: "BadRequest", **SIGNED_IN, 404: "NotFound"}


@dataclass(frozen=True)
class Answer:
    """One status's answer. ``content`` is a shape (sent as application/json) or each media
    type's shape (None: any body); ``links`` are OpenAPI links (``link``).
    """

    description: str
    content: object = None
    links: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    headers: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Operation:
    """One route's operation; an answer given as a name is one of ``ERRORS``."""

    id: str
    summary: str
    answers: Mapping[int, Answer | str]
    description: str | None = None
    body: object = None
    query: Mapping[str, object] = field(default_factory=dict)


def link(
    operation_id: str, description: str, *, body: Mapping[str, object] | None = None, **params: str
) -> dict[str, Any]:
    """An OpenAPI link: the operation it leads to, fed from this answer (``$response...``);
    the API fuzz test follows them (tests/e2e/test_api_fuzz.py, stateful).
    """
    out: dict[str, Any] = {"operationId": operation_id, "description": description}
    if params:
        out["parameters"] = params
    if body is not None:
        out["requestBody"] = dict(body)
    return out


# The document's component schemas, in its order (each other shape is written in place).
COMPONENTS: tuple[Any, ...] = (
    Error,
    Me,
    Folder,
    Address,
    Message,
    UploadFile,
    Upload,
    AccountInput,
    Account,
    FetchRun,
    Connection,
    MigrationInput,
    PreviewInput,
    ImapTemplate,
    MigrationCounts,
    Migration,
    MigrationPreview,
    ImapTemplateInput,
    OAuthConnection,
    RulesInput,
    Rules,
    AccountStatus,
    OrgAccount,
    Source,
    OrgMigration,
    Pace,
    MessagePart,
    MessageContent,
)
