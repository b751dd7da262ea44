"""Microsoft 365 migration end to end: the API starts a sign-in, the browser goes to the
(fake) identity provider and back to the API's callback with the binding cookie, and the
migration logs in to Dovecot with XOAUTH2 tokens that Dovecot checks with that provider.
Tokens live 60 s here, under msal's 5-minute margin, so every step refreshes one.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import boto3
import pytest
import requests

from mailport_local.gateway import user_id_for
from mailport_local.stack import LocalStack
from tests.e2e.test_migration import (
    TARGETS,
    ended,
    messages,
    seed,
    snapshot,
    start,
    user_headers,
    wait_job,
)
from tests.integration.test_reliability_isolation import _twin as twin
from tests.support.api import login
from tests.support.dovecot import Dovecot
from tests.support.fake_idp import FakeIdentityProvider

pytestmark = [pytest.mark.stack, pytest.mark.dovecot]


def browser(idp: FakeIdentityProvider) -> requests.Session:
    """A browser: keeps cookies, trusts the identity provider's CA."""
    http = requests.Session()
    http.trust_env = False
    http.verify = idp.ca_file
    return http


def begin(api: str, h: dict[str, str], web: requests.Session, email: str) -> str:
    r = web.post(f"{api}/v1/oauth/microsoft/start", headers=h, json={"email": email}, timeout=30)
    assert r.status_code == 200, r.text
    assert "HttpOnly" in r.headers["Set-Cookie"] and "SameSite=Lax" in r.headers["Set-Cookie"]
    return str(r.json()["authorize_url"])


def consent(web: requests.Session, authorize_url: str) -> str:
    """Sign in and consent at the provider; the callback URL it sends the browser to."""
    r = web.get(authorize_url, allow_redirects=False, timeout=10)
    assert r.status_code == 302, r.text
    return str(r.headers["Location"])


def sign_in(api: str, h: dict[str, str], idp: FakeIdentityProvider, email: str) -> dict[str, Any]:
    web = browser(idp)
    callback = consent(web, begin(api, h, web, email))
    page = web.get(callback, headers={"Accept-Language": "ja"}, timeout=30)
    assert page.status_code == 200, page.text
    assert "メールを取り込む準備ができました" in page.text  # in the browser's language
    assert page.headers["Content-Type"].startswith("text/html; charset=utf-8")
    assert page.headers["Referrer-Policy"] == "no-referrer"
    connections = requests.get(f"{api}/v1/oauth/connections", headers=h, timeout=10).json()
    (connection,) = [c for c in connections["connections"] if c["email"] == email]
    return dict(connection)


def assert_no_tokens(
    stack: LocalStack, idp: FakeIdentityProvider, job_id: str, answers: list[Any]
) -> None:
    dynamodb = boto3.client("dynamodb")
    items: list[Any] = []
    for page in dynamodb.get_paginator("scan").paginate(
        TableName=stack.physical_id("MailportTable")
    ):
        items += page["Items"]
    sfn = boto3.client("stepfunctions")
    machine = stack.physical_id("MigrationStateMachine")
    histories = [
        sfn.get_execution_history(executionArn=e["executionArn"], maxResults=1000)
        for e in sfn.list_executions(stateMachineArn=machine, maxResults=1000)["executions"]
        if e["name"].startswith(job_id)
    ]
    everything = json.dumps([items, histories, answers], default=str)
    assert len(idp.issued) > 4
    leaked = [t for t in idp.issued if t in everything]
    assert leaked == []
    assert idp.client_secret not in everything  # the app registration's secret neither


def m365(connection: dict[str, Any]) -> dict[str, Any]:
    return {"type": "microsoft365", "connection_id": connection["id"]}


def mailbox_user(dovecot: Dovecot) -> tuple[str, dict[str, Any]]:
    email = f"m365-{uuid.uuid4().hex[:8]}@contoso.example"
    _, _, seeded = seed(dovecot, user=email)
    return email, seeded


def assert_copied(api: str, h: dict[str, str], seeded: dict[str, Any]) -> None:
    """Every source message exactly once in its mapped folder, byte for byte, with flags."""
    folders = requests.get(f"{api}/v1/folders", headers=h, timeout=10).json()["folders"]
    ids = {f["name"]: f["id"] for f in folders}
    for source, target in TARGETS.items():
        got = [
            m for m in messages(api, h, ids[target.split("/")[-1]]) if m["source"]["type"] == "imap"
        ]
        want = sorted(
            (hashlib.sha256(raw).hexdigest(), "\\Seen" in flags, "\\Flagged" in flags)
            for raw, flags, _ in seeded[source]
        )
        assert sorted((m["sha256"], m["flags"]["seen"], m["flags"]["flagged"]) for m in got) == want


