"""`make run`'s demo mail server as a newcomer meets it: the command's own configuration, the
details it prints, a POP account on it (the message over 50 MB skipped and reported), new mail
dropped in and fetched, an IMAP migration with the Japanese folders mapped; then a restart on
the same state dir that keeps the server's data (no re-seed, same UIDVALIDITY and ports).

The stack runs in a child process (`python -m mailport_local run`, as `make run` starts it):
a stack points every boto3 client of its process at its emulator, and this session may have one.
"""

from __future__ import annotations

import imaplib
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from mailport_local.__main__ import build_parser, config_from_args
from mailport_local.dovecot_support import session_pids
from mailport_local.stack import free_port
from mailport_local.template import REPO_ROOT
from tests.support.dovecot import dovecot_available
from tests.support.wait import wait_for

pytestmark = [pytest.mark.stack, pytest.mark.dovecot]

TARO_INBOX = 15  # demo_mail_content: taro's INBOX, without the message over 50 MB
TARGETS = {
    "INBOX": "Inbox",
    "仕事": "仕事",
    "仕事.2026": "仕事/2026",
    "旅行": "旅行",
    "Sent": "Sent",
    "Archive": "Archive",
    "Trash": "Trash",
}


def test_make_run_has_demo_mail_unless_told_not_to() -> None:
    assert config_from_args(build_parser().parse_args(["run"])).demo_mail is True
    off = build_parser().parse_args(["run", "--no-demo-mail", "--fresh"])
    assert config_from_args(off).demo_mail is False


@pytest.fixture
def state_dir() -> Iterator[Path]:
    if not dovecot_available():
        pytest.skip("dovecot is not installed (`make run` and `make test` install it)")
    if os.geteuid() != 0:
        pytest.skip("the demo mail server runs as root (it chowns mail to uid 5000)")
    # Not pytest's tmp_path: it is 0700, and Dovecot's own users must reach the mail.
    base = Path(tempfile.mkdtemp(prefix="demo-mail-", dir="/tmp"))
    base.chmod(0o755)
    yield base / "state"
    shutil.rmtree(base, ignore_errors=True)


@contextmanager
def running(state: Path, *extra: str) -> Iterator[tuple[str, Path]]:
    """`make run` (its command and options) on ``state``; the API's URL and its output."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    env.pop("MAILPORT_RECORD_CALLS", None)
    out = state.parent / f"run-{port}.log"
    command = [sys.executable, "-m", "mailport_local", "run", "--port", str(port)]
    with open(out, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            [*command, "--state-dir", str(state), *extra],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            assert proc.poll() is None, out.read_text(encoding="utf-8")
            return "Press Ctrl-C" in out.read_text(encoding="utf-8")

        wait_for(up, timeout=60, what="`make run` to start")
        yield url, out
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        assert code == 0, out.read_text(encoding="utf-8")


def dovecots_of(state: Path) -> list[int]:
    """Live Dovecot masters running on this state dir's configuration."""
    conf = os.fsencode(state.resolve() / "demo-mail" / "etc" / "dovecot.conf")
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path("/proc", entry, "cmdline").read_bytes()
            except OSError:
                continue
            if conf in cmdline and session_pids(int(entry)):
                found.append(int(entry))
    return found


def sign_in(url: str, email: str) -> dict[str, str]:
    r = requests.post(f"{url}/v1/local/login", json={"email": email, "tenant": "acme"}, timeout=10)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def fetch(url: str, h: dict[str, str], account_id: str) -> dict[str, Any]:
    started = requests.post(f"{url}/v1/accounts/{account_id}/fetch", headers=h, timeout=30)
    assert started.status_code == 202, started.text

    def done() -> dict[str, Any] | None:
        runs = requests.get(f"{url}/v1/accounts/{account_id}/runs", headers=h, timeout=10)
        found = [r for r in runs.json()["runs"] if r["id"] == started.json()["id"]]
        return found[0] if found and found[0]["status"] != "running" else None

    return dict(wait_for(done, timeout=30, what="the fetch"))


def subjects(url: str, h: dict[str, str], folder_id: str = "inbox") -> list[str]:
    page = requests.get(
        f"{url}/v1/folders/{folder_id}/messages", headers=h, params={"limit": "100"}, timeout=10
    )
    assert page.status_code == 200, page.text
    return [m["subject"] for m in page.json()["messages"] if m["source"]["type"] != "notice"]


def uid_state(info: dict[str, Any]) -> dict[str, int]:
    """taro's INBOX as Dovecot numbers it: UIDVALIDITY, UIDNEXT, MESSAGES."""
    context = ssl.create_default_context(cafile=info["ca_file"])
    imap = imaplib.IMAP4_SSL(info["host"], info["imap"]["port"], ssl_context=context)
    try:
        imap.login("taro", "taro-demo")
        _, data = imap.status("INBOX", "(UIDVALIDITY UIDNEXT MESSAGES)")
        pairs = re.findall(rb"([A-Z]+) (\d+)", bytes(data[0]))
        return {k.decode(): int(v) for k, v in pairs}
    finally:
        imap.logout()


def pop_account(url: str, h: dict[str, str], info: dict[str, Any]) -> dict[str, Any]:
    """The POP account a newcomer registers from the printed details (preset manual)."""
    taro = next(u for u in info["users"] if u["username"] == "taro")
    form = {
        "preset": "manual",
        "host": info["host"],
        "port": info["pop3"]["port"],
        "ssl": info["pop3"]["ssl"],
        "username": taro["username"],
        "password": taro["password"],
        "keep_original": True,
        "agreed": True,
    }
    created = requests.post(f"{url}/v1/accounts", headers=h, json=form, timeout=30)
    assert created.status_code == 201, created.text
    return dict(created.json())


