"""The local stack with moto in a process of its own (``LocalStackConfig(aws_process=True)``).

Each case runs a stack in a child Python: a stack points every boto3 client of its process at
its emulator, and this test session already has one. The child reports what it saw as JSON.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.wait import wait_for

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]

_SCRIPT = r"""
import json, sys, tempfile, time, uuid
from pathlib import Path

import boto3, requests

from mailport_local.stack import LocalStack, LocalStackConfig
from tests.integration.test_local_stack import _entered, _fake_worker, _run
from tests.support.wait import wait_for

mode = sys.argv[1]
with tempfile.TemporaryDirectory() as state:
    config = LocalStackConfig(
        api_port=0, state_dir=Path(state), persist=False, run_schedules=False, aws_process=True
    )
    stack = LocalStack(config).start()
    print(json.dumps({"aws_pid": stack.aws_pid}), flush=True)
    if mode == "orphan":
        time.sleep(600)  # the test kills this process
    out = {}
    # 1. S3 -> SQS -> the ingest function, through the API and presigned POSTs.
    headers = {"Authorization": f"Bearer {stack.token('alice@acme.example', 'acme')}"}
    mail = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nbody\r\n"
    files = {"good.eml": mail, "picture.png": b"\x89PNG\r\n\x1a\n" + bytes(200)}
    wanted = [{"name": n, "size": len(b)} for n, b in files.items()]
    batch = requests.post(
        f"{stack.api_url}/v1/uploads",
        headers=headers,
        json={"folder_id": "inbox", "files": wanted},
        timeout=30,
    ).json()
    for entry, body in zip(batch["files"], files.values()):
        post = entry["upload"]
        form = {"file": ("f", body)}
        sent = requests.post(post["url"], data=post["fields"], files=form, timeout=30)
        sent.raise_for_status()

    def state():
        url = f"{stack.api_url}/v1/uploads/{batch['id']}"
        return requests.get(url, headers=headers, timeout=30).json()

    wait_for(lambda: state()["done"], timeout=60, what="the upload")
    out["upload"] = {f["name"]: f["status"] for f in state()["files"]}
    # 2. Step Functions -> Lambda (the bridge's /invoke), and the end event (its /event).
    seen = []
    scheduler = stack.lambdas["MigrationSchedulerFunction"]
    scheduler.override = lambda event, ctx: seen.append(event["detail"]["status"]) or {}
    fn = stack.lambdas["MigrationWorkerFunction"]
    fn.override = worker = _fake_worker()
    run = _run(stack, f"p-{uuid.uuid4().hex[:8]}")
    failed = _run(stack, f"f-{uuid.uuid4().hex[:8]}", mode="give_up")
    wait_for(lambda: len(seen) >= 2, timeout=30, what="the end events")
    out["run"] = {"status": run["status"], "states": _entered(run["history"])}
    out["failed"] = {"status": failed["status"], "states": _entered(failed["history"])}
    out["worker_calls"] = worker.calls
    out["events"] = sorted(seen)
    stack.stop()
    print(json.dumps(out), flush=True)
"""


def _child(mode: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    for name in ("AWS_ENDPOINT_URL", "MOTO_PORT"):  # this session's stack: not the child's
        env.pop(name, None)
    return subprocess.Popen(
        [sys.executable, "-c", _SCRIPT, mode],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status  # a zombie has ended; only its parent's wait is missing


def test_uploads_executions_and_events_cross_the_process_boundary() -> None:
    child = _child("run")
    out, _ = child.communicate(timeout=240)
    assert child.returncode == 0, out
    # The functions' logs and metrics go to stdout too, as on Lambda: pick out the reports.
    said = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    first = next(d for d in said if "aws_pid" in d)
    result = next(d for d in said if "upload" in d)
    assert result["upload"] == {"good.eml": "stored", "picture.png": "rejected"}
    assert result["run"]["status"] == "SUCCEEDED"
    assert "CopyChunk" in result["run"]["states"]
    assert result["failed"] == {
        "status": "FAILED",
        "states": ["Route", "NotifyRollbackFailed", "RollbackFailed"],
    }
    assert result["worker_calls"][:1] == ["plan"] and result["worker_calls"][-1] == "notify"
    assert result["events"] == ["FAILED", "SUCCEEDED"]  # each end reached the rules once
    assert not _alive(first["aws_pid"])  # stopped with the stack


def test_the_emulator_never_outlives_its_stack() -> None:
    child = _child("orphan")
    assert child.stdout is not None
    line: dict[str, Any] = json.loads(child.stdout.readline())
    pid = int(line["aws_pid"])
    assert _alive(pid)
    child.send_signal(signal.SIGKILL)  # no clean stop: the emulator must notice by itself
    child.wait(timeout=30)
    wait_for(lambda: not _alive(pid), timeout=30, what="the emulator to exit")
