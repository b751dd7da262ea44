"""IMAP migration end to end: the API queues a job, Step Functions (moto, running the ASL file)
drives the worker against the test Dovecot, the scheduler starts the next job when an execution
ends. Compared by snapshots of the mailbox through the API.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest
import requests

from mailport.adapters.imap import ImapConnector
from mailport.domain.network import LOCAL_TESTS
from mailport.domain.remote import Credentials, ServerAddress
from mailport_local.stack import LocalStack
from tests.support.api import login
from tests.support.dovecot import Dovecot

pytestmark = [pytest.mark.stack, pytest.mark.dovecot]

BASE_EPOCH = 1_650_000_000
FOLDERS = {"INBOX": 12, "Sent": 5, "Archive.2024": 7, "日本語": 6}
TARGETS = {"INBOX": "Inbox", "Sent": "Sent", "Archive.2024": "Archive/2024", "日本語": "日本語"}


def _raw(folder: str, n: int, tag: str) -> bytes:
    body = "".join(f"line {i} of {folder} #{n} — ünïcødé 日本\r\n" for i in range(n % 9))
    return (
        f"From: Sender {n} <s{n}@example.org>\r\nTo: me@example.org\r\n"
        f"Subject: {folder} #{n} {tag}\r\nMessage-ID: <{tag}.{folder}.{n}@example.org>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"{body}end\r\n"
    ).encode()


def _flags(n: int) -> set[str]:
    return {f for f, on in (("\\Seen", n % 2), ("\\Flagged", n % 3 == 0)) if on} | (
        {"\\Answered"} if n % 5 == 0 else set()
    )


Seeded = dict[str, list[tuple[bytes, set[str], float]]]


def seed(
    dovecot: Dovecot, oversize: bool = False, user: str | None = None
) -> tuple[str, str, Seeded]:
    user, password = user or f"mig-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    dovecot.add_user(user, password)
    tag = uuid.uuid4().hex[:6]
    seeded: Seeded = {}
    for folder, count in FOLDERS.items():
        seeded[folder] = [
            (_raw(folder, n, tag), _flags(n), float(BASE_EPOCH + 3600 * n + len(folder)))
            for n in range(count)
        ]
        dovecot.seed_maildir(user, folder, seeded[folder])
    if oversize:
        big = _raw("INBOX", 99, tag) + b"x" * (55 * 1024 * 1024) + b"\r\n"
        dovecot.seed_maildir(user, "INBOX", [(big, set(), float(BASE_EPOCH))])
    return user, password, seeded


def connection(dovecot: Dovecot, user: str, password: str) -> dict[str, Any]:
    return {
        "type": "manual",
        "host": "127.0.0.1",
        "port": dovecot.imaps_port,
        "ssl": True,
        "username": user,
        "password": password,
    }


def messages(api: str, h: dict[str, str], folder_id: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
        r = requests.get(
            f"{api}/v1/folders/{folder_id}/messages", headers=h, params=params, timeout=10
        )
        assert r.status_code == 200, r.text
        out.extend(r.json()["messages"])
        cursor = r.json().get("next_cursor")
        if not cursor:
            return out


def snapshot(api: str, h: dict[str, str]) -> dict[str, Any]:
    """Folders (by path) and their messages (sha256, flags); notices left out: they are the
    service telling the user what happened, and stay by design.
    """
    folders = requests.get(f"{api}/v1/folders", headers=h, timeout=10).json()["folders"]
    by_id = {f["id"]: f for f in folders}

    def path(f: dict[str, Any]) -> str:
        return f["name"] if not f["parent_id"] else f"{path(by_id[f['parent_id']])}/{f['name']}"

    shot: dict[str, Any] = {}
    for f in folders:
        mail = [m for m in messages(api, h, f["id"]) if m["source"]["type"] != "notice"]
        shot[path(f)] = sorted((m["sha256"], json.dumps(m["flags"], sort_keys=True)) for m in mail)
    return shot


def wait_job(
    api: str, h: dict[str, str], job_id: str, done: Callable[[dict[str, Any]], bool], t: float = 90
) -> dict[str, Any]:
    deadline = time.monotonic() + t
    while time.monotonic() < deadline:
        r = requests.get(f"{api}/v1/migrations/{job_id}", headers=h, timeout=10)
        assert r.status_code == 200, r.text
        if done(r.json()):
            return dict(r.json())
        time.sleep(0.2)
    raise AssertionError(f"migration {job_id} did not get there: {r.json()}")


def ended(job: dict[str, Any]) -> bool:
    return job["state"] in ("completed", "rolled_back", "failed", "reverted")


def start(api: str, h: dict[str, str], conn: dict[str, Any]) -> dict[str, Any]:
    r = requests.post(
        f"{api}/v1/migrations", headers=h, json={"connection": conn, "agreed": True}, timeout=30
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def user_headers(stack: LocalStack) -> dict[str, str]:
    return login(stack, f"mig-{uuid.uuid4().hex[:6]}@acme.example", "acme")


def source_state(dovecot: Dovecot, user: str, password: str) -> dict[str, list[str]]:
    """Every source message's flags (via the read-only adapter, which never sets \\Seen)."""
    connector = ImapConnector(network=LOCAL_TESTS)
    session = connector.open(
        ServerAddress("127.0.0.1", dovecot.imaps_port, True, str(dovecot.ca_pem)),
        Credentials(user, password),
    )
    try:
        out: dict[str, list[str]] = {}
        for folder in session.folders():
            if not folder.selectable:
                continue
            examined = session.examine(folder)
            sizes = session.sizes(1, examined.uidnext - 1)
            small = {uid: size for uid, size in sizes.items() if size < 50 * 1024 * 1024}
            out[folder.name] = sorted(
                f"{m.uid}:{','.join(sorted(m.flags))}" for m in session.fetch(small)
            )
        return out
    finally:
        session.logout()