def test_sign_in_preview_migrate_with_refreshing_tokens(
    local_stack: LocalStack, dovecot: Dovecot, fake_idp: FakeIdentityProvider, short_tokens: None
) -> None:
    api, h = local_stack.api_url, user_headers(local_stack)
    email, seeded = mailbox_user(dovecot)
    connection = sign_in(api, h, fake_idp, email)
    assert connection["status"] == "ready"

    r = requests.post(
        f"{api}/v1/migrations/preview", headers=h, json={"connection": m365(connection)}, timeout=30
    )
    assert r.status_code == 200, r.text
    assert r.json()["total_messages"] == sum(len(v) for v in seeded.values())

    refreshes = fake_idp.refreshes
    job = start(api, h, m365(connection))
    assert job["source"]["type"] == "microsoft365" and job["source"]["username"] == email
    done = wait_job(api, h, job["id"], ended, t=120)
    assert done["state"] == "completed", done
    # Every step logged in with a fresh token: a job outlives any one token.
    assert fake_idp.refreshes - refreshes >= done["progress"]["total_messages"] // 4
    assert_copied(api, h, seeded)

    # No token anywhere at rest or in a history: not in the table (the cache is sealed), not
    # in an execution's input or output, not in an API answer.
    assert_no_tokens(local_stack, fake_idp, job["id"], [done, connection])

    # Nothing uses the sign-in any more: it can be removed.
    gone = requests.delete(f"{api}/v1/oauth/connections/{connection['id']}", headers=h, timeout=10)
    assert gone.status_code == 204


