"""Request bodies are checked at the API's edge by their models in ``api_inputs`` (issue
#20): every bound answers ``invalid_request`` with one sentence naming the field, the
use-cases get typed input, and a cold start imports no pydantic.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from infra.api_definition import API_DIR, load_app
from mailport.errors import ValidationFailed

load_app()  # which puts functions/api on the path
import api_http  # noqa: E402
import api_inputs  # noqa: E402
import api_validation  # noqa: E402

_FILE = {"name": "a.eml", "size": 1}
_UPLOAD = {"folder_id": "inbox", "files": [_FILE]}
_BAD_PORT = '"port" must be a number from 1 to 65535'
_CONTROL = '"{}" cannot contain control characters'
_TEMPLATE = {"name": "Corp", "host": "imap.corp.example"}
_CONN_PORT = '"connection.port" must be a number from 1 to 65535'
_ONE_LINE = '"connection.{}" must be one line (no line break or NUL)'
_AGREEMENT = "you must accept the agreement (agreed: true)"
_CONDITION = {"field": "subject", "op": "contains", "value": "a"}
_RULE = {
    "name": "News",
    "enabled": True,
    "match": "all",
    "conditions": [_CONDITION],
    "actions": [{"type": "flag"}],
    "stop_processing": False,
}
_NEWS = 'rule 2 ("News"): '


def _rules(**change: object) -> dict[str, Any]:
    """A PUT /v1/rules body whose second rule, "News", carries ``change``."""
    return {"rules": [{**_RULE, "name": "Work"}, {**_RULE, **change}]}


def _conn(**change: object) -> dict[str, Any]:
    base = {"type": "manual", "host": "imap.example.org", "username": "me", "password": "p"}
    return {"connection": {**base, **change}}


_ACCOUNT_NULLS = dict.fromkeys(api_inputs.AccountInput.__annotations__)

REFUSED = [
    # POST /v1/migrations and /v1/migrations/preview: the connection's types and bounds
    (api_inputs.PreviewInput, {}, '"connection" is required'),
    (api_inputs.PreviewInput, {"connection": "imap"}, '"connection" must be an object'),
    (api_inputs.PreviewInput, {"connection": {"host": "h"}}, '"connection.type" is required'),
    (
        api_inputs.PreviewInput,
        _conn(type="pop3"),
        '"connection.type" must be "manual", "template", "microsoft365" or "google"',
    ),
    (api_inputs.PreviewInput, _conn(port=0), _CONN_PORT),
    (api_inputs.PreviewInput, _conn(port=65536), _CONN_PORT),
    (api_inputs.PreviewInput, _conn(port=True), _CONN_PORT),
    (api_inputs.PreviewInput, _conn(port="993"), _CONN_PORT),
    (api_inputs.PreviewInput, _conn(ssl=None), '"connection.ssl" must be true or false'),
    (api_inputs.PreviewInput, _conn(ssl="yes"), '"connection.ssl" must be true or false'),
    (
        api_inputs.PreviewInput,
        _conn(host="h" * 254),
        '"connection.host" must be at most 253 characters',
    ),
    (
        api_inputs.PreviewInput,
        _conn(username="u" * 321),
        '"connection.username" must be at most 320 characters',
    ),
    (
        api_inputs.PreviewInput,
        _conn(password="p" * 1025),
        '"connection.password" must be at most 1024 characters',
    ),
    (api_inputs.PreviewInput, _conn(username="me\r\nX-Injected: 1"), _ONE_LINE.format("username")),
    (api_inputs.PreviewInput, _conn(username="me\n"), _ONE_LINE.format("username")),
    (api_inputs.PreviewInput, _conn(password="p\x00"), _ONE_LINE.format("password")),
    (api_inputs.PreviewInput, _conn(host="h\r"), _ONE_LINE.format("host")),
    (api_inputs.PreviewInput, _conn(password=None), '"connection.password" must be a string'),
    (
        api_inputs.PreviewInput,
        _conn(type="template", template_id="t" * 257),
        '"connection.template_id" must be at most 256 characters',
    ),
    (
        api_inputs.PreviewInput,
        {"connection": {"type": "microsoft365", "connection_id": 7}},
        '"connection.connection_id" must be a string',
    ),
    (api_inputs.MigrationInput, _conn(), _AGREEMENT),
    (api_inputs.MigrationInput, {**_conn(), "agreed": False}, _AGREEMENT),
    (api_inputs.MigrationInput, {**_conn(), "agreed": "yes"}, _AGREEMENT),
    # POST and PUT /v1/admin/imap-templates
    (api_inputs.ImapTemplateInput, {"host": "imap.corp.example"}, '"name" is required'),
    (api_inputs.ImapTemplateInput, {**_TEMPLATE, "name": ""}, '"name" must not be empty'),
    (api_inputs.ImapTemplateInput, {**_TEMPLATE, "name": " "}, '"name" must not be blank'),
    (
        api_inputs.ImapTemplateInput,
        {**_TEMPLATE, "name": "n" * 101},
        '"name" must be at most 100 characters',
    ),
    (api_inputs.ImapTemplateInput, {"name": "Corp"}, '"host" is required'),
    (
        api_inputs.ImapTemplateInput,
        {**_TEMPLATE, "host": "bad host"},
        '"host" must be a host name or an IP address',
    ),
    (
        api_inputs.ImapTemplateInput,
        {**_TEMPLATE, "host": ""},
        '"host" must be a host name or an IP address',
    ),
    (
        api_inputs.ImapTemplateInput,
        {**_TEMPLATE, "host": "h" * 254},
        '"host" must be at most 253 characters',
    ),
    (api_inputs.ImapTemplateInput, {**_TEMPLATE, "ssl": "yes"}, '"ssl" must be true or false'),
    (api_inputs.ImapTemplateInput, {**_TEMPLATE, "port": 70000}, _BAD_PORT),
    (api_inputs.ImapTemplateInput, {**_TEMPLATE, "port": 0}, _BAD_PORT),
    (api_inputs.ImapTemplateInput, {**_TEMPLATE, "port": True}, _BAD_PORT),
    (api_inputs.ImapTemplateInput, {**_TEMPLATE, "port": "993"}, _BAD_PORT),
    # POST /v1/uploads
    (api_inputs.UploadIn, {"files": [_FILE]}, '"folder_id" is required'),
    (api_inputs.UploadIn, {**_UPLOAD, "folder_id": 7}, '"folder_id" must be a string'),
    (api_inputs.UploadIn, {**_UPLOAD, "folder_id": ""}, '"folder_id" must not be empty'),
    (
        api_inputs.UploadIn,
        {**_UPLOAD, "folder_id": "f" * 257},
        '"folder_id" must be at most 256 characters',
    ),
    (
        api_inputs.UploadIn,
        {**_UPLOAD, "apply_rules": "yes"},
        '"apply_rules" must be true or false',
    ),
    (
        api_inputs.UploadIn,
        {**_UPLOAD, "files": []},
        "files must list at least one {name, size}",
    ),
    (
        api_inputs.UploadIn,
        {**_UPLOAD, "files": {"name": "a"}},
        "files must list at least one {name, size}",
    ),
    (
        api_inputs.UploadIn,
        {**_UPLOAD, "files": [_FILE] * 501},
        "at most 500 files per upload; split the rest into another",
    ),
    (api_inputs.UploadIn, {**_UPLOAD, "files": [_FILE, "b"]}, "file 2: send {name, size}"),
    (api_inputs.UploadIn, {**_UPLOAD, "files": [{"size": 1}]}, 'file 1: "name" is required'),
    (
        api_inputs.UploadIn,
        {**_UPLOAD, "files": [{"name": " \t", "size": 1}]},
        'file 1: "name" must not be blank',
    ),
    (
        api_inputs.UploadIn,
        {**_UPLOAD, "files": [_FILE, {"name": "x" * 4097, "size": 1}]},
        'file 2: "name" must be at most 4096 characters',
    ),
    # POST /v1/folders
    (api_inputs.FolderIn, {}, '"name" is required'),
    (api_inputs.FolderIn, {"name": 5}, '"name" must be a string'),
    (api_inputs.FolderIn, {"name": ""}, '"name" must not be empty'),
    (api_inputs.FolderIn, {"name": "   "}, '"name" must not be blank'),
    (api_inputs.FolderIn, {"name": "n" * 256}, '"name" must be at most 255 characters'),
    (api_inputs.FolderIn, {"name": "a", "parent_id": 5}, '"parent_id" must be a string'),
    (
        api_inputs.FolderIn,
        {"name": "a", "parent_id": "p" * 257},
        '"parent_id" must be at most 256 characters',
    ),
    # PATCH /v1/folders/{id}
    (api_inputs.FolderChange, {}, "send at least one of: name, parent_id"),
    (api_inputs.FolderChange, {"colour": "red"}, '"colour" is not a known field'),
    (api_inputs.FolderChange, {"name": "n" * 256}, '"name" must be at most 255 characters'),
    (api_inputs.FolderChange, {"parent_id": ""}, '"parent_id" must not be empty'),
    # PATCH /v1/messages/{id}
    (api_inputs.MessageChange, {}, "send at least one of: flags, folder_id"),
    (api_inputs.MessageChange, {"starred": True}, '"starred" is not a known field'),
    (api_inputs.MessageChange, {"flags": []}, '"flags" must be an object'),
    (api_inputs.MessageChange, {"flags": {"seen": 1}}, '"flags.seen" must be true or false'),
    (api_inputs.MessageChange, {"flags": {"read": True}}, '"flags.read" is not a known field'),
    (api_inputs.MessageChange, {"folder_id": 3}, '"folder_id" must be a string'),
    (
        api_inputs.MessageChange,
        {"folder_id": "f" * 257},
        '"folder_id" must be at most 256 characters',
    ),
    # POST /v1/accounts and PATCH /v1/accounts/{id} (the host's labels, the agreement and
    # the preset's server are the domain's: test_accounts_domain)
    *((api_inputs.AccountInput, {"port": port}, _BAD_PORT) for port in (0, 65536, "995", 995.0)),
    (api_inputs.AccountInput, {"port": True}, _BAD_PORT),
    (api_inputs.AccountInput, {"ssl": "yes"}, '"ssl" must be true or false'),
    (api_inputs.AccountInput, {"agreed": 1}, '"agreed" must be true or false'),
    (api_inputs.AccountInput, {"keep_original": "no"}, '"keep_original" must be true or false'),
    (api_inputs.AccountInput, {"username": 7}, '"username" must be a string'),
    (api_inputs.AccountInput, {"username": ""}, '"username" must not be empty'),
    (
        api_inputs.AccountInput,
        {"username": "x" * 321},
        '"username" must be at most 320 characters',
    ),
    (
        api_inputs.AccountInput,
        {"username": "a\r\nb"},
        '"username" cannot contain control characters',
    ),
    (
        api_inputs.AccountInput,
        {"password": "p" * 1025},
        '"password" must be at most 1024 characters',
    ),
    (
        api_inputs.AccountInput,
        {"password": "p\x00w"},
        '"password" cannot contain control characters',
    ),
    (api_inputs.AccountInput, {"host": "h" * 254}, '"host" must be at most 253 characters'),
    (api_inputs.AccountInput, {"folder_id": ""}, '"folder_id" must not be empty'),
    (api_inputs.AccountInput, {"icon": "red", "username": "a\x7f"}, _CONTROL.format("username")),
    (api_inputs.AccountInput, {"host": "a\x85b"}, '"host" cannot contain control characters'),
    (
        api_inputs.AccountInput,
        {"folder_id": "f\tx"},
        '"folder_id" cannot contain control characters',
    ),
    (
        api_inputs.AccountInput,
        {"folder_id": "f" * 129},
        '"folder_id" must be at most 128 characters',
    ),
    (
        api_inputs.AccountInput,
        {"preset": "aol"},
        '"preset" must be "line_works", "yahoo", "gmail", "outlook" or "manual"',
    ),
    (
        api_inputs.AccountInput,
        {"icon": "rainbow"},
        '"icon" must be "none", "red", "orange", "yellow", "green", "blue", "purple" or "gray"',
    ),
    (api_inputs.AccountInput, {"unknown": 1}, '"unknown" is not a known field'),
    # PUT /v1/rules (the rest, and what only the domain can say: test_rules)
    (
        api_inputs.RulesInput,
        {"rules": [_RULE] * 101},
        '"rules" may hold at most 100 items, not 101',
    ),
    (api_inputs.RulesInput, {"rules": [_RULE, 3]}, "rule 2 must be an object"),
    (api_inputs.RulesInput, _rules(name=" \t "), 'rule 2: "name" must not be empty'),
    (
        api_inputs.RulesInput,
        _rules(name="n" * 101),
        'rule 2 ("' + "n" * 40 + '…"): "name" must be at most 100 characters',
    ),
    (
        api_inputs.RulesInput,
        _rules(id="a/b"),
        _NEWS + '"id" may contain only letters, digits, "-" and "_" (1 to 64 characters)',
    ),
    (api_inputs.RulesInput, _rules(id=7), _NEWS + '"id" must be a string'),
    (
        api_inputs.RulesInput,
        _rules(conditions=[_CONDITION] * 21),
        _NEWS + '"conditions" may hold at most 20 items, not 21',
    ),
    (
        api_inputs.RulesInput,
        _rules(conditions=[_CONDITION, {**_CONDITION, "field": "body"}]),
        _NEWS
        + 'condition 2: "field" must be "from", "to", "cc", "subject", "has_attachment" or "size"',
    ),
    (
        api_inputs.RulesInput,
        _rules(actions=[{"type": "flag"}, {"type": "move_to_folder", "folder_id": "f" * 257}]),
        _NEWS + 'action 2: "folder_id" must be at most 256 characters',
    ),
    (api_inputs.RulesInput, _rules(actions=[]), _NEWS + '"actions" must hold at least 1 item(s)'),
    (
        api_inputs.RulesInput,
        _rules(stop_processing=None),
        _NEWS + '"stop_processing" must be true or false',
    ),
    # POST /v1/oauth/microsoft/start
    (api_inputs.SigninStartInput, {}, '"email" is required'),
    (api_inputs.SigninStartInput, {"email": 7}, '"email" must be a string'),
    (
        api_inputs.SigninStartInput,
        {"email": "a@b.example\r\nBcc: x"},
        '"email" must be one line (no line break or NUL)',
    ),
    (
        api_inputs.SigninStartInput,
        {"email": "a" * 311 + "@b.example"},
        '"email" must be at most 320 characters',
    ),
    (
        api_inputs.SigninStartInput,
        {"email": "a@b.example", "purpose": "smtp"},
        '"purpose" must be "imap" or "pop"',
    ),
    (
        api_inputs.SigninStartInput,
        {"email": "a@b.example", "purpose": None},
        '"purpose" must be "imap" or "pop"',
    ),
    # Any of them: not an object at all.
    (api_inputs.MessageChange, None, "send a JSON object"),
    (api_inputs.UploadIn, [_UPLOAD], "send a JSON object"),
    (api_inputs.RulesInput, [_RULE], "send a JSON object"),
]


@pytest.mark.parametrize(("model", "data", "message"), REFUSED)
def test_each_bound_is_refused_naming_the_field(model: Any, data: object, message: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        api_validation.validate(model, data)
    assert (refused.value.code, refused.value.message) == ("invalid_request", message)


@pytest.mark.parametrize(
    ("model", "data"),
    [
        (api_inputs.UploadIn, {**_UPLOAD, "files": [{"name": "x" * 4096, "size": 0}] * 500}),
        (api_inputs.UploadIn, {**_UPLOAD, "apply_rules": True, "unknown": 1}),
        (api_inputs.FolderIn, {"name": "n" * 255, "parent_id": None}),
        (api_inputs.FolderChange, {"parent_id": None}),
        (api_inputs.MessageChange, {"flags": {"seen": True}, "folder_id": "f" * 256}),
        (api_inputs.AccountInput, _ACCOUNT_NULLS),  # null is as absent: a change keeps it
        (api_inputs.ImapTemplateInput, {"name": " Corp ", "host": "[2001:DB8::1]", "port": 1}),
        # A tab is kept (the migration's login always took it); blank is the domain's to say.
        (api_inputs.PreviewInput, _conn(username="a\tb", password=" p ", host="", port=65535)),
        (api_inputs.PreviewInput, {"connection": {"type": "microsoft365", "connection_id": "m1"}}),
        (
            api_inputs.MigrationInput,
            {**_conn(host="h" * 253, username="u" * 320, password="p" * 1024), "agreed": True},
        ),
        (api_inputs.PreviewInput, {**_conn(), "unknown": 1}),  # as ever, an unknown key is dropped
        (api_inputs.ImapTemplateInput, {**_TEMPLATE, "host": "h" * 253, "ssl": False}),
        (
            api_inputs.AccountInput,
            {
                "preset": "manual",
                "host": "h" * 253,
                "port": 65535,
                "ssl": False,
                "username": " 名前 " + "x" * 316,
                "password": "p" * 1024,
                "folder_id": "f" * 128,
                "icon": "gray",
                "agreed": True,
            },
        ),
        (api_inputs.AccountInput, {"port": 1, "password": "p", "username": "u", "host": "h"}),
        (api_inputs.RulesInput, {"rules": []}),
        (api_inputs.RulesInput, {"rules": [{**_RULE, "id": "r_1-" + "x" * 60}] * 100}),
        # A condition's value is any JSON value at the edge: its type is the op's to say.
        (api_inputs.RulesInput, _rules(conditions=[{**_CONDITION, "value": v} for v in (1, [])])),
        (api_inputs.SigninStartInput, {"email": "a" * 310 + "@b.example", "purpose": "pop"}),
        (api_inputs.SigninStartInput, {"email": "a@b.example", "purpose": "imap"}),
        (api_inputs.SigninStartInput, {"email": ""}),  # the domain says what an address is
    ],
)
def test_what_is_within_the_bounds_is_taken(model: Any, data: dict[str, Any]) -> None:
    value = api_validation.validate(model, data)
    # Keys the model does not know are dropped where it does not forbid them.
    assert value == {k: v for k, v in data.items() if k != "unknown"}


def test_a_rule_is_taken_trimmed_and_null_as_absent() -> None:
    """As the domain always took them: a name counted and kept trimmed, an ``id`` or a
    ``folder_id`` of null as none (the document says only what GET /v1/rules answers).
    """
    sent = {
        **_RULE,
        "id": None,
        "name": "  " + "n" * 100 + " ",
        "actions": [{"type": "flag", "folder_id": None}],
    }
    taken = api_validation.validate(api_inputs.RulesInput, {"rules": [sent]})
    assert taken == {"rules": [{**_RULE, "name": "n" * 100, "actions": [{"type": "flag"}]}]}


def test_each_route_validates_the_body_its_operation_declares() -> None:
    """A view reads its body with ``body(Model)``, Model the one openapi.json documents."""
    operations = importlib.import_module("api_operations").OPERATIONS
    not_yet: set[str] = set()
    read: dict[str, set[str | None]] = {}
    for path in sorted(API_DIR.glob("api_routes_*.py")):
        for view in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(view, ast.FunctionDef):
                read[view.name] = {
                    call.args[0].id if call.args and isinstance(call.args[0], ast.Name) else None
                    for call in ast.walk(view)
                    if isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Name)
                    and call.func.id == "body"
                }
    declared = {name: op.body.__name__ for name, op in operations.items() if op.body is not None}
    assert declared["put_rules"] == "RulesInput"
    assert declared["start_microsoft_signin"] == "SigninStartInput"
    assert declared["start_google_signin"] == "SigninStartInput"
    for name, model in declared.items():
        allowed = {model, None} if name in not_yet else {model}
        assert read[name] and read[name] <= allowed, (name, read[name])


def test_no_control_is_unicodes_control_characters() -> None:
    """The POP account's pattern refuses what the hand check refused: category "Cc"."""
    control = {chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cc"}
    refused = {chr(c) for c in range(0x800) if not re.fullmatch(api_validation.NO_CONTROL, chr(c))}
    assert refused == control


def test_the_route_helper_parses_then_validates() -> None:
    def served(raw: bytes) -> Any:
        token = api_http._REQUEST.set(SimpleNamespace(raw_body=raw))  # type: ignore[arg-type]
        try:
            return api_http.body(api_inputs.FolderIn)
        finally:
            api_http._REQUEST.reset(token)

    assert served(json.dumps({"name": "Work"}).encode()) == {"name": "Work"}
    with pytest.raises(ValidationFailed, match="not valid JSON"):
        served(b"{nope")
    with pytest.raises(ValidationFailed, match="send a JSON object"):
        served(b"")


def test_a_cold_start_imports_no_pydantic() -> None:
    """The adapters, and pydantic, come with the first request that needs them."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": f"{API_DIR}{os.pathsep}{root / 'layers' / 'core'}"}
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    code = "import sys, mailport_api; print('pydantic' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