def _emails_to(stack: LocalStack, address: str) -> list[str]:
    """Raw messages SES (moto, in this process) accepted for ``address``."""
    from moto.ses.models import ses_backends

    from mailport_local.provision import ACCOUNT_ID, REGION

    sent = ses_backends[ACCOUNT_ID][REGION].sent_messages
    return [m.raw_data for m in sent if any(address in d for d in m.destinations)]


def test_full_migration_rerun_and_revert(  # noqa: PLR0915 - one story, told in order
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    email = f"mig-{uuid.uuid4().hex[:6]}@acme.example"
    api, h = local_stack.api_url, login(local_stack, email, "acme")
    user, password, seeded = seed(dovecot, oversize=True)
    conn = connection(dovecot, user, password)
    before = snapshot(api, h)
    source_before = source_state(dovecot, user, password)

    preview = requests.post(
        f"{api}/v1/migrations/preview", headers=h, json={"connection": conn}, timeout=60
    )
    assert preview.status_code == 200, preview.text
    shown = {f["name"]: f for f in preview.json()["folders"] if not f["skipped"]}
    assert {name: f["target"] for name, f in shown.items()} == TARGETS
    # Dovecot lists the parent of "Archive.2024" as a folder of folders: nothing to copy.
    assert [f["name"] for f in preview.json()["folders"] if f["skipped"]] == ["Archive"]
    assert shown["INBOX"]["messages"] == FOLDERS["INBOX"] + 1 and shown["INBOX"]["oversize"] == 1
    assert preview.json()["total_messages"] == sum(FOLDERS.values()) + 1
    assert preview.json()["total_bytes"] == sum(len(r) for v in seeded.values() for r, _, _ in v)

    refused = requests.post(
        f"{api}/v1/migrations", headers=h, json={"connection": conn}, timeout=30
    )
    assert refused.status_code == 400 and "agreement" in refused.text
    wrong = requests.post(
        f"{api}/v1/migrations",
        headers=h,
        json={"connection": {**conn, "password": "nope-" + password}, "agreed": True},
        timeout=30,
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "remote_auth_failed"
    assert password not in wrong.text

    job = start(api, h, conn)
    assert password not in json.dumps(job)
    done = wait_job(api, h, job["id"], ended, t=120)
    assert done["state"] == "completed", done
    total = sum(FOLDERS.values())
    assert done["counts"] == {
        "imported": total,
        "already_present": 0,
        "skipped_oversize": 1,
        "failed": 0,
    }
    assert done["progress"]["percent"] == 100
    # The report names the one not imported, with why, in JSON and as CSV, in either language.
    report = requests.get(f"{api}/v1/migrations/{job['id']}/report", headers=h, timeout=10)
    assert report.status_code == 200, report.text
    (line,) = report.json()["items"]
    assert line["reason"] == "too_large" and line["subject"].startswith("INBOX #99")
    assert line["folder"] == "INBOX" and line["size"] > line["limit"] == 50 * 1024 * 1024
    assert report.json()["not_imported"] == 1 and report.json()["next_cursor"] is None
    as_csv = requests.get(
        f"{api}/v1/migrations/{job['id']}/report",
        headers={**h, "Accept": "text/csv", "Accept-Language": "ja,en;q=0.5"},
        timeout=10,
    )
    assert as_csv.status_code == 200 and as_csv.headers["Content-Type"].startswith("text/csv")
    rows = as_csv.content.decode("utf-8").splitlines()
    assert rows[0].startswith("folder,uid,reason") and len(rows) == 2
    assert "50 MB" in rows[1] and "サーバー" in rows[1]

    # Every message byte for byte, with its flags and internal date, in the mapped folder.
    folders = requests.get(f"{api}/v1/folders", headers=h, timeout=10).json()["folders"]
    ids = {f["name"]: f["id"] for f in folders}
    for source, target in TARGETS.items():
        got = messages(api, h, ids[target.split("/")[-1]])
        got = [m for m in got if m["source"]["type"] == "imap"]
        want = {
            hashlib.sha256(raw).hexdigest(): (flags, when) for raw, flags, when in seeded[source]
        }
        assert {m["sha256"] for m in got} == set(want), source
        for m in got:
            flags, when = want[m["sha256"]]
            assert m["flags"] == {
                "seen": "\\Seen" in flags,
                "flagged": "\\Flagged" in flags,
                "answered": "\\Answered" in flags,
            }
            assert m["received_at"].startswith(
                time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when))
            ), m["received_at"]
            assert m["job_id"] == job["id"]
    inbox = messages(api, h, "inbox")
    subjects = [m["subject"] for m in inbox if m["source"]["type"] == "notice"]
    assert any("started" in s for s in subjects) and any("completed" in s for s in subjects)
    assert any("50%" in s for s in subjects)

    # The notices also went out by email (SES in moto), from the configured sender.
    emailed = _emails_to(local_stack, email)
    assert any("completed" in m for m in emailed) and any("started" in m for m in emailed)
    assert all(password not in m for m in emailed)

    # The source is untouched (read-only: no \Seen set, nothing moved).
    assert source_state(dovecot, user, password) == source_before

    # Credentials never entered the execution history.
    sfn = boto3.client("stepfunctions")
    machine = local_stack.physical_id("MigrationStateMachine")
    runs = [
        e
        for e in sfn.list_executions(stateMachineArn=machine, maxResults=1000)["executions"]
        if e["name"].startswith(job["id"])
    ]
    assert len(runs) >= 2  # small test executions: it continued as new at least once
    for run in runs:
        history = sfn.get_execution_history(executionArn=run["executionArn"], maxResults=1000)
        assert password not in json.dumps(history, default=str)

    # Migrating the same account again finds everything already there.
    again = wait_job(api, h, start(api, h, conn)["id"], ended, t=120)
    assert again["state"] == "completed"
    assert again["counts"]["imported"] == 0
    assert again["counts"]["already_present"] == total

    # Revert the first: the mailbox is as it was before (folders the job made are gone).
    r = requests.post(f"{api}/v1/migrations/{job['id']}/revert", headers=h, timeout=30)
    assert r.status_code == 202, r.text
    reverted = wait_job(api, h, job["id"], lambda j: j["state"] in ("reverted", "failed"))
    assert reverted["state"] == "reverted"
    assert snapshot(api, h) == before
    again_revert = requests.post(f"{api}/v1/migrations/{job['id']}/revert", headers=h, timeout=30)
    assert again_revert.status_code == 409


