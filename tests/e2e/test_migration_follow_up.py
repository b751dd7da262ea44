"""A migration's report, "retry what failed" and the delta pass through the HTTP API, with
Step Functions (moto, running the ASL file) driving the worker against the test Dovecot.
"""

from __future__ import annotations

import uuid
from urllib.parse import quote

import pytest
import requests

from mailport_local.stack import LocalStack
from tests.e2e.test_migration import connection, ended, messages, start, user_headers, wait_job
from tests.support.dovecot import Dovecot

pytestmark = [pytest.mark.stack, pytest.mark.dovecot]

NOT_MAIL = b"this is not a mail message at all, only words\r\n"


def _mail(tag: str, n: int) -> bytes:
    return (
        f"From: s{n}@example.org\r\nSubject: {tag} {n}\r\n"
        f"Message-ID: <{tag}.{n}@example.org>\r\n\r\nbody {n}\r\n"
    ).encode()


def _imported(api: str, h: dict[str, str]) -> list[str]:
    return sorted(m["subject"] for m in messages(api, h, "inbox") if m["source"]["type"] == "imap")


def test_report_retry_and_delta_through_the_api(local_stack: LocalStack, dovecot: Dovecot) -> None:
    api, h = local_stack.api_url, user_headers(local_stack)
    tag = uuid.uuid4().hex[:6]
    user, password = f"fu-{tag}", f"pw-{uuid.uuid4().hex}"
    dovecot.add_user(user, password)
    seeded = [_mail(tag, n) for n in range(4)] + [NOT_MAIL, NOT_MAIL + b"again\r\n"]
    dovecot.seed_maildir(
        user, "INBOX", [(m, set(), 1_650_000_000.0 + i) for i, m in enumerate(seeded)]
    )
    job = wait_job(api, h, start(api, h, connection(dovecot, user, password))["id"], ended, t=120)
    assert job["state"] == "completed", job
    assert job["counts"]["imported"] == 4 and job["counts"]["failed"] == 2
    assert job["retry_available"] is True and job["delta_until"]

    # The report, a line a page: the cursor walks it; the counts and the list agree.
    url = f"{api}/v1/migrations/{job['id']}"
    first = requests.get(f"{url}/report", headers=h, params={"limit": 1}, timeout=10).json()
    assert first["not_imported"] == 2 and len(first["items"]) == 1 and first["next_cursor"]
    second = requests.get(
        f"{url}/report", headers=h, params={"limit": 1, "cursor": first["next_cursor"]}, timeout=10
    ).json()
    assert [i["reason"] for i in first["items"] + second["items"]] == ["unreadable"] * 2
    bad = requests.get(f"{url}/report", headers=h, params={"cursor": "USER#x"}, timeout=10)
    assert bad.status_code == 400, bad.text
    paged = requests.get(
        f"{url}/report", headers={**h, "Accept": "text/csv"}, params={"limit": 1}, timeout=10
    )
    # The cursor percent-encoded: a "#" in it would start a URL's fragment.
    assert paged.headers["Link"] == f'<?cursor={quote(first["next_cursor"], safe="")}>; rel="next"'
    assert "#" not in paged.headers["Link"]

    # A retry: the agreement and the password are asked for; the password never comes back.
    for body, status, code in (
        ({"password": password}, 400, "invalid_request"),
        ({"agreed": True}, 400, "password_required"),
        ({"agreed": True, "password": "nope"}, 422, "remote_auth_failed"),
    ):
        r = requests.post(f"{url}/retry", headers=h, json=body, timeout=30)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
    r = requests.post(
        f"{url}/retry", headers=h, json={"agreed": True, "password": password}, timeout=30
    )
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "retry" and r.json()["origin_id"] == job["id"]
    assert password not in r.text
    retry = wait_job(api, h, r.json()["id"], ended, t=120)
    assert retry["state"] == "completed" and retry["progress"]["total_messages"] == 2
    assert retry["counts"]["failed"] == 2 and retry["counts"]["imported"] == 0
    again = requests.get(f"{api}/v1/migrations/{retry['id']}/report", headers=h, timeout=10)
    assert len(again.json()["items"]) == 2

    # A delta pass: only the two that arrived since, once; the retry's own job offers one too.
    dovecot.seed_maildir(
        user, "INBOX", [(_mail(tag, n), set(), 1_800_000_000.0 + n) for n in (10, 11)]
    )
    r = requests.post(
        f"{url}/delta", headers=h, json={"agreed": True, "password": password}, timeout=30
    )
    assert r.status_code == 201, r.text
    delta = wait_job(api, h, r.json()["id"], ended, t=120)
    assert delta["state"] == "completed" and delta["kind"] == "delta"
    assert delta["counts"] == {
        "imported": 2,
        "already_present": 0,
        "skipped_oversize": 0,
        "failed": 0,
    }
    assert _imported(api, h) == sorted(f"{tag} {n}" for n in (0, 1, 2, 3, 10, 11))
    # A job still running or not completed offers neither.
    r = requests.post(
        f"{api}/v1/migrations/{delta['id']}/retry",
        headers=h,
        json={"agreed": True, "password": password},
        timeout=30,
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_retryable"
