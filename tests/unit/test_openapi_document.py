"""openapi.json is generated from the routes and models (infra/openapi_document.py), and it
describes the same operations as the hand-written document it replaced
(tests/fixtures/openapi_before.json, frozen as it was), operation by operation.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from infra import openapi_document
from infra.api_definition import load_app

BEFORE = json.loads(
    (Path(__file__).parents[1] / "fixtures/openapi_before.json").read_text(encoding="utf-8")
)
SERVED = json.loads(openapi_document.DOCUMENT.read_text(encoding="utf-8"))

# Intended differences between the hand-written document and the generated one, as
# (METHOD path, JSON pointer inside the normalised operation). Otherwise the generated
# document says exactly what the hand-written one said.
_BODY = "/requestBody/content/application/json/schema/properties"
_UPLOAD_SIZE = "/requestBody/content/application/json/schema/properties/files/items/properties/size"
ALLOWED = {
    # A declared file size is bounded (2^53 - 1): 10^39 answered 500, as DynamoDB numbers
    # hold 38 digits; now 400 invalid_request, and the document says the bound.
    ("POST /v1/uploads", f"{_UPLOAD_SIZE}/maximum"),
    ("POST /v1/uploads", f"{_UPLOAD_SIZE}/description"),
    # Request bodies are validated with their models at the edge (issue #20), every string
    # bounded as the store can hold it: a folder id is a DynamoDB key (1024 bytes at most;
    # ours are short), and a file's name is kept cut to 255 characters, refused past 4096.
    ("POST /v1/folders", f"{_BODY}/parent_id/minLength"),
    ("POST /v1/folders", f"{_BODY}/parent_id/maxLength"),
    ("PATCH /v1/folders/{folder_id}", f"{_BODY}/parent_id/minLength"),
    ("PATCH /v1/folders/{folder_id}", f"{_BODY}/parent_id/maxLength"),
    ("PATCH /v1/messages/{message_id}", f"{_BODY}/folder_id/minLength"),
    ("PATCH /v1/messages/{message_id}", f"{_BODY}/folder_id/maxLength"),
    ("POST /v1/uploads", f"{_BODY}/folder_id/minLength"),
    ("POST /v1/uploads", f"{_BODY}/folder_id/maxLength"),
    ("POST /v1/uploads", f"{_BODY}/files/items/properties/name/maxLength"),
    ("POST /v1/uploads", f"{_BODY}/files/items/properties/name/description"),
}
# A POP account's body is validated with its model too: every field may be null (as absent,
# which the routes always accepted; an enum then lists null, as OpenAPI 3.0.3 asks), and its
# text is 1 to N characters without control characters, as the hand checks had it (a folder
# id at most 128).
_ACCOUNT_TEXT = ("host", "username", "password", "folder_id")
_ACCOUNT_FIELDS = (
    *("preset", "port", "ssl", "icon", "keep_original", "apply_rules", "auto_fetch", "agreed"),
    *_ACCOUNT_TEXT,
)
ALLOWED |= {
    (op, f"{_BODY}/{name}/{key}")
    for op in ("POST /v1/accounts", "PATCH /v1/accounts/{account_id}")
    for name, key in [
        *((name, "nullable") for name in _ACCOUNT_FIELDS),
        *((name, key) for name in _ACCOUNT_TEXT for key in ("minLength", "pattern")),
        ("folder_id", "maxLength"),
        ("preset", "enum"),
        ("icon", "enum"),
    ]
}

# A migration's connection too: its text one line (no CR, LF or NUL, as the hand checks had
# it; a tab is kept) and as long as the store and the protocols take it (host 253, username
# 320, password 1,024, a template's or sign-in's id 256), its port 1-65535.
_CONNECTION = f"{_BODY}/connection/properties"
_CONNECTION_BOUNDS = [
    *((name, key) for name in ("host", "username", "password") for key in ("maxLength", "pattern")),
    *((name, key) for name in ("template_id", "connection_id") for key in ("maxLength", "pattern")),
    ("port", "minimum"),
    ("port", "maximum"),
]
ALLOWED |= {
    (op, f"{_CONNECTION}/{name}/{key}")
    for op in ("POST /v1/migrations", "POST /v1/migrations/preview")
    for name, key in _CONNECTION_BOUNDS
}
# A dry run never needed the agreement (the console sends {connection} alone): its body is
# its own shape now, PreviewInput, which the hand-written document had wrong.
_PREVIEW_BODY = "/requestBody/content/application/json/schema"
ALLOWED |= {
    ("POST /v1/migrations/preview", f"{_PREVIEW_BODY}/properties/agreed"),
    ("POST /v1/migrations/preview", f"{_PREVIEW_BODY}/required"),
    ("POST /v1/migrations/preview", f"{_PREVIEW_BODY}/description"),
}
ADDED_SCHEMAS = ["PreviewInput", "MeChange"]

# Issue #25, providers' sign-in: POP accounts that sign in (a connection instead of a
# password, paused for a new sign-in), sign-ins for a purpose, presets saying how they sign in.
_ANSWER = "/responses/{code}/content/application/json/schema"
_ACCOUNT_ANSWERS = {
    "GET /v1/accounts": ("200", "/properties/accounts/items"),
    "GET /v1/accounts/{account_id}": ("200", ""),
    "GET /v1/admin/accounts": ("200", "/properties/accounts/items"),
    "PATCH /v1/accounts/{account_id}": ("200", ""),
    "POST /v1/accounts": ("201", ""),
    "POST /v1/admin/users/{user_id}/accounts/{account_id}/switch-off": ("200", ""),
}
for _op, (_code, _at) in _ACCOUNT_ANSWERS.items():
    _where = _ANSWER.format(code=_code) + _at
    ALLOWED |= {
        (_op, f"{_where}/properties/connection_id"),
        (_op, f"{_where}/required"),
        (_op, f"{_where}/properties/status/properties/paused_for"),
        (_op, f"{_where}/properties/status/required"),
    }
ALLOWED |= {
    ("POST /v1/accounts", f"{_BODY}/connection_id"),
    ("PATCH /v1/accounts/{account_id}", f"{_BODY}/connection_id"),
    (
        "GET /v1/oauth/connections",
        f"{_ANSWER.format(code='200')}/properties/connections/items/properties/purpose",
    ),
    (
        "GET /v1/oauth/connections",
        f"{_ANSWER.format(code='200')}/properties/connections/items/required",
    ),
    # The start body is validated at the edge (SigninStartInput): the address one line of at
    # most 320 characters, and the purpose (imap, the default, or pop); the answer names both.
    ("POST /v1/oauth/microsoft/start", f"{_BODY}/email/maxLength"),
    ("POST /v1/oauth/microsoft/start", f"{_BODY}/email/pattern"),
    ("POST /v1/oauth/microsoft/start", f"{_BODY}/purpose"),
    ("POST /v1/oauth/microsoft/start", f"{_ANSWER.format(code='200')}/properties/purpose"),
    ("POST /v1/oauth/microsoft/start", f"{_ANSWER.format(code='200')}/properties/connection_id"),
    ("POST /v1/oauth/microsoft/start", f"{_ANSWER.format(code='200')}/required"),
}
_PRESET = _ANSWER.format(code="200") + "/properties/presets/items"
ALLOWED |= {
    ("GET /v1/account-presets", f"{_PRESET}/properties/{name}")
    for name in ("signin", "oauth_provider", "oauth_available", "help_url")
} | {("GET /v1/account-presets", f"{_PRESET}/required")}

# Issue #25, Google sign-in: two operations of its own, "google" as a migration source and a
# sign-in's provider.
ADDED_OPERATIONS = {
    "POST /v1/oauth/google/start",
    "GET /v1/oauth/google/callback",
    "GET /v1/oauth/providers",
    # Issue #23: the user's language for notices.
    "PATCH /v1/me",
}
ALLOWED |= {
    ("POST /v1/oauth/microsoft/start", f"{_ANSWER.format(code='200')}/properties/provider"),
    ("GET /v1/oauth/connections", "/summary"),
    (
        "GET /v1/oauth/connections",
        f"{_ANSWER.format(code='200')}/properties/connections/items/properties/provider/enum",
    ),
    ("POST /v1/migrations", f"{_BODY}/connection/properties/type/enum"),
    ("POST /v1/migrations", f"{_BODY}/connection/description"),
    ("POST /v1/migrations/preview", f"{_BODY}/connection/properties/type/enum"),
    ("POST /v1/migrations/preview", f"{_BODY}/connection/description"),
}
_SOURCE_TYPE = "/properties/source/properties/type/enum"
_JOB_ANSWERS = {
    "GET /v1/admin/migrations": ("200", "/properties/migrations/items"),
    "GET /v1/migrations": ("200", "/properties/migrations/items"),
    "GET /v1/migrations/{job_id}": ("200", ""),
    "POST /v1/admin/users/{user_id}/migrations/{job_id}/cancel": ("202", ""),
    "POST /v1/migrations": ("201", ""),
    "POST /v1/migrations/preview": ("200", ""),
    "POST /v1/migrations/{job_id}/cancel": ("202", ""),
    "POST /v1/migrations/{job_id}/revert": ("202", ""),
}
ALLOWED |= {
    (_op, _ANSWER.format(code=_code) + _at + _SOURCE_TYPE)
    for _op, (_code, _at) in _JOB_ANSWERS.items()
}
# ... and the words that named only Microsoft 365 name Google too.
ALLOWED |= {
    (_op, _ANSWER.format(code=_code) + _at + "/properties/state/description")
    for _op, (_code, _at) in _JOB_ANSWERS.items()
    if _op != "POST /v1/migrations/preview"
} | {
    ("POST /v1/migrations", "/responses/409/description"),
    ("POST /v1/migrations/preview", "/responses/409/description"),
    ("POST /v1/oauth/microsoft/start", "/responses/409/description"),
}
# Issue #22: a paused job says whose pause it is (its pace, or the provider's "slow down").
ALLOWED |= {
    (_op, _ANSWER.format(code=_code) + _at + suffix)
    for _op, (_code, _at) in _JOB_ANSWERS.items()
    if _op != "POST /v1/migrations/preview"
    for suffix in ("/properties/paused_by", "/required")
}


def _resolve(doc: dict[str, Any], node: Any, depth: int = 0) -> Any:
    """``node`` with every ``$ref`` written in place, in one canonical form: titles dropped,
    ``required`` sorted, a parameter's ``required: false`` left out (the default).
    """
    assert depth < 50, "a $ref cycle"
    if isinstance(node, list):
        return [_resolve(doc, item, depth + 1) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target: Any = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return _resolve(doc, target, depth + 1)
    out = {k: _resolve(doc, v, depth + 1) for k, v in node.items() if k != "title"}
    if isinstance(out.get("required"), list):
        out["required"] = sorted(out["required"])
    if out.get("in") in {"query", "header"} and out.get("required") is False:
        del out["required"]
    return out


def _operations(doc: dict[str, Any]) -> dict[str, Any]:
    ops = {}
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            normal = _resolve(doc, op)
            normal["parameters"] = sorted(
                normal.get("parameters", []), key=lambda p: (p["in"], p["name"])
            )
            ops[f"{method.upper()} {path}"] = normal
    return ops


def _differences(old: Any, new: Any, at: str = "") -> list[str]:
    """JSON pointers where ``old`` and ``new`` differ (a list's order counts)."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [
            d
            for key in sorted(set(old) | set(new))
            for d in (
                [f"{at}/{key}"]
                if key not in old or key not in new
                else _differences(old[key], new[key], f"{at}/{key}")
            )
        ]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        pairs = enumerate(zip(old, new, strict=True))
        return [d for i, (a, b) in pairs for d in _differences(a, b, f"{at}/{i}")]
    return [] if old == new else [at]