def test_a_revoked_sign_in_pauses_the_job_until_the_user_signs_in_again(
    local_stack: LocalStack, dovecot: Dovecot, fake_idp: FakeIdentityProvider, short_tokens: None
) -> None:
    api, h = local_stack.api_url, user_headers(local_stack)
    email, seeded = mailbox_user(dovecot)
    connection = sign_in(api, h, fake_idp, email)
    fake_idp.revoke_after(email, 4)  # the create check, the plan and two chunks, then revoked
    job = start(api, h, m365(connection))
    # moto applies an update's actions one by one and a read may land in between (DynamoDB
    # itself is atomic): wait for the whole write, not just its first attribute.
    waiting = wait_job(
        api,
        h,
        job["id"],
        lambda j: (j["state"] == "needs_signin" and j["error"]) or j["state"] in _ENDS,
        t=120,
    )
    assert waiting["state"] == "needs_signin", waiting
    assert (waiting["error"] or {}).get("code") == "signin_required", waiting
    assert 0 < waiting["progress"]["messages"] < waiting["progress"]["total_messages"]
    statuses = requests.get(f"{api}/v1/oauth/connections", headers=h, timeout=10).json()
    assert [c["status"] for c in statuses["connections"]] == ["needs_signin"]
    # Nothing was rolled back: the mail copied so far stays.
    assert sum(len(v) for v in snapshot(api, h).values()) == waiting["progress"]["messages"]
    # Removing the sign-in is refused while the job waits on it.
    busy = requests.delete(f"{api}/v1/oauth/connections/{connection['id']}", headers=h, timeout=10)
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "connection_in_use"
    # A new job can't start on a sign-in that needs renewing.
    refused = requests.post(
        f"{api}/v1/migrations",
        headers=h,
        json={"connection": m365(connection), "agreed": True},
        timeout=30,
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "signin_required"

    again = sign_in(api, h, fake_idp, email)
    assert again["id"] == connection["id"] and again["status"] == "ready"
    done = wait_job(api, h, job["id"], ended, t=120)
    assert done["state"] == "completed", done
    assert_copied(api, h, seeded)  # nothing lost, nothing twice
    assert done["counts"]["imported"] == sum(len(v) for v in seeded.values())
    subjects = [m["subject"] for m in messages(api, h, "inbox") if m["source"]["type"] == "notice"]
    assert sum("sign in" in s.lower() for s in subjects) == 1, subjects


_ENDS = ("completed", "rolled_back", "failed", "reverted")


def test_cancelling_a_job_that_waits_for_sign_in_rolls_it_back(
    local_stack: LocalStack, dovecot: Dovecot, fake_idp: FakeIdentityProvider, short_tokens: None
) -> None:
    api, h = local_stack.api_url, user_headers(local_stack)
    email, _ = mailbox_user(dovecot)
    connection = sign_in(api, h, fake_idp, email)
    before = snapshot(api, h)
    fake_idp.revoke_after(email, 3)
    job = start(api, h, m365(connection))
    wait_job(api, h, job["id"], lambda j: j["state"] == "needs_signin", t=120)
    r = requests.post(f"{api}/v1/migrations/{job['id']}/cancel", headers=h, timeout=30)
    assert r.status_code == 202, r.text
    done = wait_job(api, h, job["id"], ended, t=120)
    assert done["state"] == "rolled_back", done
    assert snapshot(api, h) == before


def test_callbacks_that_are_not_this_users_flow_are_refused(
    local_stack: LocalStack, dovecot: Dovecot, fake_idp: FakeIdentityProvider
) -> None:
    api = local_stack.api_url
    alice_email = f"mig-{uuid.uuid4().hex[:6]}@acme.example"
    alice, bob = login(local_stack, alice_email, "acme"), user_headers(local_stack)
    email, _ = mailbox_user(dovecot)

    def refused(page: requests.Response, code: str) -> None:
        assert page.status_code == 400, page.text
        assert "The sign-in could not be completed" in page.text and code in page.text

    # Alice's sign-in link completed in Bob's browser (no cookie of Alice's flow).
    web_alice, web_bob = browser(fake_idp), browser(fake_idp)
    callback = consent(web_alice, begin(api, alice, web_alice, email))
    refused(web_bob.get(callback, timeout=30), "oauth_state_invalid")
    # ... which used the flow up: Alice's own browser can't replay it either.
    refused(web_alice.get(callback, timeout=30), "oauth_state_invalid")
    # No state, a made-up state.
    refused(web_alice.get(f"{api}/v1/oauth/microsoft/callback", timeout=30), "oauth_state_invalid")
    refused(
        web_alice.get(f"{api}/v1/oauth/microsoft/callback?state=x&code=y", timeout=30),
        "oauth_state_invalid",
    )
    # The user declined at Microsoft.
    fake_idp.deny = True
    try:
        callback = consent(web_alice, begin(api, alice, web_alice, email))
    finally:
        fake_idp.deny = False
    refused(web_alice.get(callback, timeout=30), "oauth_denied")
    # Signed in as somebody else than the mailbox asked for.
    fake_idp.sign_in_as = "mallory@contoso.example"
    try:
        callback = consent(web_alice, begin(api, alice, web_alice, email))
    finally:
        fake_idp.sign_in_as = None
    refused(web_alice.get(callback, timeout=30), "oauth_wrong_mailbox")
    for h in (alice, bob):
        listed = requests.get(f"{api}/v1/oauth/connections", headers=h, timeout=10).json()
        assert listed["connections"] == []

    # Bob can't use or remove Alice's connection.
    connection = sign_in(api, alice, fake_idp, email)
    r = requests.post(
        f"{api}/v1/migrations/preview",
        headers=bob,
        json={"connection": m365(connection)},
        timeout=30,
    )
    assert r.status_code == 400 and "connection_id" in r.json()["error"]["message"]
    r = requests.delete(f"{api}/v1/oauth/connections/{connection['id']}", headers=bob, timeout=10)
    assert r.status_code == 404
    # Nor can another organisation's user, its admin, or its "twin" (Alice's user id).
    away = f"o{uuid.uuid4().hex[:6]}"
    outsiders = {
        "outsider": login(local_stack, f"outsider@{away}.example", away, plan="advanced"),
        "outside admin": login(local_stack, f"admin@{away}.example", away, admin=True),
        "twin": twin(local_stack, away, user_id_for("acme", alice_email)),
    }
    for who, h in outsiders.items():
        r = requests.delete(f"{api}/v1/oauth/connections/{connection['id']}", headers=h, timeout=10)
        assert r.status_code == 404, (who, r.status_code)
        assert r.json()["error"]["code"] == "not_found", who
        listed = requests.get(f"{api}/v1/oauth/connections", headers=h, timeout=10).json()
        assert listed["connections"] == [], who
    kept = requests.get(f"{api}/v1/oauth/connections", headers=alice, timeout=10).json()
    assert [c["id"] for c in kept["connections"]] == [connection["id"]]
    # Bad input at the start.
    for payload in ({}, {"email": "not an address"}, {"email": "a@b.c\r\nX: y"}):
        r = requests.post(
            f"{api}/v1/oauth/microsoft/start", headers=alice, json=payload, timeout=10
        )
        assert r.status_code == 400, r.text


def test_microsoft365_needs_the_advanced_plan(local_stack: LocalStack) -> None:
    api = local_stack.api_url
    basic = login(local_stack, f"d-{uuid.uuid4().hex[:6]}@smallco.example", "smallco")
    for method, path, payload in (
        ("POST", "/v1/oauth/microsoft/start", {"email": "a@contoso.example"}),
        ("GET", "/v1/oauth/connections", None),
    ):
        r = requests.request(method, f"{api}{path}", headers=basic, json=payload, timeout=10)
        assert r.status_code == 403 and r.json()["error"]["code"] == "plan_required", path
