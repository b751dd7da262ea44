# ruff: noqa: D101 (a shape's docstring is its description in openapi.json: most have none)
"""The API's request bodies, in one place (answers are in ``api_models``).

TypedDicts, like the answers: a request may leave a key out (``NotRequired``,
``total=False``), which a ``BaseModel`` could only say as "may be null". They describe what
the routes accept today; pydantic can validate with them (``TypeAdapter``) at the edge.
"""

from __future__ import annotations

from typing import Annotated, Literal, NotRequired, TypedDict

from api_models import AT_LEAST_ONE, EXACT
from api_validation import HOST_NAME, NO_CONTROL, ONE_LINE, RULE_ID
from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    with_config,
)

from mailport.domain.accounts import (
    MAX_FOLDER_ID,
    MAX_HOST,
    MAX_PASSWORD,
    MAX_PORT,
    MAX_USERNAME,
    Icon,
    PresetName,
)
from mailport.domain.rules import (
    MAX_ACTIONS,
    MAX_CONDITIONS,
    MAX_NAME_LENGTH,
    MAX_RULES,
    ActionType,
    FieldName,
    MatchMode,
    Operator,
)
from mailport.usecases.uploads import MAX_DECLARED_SIZE, MAX_FILES, MAX_NAME

# A file's name as sent: kept cut to MAX_NAME, refused beyond this (a path, say, is fine).
MAX_SENT_NAME = 4096

# A folder's id as the store keys it (ours are short; DynamoDB keys hold 1024 bytes).
FolderId = Annotated[str, Field(min_length=1, max_length=256)]
# Query parameters: a page's size.
Limit200 = Annotated[int, Field(ge=1, le=200)]
Limit50 = Annotated[int, Field(ge=1, le=50)]
# A search's words (mailport.domain.search: MAX_QUERY_CHARS) and its dates.
SearchText = Annotated[
    str,
    Field(
        max_length=200,
        description="Words, each in the sender or the subject; from:word, subject:word, "
        '"two words" (case and width folded: NFKC, casefold)',
    ),
]
SearchDate = Annotated[
    str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="A date, YYYY-MM-DD (UTC)")
]


# A POP account's text: one to N characters, no control characters.
_HostIn = Annotated[str, Field(min_length=1, max_length=MAX_HOST, pattern=NO_CONTROL)]
_UserIn = Annotated[str, Field(min_length=1, max_length=MAX_USERNAME, pattern=NO_CONTROL)]
_PasswordIn = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_PASSWORD,
        pattern=NO_CONTROL,
        json_schema_extra={"writeOnly": True},
    ),
]
_FolderIdIn = Annotated[str, Field(min_length=1, max_length=MAX_FOLDER_ID, pattern=NO_CONTROL)]

# A migration's connection text: one line (a tab is kept, as the IMAP login always took it);
# whether the type needs it, and that it is not blank, the domain checks.
MAX_KEY = 256  # an id the store keys (a template's, a sign-in's)
MAX_EMAIL = 320  # a mailbox address: 64 before the "@", 255 after
_HostLine = Annotated[str, Field(max_length=MAX_HOST, pattern=ONE_LINE)]
_UserLine = Annotated[str, Field(max_length=MAX_USERNAME, pattern=ONE_LINE)]
_KeyLine = Annotated[str, Field(max_length=MAX_KEY, pattern=ONE_LINE)]


# Every field may be null, which says the same as leaving it out (a change keeps it).
@with_config(EXACT)
class AccountInput(TypedDict, total=False):
    preset: PresetName | None
    host: _HostIn | None
    port: Annotated[int, Field(ge=1, le=MAX_PORT)] | None
    ssl: bool | None
    username: _UserIn | None
    password: _PasswordIn | None
    folder_id: _FolderIdIn | None
    icon: Icon | None
    keep_original: bool | None
    apply_rules: bool | None
    auto_fetch: bool | None
    agreed: bool | None
    # Fetch with this sign-in (``purpose: pop`` of POST /v1/oauth/{microsoft,google}/start) instead
    # of a password: the server and user name are then the provider's and the mailbox's.
    connection_id: _KeyLine | None


@with_config(
    ConfigDict(
        json_schema_extra={
            "description": "manual: host, port (993 SSL / 143 STARTTLS), ssl, username, "
            "password; template: template_id, username, password; microsoft365 and google: "
            "connection_id (from GET /v1/oauth/connections, after a sign-in through "
            "POST /v1/oauth/microsoft/start or POST /v1/oauth/google/start)."
        }
    )
)
class Connection(TypedDict):
    type: Literal["manual", "template", "microsoft365", "google"]
    host: NotRequired[_HostLine]
    port: NotRequired[Annotated[int, Field(ge=1, le=MAX_PORT)]]
    ssl: NotRequired[bool]
    username: NotRequired[_UserLine]
    password: NotRequired[
        Annotated[
            str,
            Field(max_length=MAX_PASSWORD, pattern=ONE_LINE, json_schema_extra={"writeOnly": True}),
        ]
    ]
    template_id: NotRequired[_KeyLine]
    connection_id: NotRequired[_KeyLine]