OLD, NEW = _operations(BEFORE), _operations(SERVED)


def test_the_same_45_operations_and_the_added_ones() -> None:
    assert len(OLD) == 45
    assert set(NEW) == set(OLD) | ADDED_OPERATIONS
    kept = [op["operationId"] for name, op in NEW.items() if name not in ADDED_OPERATIONS]
    assert sorted(kept) == sorted(op["operationId"] for op in OLD.values())


@pytest.mark.parametrize("name", sorted(OLD))
def test_each_operation_says_what_it_said(name: str) -> None:
    """Statuses, descriptions, parameters, security, links, media types, request and answer
    schemas (references resolved), all equal but for the allowlisted differences.
    """
    differences = {(name, d) for d in _differences(OLD[name], NEW.get(name))}
    assert differences <= ALLOWED, sorted(differences - ALLOWED)


def test_the_document_around_the_operations_is_kept() -> None:
    for key in ("openapi", "info", "servers", "security"):
        assert SERVED[key] == BEFORE[key], key
    for key in ("securitySchemes", "responses"):
        assert SERVED["components"][key] == BEFORE["components"][key], key
    old, new = BEFORE["components"]["schemas"], SERVED["components"]["schemas"]
    assert [name for name in new if name not in ADDED_SCHEMAS] == list(old)
    # A changed shape differs as the operations that take it may (allowlisted above).
    schema = _BODY.removesuffix("/properties")
    # name: the operation that takes it, and where in its body (the connection is nested).
    taken = {
        "AccountInput": ("POST /v1/accounts", schema),
        "Connection": ("POST /v1/migrations", f"{_BODY}/connection"),
        "MigrationInput": ("POST /v1/migrations", schema),
        # Answers that changed with issue #25 (allowlisted above, where the operations use them).
        "Account": ("GET /v1/accounts/{account_id}", _ANSWER.format(code="200")),
        "AccountStatus": (
            "GET /v1/accounts/{account_id}",
            _ANSWER.format(code="200") + "/properties/status",
        ),
        "OrgAccount": (
            "GET /v1/admin/accounts",
            _ANSWER.format(code="200") + "/properties/accounts/items",
        ),
        "OAuthConnection": (
            "GET /v1/oauth/connections",
            _ANSWER.format(code="200") + "/properties/connections/items",
        ),
        # "google" as a migration's source type.
        "Source": (
            "GET /v1/migrations/{job_id}",
            _ANSWER.format(code="200") + "/properties/source",
        ),
        "Migration": ("GET /v1/migrations/{job_id}", _ANSWER.format(code="200")),
        "Me": ("GET /v1/me", _ANSWER.format(code="200")),  # issue #23: the language
        "MigrationPreview": ("POST /v1/migrations/preview", _ANSWER.format(code="200")),
        "OrgMigration": (
            "GET /v1/admin/migrations",
            _ANSWER.format(code="200") + "/properties/migrations/items",
        ),
    }
    for name, (op, at_body) in taken.items():
        changes = _differences(_resolve(BEFORE, old[name]), _resolve(SERVED, new[name]))
        assert {f"{at_body}{at}" for at in changes} <= {p for o, p in ALLOWED if o == op}, name
    assert {
        n: _resolve(SERVED, s) for n, s in new.items() if n not in taken and n not in ADDED_SCHEMAS
    } == {n: _resolve(BEFORE, s) for n, s in old.items() if n not in taken}


