"""Presets that tell the truth: each provider says how it lets an app sign in (the domain),
and ``GET /v1/account-presets`` says so with whether this deployment can offer that sign-in.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import api_models_import as api_models
import api_routes_accounts
import api_views
import pytest
from pydantic import TypeAdapter

from mailport.domain.accounts import (
    MANUAL_SIGNIN,
    PRESETS,
    OAuthProvider,
    Preset,
    PresetServer,
    SignInMethod,
)

PASSWORD, APP_PASSWORD, OAUTH = SignInMethod


def test_each_preset_signs_in_as_its_provider_requires() -> None:
    table = {p: (s.signin, s.provider) for p, s in PRESETS.items()}
    assert table == {
        Preset.LINE_WORKS: ((PASSWORD,), None),
        Preset.YAHOO: ((APP_PASSWORD,), None),
        Preset.GMAIL: ((OAUTH, APP_PASSWORD), OAuthProvider.GOOGLE),
        Preset.OUTLOOK: ((OAUTH,), OAuthProvider.MICROSOFT),
    }
    assert MANUAL_SIGNIN == (PASSWORD,)
    # Where an app password or a sign-in is asked for, the provider's own page says how.
    for server in PRESETS.values():
        if server.signin != (PASSWORD,):
            assert server.help_url and server.help_url.startswith("https://"), server.preset
    assert PRESETS[Preset.YAHOO].help_url == "https://help.yahoo.com/kb/SLN15241.html"
    assert PRESETS[Preset.GMAIL].help_url == "https://support.google.com/accounts/answer/185833"
    assert "support.microsoft.com" in (PRESETS[Preset.OUTLOOK].help_url or "")


@pytest.mark.parametrize(
    ("signin", "provider"),
    [
        ((OAUTH,), None),  # whose sign-in?
        ((PASSWORD,), OAuthProvider.GOOGLE),  # a provider with nothing to sign in to
        ((), None),
        ((APP_PASSWORD, APP_PASSWORD), None),
    ],
)
def test_a_preset_that_contradicts_itself_is_refused(
    signin: tuple[SignInMethod, ...], provider: OAuthProvider | None
) -> None:
    with pytest.raises(ValueError, match=r"sign-in|provider"):
        PresetServer(Preset.YAHOO, "x", "pop.example.com", 995, True, signin, provider)


def _listed(ready: set[OAuthProvider]) -> dict[str, Any]:
    answer = api_views.presets(ready)
    # The answer is what openapi.json documents (every key, no other: EXACT).
    TypeAdapter(api_models.PresetList).validate_python(answer)
    return {p["id"]: p for p in answer["presets"]}


def test_the_answer_says_how_each_signs_in_and_where_to_read_more() -> None:
    listed = _listed(set())
    assert list(listed) == [*(p.value for p in PRESETS), "manual"]
    assert listed["yahoo"]["signin"] == ["app_password"]
    assert listed["yahoo"]["help_url"] == "https://help.yahoo.com/kb/SLN15241.html"
    assert listed["gmail"]["signin"] == ["oauth", "app_password"]
    assert listed["gmail"]["oauth_provider"] == "google"
    assert listed["outlook"]["signin"] == ["oauth"]
    assert listed["outlook"]["oauth_provider"] == "microsoft"
    assert listed["line_works"]["signin"] == ["password"]
    assert listed["line_works"]["oauth_provider"] is None
    manual = listed["manual"]
    assert (manual["signin"], manual["oauth_provider"], manual["help_url"]) == (
        ["password"],
        None,
        None,
    )
    assert not any(p["oauth_available"] for p in listed.values())


def test_a_sign_in_is_available_only_where_the_deployment_has_its_provider() -> None:
    microsoft = _listed({OAuthProvider.MICROSOFT})
    assert microsoft["outlook"]["oauth_available"] is True
    assert microsoft["gmail"]["oauth_available"] is False
    both = _listed({OAuthProvider.MICROSOFT, OAuthProvider.GOOGLE})
    assert both["gmail"]["oauth_available"] is True
    # A password preset has no sign-in to offer, whatever the deployment has.
    assert both["yahoo"]["oauth_available"] is False
    assert both["manual"]["oauth_available"] is False


@pytest.mark.parametrize(
    ("microsoft", "google"), [(True, True), (True, False), (False, True), (False, False)]
)
def test_the_route_offers_each_sign_in_where_the_stack_has_its_app(
    monkeypatch: pytest.MonkeyPatch, microsoft: bool, google: bool
) -> None:
    # The stack's secrets always exist; "configured" is whether a client id is filled in.
    ready = {"microsoft": microsoft, "google": google}
    oauth = SimpleNamespace(available=lambda: {p: ready[p.value] for p in OAuthProvider})
    monkeypatch.setattr(api_routes_accounts, "container", lambda: SimpleNamespace(oauth=oauth))
    monkeypatch.setattr(api_routes_accounts, "owner", lambda feature: None)
    response = api_routes_accounts.account_presets()
    body = response.body if isinstance(response.body, dict) else json.loads(response.body)
    listed = {p["id"]: p for p in body["presets"]}
    assert (listed["outlook"]["oauth_available"], listed["gmail"]["oauth_available"]) == (
        microsoft,
        google,
    )
    assert listed["gmail"]["oauth_provider"] == "google"
    assert listed["yahoo"]["oauth_available"] is False