def migrate_taro(url: str, info: dict[str, Any]) -> None:
    """An IMAP migration of taro into another mailport user: the 日本語 folders kept."""
    h = sign_in(url, "demo-migration@acme.example")
    conn = {
        "type": "manual",
        "host": info["host"],
        "port": info["imap"]["port"],
        "ssl": True,
        "username": "taro",
        "password": "taro-demo",
    }
    preview = requests.post(
        f"{url}/v1/migrations/preview", headers=h, json={"connection": conn}, timeout=60
    )
    assert preview.status_code == 200, preview.text
    shown = {f["name"]: f["target"] for f in preview.json()["folders"] if not f["skipped"]}
    assert shown == TARGETS
    job = requests.post(
        f"{url}/v1/migrations", headers=h, json={"connection": conn, "agreed": True}, timeout=30
    )
    assert job.status_code == 201, job.text

    def ended() -> dict[str, Any] | None:
        r = requests.get(f"{url}/v1/migrations/{job.json()['id']}", headers=h, timeout=10)
        state = r.json()
        return state if state["state"] in ("completed", "rolled_back", "failed") else None

    done = wait_for(ended, timeout=60, what="the migration")
    assert done["state"] == "completed", done
    assert done["counts"]["skipped_oversize"] == 1 and done["counts"]["failed"] == 0
    folders = requests.get(f"{url}/v1/folders", headers=h, timeout=10).json()["folders"]
    by_id = {f["id"]: f for f in folders}

    def path(f: dict[str, Any]) -> str:
        return f["name"] if not f["parent_id"] else f"{path(by_id[f['parent_id']])}/{f['name']}"

    ids = {path(f): f["id"] for f in folders}
    assert {"仕事", "仕事/2026", "旅行", "Archive", "Sent", "Trash"} <= ids.keys()
    assert len(subjects(url, h, ids["仕事/2026"])) == 4
    assert "ご予約の確認（京都）" in subjects(url, h, ids["旅行"])


def test_demo_mail_pop_drop_migrate_and_restart(state_dir: Path) -> None:
    with running(state_dir, "--fresh") as (url, out):
        info = requests.get(f"{url}/v1/local/demo-mail", timeout=10).json()
        printed = out.read_text(encoding="utf-8")
        assert f"POP3 port {info['pop3']['port']}, IMAP port {info['imap']['port']}" in printed
        assert "taro (taro-demo)" in printed and "SSL on" in printed and "CA is trusted" in printed
        assert info["ca_trusted"] and info["host"] == "127.0.0.1"
        before = uid_state(info)

        h = sign_in(url, "demo-pop@acme.example")
        account = pop_account(url, h, info)
        first = fetch(url, h, account["id"])
        assert (first["status"], first["fetched"], first["skipped_oversize"]) == (
            "succeeded",
            TARO_INBOX,
            1,
        )
        got = subjects(url, h)
        assert len(got) == TARO_INBOX
        # The odd charsets arrive readable (ISO-2022-JP, EUC-JP, RFC 2047 words mixed).
        assert {
            "打ち合わせ日程のご相談",
            "社内報（EUC-JP）",
            "新年度のご案内チーム便り 2026",
        } <= set(got)

        dropped = subprocess.run(
            [sys.executable, "-m", "mailport_local", "drop-mail", "--state-dir", str(state_dir)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert dropped.returncode == 0, dropped.stderr
        assert "新着のデモメール #1" in dropped.stdout
        second = fetch(url, h, account["id"])
        assert (second["fetched"], second["skipped_oversize"]) == (1, 0)  # reported once
        assert "新着のデモメール #1" in subjects(url, h)

        # The console's button: the local route drops mail too (JSON only).
        refused = requests.post(f"{url}/v1/local/demo-mail/drop", data="x", timeout=10)
        assert refused.status_code == 415
        r = requests.post(f"{url}/v1/local/demo-mail/drop", json={"user": "alice"}, timeout=30)
        assert r.status_code == 200 and r.json()["dropped"] == ["New demo mail #2"], r.text

        migrate_taro(url, info)
        after = uid_state(info)
        assert after["UIDVALIDITY"] == before["UIDVALIDITY"]
        assert after["MESSAGES"] == before["MESSAGES"] + 1 == TARO_INBOX + 2
    assert dovecots_of(state_dir) == []  # stopping `make run` stopped Dovecot too
    seeded_at = (state_dir / "demo-mail" / "seeded").stat().st_mtime

    # A restart keeps the server's data: no re-seed, the same UIDs and addresses, and the
    # account finds nothing it hasn't already imported.
    with running(state_dir) as (url, _):
        again = requests.get(f"{url}/v1/local/demo-mail", timeout=10).json()
        assert (again["pop3"], again["imap"]) == (info["pop3"], info["imap"])
        assert uid_state(again) == after
        h = sign_in(url, "demo-pop@acme.example")
        third = fetch(url, h, account["id"])
        assert (third["status"], third["fetched"], third["already_present"]) == (
            "succeeded",
            0,
            0,
        )
    assert (state_dir / "demo-mail" / "seeded").stat().st_mtime == seeded_at
    assert dovecots_of(state_dir) == []
