"""Words the server stored (a fetch's error, why automatic fetching is off, a job's error, an
upload's per-file results) are shown in the reader's language, over HTTP: each is kept as a
code with parameters beside its English and said in the language the request asks for.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
import requests

from mailport.catalogue import say
from mailport_local.stack import LocalStack
from tests.e2e.test_admin import _account, _tenant
from tests.e2e.test_migration import connection, ended, seed, start, wait_job
from tests.e2e.test_pop_accounts import pop_user, wait_run
from tests.support.api import login, pop_form
from tests.support.dovecot import Dovecot

pytestmark = [pytest.mark.stack, pytest.mark.dovecot]
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
JA = {"Accept-Language": "ja"}
EN = {"Accept-Language": "en"}


def _get(url: str, h: dict[str, str], language: dict[str, str]) -> dict[str, Any]:
    r = requests.get(url, headers={**h, **language}, timeout=10)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_failed_fetch_is_said_in_the_readers_language(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    api = local_stack.api_url
    h = login(local_stack, f"words-{uuid.uuid4().hex[:6]}@acme.example", "acme")
    name, password = pop_user(dovecot, 1)
    created = requests.post(
        f"{api}/v1/accounts",
        headers=h,
        json=pop_form(dovecot.pop3s_port, name, password),
        timeout=30,
    )
    assert created.status_code == 201, created.text
    account_id = created.json()["id"]
    dovecot.add_user(name, f"changed-{uuid.uuid4().hex}")  # the password stops working

    started = requests.post(f"{api}/v1/accounts/{account_id}/fetch", headers=h, timeout=10)
    assert started.status_code == 202, started.text
    run = wait_run(local_stack, h, account_id, started.json()["id"])
    assert run["status"] == "failed" and run["error"]["code"] == "remote_auth_failed"

    ja = _get(f"{api}/v1/accounts/{account_id}", h, JA)["status"]["last_error"]
    en = _get(f"{api}/v1/accounts/{account_id}", h, EN)["status"]["last_error"]
    assert ja["code"] == en["code"] == "remote_auth_failed"
    assert JAPANESE.search(ja["message"]) and not JAPANESE.search(en["message"]), (ja, en)
    assert ja["message"] != en["message"]
    runs = _get(f"{api}/v1/accounts/{account_id}/runs", h, JA)["runs"]
    assert JAPANESE.search(runs[0]["error"]["message"]), runs[0]
    assert password not in str(ja) + str(en) + str(runs)


def test_switched_off_by_an_admin_is_said_in_the_readers_language(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    api = local_stack.api_url
    tenant, admin, alice, _ = _tenant(local_stack)
    account = _account(local_stack, alice, dovecot)
    users = _get(f"{api}/v1/admin/accounts", admin, EN)["accounts"]
    owner = next(a["user_id"] for a in users if a["id"] == account["id"])
    r = requests.post(
        f"{api}/v1/admin/users/{owner}/accounts/{account['id']}/switch-off",
        headers=admin,
        timeout=10,
    )
    assert r.status_code == 200, r.text

    by = f"admin@{tenant}.example"
    ja = _get(f"{api}/v1/accounts/{account['id']}", alice, JA)["status"]["disabled_reason"]
    en = _get(f"{api}/v1/accounts/{account['id']}", alice, EN)["status"]["disabled_reason"]
    assert ja == say("account.disabled_by_admin", admin=by).render("ja")
    assert en == f"switched off by your administrator ({by})"  # the English as before


def test_a_cancelled_job_is_said_in_the_readers_language(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    api = local_stack.api_url
    _, _, alice, _ = _tenant(local_stack)
    user, password, _ = seed(dovecot)
    first = start(api, alice, connection(dovecot, user, password))
    second = start(api, alice, connection(dovecot, user, password))  # waits in the queue
    r = requests.post(f"{api}/v1/migrations/{second['id']}/cancel", headers=alice, timeout=30)
    assert r.status_code in (200, 202), r.text
    assert wait_job(api, alice, second["id"], ended)["state"] == "rolled_back"

    ja = _get(f"{api}/v1/migrations/{second['id']}", alice, JA)["error"]
    en = _get(f"{api}/v1/migrations/{second['id']}", alice, EN)["error"]
    assert ja["code"] == en["code"] == "cancelled"
    assert ja["message"] == say("migration.cancelled_before_start").render("ja")
    assert en["message"] == "cancelled before it started"
    wait_job(api, alice, first["id"], ended)


def test_an_uploads_results_are_said_in_the_readers_language(local_stack: LocalStack) -> None:
    api = local_stack.api_url
    h = login(local_stack, f"up-{uuid.uuid4().hex[:6]}@acme.example", "acme")
    body = {"folder_id": "inbox", "files": [{"name": "empty.eml", "size": 0}]}
    r = requests.post(f"{api}/v1/uploads", headers={**h, **JA}, json=body, timeout=10)
    assert r.status_code == 201, r.text
    upload_id = r.json()["id"]
    [ja] = _get(f"{api}/v1/uploads/{upload_id}", h, JA)["files"]
    [en] = _get(f"{api}/v1/uploads/{upload_id}", h, EN)["files"]
    assert ja["reason"] == en["reason"] == "empty"
    assert ja["message"] == say("uploads.file_empty").render("ja")
    assert en["message"] == str(say("uploads.file_empty"))
    assert JAPANESE.search(ja["message"]) and not JAPANESE.search(en["message"])


def test_a_failed_job_keeps_the_workers_words(local_stack: LocalStack, dovecot: Dovecot) -> None:
    """The worker's error crosses Step Functions with its words: the job's error is said in
    the reader's language, not only in the English of the execution's Cause.
    """
    api = local_stack.api_url
    _, _, alice, _ = _tenant(local_stack)
    first_user, first_password, _ = seed(dovecot)
    user, password, _ = seed(dovecot)
    first = start(api, alice, connection(dovecot, first_user, first_password))
    second = start(api, alice, connection(dovecot, user, password))  # waits in the queue
    dovecot.add_user(user, f"changed-{uuid.uuid4().hex}")  # refused when its turn comes
    assert wait_job(api, alice, second["id"], ended)["state"] == "rolled_back"
    wait_job(api, alice, first["id"], ended)

    ja = _get(f"{api}/v1/migrations/{second['id']}", alice, JA)["error"]
    en = _get(f"{api}/v1/migrations/{second['id']}", alice, EN)["error"]
    assert ja["code"] == en["code"] == "remote_auth_failed", (ja, en)
    assert JAPANESE.search(ja["message"]) and not JAPANESE.search(en["message"]), (ja, en)
    assert "{" not in en["message"] and password not in str(ja) + str(en)
