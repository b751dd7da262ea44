"""GET /v1/auth/config: where the console's hosted sign-in is, from the settings."""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType, SimpleNamespace

import pytest

from mailport.settings import Settings
from mailport.signin import hosted_signin_config
from mailport_local.template import REPO_ROOT

ENV = {
    "TABLE_NAME": "t",
    "MAIL_BUCKET": "m",
    "UPLOAD_BUCKET": "u",
    "FETCH_QUEUE_URL": "q",
    "CREDENTIALS_KEY_ID": "k",
}
DOMAIN = "https://mailport-x.auth.eu-west-1.amazoncognito.com"
CONSOLE = "https://abc.execute-api.eu-west-1.amazonaws.com/v1api/console/index.html"
HOSTED = {
    **ENV,
    "AUTH_DOMAIN": DOMAIN + "/",
    "AUTH_CLIENT_ID": "client123",
    "AUTH_ISSUER": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc",
    "CONSOLE_URL": CONSOLE,
}


def test_settings_read_the_hosted_signin_once() -> None:
    s = Settings.from_env(HOSTED)
    assert (s.auth_domain, s.auth_client_id, s.console_url) == (DOMAIN, "client123", CONSOLE)
    assert s.hosted_signin
    assert not Settings.from_env(ENV).hosted_signin
    # The template always sets the domain and client; without ConsoleUrl there is none.
    assert not Settings.from_env({**HOSTED, "CONSOLE_URL": ""}).hosted_signin
    assert not Settings.from_env({**HOSTED, "AUTH_CLIENT_ID": ""}).hosted_signin


def test_config_names_the_hosted_ui_endpoints() -> None:
    assert hosted_signin_config(Settings.from_env(HOSTED)) == {
        "issuer": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc",
        "authorize_url": f"{DOMAIN}/oauth2/authorize",
        "token_url": f"{DOMAIN}/oauth2/token",
        "logout_url": f"{DOMAIN}/logout",
        "client_id": "client123",
        "scopes": ["openid", "email", "profile"],
        "redirect_uri": CONSOLE,
    }
    without_issuer = hosted_signin_config(Settings.from_env({**HOSTED, "AUTH_ISSUER": ""}))
    assert without_issuer is not None and "issuer" not in without_issuer
    assert hosted_signin_config(Settings.from_env(ENV)) is None


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    spec = importlib.util.spec_from_file_location(
        "auth_config_api", REPO_ROOT / "functions/api/mailport_api.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _get(
    api: ModuleType, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, object]:
    import api_routes_site  # the route's module: the container it reads
    from chalice.test import Client

    settings = Settings.from_env(env)
    monkeypatch.setattr(api_routes_site, "container", lambda: SimpleNamespace(settings=settings))
    with Client(api.app) as client:
        response = client.http.get("/v1/auth/config")
    return response.status_code, json.loads(response.body)


def test_route_answers_the_config(api: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    status, body = _get(api, HOSTED, monkeypatch)
    assert status == 200
    assert isinstance(body, dict) and body["client_id"] == "client123"
    assert body["authorize_url"] == f"{DOMAIN}/oauth2/authorize"


def test_route_says_not_configured_without_hosted_signin(
    api: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    status, body = _get(api, ENV, monkeypatch)
    assert status == 404
    assert isinstance(body, dict) and body["error"]["code"] == "not_configured"
