"""`make run ARGS=--demo-microsoft` as a newcomer meets it: the command's own configuration and
what it prints, the demo sign-in (clearly not Microsoft) walked through like a browser (Cancel
is the usual refusal, another mailbox than the one typed is refused, Accept signs in), and a
Microsoft 365 migration from the demo mail server over XOAUTH2 with the demo's tokens.

The stack runs in a child process, as `make run` starts it (tests/e2e/test_demo_mail.py).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from tests.e2e.test_demo_mail import running, sign_in, state_dir, subjects
from tests.support.wait import wait_for

pytestmark = [pytest.mark.stack, pytest.mark.dovecot]
__all__ = ["state_dir"]  # the fixture, shared

TARO = "taro@m365-demo.example"
ALICE = "alice@m365-demo.example"


def demo_sign_in(
    api: str, h: dict[str, str], email: str, *, pick: str | None = None, decision: str = "accept"
) -> requests.Response:
    """Start a Microsoft sign-in as ``email``, pick ``pick`` (default: the same) on the demo
    page and decide; the callback page the browser lands on.
    """
    web = requests.Session()
    web.trust_env = False
    started = web.post(f"{api}/v1/oauth/microsoft/start", headers=h, json={"email": email})
    assert started.status_code == 200, started.text
    authorize = str(started.json()["authorize_url"])
    assert authorize.startswith("http://127.0.0.1:")  # no certificate for a browser to accept
    page = web.get(authorize, timeout=10)
    assert page.status_code == 200 and "Demo sign-in — not Microsoft" in page.text
    found = re.search(r'name="request" value="([^"]+)"', page.text)
    assert found is not None
    origin = authorize.split("/contoso/", 1)[0]
    form = {"request": found.group(1), "email": pick or email}
    consent = web.post(f"{origin}/demo/signin", data=form, timeout=10)
    assert "mailport wants to read your mail" in consent.text
    back = web.post(f"{origin}/demo/consent", data={**form, "decision": decision}, timeout=30)
    assert back.url.startswith(f"{api}/v1/oauth/microsoft/callback?")
    return back


def test_make_run_demo_microsoft_sign_in_and_migrate(state_dir: Any) -> None:
    with running(state_dir, "--fresh", "--demo-microsoft") as (url, out):
        printed = out.read_text(encoding="utf-8")
        assert "Microsoft 365 demo (a demo sign-in, not Microsoft" in printed
        assert f"{TARO}, {ALICE}" in printed
        info = requests.get(f"{url}/v1/local/demo-mail", timeout=10).json()
        assert info["microsoft"]["demo"] is True
        assert [m["address"] for m in info["microsoft"]["mailboxes"]] == [TARO, ALICE]

        h = sign_in(url, "demo-m365@acme.example")
        cancelled = demo_sign_in(url, h, TARO, decision="cancel")
        assert 'data-status="error"' in cancelled.text and "access_denied" in cancelled.text
        wrong = demo_sign_in(url, h, TARO, pick=ALICE)
        assert wrong.status_code == 400 and 'data-status="error"' in wrong.text  # another account
        none = requests.get(f"{url}/v1/oauth/connections", headers=h, timeout=10).json()
        assert none["connections"] == []

        ready = demo_sign_in(url, h, TARO)
        assert 'data-status="ready"' in ready.text and TARO in ready.text
        (connection,) = requests.get(f"{url}/v1/oauth/connections", headers=h, timeout=10).json()[
            "connections"
        ]
        source = {"type": "microsoft365", "connection_id": connection["id"]}
        preview = requests.post(
            f"{url}/v1/migrations/preview", headers=h, json={"connection": source}, timeout=60
        )
        assert preview.status_code == 200, preview.text
        assert preview.json()["source"]["username"] == TARO
        job = requests.post(
            f"{url}/v1/migrations",
            headers=h,
            json={"connection": source, "agreed": True},
            timeout=60,
        )
        assert job.status_code == 201, job.text

        def ended() -> dict[str, Any] | None:
            r = requests.get(f"{url}/v1/migrations/{job.json()['id']}", headers=h, timeout=10)
            state = r.json()
            return state if state["state"] in ("completed", "rolled_back", "failed") else None

        done = wait_for(ended, timeout=90, what="the Microsoft 365 migration")
        assert done["state"] == "completed", done
        assert done["counts"]["skipped_oversize"] == 1 and done["counts"]["failed"] == 0
        assert "打ち合わせ日程のご相談" in subjects(url, h)
