"""Which login an account request may carry for its preset: a password where the provider
takes one, a sign-in where it signs in, never both, and changing one for the other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from mailport.domain.accounts import Preset, account_input, changed_account, new_account
from mailport.domain.accounts.account import AccountRequest
from mailport.errors import ValidationFailed

NOW = dt.datetime(2026, 12, 6, tzinfo=dt.UTC)


def make(**request: object) -> object:
    data = account_input(AccountRequest(agreed=True, **request))  # type: ignore[typeddict-item]
    return new_account(data, "a1", NOW, "inbox")


def test_outlook_takes_a_sign_in_not_a_password() -> None:
    with pytest.raises(ValidationFailed, match="takes no password from apps") as refused:
        make(preset="outlook", username="me@outlook.com", password="pw")
    assert refused.value.code == "password_not_accepted"
    account = make(preset="outlook", connection_id="m1")
    assert account.signs_in and account.connection_id == "m1"  # type: ignore[attr-defined]


def test_gmail_takes_a_sign_in_or_an_app_password() -> None:
    signed = make(preset="gmail", connection_id="m1")
    assert signed.signs_in and signed.connection_id == "m1"  # type: ignore[attr-defined]
    assert not make(preset="gmail", username="me", password="app-pw").signs_in  # type: ignore[attr-defined]


@pytest.mark.parametrize("preset", ["yahoo", "line_works", "manual"])
def test_a_sign_in_only_where_mailport_can_make_it(preset: str) -> None:
    extra = {"host": "pop.example.com"} if preset == "manual" else {}
    with pytest.raises(ValidationFailed) as refused:
        make(preset=preset, connection_id="m1", **extra)
    assert refused.value.code == "signin_not_offered"
    # ... and their passwords (app passwords for Gmail and Yahoo) are taken.
    assert not make(preset=preset, username="me", password="pw", **extra).signs_in  # type: ignore[attr-defined]


def test_never_both() -> None:
    with pytest.raises(ValidationFailed, match="not both"):
        make(preset="outlook", connection_id="m1", password="pw")


def test_a_password_replaces_a_sign_in_and_the_other_way_round() -> None:
    signed = make(preset="outlook", connection_id="m1")
    signed = replace(signed, username="me@outlook.com")  # type: ignore[type-var]
    # A password alone is refused for Outlook; for a manual server it replaces the sign-in.
    with pytest.raises(ValidationFailed, match="takes no password"):
        changed_account(signed, account_input({"password": "pw"}))  # type: ignore[arg-type]
    manual = changed_account(
        signed,  # type: ignore[arg-type]
        account_input({"preset": "manual", "host": "pop.example.com", "password": "pw"}),
    )
    assert manual.connection_id == "" and manual.preset is Preset.MANUAL
    back = changed_account(manual, account_input({"preset": "outlook", "connection_id": "m2"}))
    assert back.connection_id == "m2" and back.sealed_password == b""
    # Changing the server without a login again is refused (no token to a new host).
    with pytest.raises(ValidationFailed, match="sign in again"):
        changed_account(back, account_input({"preset": "manual", "host": "evil.example"}))
