"""`make run`'s command as a newcomer meets it: starts, answers, stops on Ctrl-C, and keeps
data across a restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from mailport_local.stack import free_port
from mailport_local.template import REPO_ROOT


@contextmanager
def running(state_dir: Path, *extra: str) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mailport_local",
            "run",
            "--port",
            str(port),
            "--state-dir",
            str(state_dir),
            *extra,
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        started = time.monotonic()
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if requests.get(f"{url}/v1/health", timeout=1).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass  # not listening yet, or its first request still loading the handler
            assert time.monotonic() - started < 30, "the API did not answer within 30 s"
            time.sleep(0.2)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        output = proc.stdout.read() if proc.stdout else ""
        assert code == 0, output
        assert f"mailport is running at {url}" in output


def test_run_serves_keeps_state_and_stops(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with running(state, "--fresh") as url:
        token = requests.post(
            f"{url}/v1/local/login",
            json={"email": "new.person@acme.example", "tenant": "acme"},
            timeout=10,
        ).json()["token"]
        me = requests.get(f"{url}/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert me.status_code == 200 and me.json()["plan"] == "advanced"
    assert (state / "snapshot" / "manifest.json").is_file()
    # A restart brings back the user made by the login and honours the same token.
    with running(state) as url:
        again = requests.get(
            f"{url}/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert again.status_code == 200
        assert again.json()["user"] == me.json()["user"]
    # --fresh forgets it: the old token's signing secret is gone too.
    with running(state, "--fresh") as url:
        gone = requests.get(
            f"{url}/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert gone.status_code == 401
