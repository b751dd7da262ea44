"""POP3 import through the API: register against the test Dovecot, fetch now (API → SQS →
worker), the schedule (dispatcher → delayed SQS → worker), plans and other users' ids."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import requests

from mailport_local.stack import LocalStack
from tests.support.api import login
from tests.support.dovecot import Dovecot

pytestmark = [pytest.mark.stack, pytest.mark.dovecot]


def mail(i: int) -> bytes:
    return (
        f"From: Shop <shop@example.net>\nTo: me@example.org\nSubject: order {i}\n"
        f"Message-ID: <order-{i}@example.net>\n\nthanks for order {i}\n"
    ).encode()


def pop_user(dovecot: Dovecot, count: int) -> tuple[str, str]:
    name, password = f"e2e-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    dovecot.add_user(name, password)
    dovecot.seed_maildir(name, "INBOX", [(mail(i), set(), 1_700_000_000.0) for i in range(count)])
    return name, password


def wait_run(stack: LocalStack, h: dict[str, str], account_id: str, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        r = requests.get(f"{stack.api_url}/v1/accounts/{account_id}/runs", headers=h, timeout=10)
        assert r.status_code == 200, r.text
        found = [x for x in r.json()["runs"] if x["id"] == run_id]
        if found and found[0]["status"] != "running":
            return dict(found[0])
        time.sleep(0.2)
    raise AssertionError("the run did not finish")


def test_register_fetch_now_and_schedule(local_stack: LocalStack, dovecot: Dovecot) -> None:
    api = local_stack.api_url
    h = login(local_stack, f"pop-{uuid.uuid4().hex[:6]}@acme.example", "acme")
    presets = requests.get(f"{api}/v1/account-presets", headers=h, timeout=10).json()["presets"]
    assert {p["id"] for p in presets} == {"line_works", "yahoo", "gmail", "outlook", "manual"}
    assert next(p for p in presets if p["id"] == "gmail")["host"] == "pop.gmail.com"

    name, password = pop_user(dovecot, 6)
    form = {
        "preset": "manual",
        "host": "127.0.0.1",
        "port": dovecot.pop3s_port,
        "ssl": True,
        "username": name,
        "password": password,
        "icon": "green",
    }
    refused = requests.post(f"{api}/v1/accounts", headers=h, json=form, timeout=30)
    assert refused.status_code == 400 and "agreement" in refused.json()["error"]["message"]
    wrong = requests.post(
        f"{api}/v1/accounts",
        headers=h,
        timeout=30,
        json={**form, "agreed": True, "password": "nope"},
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "remote_auth_failed"
    assert "nope" not in wrong.text

    created = requests.post(
        f"{api}/v1/accounts", headers=h, json={**form, "agreed": True}, timeout=30
    )
    assert created.status_code == 201, created.text
    account = created.json()
    assert "password" not in account and password not in created.text
    assert account["status"]["state"] == "idle"

    started = requests.post(f"{api}/v1/accounts/{account['id']}/fetch", headers=h, timeout=10)
    assert started.status_code == 202, started.text
    run = wait_run(local_stack, h, account["id"], started.json()["id"])
    assert (run["status"], run["trigger"], run["fetched"]) == ("succeeded", "manual", 6)
    page = requests.get(f"{api}/v1/folders/inbox/messages", headers=h, timeout=10).json()
    assert sorted(m["subject"] for m in page["messages"]) == [f"order {i}" for i in range(6)]
    assert {m["icon"] for m in page["messages"]} == {"green"}
    assert {m["source"]["type"] for m in page["messages"]} == {"pop"}

    scheduled_run_fetches_new_mail(local_stack, dovecot, h, account["id"], name)
    others_see_nothing(local_stack, account["id"])
    change_and_delete(local_stack, dovecot, h, account["id"], password)


def scheduled_run_fetches_new_mail(
    local_stack: LocalStack, dovecot: Dovecot, h: dict[str, str], account_id: str, name: str
) -> None:
    api = local_stack.api_url
    account = {"id": account_id}
    # New mail, then the 10-minute schedule (fired by hand; its window is 2 s in this stack).
    dovecot.seed_maildir(name, "INBOX", [(mail(i), set(), 1_700_000_100.0) for i in (6, 7)])
    local_stack.schedules["PopDispatchFunction.Every10Minutes"].fire()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        runs = requests.get(
            f"{api}/v1/accounts/{account['id']}/runs", headers=h, timeout=10
        ).json()["runs"]
        scheduled = [r for r in runs if r["trigger"] == "schedule" and r["status"] != "running"]
        if scheduled:
            break
        time.sleep(0.2)
    assert scheduled and scheduled[0]["fetched"] == 2
    state = requests.get(f"{api}/v1/accounts/{account['id']}", headers=h, timeout=10).json()
    assert state["status"]["last_status"] == "succeeded"
    assert state["status"]["failures_in_a_row"] == 0


def others_see_nothing(local_stack: LocalStack, account_id: str) -> None:
    api = local_stack.api_url
    account = {"id": account_id}
    # Someone else's ids are not found; the basic plan is refused with plan_required.
    other = login(local_stack, f"pop-other-{uuid.uuid4().hex[:6]}@acme.example", "acme")
    for method, path in [
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("POST", "/fetch"),
        ("GET", "/runs"),
    ]:
        r = requests.request(
            method,
            f"{api}/v1/accounts/{account['id']}{path}",
            headers=other,
            json={"icon": "red"},
            timeout=10,
        )
        assert r.status_code == 404, (method, path, r.text)
    basic = login(local_stack, "dave@smallco.example", "smallco")
    r = requests.get(f"{api}/v1/accounts", headers=basic, timeout=10)
    assert r.status_code == 403 and r.json()["error"]["code"] == "plan_required"


def change_and_delete(
    local_stack: LocalStack, dovecot: Dovecot, h: dict[str, str], account_id: str, password: str
) -> None:
    api = local_stack.api_url
    account = {"id": account_id}
    # A body's shape is refused at the edge, naming the field (test_api_body_validation).
    for change, message in [
        ({"port": 70000}, '"port" must be a number from 1 to 65535'),
        ({"host": "h" * 254}, '"host" must be at most 253 characters'),
        ({"username": "x" * 321}, '"username" must be at most 320 characters'),
        ({"password": "p\r\nDELE 1"}, '"password" cannot contain control characters'),
        (
            {"icon": "rainbow", "ssl": None},
            '"icon" must be "none", "red", "orange", "yellow", "green", "blue", "purple" or "gray"',
        ),
    ]:
        r = requests.patch(f"{api}/v1/accounts/{account_id}", headers=h, timeout=10, json=change)
        assert r.status_code == 400, r.text
        assert (r.json()["error"]["code"], r.json()["error"]["message"]) == (
            "invalid_request",
            message,
        )
    # Changing the server needs the password again; deleting keeps the imported mail.
    r = requests.patch(
        f"{api}/v1/accounts/{account['id']}",
        headers=h,
        timeout=10,
        json={"port": dovecot.pop3_port, "ssl": False},
    )
    assert r.status_code == 400 and "password" in r.json()["error"]["message"]
    r = requests.patch(
        f"{api}/v1/accounts/{account['id']}",
        headers=h,
        timeout=30,
        json={"port": dovecot.pop3_port, "ssl": False, "password": password},
    )
    assert r.status_code == 200 and r.json()["port"] == dovecot.pop3_port  # STLS this time
    assert (
        requests.delete(f"{api}/v1/accounts/{account['id']}", headers=h, timeout=10).status_code
        == 204
    )
    assert requests.get(f"{api}/v1/accounts", headers=h, timeout=10).json()["accounts"] == []
    folder = requests.get(f"{api}/v1/folders/inbox/messages", headers=h, timeout=10).json()
    assert len(folder["messages"]) == 8