def test_the_committed_document_is_a_regeneration() -> None:
    fresh = openapi_document.render(openapi_document.document(load_app()))
    assert openapi_document.DOCUMENT.read_text(encoding="utf-8") == fresh, "run `make api`"


def test_the_check_fails_on_a_stale_document_and_write_mends_it(tmp_path: Path) -> None:
    stale = tmp_path / "openapi.json"
    stale.write_text(openapi_document.DOCUMENT.read_text(encoding="utf-8").replace("3.0.3", "3"))
    assert openapi_document.main(["--check", "--document", str(stale)]) == 1
    assert openapi_document.main(["--write", "--document", str(stale)]) == 0
    assert openapi_document.main(["--check", "--document", str(stale)]) == 0
    assert stale.read_text(encoding="utf-8") == openapi_document.DOCUMENT.read_text()


def test_the_comparison_notices_a_change() -> None:
    changed = json.loads(json.dumps(BEFORE))
    changed["components"]["schemas"]["Folder"]["properties"]["unread"]["type"] = "string"
    diffs = _differences(OLD["GET /v1/folders"], _operations(changed)["GET /v1/folders"])
    pointer = "/responses/200/content/application/json/schema/properties/folders/items"
    assert diffs == [f"{pointer}/properties/unread/type"]


def test_a_route_without_an_operation_or_the_reverse_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = load_app()  # which puts functions/api on the path
    api_operations = importlib.import_module("api_operations")
    table = dict(api_operations.OPERATIONS)
    health = table.pop("health")
    monkeypatch.setattr(api_operations, "OPERATIONS", table)
    with pytest.raises(ValueError, match="GET /v1/health: no operation for health"):
        openapi_document.document(app)
    monkeypatch.setattr(api_operations, "OPERATIONS", {**table, "health": health, "gone": health})
    with pytest.raises(ValueError, match=r"operations without a route: \['gone'\]"):
        openapi_document.document(app)


