"""Tenant isolation over HTTP: every route that takes an id, called with a victim's ids by
someone else, answers 404 and changes nothing. The callers are a colleague in the victim's
organisation, a user of another organisation, that organisation's admin, and a "twin": a user
of another organisation whose token carries the victim's very user id (``sub``), so a key
built from the user id alone, without the tenant, would be caught here.

The e2e suites check most routes against one kind of caller each; this sweeps them all.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from mailport.domain.identity import User
from mailport_local.gateway import user_id_for
from mailport_local.stack import LocalStack
from tests.e2e import test_migration as mig
from tests.e2e import test_upload as up
from tests.e2e.test_pop_accounts import pop_user
from tests.support.api import login, pop_form
from tests.support.dovecot import Dovecot

pytestmark = [pytest.mark.stack, pytest.mark.dovecot]


def _twin(stack: LocalStack, tenant: str, user_id: str) -> dict[str, str]:
    """A user of ``tenant`` whose id is the victim's (ids are unique per tenant only)."""
    assert stack.auth is not None
    email = f"twin@{tenant}.example"
    stack.auth.directory.put_user(User(user_id, tenant, email, "Twin", admin=False))
    return {"Authorization": f"Bearer {stack.auth.sign(user_id, email, tenant, False)}"}


def test_every_route_with_an_id_is_404_for_everybody_else(  # noqa: PLR0915 - one sweep
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    api = local_stack.api_url
    home, away = f"iso{uuid.uuid4().hex[:6]}", f"iso{uuid.uuid4().hex[:6]}"
    victim_email = f"victim@{home}.example"
    victim = login(local_stack, victim_email, home, plan="advanced")
    victim_id = user_id_for(home, victim_email)
    callers = {
        "colleague": login(local_stack, f"colleague@{home}.example", home),
        "outsider": login(local_stack, f"outsider@{away}.example", away, plan="advanced"),
        "outside admin": login(local_stack, f"admin@{away}.example", away, admin=True),
        "twin": _twin(local_stack, away, victim_id),
    }

    # What the victim has: a folder with a message (uploaded), a POP account, a migration.
    folder = requests.post(
        f"{api}/v1/folders", headers=victim, json={"name": "Private"}, timeout=10
    ).json()
    files = {"p.eml": up.GOOD.replace(b"good-1", f"iso-{home}".encode())}
    batch = up.start(local_stack, victim, files, folder=folder["id"])
    up.upload_all(batch, files)
    done = up.wait_done(local_stack, victim, batch["id"])
    [message_id] = [f["message_id"] for f in done["files"]]
    name, password = pop_user(dovecot, 1)
    account = requests.post(
        f"{api}/v1/accounts",
        headers=victim,
        json=pop_form(dovecot.pop3s_port, name, password, auto_fetch=True),
        timeout=30,
    )
    assert account.status_code == 201, account.text
    account_id = account.json()["id"]
    source, source_password, _ = mig.seed(dovecot)
    job = mig.start(api, victim, mig.connection(dovecot, source, source_password))
    before = {
        "folders": requests.get(f"{api}/v1/folders", headers=victim, timeout=10).json(),
        "message": requests.get(
            f"{api}/v1/messages/{message_id}", headers=victim, timeout=10
        ).json(),
        "account": requests.get(
            f"{api}/v1/accounts/{account_id}", headers=victim, timeout=10
        ).json(),
    }

    fid, mid, bid, aid, jid = folder["id"], message_id, batch["id"], account_id, job["id"]
    attempts: list[tuple[str, str, Any]] = [
        ("GET", f"/v1/folders/{fid}/messages", None),
        ("PATCH", f"/v1/folders/{fid}", {"name": "Mine now"}),
        ("DELETE", f"/v1/folders/{fid}", None),
        ("GET", f"/v1/messages/{mid}", None),
        ("GET", f"/v1/messages/{mid}/raw", None),
        ("PATCH", f"/v1/messages/{mid}", {"flags": {"seen": True}}),
        ("PATCH", f"/v1/messages/{mid}", {"folder_id": "trash"}),
        ("DELETE", f"/v1/messages/{mid}", None),
        ("GET", f"/v1/uploads/{bid}", None),
        ("POST", "/v1/uploads", {"folder_id": fid, "files": [{"name": "a.eml", "size": 5}]}),
        ("GET", f"/v1/accounts/{aid}", None),
        ("PATCH", f"/v1/accounts/{aid}", {"icon": "red"}),
        ("POST", f"/v1/accounts/{aid}/fetch", None),
        ("GET", f"/v1/accounts/{aid}/runs", None),
        ("DELETE", f"/v1/accounts/{aid}", None),
        ("GET", f"/v1/migrations/{jid}", None),
        ("POST", f"/v1/migrations/{jid}/cancel", None),
        ("POST", f"/v1/migrations/{jid}/revert", None),
    ]
    home_admin = login(local_stack, f"admin@{home}.example", home, admin=True)
    form = {"name": "Old server", "host": "127.0.0.1", "port": dovecot.imaps_port}
    made = requests.post(
        f"{api}/v1/admin/imap-templates", headers=home_admin, json=form, timeout=10
    )
    assert made.status_code == 201, made.text
    tid = made.json()["id"]
    admin_attempts = [
        ("POST", f"/v1/admin/users/{victim_id}/accounts/{aid}/switch-off", None),
        ("POST", f"/v1/admin/users/{victim_id}/migrations/{jid}/cancel", None),
        ("PUT", f"/v1/admin/imap-templates/{tid}", {**form, "name": "Hijacked"}),
        ("DELETE", f"/v1/admin/imap-templates/{tid}", None),
    ]
    for who, headers in callers.items():
        tried = attempts + (admin_attempts if who == "outside admin" else [])
        for method, path, body in tried:
            r = requests.request(
                method,
                f"{api}{path}",
                headers={**headers, "Accept": "*/*"},
                json=body,
                timeout=30,
            )
            assert r.status_code == 404, (who, method, path, r.status_code, r.text)
            assert r.json()["error"]["code"] == "not_found", (who, path)
        # ... and their own listings hold nothing of the victim's.
        listed = requests.get(f"{api}/v1/folders", headers=headers, timeout=10).json()
        assert fid not in {f["id"] for f in listed["folders"]}, who
        inbox = requests.get(f"{api}/v1/folders/inbox/messages", headers=headers, timeout=10)
        assert mid not in {m["id"] for m in inbox.json()["messages"]}, who
        accounts = requests.get(f"{api}/v1/accounts", headers=headers, timeout=10).json()
        assert aid not in {a["id"] for a in accounts["accounts"]}, who
        jobs = requests.get(f"{api}/v1/migrations", headers=headers, timeout=10).json()
        assert jid not in {j["id"] for j in jobs["migrations"]}, who

    # Nothing the others tried changed anything of the victim's.
    finished = mig.wait_job(api, victim, jid, mig.ended)
    assert finished["state"] == "completed", finished
    after = {
        "folders": requests.get(f"{api}/v1/folders", headers=victim, timeout=10).json(),
        "message": requests.get(
            f"{api}/v1/messages/{message_id}", headers=victim, timeout=10
        ).json(),
        "account": requests.get(
            f"{api}/v1/accounts/{account_id}", headers=victim, timeout=10
        ).json(),
    }
    assert after["message"] == before["message"]
    assert after["account"]["auto_fetch"] is True and after["account"]["icon"] != "red"
    private = [f for f in after["folders"]["folders"] if f["id"] == fid]
    assert [(f["name"], f["total"]) for f in private] == [("Private", 1)]
    templates = requests.get(f"{api}/v1/imap-templates", headers=victim, timeout=10).json()
    assert [t["name"] for t in templates["templates"] if t["id"] == tid] == ["Old server"]
    for who in ("outsider", "twin"):  # another organisation's users don't see it
        theirs = requests.get(f"{api}/v1/imap-templates", headers=callers[who], timeout=10)
        assert tid not in {t["id"] for t in theirs.json()["templates"]}, who
    raw = requests.get(
        f"{api}/v1/messages/{message_id}/raw", headers={**victim, "Accept": "*/*"}, timeout=10
    )
    assert raw.status_code == 200 and raw.content == files["p.eml"]
