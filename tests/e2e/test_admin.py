"""The admin API end to end: an organisation's admins see every migration and POP account of
their organisation (and nothing of another), page through them, switch an account's
automatic fetching off and cancel a migration.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
import requests

from mailport_local.stack import LocalStack
from tests.e2e.test_migration import connection, ended, seed, start, wait_job
from tests.e2e.test_pop_accounts import pop_user
from tests.support.api import login, pop_form
from tests.support.dovecot import Dovecot

pytestmark = [pytest.mark.stack, pytest.mark.dovecot]


def _tenant(stack: LocalStack) -> tuple[str, dict[str, str], dict[str, str], dict[str, str]]:
    """A fresh advanced-plan organisation with an admin and two users."""
    tenant = f"org{uuid.uuid4().hex[:6]}"
    admin = login(stack, f"admin@{tenant}.example", tenant, plan="advanced", admin=True)
    alice = login(stack, f"alice@{tenant}.example", tenant)
    bob = login(stack, f"bob@{tenant}.example", tenant)
    return tenant, admin, alice, bob


def _account(stack: LocalStack, h: dict[str, str], dovecot: Dovecot) -> dict[str, Any]:
    name, password = pop_user(dovecot, 1)
    form = pop_form(dovecot.pop3s_port, name, password, auto_fetch=True)
    r = requests.post(f"{stack.api_url}/v1/accounts", headers=h, json=form, timeout=30)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _all(api: str, h: dict[str, str], path: str, key: str, limit: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
        r = requests.get(f"{api}{path}", headers=h, params=params, timeout=10)
        assert r.status_code == 200, r.text
        assert len(r.json()[key]) <= limit
        out += r.json()[key]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return out


def test_admins_see_and_steer_their_organisation_only(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    api = local_stack.api_url
    tenant, admin, alice, bob = _tenant(local_stack)
    _, other_admin, mallory, _ = _tenant(local_stack)

    accounts = [_account(local_stack, h, dovecot) for h in (alice, bob, bob)]
    _account(local_stack, mallory, dovecot)
    user, password, _ = seed(dovecot)
    done = wait_job(api, alice, start(api, alice, connection(dovecot, user, password))["id"], ended)
    assert done["state"] == "completed"

    # Every account of the organisation with its owner, newest first, across pages.
    listed = _all(api, admin, "/v1/admin/accounts", "accounts", limit=2)
    assert [a["id"] for a in listed] == [a["id"] for a in reversed(accounts)]
    assert len({a["user_id"] for a in listed}) == 2
    assert all("password" not in json.dumps(a) for a in listed)
    jobs = _all(api, admin, "/v1/admin/migrations", "migrations", limit=1)
    assert [(j["id"], j["state"]) for j in jobs] == [(done["id"], "completed")]

    # Another organisation's admin sees none of it, and can't act on it.
    assert _all(api, other_admin, "/v1/admin/migrations", "migrations", limit=5) == []
    assert len(_all(api, other_admin, "/v1/admin/accounts", "accounts", limit=5)) == 1
    owner_of_first = listed[-1]["user_id"]
    for path in (
        f"/v1/admin/users/{owner_of_first}/accounts/{accounts[0]['id']}/switch-off",
        f"/v1/admin/users/{jobs[0]['user_id']}/migrations/{done['id']}/cancel",
    ):
        r = requests.post(f"{api}{path}", headers=other_admin, timeout=10)
        assert r.status_code == 404, (path, r.text)
    # ... nor page into it with a cursor made for this one.
    forged = base64.urlsafe_b64encode(
        json.dumps(
            {
                "PK": f"USER#{tenant}#{owner_of_first}",
                "SK": f"ACCOUNT#{accounts[0]['id']}",
                "GSI3PK": f"TENANT#{tenant}#ACCOUNTS",
                "GSI3SK": "x",
            }
        ).encode()
    ).decode()
    r = requests.get(
        f"{api}/v1/admin/accounts", headers=other_admin, params={"cursor": forged}, timeout=10
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request"

    # Users are not admins.
    for path in ("/v1/admin/accounts", "/v1/admin/migrations"):
        r = requests.get(f"{api}{path}", headers=alice, timeout=10)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"

    # Switching an account's automatic fetching off: the user sees it off, and who did it.
    r = requests.post(
        f"{api}/v1/admin/users/{owner_of_first}/accounts/{accounts[0]['id']}/switch-off",
        headers=admin,
        timeout=10,
    )
    assert r.status_code == 200, r.text
    mine = requests.get(f"{api}/v1/accounts/{accounts[0]['id']}", headers=alice, timeout=10).json()
    assert mine["auto_fetch"] is False
    assert f"admin@{tenant}.example" in json.dumps(mine["status"])


def test_an_admin_cancels_a_users_migration(local_stack: LocalStack, dovecot: Dovecot) -> None:
    api = local_stack.api_url
    _, admin, alice, _ = _tenant(local_stack)
    user, password, _ = seed(dovecot)
    # One migration at a time per organisation here: the second waits in the queue.
    first = start(api, alice, connection(dovecot, user, password))
    second = start(api, alice, connection(dovecot, user, password))
    listed = {j["id"]: j for j in _all(api, admin, "/v1/admin/migrations", "migrations", 10)}
    assert listed[second["id"]]["state"] == "queued"
    owner = listed[second["id"]]["user_id"]
    r = requests.post(
        f"{api}/v1/admin/users/{owner}/migrations/{second['id']}/cancel", headers=admin, timeout=30
    )
    assert r.status_code == 202, r.text
    assert wait_job(api, alice, second["id"], ended)["state"] == "rolled_back"
    assert wait_job(api, alice, first["id"], ended)["state"] == "completed"


def test_a_basic_plan_admin_is_told_why(local_stack: LocalStack) -> None:
    tenant = f"basic{uuid.uuid4().hex[:6]}"
    admin = login(local_stack, f"admin@{tenant}.example", tenant, plan="basic", admin=True)
    for path in ("/v1/admin/accounts", "/v1/admin/migrations"):
        r = requests.get(f"{local_stack.api_url}{path}", headers=admin, timeout=10)
        assert r.status_code == 403 and r.json()["error"]["code"] == "plan_required"


def test_the_local_stack_shows_what_cloudwatch_would_get(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    api = local_stack.api_url
    _, admin, alice, _ = _tenant(local_stack)

    def imported(path: str) -> float:
        r = requests.get(f"{api}/v1/local/metrics", headers=admin, timeout=10)
        assert r.status_code == 200, r.text
        return sum(
            m["sum"]
            for m in r.json()["metrics"]
            if m["name"] == "MessagesImported" and m["dimensions"].get("path") == path
        )

    before = imported("imap")
    user, password, seeded = seed(dovecot)
    done = wait_job(api, alice, start(api, alice, connection(dovecot, user, password))["id"], ended)
    assert done["state"] == "completed"
    # At least (another test's migration may still be finishing in the shared stack).
    assert imported("imap") - before >= sum(len(v) for v in seeded.values())
    r = requests.get(f"{api}/v1/local/metrics", headers=alice, timeout=10)
    assert r.status_code == 403
    assert requests.get(f"{api}/v1/local/metrics", timeout=10).status_code == 401
