# ruff: noqa: D101 (a shape's docstring is its description in openapi.json: most have none)
"""The API's answers: the shapes openapi.json documents (the POP import routes' are in
``api_models_import``, requests in ``api_inputs``).

Every shape is a TypedDict that pydantic renders (``infra/openapi_document.py``) and can
validate (``TypeAdapter``): cheap to import (no model is built until it is used), and exact:
an answer's object lists every key it always has and no others (``EXACT``). The shapes named
in ``api_contract.COMPONENTS`` are the document's component schemas; every other one is
written in place where it is used.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired, TypedDict

from pydantic import ConfigDict, Field, with_config

# Answers and most requests: a key added, dropped or renamed is a contract change.
EXACT = ConfigDict(extra="forbid")
# A change: any of the keys, but at least one.
AT_LEAST_ONE = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})
DateTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
# GET /v1/openapi.json: this document, described no further.
Document = Annotated[
    dict[str, Any],
    Field(
        description="This document.",
        json_schema_extra={"required": ["openapi", "info", "paths"]},
    ),
]


@with_config(EXACT)
class _ErrorBody(TypedDict):
    code: str
    message: str


@with_config(EXACT)
class Error(TypedDict):
    error: _ErrorBody


@with_config(EXACT)
class _MeUser(TypedDict):
    id: str
    email: str
    display_name: str


@with_config(EXACT)
class _MeTenant(TypedDict):
    id: str
    name: str


@with_config(EXACT)
class Me(TypedDict):
    user: _MeUser
    tenant: _MeTenant
    plan: Literal["basic", "advanced"]
    admin: bool
    features: list[Literal["eml_upload", "imap_migration", "mailbox", "pop_import"]]
    # The user's choice of language for notices (None until they make one; the console
    # sends its own at sign-in).
    language: Literal["en", "ja"] | None


@with_config(EXACT)
class Folder(TypedDict):
    id: str
    name: str
    parent_id: str | None
    system: Literal["inbox", "sent", "drafts", "trash", "junk"] | None
    total: int
    unread: int
    size: int


@with_config(EXACT)
class Address(TypedDict):
    name: str
    email: str


@with_config(EXACT)
class _MessageFlags(TypedDict):
    seen: bool
    flagged: bool
    answered: bool


@with_config(EXACT)
class _MessageSource(TypedDict):
    type: Literal["upload", "pop", "imap", "notice"]
    id: str


# A message's header fields, as the listing and the reading (``ContentHeaders``) both show
# them: functional syntax since "from" is a keyword.
ContentHeaders = TypedDict(
    "ContentHeaders",
    {
        "from": list[Address],
        "to": list[Address],
        "cc": list[Address],
        "date": Annotated[
            str | None,
            Field(
                description="The Date header, if it had a readable one.",
                json_schema_extra={"format": "date-time"},
            ),
        ],
        "subject": str,
    },
)
with_config(EXACT)(ContentHeaders)


@with_config(EXACT)
class Message(ContentHeaders):
    id: str
    folder_id: str
    received_at: DateTime
    size: int
    attachments: list[str]
    has_attachments: bool
    flags: _MessageFlags
    icon: str | None
    source: _MessageSource
    job_id: str | None
    message_id_header: str
    sha256: str


@with_config(EXACT)
class _PresignedPost(TypedDict):
    # Described where UploadFile uses it.
    url: str
    fields: dict[str, str]


@with_config(EXACT)
class UploadFile(TypedDict):
    index: int
    name: str
    size: int
    status: Literal["pending", "stored", "duplicate", "rejected"]
    reason: str | None
    message: str | None
    message_id: str | None
    upload: NotRequired[
        Annotated[
            _PresignedPost | None,
            Field(
                description=(
                    "Only in the answer to POST /v1/uploads. Presigned POST: send fields then the"
                    " file as 'file' to url; null when the file was refused up front."
                )
            ),
        ]
    ]


@with_config(EXACT)
class _UploadCounts(TypedDict):
    pending: int
    stored: int
    duplicate: int
    rejected: int


@with_config(EXACT)
class Upload(TypedDict):
    id: str
    folder_id: str
    apply_rules: bool
    created_at: DateTime
    done: bool
    counts: _UploadCounts
    files: list[UploadFile]


@with_config(EXACT)
class ImapTemplate(TypedDict):
    id: str
    name: str
    host: str
    port: int
    ssl: bool


@with_config(EXACT)
class MigrationCounts(TypedDict):
    imported: int
    already_present: int
    skipped_oversize: int
    failed: int


@with_config(EXACT)
class _MigrationProgress(TypedDict):
    percent: int
    messages: int
    total_messages: int
    bytes: int
    total_bytes: int
    eta_seconds: int | None


@with_config(EXACT)
class _FolderProgress(TypedDict):
    messages: int
    bytes: int


@with_config(EXACT)
class _MigrationFolder(TypedDict):
    name: str
    target: str
    target_id: str | None
    skipped: str | None
    messages: int
    bytes: int
    oversize: int
    done: bool
    progress: _FolderProgress
    counts: MigrationCounts
    renumbered: Annotated[
        int,
        Field(
            description=(
                "Times the server renumbered the folder during the job (UIDVALIDITY changed): "
                "it was copied again, what was there already recognised by content, so "
                "nothing is duplicated"
            )
        ),
    ]


@with_config(EXACT)
class _MigrationError(TypedDict):
    code: str
    message: str


@with_config(EXACT)
class Migration(TypedDict):
    id: str
    state: Annotated[
        Literal[
            "queued",
            "running",
            "paused",
            "rolling_back",
            "rolled_back",
            "completed",
            "failed",
            "reverting",
            "reverted",
            "needs_signin",
        ],
        Field(
            description=(
                "needs_signin: the Microsoft 365 or Google sign-in stopped working; the job "
                "keeps what it copied and is queued again when the user signs in again."
            )
        ),
    ]
    source: Source
    created_at: DateTime
    started_at: DateTime | None
    finished_at: DateTime | None
    paused_until: DateTime | None
    paused_by: Annotated[
        Literal["pacing", "provider"] | None,
        Field(
            description=(
                "Why a paused job waits until paused_until: pacing (the provider's documented "
                "limits, e.g. Gmail's daily download) or provider (the provider answered "
                '"slow down": throttled, too many connections, unavailable). Either way it '
                "resumes on its own; a pause is never a failure."
            )
        ),
    ]
    queue_position: Annotated[
        int | None,
        Field(
            description=(
                "1-based place in the queue while queued; exact up to 100 jobs ahead, 101 means "
                "more than 100 ahead."
            )
        ),
    ]
    progress: _MigrationProgress
    counts: MigrationCounts
    folders: list[_MigrationFolder]
    pace: Literal["gmail", "microsoft365", "generic"]
    cancel_requested: bool
    error: _MigrationError | None
    rollback_incomplete: bool
    kind: Annotated[
        Literal["full", "retry", "delta"],
        Field(
            description=(
                "full: the whole mailbox; retry: only what origin_id's report lists as worth "
                "trying again; delta: only what arrived since origin_id's snapshot."
            )
        ),
    ]
    origin_id: Annotated[str | None, Field(description="The job a retry or delta pass follows")]
    removed: Annotated[
        int, Field(description="Messages a rollback or revert took out of the mailbox again")
    ]
    kept_folders: Annotated[
        int,
        Field(
            description=(
                "Rolled back or reverted: folders the job made that were kept, because the user "
                "has put mail or folders into them since (mail is never lost)"
            )
        ),
    ]
    retry_available: Annotated[
        bool, Field(description="POST .../retry would queue a retry of what failed")
    ]
    delta_until: Annotated[
        DateTime | None,
        Field(description="Until when POST .../delta brings in mail that arrived since"),
    ]


@with_config(EXACT)
class ReportLine(TypedDict):
    folder: Annotated[str, Field(description="The source folder, as the source names it")]
    uid: int
    reason: Annotated[
        Literal["too_large", "unreadable", "vanished", "refused", "folder_gone"],
        Field(
            description=(
                "too_large: at or over the size limit (limit), left on the server; unreadable: "
                "not a mail message mailport can read; vanished: deleted on the server "
                "between the listing and the fetch; refused: the server would not hand it over; "
                "folder_gone: the folder was deleted on the server during the job (one line for "
                "its messages not yet copied: messages says how many, uid is 0)."
            )
        ),
    ]
    reason_text: Annotated[str, Field(description="The reason in the caller's language")]
    messages: Annotated[int, Field(description="Messages the line stands for (1 but folder_gone)")]
    size: int
    limit: int | None
    subject: str
    sender: str
    date: DateTime | None
    retryable: bool


@with_config(EXACT)
class MigrationReport(TypedDict):
    job_id: str
    counts: MigrationCounts
    not_imported: Annotated[
        int,
        Field(description="Messages the whole report stands for (skipped_oversize + failed)"),
    ]
    items: list[ReportLine]
    next_cursor: str | None


@with_config(EXACT)
class _PreviewFolder(TypedDict):
    name: str
    target: str
    skipped: str | None
    messages: int
    bytes: int
    oversize: int


@with_config(EXACT)
class MigrationPreview(TypedDict):
    source: Source
    folders: list[_PreviewFolder]
    total_messages: int
    total_bytes: int
    oversize: int
    estimated_seconds: int
    pace: Pace
    folders_total: Annotated[int, Field(description="The source's folders (every page)")]
    next_cursor: Annotated[
        str | None,
        Field(
            description=(
                "More folders: send it as the body's cursor for the next page (200 folders a "
                "page). Totals and the estimate are the page's: add them up."
            )
        ),
    ]


@with_config(EXACT)
class OAuthConnection(TypedDict):
    id: str
    provider: Literal["microsoft", "google"]
    purpose: Annotated[
        Literal["imap", "pop"],
        Field(description="imap: for a migration; pop: for a POP account (its own scope)"),
    ]
    email: str
    status: Literal["ready", "needs_signin"]
    created_at: DateTime
    updated_at: DateTime


@with_config(EXACT)
class _Condition(TypedDict):
    field: Literal["from", "to", "cc", "subject", "has_attachment", "size"]
    op: Literal["contains", "equals", "domain_is", "is", "greater_than", "less_than"]
    value: str | int | bool


@with_config(EXACT)
class _MoveAction(TypedDict):
    type: Literal["move_to_folder"]
    folder_id: str


@with_config(EXACT)
class _OtherAction(TypedDict):
    type: Literal["mark_read", "flag", "move_to_trash"]


@with_config(EXACT)
class _Rule(TypedDict):
    id: str
    name: str
    enabled: bool
    match: Literal["all", "any"]
    conditions: list[_Condition]
    actions: list[_MoveAction | _OtherAction]
    stop_processing: bool


@with_config(EXACT)
class Rules(TypedDict):
    rules: Annotated[list[_Rule], Field(max_length=100)]


@with_config(EXACT)
class Source(TypedDict):
    """The mailbox a migration copies from (never its password)."""

    type: Literal["manual", "template", "microsoft365", "google"]
    host: str
    port: int
    ssl: bool
    username: str
    template_id: str | None
    connection_id: str | None


@with_config(
    ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": "A migration as the organisation's admins see it: a Migration and "
            "its user (folders is empty in lists)."
        },
    )
)
class OrgMigration(Migration):
    user_id: str


@with_config(EXACT)
class Pace(TypedDict):
    profile: Literal["gmail", "microsoft365", "generic"]
    daily_bytes: int | None
    max_connections: int


@with_config(EXACT)
class Health(TypedDict):
    status: str
    version: str


@with_config(EXACT)
class AuthConfig(TypedDict):
    issuer: NotRequired[Annotated[str, Field(description="The user pool's issuer")]]
    authorize_url: str
    token_url: str
    logout_url: str
    client_id: str
    scopes: list[str]
    redirect_uri: Annotated[
        str, Field(description="The console's address: the client's only callback and logout URL")
    ]


@with_config(EXACT)
class FolderList(TypedDict):
    folders: list[Folder]


@with_config(EXACT)
class MessagePage(TypedDict):
    folder: Folder
    messages: list[Message]
    next_cursor: str | None


@with_config(EXACT)
class MessageSearch(TypedDict):
    messages: list[Message]
    next_cursor: Annotated[
        str | None,
        Field(
            description="The next page's cursor (null: no more). A page may hold fewer "
            "matches than asked, even none, and still have a cursor: each request reads a "
            "bounded part of the mailbox"
        ),
    ]


@with_config(EXACT)
class ImapTemplateList(TypedDict):
    templates: list[ImapTemplate]


@with_config(EXACT)
class MigrationList(TypedDict):
    migrations: list[Migration]


@with_config(EXACT)
class SigninStarted(TypedDict):
    authorize_url: str
    expires_in: int
    email: str
    purpose: Literal["imap", "pop"]
    provider: Literal["microsoft", "google"]
    connection_id: Annotated[
        str, Field(description="The connection the sign-in makes or renews, once finished")
    ]


@with_config(EXACT)
class OAuthConnectionList(TypedDict):
    connections: list[OAuthConnection]


@with_config(EXACT)
class SigninProvider(TypedDict):
    id: Literal["microsoft", "google"]
    available: Annotated[
        bool,
        Field(
            description="Whether this service has the provider's app registration (else its "
            "sign-ins are hidden and /start answers 503 oauth_not_configured)"
        ),
    ]


@with_config(EXACT)
class SigninProviderList(TypedDict):
    providers: list[SigninProvider]


@with_config(EXACT)
class OrgMigrationPage(TypedDict):
    migrations: list[OrgMigration]
    next_cursor: str | None