def _wrap_worker(
    stack: LocalStack, before_chunk: Callable[[int], None], after_chunk: Callable[[int], None]
) -> Callable[[], None]:
    fn = stack.lambdas["MigrationWorkerFunction"]
    real = fn._acquire()
    fn._pool.put(real)
    chunks = [0]

    def wrapped(event: dict[str, Any], ctx: Any) -> Any:
        if event["step"] != "copy_chunk":
            return real(event, ctx)
        chunks[0] += 1
        before_chunk(chunks[0])
        result = real(event, ctx)
        after_chunk(chunks[0])
        return result

    fn.override = wrapped

    def restore() -> None:
        fn.override = None

    return restore


class InjectedFailure(Exception):
    """Not a transient error: the machine catches it and rolls back."""


def test_a_failure_at_chunk_k_rolls_everything_back(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    api, h = local_stack.api_url, user_headers(local_stack)
    user, password, _ = seed(dovecot)
    before = snapshot(api, h)

    def fail_third(k: int) -> None:
        if k == 3:
            raise InjectedFailure("injected after the chunk stored its messages")

    restore = _wrap_worker(local_stack, lambda k: None, fail_third)
    try:
        job = start(api, h, connection(dovecot, user, password))
        done = wait_job(api, h, job["id"], ended)
    finally:
        restore()
    assert done["state"] == "rolled_back", done
    assert done["error"]["code"] == "injected_failure"
    assert snapshot(api, h) == before
    notices = [m["subject"] for m in messages(api, h, "inbox") if m["source"]["type"] == "notice"]
    assert any("undone" in s for s in notices)


def test_cancel_mid_run_rolls_back(local_stack: LocalStack, dovecot: Dovecot) -> None:
    api, h = local_stack.api_url, user_headers(local_stack)
    user, password, _ = seed(dovecot)
    before = snapshot(api, h)
    restore = _wrap_worker(local_stack, lambda k: time.sleep(0.4), lambda k: None)
    try:
        job = start(api, h, connection(dovecot, user, password))
        wait_job(api, h, job["id"], lambda j: j["progress"]["messages"] > 0)
        r = requests.post(f"{api}/v1/migrations/{job['id']}/cancel", headers=h, timeout=10)
        assert r.status_code == 202, r.text
        done = wait_job(api, h, job["id"], ended)
    finally:
        restore()
    assert done["state"] == "rolled_back" and done["error"]["code"] == "cancelled"
    assert snapshot(api, h) == before
    late = requests.post(f"{api}/v1/migrations/{job['id']}/cancel", headers=h, timeout=10)
    assert late.status_code == 409 and late.json()["error"]["code"] == "not_cancellable"


def test_jobs_run_one_at_a_time_in_registration_order(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    """The test stack allows one running migration per tenant (MIGRATION_MAX_PER_TENANT=1):
    the next starts when the scheduler hears that an execution ended.
    """
    api = local_stack.api_url
    users = [seed(dovecot) for _ in range(3)]
    headers = [user_headers(local_stack) for _ in users]
    jobs = [
        start(api, h, connection(dovecot, u, p))
        for h, (u, p, _) in zip(headers, users, strict=True)
    ]
    assert [j["state"] for j in jobs[1:]] == ["queued", "queued"]
    assert jobs[2]["queue_position"] == 2
    done = [wait_job(api, h, j["id"], ended, t=180) for h, j in zip(headers, jobs, strict=False)]
    assert [d["state"] for d in done] == ["completed"] * 3
    for first, second in itertools.pairwise(done):
        assert second["started_at"] >= first["finished_at"]


def test_uidvalidity_changing_mid_job_copies_the_folder_once(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    api, h = local_stack.api_url, user_headers(local_stack)
    user, password, seeded = seed(dovecot)

    def renumber(k: int) -> None:
        if k == 1:
            dovecot.doveadm(["mailbox", "update", "--uid-validity", "4242", "-u", user, "INBOX"])

    restore = _wrap_worker(local_stack, lambda k: None, renumber)
    try:
        done = wait_job(api, h, start(api, h, connection(dovecot, user, password))["id"], ended)
    finally:
        restore()
    assert done["state"] == "completed", done
    assert done["counts"]["imported"] == sum(FOLDERS.values())  # the renumbered folder once
    # The job says so: the folder was renumbered once, and copied again.
    assert {f["name"]: f["renumbered"] for f in done["folders"]}["INBOX"] == 1
    inbox = [m for m in messages(api, h, "inbox") if m["source"]["type"] == "imap"]
    assert sorted(m["sha256"] for m in inbox) == sorted(
        hashlib.sha256(raw).hexdigest() for raw, _, _ in seeded["INBOX"]
    )


def test_plans_and_other_users(local_stack: LocalStack, dovecot: Dovecot) -> None:
    api = local_stack.api_url
    basic = login(local_stack, "dave@smallco.example", "smallco")
    r = requests.get(f"{api}/v1/migrations", headers=basic, timeout=10)
    assert r.status_code == 403 and r.json()["error"]["code"] == "plan_required"
    owner, other = user_headers(local_stack), user_headers(local_stack)
    user, password, _ = seed(dovecot)
    job = start(api, owner, connection(dovecot, user, password))
    for method, path in (
        ("get", ""),
        ("post", "/cancel"),
        ("post", "/revert"),
        ("get", "/report"),
        ("post", "/retry"),
        ("post", "/delta"),
    ):
        r = requests.request(
            method,
            f"{api}/v1/migrations/{job['id']}{path}",
            headers=other,
            json={"agreed": True, "password": password} if method == "post" else None,
            timeout=30,
        )
        assert r.status_code == 404, (path, r.text)
    assert requests.get(f"{api}/v1/migrations", headers=other, timeout=10).json() == {
        "migrations": []
    }
    wait_job(api, owner, job["id"], ended)


def test_gmail_labels_and_all_mail_are_copied_once(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    """A source with an \\All folder (Gmail): the same mail under several labels (folders)
    lands once, in the first folder met; All Mail, copied last, brings only archived mail;
    a \\Flagged view (Starred) is not copied at all.
    """
    api, h = local_stack.api_url, user_headers(local_stack)
    user, password = f"gm-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    dovecot.add_user(user, password)
    tag = uuid.uuid4().hex[:6]
    inbox = [(_raw("INBOX", n, tag), set(), float(BASE_EPOCH + n)) for n in range(4)]
    receipts = [inbox[0], *((_raw("Receipts", n, tag), set(), float(BASE_EPOCH)) for n in range(2))]
    archived = [(_raw("Archived", n, tag), {"\\Seen"}, float(BASE_EPOCH)) for n in range(2)]
    dovecot.seed_maildir(user, "INBOX", inbox)
    dovecot.seed_maildir(user, "Receipts", receipts)
    dovecot.seed_maildir(user, "All Mail", [*inbox, *receipts[1:], *archived])
    dovecot.seed_maildir(user, "Starred", [inbox[1]])

    done = wait_job(api, h, start(api, h, connection(dovecot, user, password))["id"], ended)
    assert done["state"] == "completed", done
    assert done["counts"]["imported"] == 4 + 2 + 2
    assert done["counts"]["already_present"] == 1 + 6
    skipped = {f["name"]: f["skipped"] for f in done["folders"]}
    assert skipped["Starred"] and not skipped["All Mail"]
    folders = requests.get(f"{api}/v1/folders", headers=h, timeout=10).json()["folders"]
    ids = {f["name"]: f["id"] for f in folders}

    def shas(folder_id: str) -> set[str]:
        return {m["sha256"] for m in messages(api, h, folder_id) if m["source"]["type"] == "imap"}

    digest = [hashlib.sha256(r).hexdigest() for r, _, _ in (*inbox, *receipts[1:], *archived)]
    assert shas("inbox") == set(digest[:4])
    assert shas(ids["Receipts"]) == set(digest[4:6])
    assert shas(ids["All Mail"]) == set(digest[6:])
    # Again: nothing new, and All Mail does not take the copies of mail already there.
    again = wait_job(api, h, start(api, h, connection(dovecot, user, password))["id"], ended)
    assert again["state"] == "completed" and again["counts"]["imported"] == 0
    assert shas(ids["All Mail"]) == set(digest[6:])


def test_admin_templates_and_a_migration_through_one(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    api = local_stack.api_url
    admin = login(local_stack, "carol@acme.example", "acme", admin=True)
    user = user_headers(local_stack)
    form = {"name": "Old mail server", "host": "127.0.0.1", "port": dovecot.imaps_port}
    refused = requests.post(f"{api}/v1/admin/imap-templates", headers=user, json=form, timeout=10)
    assert refused.status_code == 403
    bad = requests.post(
        f"{api}/v1/admin/imap-templates", headers=admin, json={**form, "host": "a b"}, timeout=10
    )
    assert bad.status_code == 400
    created = requests.post(f"{api}/v1/admin/imap-templates", headers=admin, json=form, timeout=10)
    assert created.status_code == 201, created.text
    template = created.json()
    listed = requests.get(f"{api}/v1/imap-templates", headers=user, timeout=10).json()
    assert template in listed["templates"]

    # A user migrates through it with only a login (the admin's template names the server,
    # and may use a port that is not a mail port).
    name, password, _ = seed(dovecot)
    conn = {"type": "template", "template_id": template["id"], "username": name}
    job = start(api, user, {**conn, "password": password})
    done = wait_job(api, user, job["id"], ended)
    assert done["state"] == "completed" and done["source"]["type"] == "template"
    assert done["counts"]["imported"] == sum(FOLDERS.values())

    # Another tenant's users can't use it (or see it).
    other = login(local_stack, "erin@smallco.example", "smallco")
    assert requests.get(f"{api}/v1/imap-templates", headers=other, timeout=10).status_code == 403
    renamed = requests.put(
        f"{api}/v1/admin/imap-templates/{template['id']}",
        headers=admin,
        json={**form, "name": "Legacy"},
        timeout=10,
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "Legacy"
    gone = requests.delete(
        f"{api}/v1/admin/imap-templates/{template['id']}", headers=admin, timeout=10
    )
    assert gone.status_code == 204
    again = requests.delete(
        f"{api}/v1/admin/imap-templates/{template['id']}", headers=admin, timeout=10
    )
    assert again.status_code == 404
    late = requests.post(
        f"{api}/v1/migrations/preview",
        headers=user,
        json={"connection": {**conn, "password": password}},
        timeout=10,
    )
    assert late.status_code == 400 and "admin" in late.json()["error"]["message"]