@with_config(EXACT)
class MeChange(TypedDict):
    """The user's own settings: the language notices and answers are written in."""

    language: Literal["en", "ja"]


class MigrationInput(TypedDict):
    connection: Connection
    agreed: Literal[True]


class FollowUpInput(TypedDict):
    """A retry or delta pass: the agreement, and the source's password if it has one."""

    agreed: Literal[True]
    password: NotRequired[_PasswordIn]


class PreviewInput(TypedDict):
    """A dry run needs no agreement: nothing is copied."""

    connection: Connection
    cursor: NotRequired[
        Annotated[
            str,
            Field(
                max_length=16,
                description="next_cursor of the page before: the folders after those",
            ),
        ]
    ]


class ImapTemplateInput(TypedDict):
    name: Annotated[str, Field(max_length=100, min_length=1, pattern="\\S")]
    host: Annotated[
        str,
        Field(
            max_length=253,
            pattern=HOST_NAME,
            description="A host name or an IP address.",
        ),
    ]
    port: NotRequired[
        Annotated[
            int,
            Field(
                description="Default 993 (SSL) or 143 (STARTTLS). A template may name any port.",
                ge=1,
                le=65535,
            ),
        ]
    ]
    ssl: NotRequired[Annotated[bool, Field(json_schema_extra={"default": True})]]


# An auto-sort rule, bounded as ``domain.rules`` says (MAX_*). A condition's value is any JSON
# value here: the type its op takes is the domain's to check, in words that name the op.
@with_config(EXACT)
class _ConditionIn(TypedDict):
    field: FieldName
    op: Operator
    value: Annotated[
        object,
        WithJsonSchema({"oneOf": [{"type": "string"}, {"type": "integer"}, {"type": "boolean"}]}),
        Field(description="A string, a number or true/false, as the field and op need."),
    ]


def _null_as_absent(key: str) -> BeforeValidator:
    """A ``key: null`` read as the key left out, as the rules have always taken it (the
    document says only what GET /v1/rules answers: a string or nothing).
    """

    def drop(item: object) -> object:
        if isinstance(item, dict) and key in item and item[key] is None:
            return {k: v for k, v in item.items() if k != key}
        return item

    return BeforeValidator(drop)


@with_config(EXACT)
class _ActionIn(TypedDict):
    type: ActionType
    folder_id: NotRequired[
        Annotated[FolderId, Field(description="move_to_folder only: an existing folder.")]
    ]


@with_config(EXACT)
class _RuleIn(TypedDict):
    id: NotRequired[
        Annotated[str, Field(pattern=RULE_ID, description="Kept when given; a new rule gets one.")]
    ]
    # Counted and kept trimmed, so blank is empty ("\\S" says as much in the document).
    name: Annotated[
        str,
        StringConstraints(strip_whitespace=True),
        Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern="\\S"),
    ]
    enabled: bool
    match: MatchMode
    conditions: Annotated[list[_ConditionIn], Field(min_length=1, max_length=MAX_CONDITIONS)]
    actions: Annotated[
        list[Annotated[_ActionIn, _null_as_absent("folder_id")]],
        Field(min_length=1, max_length=MAX_ACTIONS),
    ]
    stop_processing: bool


@with_config(EXACT)
class RulesInput(TypedDict):
    """The rules, in order: the whole list replaces the saved one."""

    rules: Annotated[list[Annotated[_RuleIn, _null_as_absent("id")]], Field(max_length=MAX_RULES)]


class FolderIn(TypedDict):
    name: Annotated[str, Field(max_length=255, min_length=1, pattern="\\S")]
    parent_id: NotRequired[FolderId | None]


@with_config(AT_LEAST_ONE)
class FolderChange(TypedDict, total=False):
    name: Annotated[str, Field(min_length=1, max_length=255, pattern="\\S")]
    parent_id: FolderId | None


@with_config(EXACT)
class _FlagsIn(TypedDict, total=False):
    seen: bool
    flagged: bool
    answered: bool


@with_config(AT_LEAST_ONE)
class MessageChange(TypedDict, total=False):
    flags: _FlagsIn
    folder_id: FolderId


class _UploadFileIn(TypedDict):
    name: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_SENT_NAME,
            pattern="\\S",
            description=f"Shown back cut to {MAX_NAME} characters.",
        ),
    ]
    size: Annotated[
        int,
        Field(
            ge=0,
            le=MAX_DECLARED_SIZE,
            description=f"Bytes, at most {MAX_DECLARED_SIZE} (2^53 - 1, the largest integer "
            "every JSON client reads exactly): a larger size answers 400 invalid_request.",
        ),
    ]


class UploadIn(TypedDict):
    folder_id: FolderId
    apply_rules: NotRequired[bool]
    files: Annotated[list[_UploadFileIn], Field(min_length=1, max_length=MAX_FILES)]


class SigninStartInput(TypedDict):
    email: Annotated[
        str, Field(max_length=MAX_EMAIL, pattern=ONE_LINE, json_schema_extra={"format": "email"})
    ]
    purpose: NotRequired[
        Annotated[
            Literal["imap", "pop"],
            Field(
                description="What the sign-in is for: a migration (imap) or a POP account (pop).",
                json_schema_extra={"default": "imap"},
            ),
        ]
    ]
