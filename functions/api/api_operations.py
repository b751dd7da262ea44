"""What each route declares beyond its path and method: its OpenAPI operation.

Keyed by the view function's name: ``app.routes`` (the routes in ``mailport_api``) stays the
one source of paths, methods, path parameters and which routes are public;
``infra/openapi_document.py`` joins the two into openapi.json, and fails on a route without
an operation or an operation without a route. Here: health, the document, sign-in config,
the console, folders, messages, rules and uploads; the import routes are in
``api_operations_import``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from api_contract import ERRORS_4XX, SIGNED_IN, Answer, Operation, link
from api_inputs import (
    FolderChange,
    FolderIn,
    Limit200,
    MeChange,
    MessageChange,
    RulesInput,
    SearchDate,
    SearchText,
    UploadIn,
)
from api_models import (
    AuthConfig,
    Document,
    Error,
    Folder,
    FolderList,
    Health,
    Me,
    Message,
    MessagePage,
    MessageSearch,
    Rules,
    Upload,
)
from api_models_reading import DownloadLink, MessageContent
from api_operations_import import IMPORT_OPERATIONS
from pydantic import Field

from mailport.domain.reading import CHOICES

# ?charset= on GET .../content: one of the charsets a reader may choose.
_CharsetChoice = Annotated[str, Field(json_schema_extra={"enum": list(CHOICES)})]

_SEARCH = (
    "q: words, each found in the sender's name or address or in the subject; from:word and "
    'subject:word look in one of them, "two words" go together; case and full-width or '
    "half-width forms don't matter (NFKC, casefold). since and before: dates (YYYY-MM-DD, "
    "UTC) of the message's date, since included, before not. Only the index is read, a "
    "bounded part of it per request: a page may be short, even empty, with a next_cursor."
)
_SEARCH_QUERY: dict[str, object] = {"q": SearchText, "since": SearchDate, "before": SearchDate}

_MAILBOX: dict[str, Operation] = {
    "health": Operation("health", "Liveness", answers={200: Answer("Up", Health)}),
    "openapi": Operation(
        "openapi", "This document", answers={200: Answer("The OpenAPI document", Document)}
    ),
    "auth_config": Operation(
        "authConfig",
        "Where the web console signs in (the Cognito hosted UI, authorization code with PKCE)",
        answers={
            200: Answer("The hosted sign-in's endpoints and the public app client", AuthConfig),
            404: Answer(
                "No hosted sign-in here (not_configured): the local stack, or a stack deployed "
                "without ConsoleUrl",
                Error,
            ),
        },
    ),
    "console_root": Operation(
        "consoleRoot", "Redirect to the web console", answers={302: Answer("To console/index.html")}
    ),
    "console_file": Operation(
        "consoleFile",
        "A file of the web console (HTML, CSS, ES modules, dictionaries)",
        answers={
            200: Answer(
                "The file, with its type and charset=utf-8",
                {
                    "text/html": None,
                    "text/css": None,
                    "text/javascript": None,
                    "application/json": None,
                },
            ),
            404: Answer("Not one of the console's files", Error),
        },
    ),
    "me": Operation(
        "me",
        "The signed-in user, tenant, plan and features",
        answers={200: Answer("You", Me), **SIGNED_IN},
    ),
    "update_me": Operation(
        "updateMe",
        "Change your own settings: the language notices are written in",
        body=MeChange,
        answers={200: Answer("You, as changed", Me), **ERRORS_4XX},
    ),
    "list_folders": Operation(
        "listFolders",
        "Folders with total and unread counts",
        answers={
            200: Answer(
                "OK",
                FolderList,
                links={
                    "ListMessages": link(
                        "listMessages",
                        "The first folder's messages (the inbox).",
                        folder_id="$response.body#/folders/0/id",
                    ),
                    "UploadInto": link(
                        "createUpload",
                        "Upload .eml files into the first folder (the inbox).",
                        body={"folder_id": "$response.body#/folders/0/id"},
                    ),
                },
            ),
            **ERRORS_4XX,
        },
    ),
    "create_folder": Operation(
        "createFolder",
        "Create a folder",
        body=FolderIn,
        answers={
            201: Answer(
                "Created",
                Folder,
                links={
                    "ListMessages": link(
                        "listMessages", "The new folder's messages.", folder_id="$response.body#/id"
                    ),
                    "UpdateFolder": link(
                        "updateFolder",
                        "Rename or move the new folder.",
                        folder_id="$response.body#/id",
                    ),
                    "DeleteFolder": link(
                        "deleteFolder", "Delete the new folder.", folder_id="$response.body#/id"
                    ),
                    "UploadInto": link(
                        "createUpload",
                        "Upload .eml files into the new folder.",
                        body={"folder_id": "$response.body#/id"},
                    ),
                },
            ),
            409: "Conflict",
            **ERRORS_4XX,
        },
    ),
    "update_folder": Operation(
        "updateFolder",
        "Rename or move a folder",
        body=FolderChange,
        answers={
            200: Answer(
                "OK",
                Folder,
                links={
                    "ListMessages": link(
                        "listMessages", "The folder's messages.", folder_id="$response.body#/id"
                    ),
                    "DeleteFolder": link(
                        "deleteFolder", "Delete the folder.", folder_id="$response.body#/id"
                    ),
                },
            ),
            409: "Conflict",
            **ERRORS_4XX,
        },
    ),
    "delete_folder": Operation(
        "deleteFolder",
        "Delete an empty folder (non-empty: 409, nothing is lost)",
        answers={204: Answer("Deleted"), 409: "Conflict", **ERRORS_4XX},
    ),
    "list_messages": Operation(
        "listMessages",
        "A page of messages, newest first; with q, since or before, those that match",
        description=_SEARCH,
        query={"limit": Limit200, "cursor": str, **_SEARCH_QUERY},
        answers={
            200: Answer(
                "OK",
                MessagePage,
                links={
                    "GetMessage": link(
                        "getMessage",
                        "The first message listed.",
                        message_id="$response.body#/messages/0/id",
                    ),
                    "UpdateMessage": link(
                        "updateMessage",
                        "Flag or move the first message listed.",
                        message_id="$response.body#/messages/0/id",
                    ),
                    "RawMessage": link(
                        "rawMessage",
                        "The first message listed, as received.",
                        message_id="$response.body#/messages/0/id",
                    ),
                    "MessageContent": link(
                        "messageContent",
                        "The first message listed, to read.",
                        message_id="$response.body#/messages/0/id",
                    ),
                    "DeleteMessage": link(
                        "deleteMessage",
                        "Delete the first message listed.",
                        message_id="$response.body#/messages/0/id",
                    ),
                },
            ),
            **ERRORS_4XX,
        },
    ),
    "search_messages": Operation(
        "searchMessages",
        "Search all folders: folder after folder, each newest first",
        description=_SEARCH,
        query={"limit": Limit200, "cursor": str, **_SEARCH_QUERY},
        answers={
            200: Answer(
                "OK",
                MessageSearch,
                links={
                    "GetMessage": link(
                        "getMessage",
                        "The first message found.",
                        message_id="$response.body#/messages/0/id",
                    ),
                    "UpdateMessage": link(
                        "updateMessage",
                        "Flag or move the first message found.",
                        message_id="$response.body#/messages/0/id",
                    ),
                },
            ),
            **ERRORS_4XX,
        },
    ),
    "get_message": Operation(
        "getMessage",
        "One message",
        answers={
            200: Answer(
                "OK",
                Message,
                links={
                    "UpdateMessage": link(
                        "updateMessage",
                        "Flag or move the message.",
                        message_id="$response.body#/id",
                    ),
                    "RawMessage": link(
                        "rawMessage", "The message as received.", message_id="$response.body#/id"
                    ),
                    "MessageContent": link(
                        "messageContent", "The message to read.", message_id="$response.body#/id"
                    ),
                    "DeleteMessage": link(
                        "deleteMessage", "Delete the message.", message_id="$response.body#/id"
                    ),
                },
            ),
            **ERRORS_4XX,
        },
    ),
    "update_message": Operation(
        "updateMessage",
        "Change flags or move",
        body=MessageChange,
        answers={
            200: Answer(
                "OK",
                Message,
                links={
                    "GetMessage": link(
                        "getMessage", "The message as it is now.", message_id="$response.body#/id"
                    )
                },
            ),
            409: "Conflict",
            **ERRORS_4XX,
        },
    ),
    "delete_message": Operation(
        "deleteMessage", "Delete a message for good", answers={204: Answer("Deleted"), **ERRORS_4XX}
    ),
    "raw_message": Operation(
        "rawMessage",
        "The message byte for byte (send Accept: message/rfc822)",
        description="Messages over 4 MB: 409 limit_exceeded (rawMessageLink gives a link).",
        answers={
            200: Answer("The raw message", {"message/rfc822": bytes}),
            409: "Conflict",
            **ERRORS_4XX,
        },
    ),
    "message_content": Operation(
        "messageContent",
        "The message to read: headers, text, sanitised HTML, attachments",
        description=(
            "Decoded on the server from the raw message, which is never changed: each body in "
            "the charset its bytes are really in (the label when it fits, else detected; "
            "`charset` chooses one), HTML without scripts, forms or event handlers and with "
            "remote images and CSS url()s blocked unless `remote=allow`."
        ),
        query={"charset": _CharsetChoice, "remote": Literal["allow", "block"]},
        answers={
            200: Answer(
                "OK",
                MessageContent,
                links={
                    "MessagePart": link(
                        "messagePart",
                        "The first part listed.",
                        message_id="$request.path.message_id",
                        part_id="$response.body#/parts/0/id",
                    )
                },
            ),
            **ERRORS_4XX,
        },
    ),
    "message_part": Operation(
        "messagePart",
        "One part of the message (an attachment, an inline image), decoded, as a download",
        description=(
            "Always application/octet-stream with a Content-Disposition naming the file "
            "(RFC 6266 filename*); its own type is in the content answer's parts. Parts "
            "over 4 MB: 409 limit_exceeded (messagePartLink gives a link instead)."
        ),
        answers={
            200: Answer("The part's bytes", {"application/octet-stream": bytes}),
            409: "Conflict",
            **ERRORS_4XX,
        },
    ),
    "raw_message_link": Operation(
        "rawMessageLink",
        "A link that downloads the raw message straight from the store",
        description=(
            "For a message over 4 MB, which the API can't answer itself (409 from rawMessage): "
            "a presigned URL, good for 5 minutes, that answers the bytes as <id>.eml."
        ),
        answers={200: Answer("OK", DownloadLink), **ERRORS_4XX},
    ),
    "message_part_link": Operation(
        "messagePartLink",
        "A link that downloads one part, decoded, straight from the store",
        description=(
            "For a part over 4 MB (409 limit_exceeded from messagePart): the part is decoded "
            "into a copy the store keeps for a day, and a presigned URL, good for 5 minutes, "
            "answers it as application/octet-stream under its file name."
        ),
        answers={200: Answer("OK", DownloadLink), **ERRORS_4XX},
    ),
    "get_rules": Operation(
        "getRules", "Auto-sort rules, in order", answers={200: Answer("OK", Rules), **ERRORS_4XX}
    ),
    "put_rules": Operation(
        "putRules",
        "Replace the auto-sort rules",
        body=RulesInput,
        answers={
            200: Answer("OK", Rules, links={"GetRules": link("getRules", "The rules as saved.")}),
            **ERRORS_4XX,
        },
    ),
    "create_upload": Operation(
        "createUpload",
        "Start an upload: a presigned POST per file (files of 50 MB or more refused up front)",
        body=UploadIn,
        answers={
            201: Answer(
                "Created",
                Upload,
                links={
                    "GetUpload": link(
                        "getUpload", "Each file's state.", upload_id="$response.body#/id"
                    )
                },
            ),
            **ERRORS_4XX,
        },
    ),
    "get_upload": Operation(
        "getUpload",
        "Each file's state: pending, stored, duplicate or rejected (with why)",
        answers={200: Answer("OK", Upload), **ERRORS_4XX},
    ),
}

OPERATIONS = {**_MAILBOX, **IMPORT_OPERATIONS}
