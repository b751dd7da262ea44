"""A POP account that signs in with Microsoft (Outlook.com / Hotmail preset), end to end on
the local stack: the sign-in through the API and the (fake) identity provider, registering
the account with the connection, fetches over XOAUTH2 from Dovecot (which checks each token
with that provider), a held token reused between polls, an expired one refreshed, a revoked
sign-in pausing automatic fetching (not counted) and signing in again resuming it.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import requests

from mailport_local.stack import LocalStack
from tests.e2e.test_microsoft365 import assert_no_tokens, browser, consent
from tests.e2e.test_pop_accounts import mail, wait_run
from tests.support.api import login
from tests.support.dovecot import Dovecot
from tests.support.fake_idp import FakeIdentityProvider

pytestmark = [pytest.mark.stack, pytest.mark.dovecot]


def pop_sign_in(
    api: str,
    h: dict[str, str],
    idp: FakeIdentityProvider,
    email: str,
    provider: str = "microsoft",
) -> dict[str, Any]:
    """Sign in with ``provider`` for a POP account; the connection it made (or renewed)."""
    web = browser(idp)
    r = web.post(
        f"{api}/v1/oauth/{provider}/start",
        headers=h,
        json={"email": email, "purpose": "pop"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    started = r.json()
    assert (started["purpose"], started["provider"]) == ("pop", provider)
    if provider == "microsoft":
        # Only the POP scope is asked for (and what msal adds for a refresh token).
        assert "POP.AccessAsUser.All" in started["authorize_url"]
        assert "IMAP.AccessAsUser.All" not in started["authorize_url"]
    page = web.get(consent(web, started["authorize_url"]), timeout=30)
    assert page.status_code == 200, page.text
    listed = requests.get(f"{api}/v1/oauth/connections", headers=h, timeout=10).json()
    (connection,) = [c for c in listed["connections"] if c["id"] == started["connection_id"]]
    assert (connection["purpose"], connection["email"]) == ("pop", email)
    assert connection["provider"] == provider
    return dict(connection)


def fetch(api: str, h: dict[str, str], stack: LocalStack, account_id: str) -> dict[str, Any]:
    started = requests.post(f"{api}/v1/accounts/{account_id}/fetch", headers=h, timeout=10)
    assert started.status_code == 202, started.text
    return wait_run(stack, h, account_id, started.json()["id"])


def account_of(api: str, h: dict[str, str], account_id: str) -> dict[str, Any]:
    r = requests.get(f"{api}/v1/accounts/{account_id}", headers=h, timeout=10)
    assert r.status_code == 200, r.text
    return dict(r.json())


def wait_account(api: str, h: dict[str, str], account_id: str, done: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        account = account_of(api, h, account_id)
        if done(account):
            return account
        time.sleep(0.2)
    raise AssertionError(f"the account did not get there: {account}")


def test_an_outlook_account_signs_in_fetches_refreshes_pauses_and_resumes(
    local_stack: LocalStack, dovecot: Dovecot, fake_idp: FakeIdentityProvider
) -> None:
    api = local_stack.api_url
    h = login(local_stack, f"pop-signin-{uuid.uuid4().hex[:6]}@acme.example", "acme")
    email = f"me-{uuid.uuid4().hex[:8]}@outlook.example"
    dovecot.add_user(email, f"pw-{uuid.uuid4().hex}")  # Dovecot knows the user; logins: tokens
    dovecot.seed_maildir(email, "INBOX", [(mail(i), set(), 1_700_000_000.0) for i in range(3)])

    connection = pop_sign_in(api, h, fake_idp, email)
    # A migration can't use a POP account's sign-in (it holds no IMAP scope).
    wrong = requests.post(
        f"{api}/v1/migrations/preview",
        headers=h,
        json={"connection": {"type": "microsoft365", "connection_id": connection["id"]}},
        timeout=30,
    )
    assert wrong.status_code in (400, 404), wrong.text

    # Outlook.com takes no password from apps: said before any login is tried.
    password = requests.post(
        f"{api}/v1/accounts",
        headers=h,
        json={"preset": "outlook", "username": email, "password": "pw", "agreed": True},
        timeout=30,
    )
    assert password.status_code == 400, password.text
    assert password.json()["error"]["code"] == "password_not_accepted"
    form = {"preset": "outlook", "connection_id": connection["id"], "agreed": True}
    both = requests.post(
        f"{api}/v1/accounts", headers=h, json={**form, "password": "x"}, timeout=30
    )
    assert both.status_code == 400 and "not both" in both.json()["error"]["message"]
    account = registered_and_fetched(local_stack, dovecot, h, form, email)
    held_then_refreshed(local_stack, dovecot, fake_idp, h=h, email=email, account=account)
    revoked_pauses_and_signing_in_again_resumes(
        local_stack, dovecot, fake_idp, h=h, email=email, account=account, connection=connection
    )


def registered_and_fetched(
    local_stack: LocalStack,
    dovecot: Dovecot,
    h: dict[str, str],
    form: dict[str, Any],
    email: str,
) -> dict[str, Any]:
    """Register the account that signs in (``form``), then its first fetch of the mailbox's
    three messages; the account.
    """
    api = local_stack.api_url
    created = requests.post(f"{api}/v1/accounts", headers=h, json=form, timeout=30)
    assert created.status_code == 201, created.text
    account: dict[str, Any] = created.json()
    assert account["connection_id"] == form["connection_id"] and account["username"] == email
    # The token is for the provider's server only (the tests' Dovecot stands in for it): the
    # account fetches from it, not from a typed host.
    assert (account["host"], account["port"]) == (dovecot.host, dovecot.pop3s_port)
    twice = requests.post(f"{api}/v1/accounts", headers=h, json=form, timeout=30)
    # One account per sign-in: no double import.
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "signin_in_use"

    first = fetch(api, h, local_stack, account["id"])
    assert (first["status"], first["fetched"]) == ("succeeded", 3), first
    page = requests.get(f"{api}/v1/folders/inbox/messages", headers=h, timeout=10).json()
    assert sorted(m["subject"] for m in page["messages"]) == [f"order {i}" for i in range(3)]
    return account


def held_then_refreshed(
    local_stack: LocalStack,
    dovecot: Dovecot,
    fake_idp: FakeIdentityProvider,
    *,
    h: dict[str, str],
    email: str,
    account: dict[str, Any],
) -> None:
    """The next poll reuses the token the worker holds (no token request); a token the
    provider expired early is refreshed once by the worker on its own.
    """
    api = local_stack.api_url
    # Counted for this mailbox only: other tests' accounts may be polled meanwhile.
    refreshes = fake_idp.refreshes_for[email]
    assert fetch(api, h, local_stack, account["id"])["status"] == "succeeded"
    assert fake_idp.refreshes_for[email] == refreshes
    # Dovecot's introspection now says inactive: the server refuses the held token.
    fake_idp.expire_access_tokens()
    dovecot.seed_maildir(email, "INBOX", [(mail(7), set(), 1_700_000_100.0)])
    refreshed = fetch(api, h, local_stack, account["id"])
    assert (refreshed["status"], refreshed["fetched"]) == ("succeeded", 1), refreshed
    assert fake_idp.refreshes_for[email] == refreshes + 1


def revoked_pauses_and_signing_in_again_resumes(
    local_stack: LocalStack,
    dovecot: Dovecot,
    fake_idp: FakeIdentityProvider,
    *,
    h: dict[str, str],
    email: str,
    account: dict[str, Any],
    connection: dict[str, Any],
    provider: str = "microsoft",
) -> None:
    api = local_stack.api_url
    # Revoked (the user removed mailport's access): fetching pauses, is not counted as a
    # failure, and the user is told in their Inbox.
    fake_idp.revoke(email)
    fake_idp.expire_access_tokens()
    paused_run = fetch(api, h, local_stack, account["id"])
    assert (paused_run["error"] or {}).get("code") == "signin_required", paused_run
    paused = wait_account(api, h, account["id"], lambda a: a["status"]["paused_for"])
    assert paused["auto_fetch"] is False and paused["status"]["state"] == "off"
    assert paused["status"]["paused_for"] == "signin"
    assert paused["status"]["failures_in_a_row"] == 0
    assert "sign in again" in (paused["status"]["disabled_reason"] or "")
    inbox = requests.get(f"{api}/v1/folders/inbox/messages", headers=h, timeout=10).json()
    assert any("Sign in again" in m["subject"] for m in inbox["messages"])
    listed = requests.get(f"{api}/v1/oauth/connections", headers=h, timeout=10).json()
    assert [c["status"] for c in listed["connections"] if c["id"] == connection["id"]] == [
        "needs_signin"
    ]
    # Its sign-in can't be removed while an account fetches with it.
    busy = requests.delete(f"{api}/v1/oauth/connections/{connection['id']}", headers=h, timeout=10)
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "connection_in_use"

    # Signing in again resumes automatic fetching with a fresh count.
    again = pop_sign_in(api, h, fake_idp, email, provider)
    assert again["id"] == connection["id"] and again["status"] == "ready"
    resumed = account_of(api, h, account["id"])
    assert resumed["auto_fetch"] is True and resumed["status"]["paused_for"] is None
    dovecot.seed_maildir(email, "INBOX", [(mail(8), set(), 1_700_000_200.0)])
    after = fetch(api, h, local_stack, account["id"])
    assert (after["status"], after["fetched"]) == ("succeeded", 1), after

    # No token at rest or in an answer.
    assert_no_tokens(local_stack, fake_idp, "no-job", [account, resumed, after, listed])