# Issue #22: the per-item report, retry and delta routes; a job says what kind it is, the job
# it follows, and whether a retry or a delta pass is offered.
ADDED_OPERATIONS |= {
    "GET /v1/migrations/{job_id}/report",
    "POST /v1/migrations/{job_id}/retry",
    "POST /v1/migrations/{job_id}/delta",
}
ADDED_SCHEMAS += ["FollowUpInput", "ReportLine", "MigrationReport"]
ALLOWED |= {
    (_op, _ANSWER.format(code=_code) + _at + f"/properties/{name}")
    for _op, (_code, _at) in _JOB_ANSWERS.items()
    if _op != "POST /v1/migrations/preview"
    for name in ("kind", "origin_id", "retry_available", "delta_until", "removed", "kept_folders")
}
# ... and each folder says how often the server renumbered it during the job.
ALLOWED |= {
    (_op, _ANSWER.format(code=_code) + _at + suffix)
    for _op, (_code, _at) in _JOB_ANSWERS.items()
    if _op != "POST /v1/migrations/preview"
    for suffix in (
        "/properties/folders/items/properties/renumbered",
        "/properties/folders/items/required",
    )
}
# ... and a preview of thousands of folders comes a page of 200 at a time.
ALLOWED |= {
    ("POST /v1/migrations/preview", _ANSWER.format(code="200") + suffix)
    for suffix in ("/properties/folders_total", "/properties/next_cursor", "/required")
} | {("POST /v1/migrations/preview", f"{_BODY}/cursor")}


