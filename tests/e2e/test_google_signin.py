"""Google sign-in (Gmail, Google Workspace) end to end on the local stack: the API starts the
sign-in, the browser goes to the (fake) Google authorize endpoint and back to the API's
Google callback, and POP accounts and migrations log in to Dovecot (standing in for
pop.gmail.com and imap.gmail.com) with XOAUTH2 tokens that Dovecot checks with that fake.
"""

from __future__ import annotations

import urllib.parse
import uuid
from typing import Any

import pytest
import requests

from mailport_local.stack import LocalStack
from tests.e2e.test_microsoft365 import assert_copied, assert_no_tokens, browser, consent
from tests.e2e.test_migration import ended, seed, start, user_headers, wait_job
from tests.e2e.test_pop_accounts import mail
from tests.e2e.test_pop_signin import (
    held_then_refreshed,
    pop_sign_in,
    registered_and_fetched,
    revoked_pauses_and_signing_in_again_resumes,
)
from tests.support.api import login
from tests.support.dovecot import Dovecot
from tests.support.fake_idp import FakeIdentityProvider

pytestmark = [pytest.mark.stack, pytest.mark.dovecot]


def google_sign_in(
    api: str, h: dict[str, str], idp: FakeIdentityProvider, email: str
) -> dict[str, Any]:
    """Sign in with Google for a migration; the connection it made."""
    web = browser(idp)
    r = web.post(f"{api}/v1/oauth/google/start", headers=h, json={"email": email}, timeout=30)
    assert r.status_code == 200, r.text
    started = r.json()
    assert (started["provider"], started["purpose"]) == ("google", "imap")
    assert started["authorize_url"].startswith(idp.google_authorize_url + "?")
    asked = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(started["authorize_url"]).query))
    # The consent asks for mail (IMAP and POP are one scope at Google) and who signed in.
    assert sorted(asked["scope"].split()) == ["email", "https://mail.google.com/", "openid"]
    assert asked["code_challenge_method"] == "S256" and asked["access_type"] == "offline"
    assert asked["redirect_uri"].endswith("/v1/oauth/google/callback")
    page = web.get(consent(web, started["authorize_url"]), timeout=30)
    assert page.status_code == 200, page.text
    listed = requests.get(f"{api}/v1/oauth/connections", headers=h, timeout=10).json()
    (connection,) = [c for c in listed["connections"] if c["id"] == started["connection_id"]]
    assert (connection["provider"], connection["email"]) == ("google", email)
    return dict(connection)


def test_a_gmail_account_signs_in_with_google_fetches_pauses_and_resumes(
    local_stack: LocalStack, dovecot: Dovecot, fake_idp: FakeIdentityProvider
) -> None:
    api = local_stack.api_url
    h = login(local_stack, f"google-pop-{uuid.uuid4().hex[:6]}@acme.example", "acme")
    email = f"me-{uuid.uuid4().hex[:8]}@gmail.example"
    dovecot.add_user(email, f"pw-{uuid.uuid4().hex}")  # Dovecot knows the user; logins: tokens
    dovecot.seed_maildir(email, "INBOX", [(mail(i), set(), 1_700_000_000.0) for i in range(3)])

    presets = requests.get(f"{api}/v1/account-presets", headers=h, timeout=10).json()
    (gmail,) = [p for p in presets["presets"] if p["id"] == "gmail"]
    assert (gmail["signin"], gmail["oauth_provider"]) == (["oauth", "app_password"], "google")
    assert gmail["oauth_available"] is True

    asked = len(fake_idp.google_params_asked)
    connection = pop_sign_in(api, h, fake_idp, email, "google")
    # It went to Google's sign-in (the fake's Google side), as the mailbox to import.
    assert [p["login_hint"] for p in fake_idp.google_params_asked[asked:]] == [email]
    microsoft = pop_sign_in(api, h, fake_idp, email, "microsoft")
    # A sign-in is used only with its own provider's preset: a Microsoft token never goes to
    # Gmail's server, nor a Google one to Outlook's.
    for preset, cid, whose in (
        ("gmail", microsoft["id"], "Google"),
        ("outlook", connection["id"], "Microsoft"),
    ):
        wrong = requests.post(
            f"{api}/v1/accounts",
            headers=h,
            json={"preset": preset, "connection_id": cid, "agreed": True},
            timeout=30,
        )
        assert wrong.status_code == 400, wrong.text
        assert f"not one of your {whose} sign-ins" in wrong.json()["error"]["message"]
    form = {"preset": "gmail", "connection_id": connection["id"], "agreed": True}
    account = registered_and_fetched(local_stack, dovecot, h, form, email)
    # Google's refresh tokens don't rotate: a held token serves the next poll, and an
    # expired one is refreshed with the same refresh token.
    held_then_refreshed(local_stack, dovecot, fake_idp, h=h, email=email, account=account)

    revoked_pauses_and_signing_in_again_resumes(
        local_stack,
        dovecot,
        fake_idp,
        h=h,
        email=email,
        account=account,
        connection=connection,
        provider="google",
    )
    # An app password still works for Gmail where the account allows one (a second account
    # on another mailbox; Dovecot checks the password).
    other = f"app-{uuid.uuid4().hex[:8]}@gmail.example"
    dovecot.add_user(other, "app-password-1234")
    app = requests.post(
        f"{api}/v1/accounts",
        headers=h,
        json={
            "preset": "gmail",
            "host": dovecot.host,
            "port": dovecot.pop3s_port,
            "username": other,
            "password": "app-password-1234",
            "agreed": True,
        },
        timeout=30,
    )
    assert app.status_code == 201, app.text
    assert app.json()["connection_id"] is None


def test_migrate_from_gmail_with_a_google_sign_in(
    local_stack: LocalStack, dovecot: Dovecot, fake_idp: FakeIdentityProvider, short_tokens: None
) -> None:
    api, h = local_stack.api_url, user_headers(local_stack)
    email = f"gmail-{uuid.uuid4().hex[:8]}@gmail.example"
    _, _, seeded = seed(dovecot, user=email)
    offered = requests.get(f"{api}/v1/oauth/providers", headers=h, timeout=10).json()
    assert offered == {
        "providers": [{"id": "microsoft", "available": True}, {"id": "google", "available": True}]
    }
    connection = google_sign_in(api, h, fake_idp, email)
    source = {"type": "google", "connection_id": connection["id"]}
    # A Google sign-in is not a Microsoft 365 source, nor the other way round.
    wrong = requests.post(
        f"{api}/v1/migrations/preview",
        headers=h,
        json={"connection": {**source, "type": "microsoft365"}},
        timeout=30,
    )
    assert wrong.status_code == 400, wrong.text
    assert "one of your Microsoft 365 sign-ins" in wrong.json()["error"]["message"]
    preview = requests.post(
        f"{api}/v1/migrations/preview", headers=h, json={"connection": source}, timeout=30
    )
    assert preview.status_code == 200, preview.text
    assert preview.json()["total_messages"] == sum(len(v) for v in seeded.values())
    assert preview.json()["source"]["type"] == "google"

    refreshes = fake_idp.refreshes
    job = start(api, h, source)
    assert (job["source"]["type"], job["source"]["username"]) == ("google", email)
    done = wait_job(api, h, job["id"], ended, t=120)
    assert done["state"] == "completed", done
    # The tokens lived 60 s (short_tokens), under the five minutes a chunk may run: the
    # worker refreshed them itself, with the app's secret.
    assert fake_idp.refreshes > refreshes
    assert_copied(api, h, seeded)
    assert_no_tokens(local_stack, fake_idp, job["id"], [done, connection])
