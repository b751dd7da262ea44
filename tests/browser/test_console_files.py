"""The console's files: served by the API function, public, whitelisted, typed; the two
dictionaries agree and hold every key the code uses."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import requests

from mailport_local.stack import LocalStack
from mailport_local.template import REPO_ROOT

CONSOLE = REPO_ROOT / "functions" / "api" / "console"
LANGS = ("en", "ja")


def dictionary(lang: str) -> dict[str, str]:
    data = json.loads((CONSOLE / f"i18n-{lang}.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_both_dictionaries_have_the_same_keys_and_placeholders() -> None:
    en, ja = dictionary("en"), dictionary("ja")
    assert sorted(en) == sorted(ja)
    for key in en:
        assert en[key].strip() and ja[key].strip(), key
        assert set(re.findall(r"\{\w+\}", en[key])) == set(re.findall(r"\{\w+\}", ja[key])), key


def _code() -> str:
    files = [*CONSOLE.glob("*.js"), CONSOLE / "index.html"]
    return "\n".join(p.read_text(encoding="utf-8") for p in files)


def test_every_key_the_console_uses_is_in_the_dictionaries() -> None:
    en = dictionary("en")
    namespaces = {k.split(".")[0] for k in en}
    code = _code()
    used = set(re.findall(r'"([a-z]+\.[a-z0-9_]+)"', code))
    used |= set(re.findall(r'data-i18n(?:-aria-label)?="([a-z0-9_.]+)"', code))
    # Keys ending in "_" are prefixes completed at run time (rules.field_ + "from", ...).
    files = {"js", "css", "html", "json"}  # "app.js" is a file, not a key
    used = {
        k
        for k in used
        if k.split(".")[0] in namespaces and not k.endswith("_") and k.split(".")[1] not in files
    }
    assert used, "found no keys: the pattern no longer matches the code"
    assert sorted(used - set(en)) == []


@pytest.mark.parametrize(
    ("family", "values"),
    [
        ("folder", ["inbox", "sent", "drafts", "trash", "junk"]),
        ("source", ["upload", "pop", "imap", "notice"]),
        ("plan", ["basic", "advanced"]),
        ("run", ["running", "succeeded", "failed"]),
        ("trigger", ["manual", "schedule", "continuation"]),
        ("icon", ["none", "red", "orange", "yellow", "green", "blue", "purple", "gray"]),
        ("reject", ["binary", "utf16", "mbox", "empty", "no_headers", "too_large"]),
        (
            "state",
            [
                "queued",
                "running",
                "paused",
                "rolling_back",
                "rolled_back",
                "completed",
                "failed",
                "reverting",
                "reverted",
            ],
        ),
    ],
)
def test_keys_built_at_run_time_exist(family: str, values: list[str]) -> None:
    # The API's enums (openapi.json) name these; the console shows each in words.
    for lang in LANGS:
        missing = [v for v in values if f"{family}.{v}" not in dictionary(lang)]
        assert missing == [], (lang, family)


def test_the_run_time_enums_match_the_api_spec() -> None:
    spec = json.loads((REPO_ROOT / "functions/api/openapi.json").read_text())
    schemas = spec["components"]["schemas"]
    en = dictionary("en")
    states = schemas["Migration"]["properties"]["state"]["enum"]
    assert all(f"state.{s}" in en for s in states)
    sources = schemas["Message"]["properties"]["source"]["properties"]["type"]["enum"]
    assert all(f"source.{s}" in en for s in sources)
    # A nullable field's enum lists null too (OpenAPI 3.0.3): "leave it as it is", no label.
    icons = [i for i in schemas["AccountInput"]["properties"]["icon"]["enum"] if i is not None]
    assert len(icons) == 8 and all(f"icon.{i}" in en for i in icons)


@pytest.mark.stack
def test_console_is_served_public_typed_and_whitelisted(local_stack: LocalStack) -> None:
    api = local_stack.api_url
    root = requests.get(f"{api}/", allow_redirects=False, timeout=10)
    assert root.status_code == 302 and root.headers["Location"] == "console/index.html"
    wanted = {
        "index.html": "text/html; charset=utf-8",
        "app.js": "text/javascript; charset=utf-8",
        "signin.js": "text/javascript; charset=utf-8",
        "console.css": "text/css; charset=utf-8",
        "i18n-ja.json": "application/json; charset=utf-8",
    }
    for name, content_type in wanted.items():
        r = requests.get(f"{api}/console/{name}", timeout=10)
        assert r.status_code == 200, name
        assert r.headers["Content-Type"] == content_type
        assert r.content == (CONSOLE / name).read_bytes()
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert "default-src 'self'" in r.headers["Content-Security-Policy"]
        # The hosted sign-in's token endpoint (a Cognito domain) may be fetched.
        assert "https://*.amazoncognito.com" in r.headers["Content-Security-Policy"]
    for name in ("..%2Fmailport_api.py", "openapi.json", "mailport_api.py", "nothing.js", "%2e%2e"):
        r = requests.get(f"{api}/console/{name}", timeout=10)
        assert r.status_code == 404, name
        assert r.json()["error"]["code"] == "not_found"


def test_every_console_file_is_one_the_route_serves() -> None:
    import api_routes_site

    import mailport_api

    on_disk = {p.name for p in CONSOLE.iterdir() if p.is_file()}
    served = set(api_routes_site._CONSOLE_FILES)
    assert on_disk == served, "a file of a type the route doesn't serve"
    assert Path(api_routes_site.__file__).parent / "console" == CONSOLE
    assert Path(mailport_api.__file__).parent / "console" == CONSOLE
