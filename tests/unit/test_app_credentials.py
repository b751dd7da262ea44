"""SecretsManagerAppCredentials: the app registration read from a secret, named after its
provider in messages, kept for 15 minutes, and still importable from the msal adapter.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mailport.adapters.app_credentials import SecretsManagerAppCredentials
from mailport.domain.oauth import OAuthNotConfigured
from mailport.errors import StorageError


class FakeSecrets:
    def __init__(self, *values: str | Exception) -> None:
        self.values = list(values)
        self.reads = 0

    def get_secret_value(self, SecretId: str) -> dict[str, Any]:  # noqa: N803 (boto3's name)
        self.reads += 1
        value = self.values.pop(0) if len(self.values) > 1 else self.values[0]
        if isinstance(value, Exception):
            raise value
        return {"SecretString": value}


def _app(secrets: FakeSecrets, now: list[float], label: str = "Google") -> Any:
    return SecretsManagerAppCredentials(
        "arn:secret", client=lambda: secrets, label=label, clock=lambda: now[0]
    )


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ('{"client_id": "", "client_secret": ""}', "Google sign-in is not set up"),
        ('{"client_id": "id"}', "the Google app secret must hold client_id"),
        ("not json", "the Google app secret must hold client_id"),
    ],
)
def test_an_unfilled_or_malformed_secret_is_not_configured(raw: str, words: str) -> None:
    with pytest.raises(OAuthNotConfigured, match=words) as info:
        _app(FakeSecrets(raw), [0.0])()
    assert "Microsoft" not in info.value.message


def test_the_default_label_is_microsoft_365() -> None:
    secrets = FakeSecrets('{"client_id": "", "client_secret": ""}')
    app = SecretsManagerAppCredentials("arn:secret", client=lambda: secrets)
    with pytest.raises(OAuthNotConfigured, match="Microsoft 365 sign-in"):
        app()


def test_a_read_is_kept_15_minutes_and_an_empty_one_never() -> None:
    filled = json.dumps({"client_id": "id", "client_secret": "s1"})
    rotated = json.dumps({"client_id": "id", "client_secret": "s2"})
    secrets = FakeSecrets('{"client_id": "", "client_secret": ""}', filled, rotated)
    now = [0.0]
    app = _app(secrets, now)
    with pytest.raises(OAuthNotConfigured):
        app()
    assert app() == ("id", "s1")  # filled in: used at once
    now[0] = 899.0
    assert app() == ("id", "s1") and secrets.reads == 2
    now[0] = 901.0
    assert app() == ("id", "s2") and secrets.reads == 3


def test_an_unreadable_secret_names_the_provider_not_the_secret() -> None:
    denied = ClientError({"Error": {"Code": "AccessDeniedException"}}, "GetSecretValue")
    with pytest.raises(StorageError, match="reading the Google app registration") as info:
        _app(FakeSecrets(denied), [0.0])()
    # The secret's id (an ARN naming the account and stack) is not in the user's words.
    assert "arn:" not in info.value.message.lower()
