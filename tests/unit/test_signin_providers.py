"""``GET /v1/oauth/providers``: which sign-ins the service offers, from each provider's app
registration, in the shape openapi.json documents.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import api_models
import api_routes_oauth
import pytest
from pydantic import TypeAdapter

from mailport.domain.oauth import OAuthProvider


@pytest.mark.parametrize(("microsoft", "google"), [(True, False), (False, True), (True, True)])
def test_each_provider_is_available_where_the_stack_has_its_app(
    monkeypatch: pytest.MonkeyPatch, microsoft: bool, google: bool
) -> None:
    ready = {"microsoft": microsoft, "google": google}
    asked: list[str] = []

    def configured(provider: object) -> bool:
        asked.append(str(provider))
        return ready[str(provider)]

    oauth = SimpleNamespace(available=lambda: {p: configured(p) for p in OAuthProvider})
    monkeypatch.setattr(api_routes_oauth, "container", lambda: SimpleNamespace(oauth=oauth))
    monkeypatch.setattr(api_routes_oauth, "owner", lambda feature: None)
    response = api_routes_oauth.oauth_providers()
    body = response.body if isinstance(response.body, dict) else json.loads(response.body)
    TypeAdapter(api_models.SigninProviderList).validate_python(body, strict=True)
    assert {p["id"]: p["available"] for p in body["providers"]} == ready
    assert sorted(asked) == ["google", "microsoft"]