# Issue #23: /v1/me says the user's language (what notices are written in; set by PATCH).
ALLOWED |= {
    ("GET /v1/me", f"{_ANSWER.format(code='200')}/properties/language"),
    ("GET /v1/me", f"{_ANSWER.format(code='200')}/required"),
}


# Issue #23, a mailbox you can use: search (q, since, before) in a folder's listing, and a
# search of all folders of its own.
ADDED_OPERATIONS |= {"GET /v1/messages"}
ALLOWED |= {
    ("GET /v1/folders/{folder_id}/messages", "/summary"),
    ("GET /v1/folders/{folder_id}/messages", "/description"),
    ("GET /v1/folders/{folder_id}/messages", "/parameters"),
}

# Issue #23, reading a message: its content decoded on the server, and one part at a time.
ADDED_OPERATIONS |= {
    "GET /v1/messages/{message_id}/content",
    "GET /v1/messages/{message_id}/parts/{part_id}",
}
ADDED_SCHEMAS += ["MessagePart", "MessageContent"]
# ... and a message listed or read links to its content.
ALLOWED |= {
    ("GET /v1/folders/{folder_id}/messages", "/responses/200/links/MessageContent"),
    ("GET /v1/messages/{message_id}", "/responses/200/links/MessageContent"),
}

# Issue #23, downloads too big for the API's answer: links straight to the store; the raw
# message now says when it answers 409.
ADDED_OPERATIONS |= {
    "GET /v1/messages/{message_id}/raw/link",
    "GET /v1/messages/{message_id}/parts/{part_id}/link",
}
ADDED_SCHEMAS += ["DownloadLink"]
ALLOWED |= {
    ("GET /v1/messages/{message_id}/raw", "/description"),
    ("GET /v1/messages/{message_id}/raw", "/responses/409"),
}
