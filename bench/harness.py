"""What the benchmarks share: children measured in processes of their own, the AWS call
counter, the sink floor, the API login, and the result file's common part.

Every contender runs in a child process started from the parent that runs the emulator (as a
Lambda environment would run apart from AWS). Its peak RSS is the child's VmHWM, sampled every
20 ms by the parent (``ru_maxrss`` of a child reports its own peak only after exec, and a
forked child would inherit the parent's).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import requests

from mailport.adapters.clients import LazyClient
from mailport.adapters.dynamodb_accounts import DynamoAccountStore
from mailport.adapters.dynamodb_runs import DynamoRunLedger
from mailport.domain.mailbox import Owner
from mailport_local.stack import LocalStack, LocalStackConfig
from tests.support.dovecot import Dovecot

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"

# Folder -> messages as (raw bytes, IMAP flags, internal date as epoch seconds).
Seeded = dict[str, list[tuple[bytes, set[str], float]]]

# Counts every AWS call a child makes, by operation (prepended to a child's code).
COUNTER = """
import collections, botocore.client
CALLS = collections.Counter()
_orig = botocore.client.BaseClient._make_api_call
def _counted(self, name, params):
    CALLS[name] += 1
    return _orig(self, name, params)
botocore.client.BaseClient._make_api_call = _counted
"""

# A child playing the fetch worker: the real handler over the events on stdin, one after
# another; their durations, failures, the CPU of them all (every thread) and every AWS call.
INVOKE_FETCH = (
    COUNTER
    + """
import json, os, sys, time
sys.path[:0] = [os.path.join(sys.argv[1], "functions/pop_fetch")]
import pop_fetch
from mailport.wiring import container
from mailport_local.lambdas import LocalContext
container()
events = json.loads(sys.stdin.read())
CALLS.clear()
durations, failures = [], []
cpu = time.process_time()
for event in events:
    started = time.perf_counter()
    result = pop_fetch.handler(event, LocalContext("pop-fetch", 1024, 900))
    durations.append(time.perf_counter() - started)
    failures += result["batchItemFailures"]
cpu = time.process_time() - cpu
print(json.dumps({"durations": durations, "failures": failures, "cpu_s": cpu,
                  "calls": dict(CALLS)}))
"""
)

# The sink floor: the bare writes n messages need, straight to the emulator, at the
# importer's concurrency. S3 PutObject (with its SHA-256) and the index TransactWriteItems:
# the message's real index item (built before the clock starts, with the source type and job
# the importer would give it), the fingerprint item and the folder counters, with the same
# conditions mailport's writes carry (they make a retried write a no-op: no duplicates).
FLOOR = (
    COUNTER
    + """
import base64, datetime as dt, hashlib, json, sys, threading, time, boto3
from concurrent.futures import ThreadPoolExecutor
from bench.corpus import messages
from mailport.adapters import keys
from mailport.adapters.dynamo_table import to_ddb
from mailport.adapters.dynamodb_mailbox import DynamoMailbox
from mailport.domain.mailbox import Flags, Owner, Source, SourceType, StoredMessage
from mailport.domain.mime import summarize
args = json.loads(sys.stdin.read())
raws = [m.replace(b"\\r\\n", b"\\n").replace(b"\\n", b"\\r\\n") for m in messages(args["n"])]
owner = Owner("floor", "u1")
pk, inbox = keys.user_pk(owner), keys.folder_sk("inbox")
source, job = Source(SourceType(args["source"]), args["job"] or "a"), args["job"]
shape = DynamoMailbox(args["table"], client=lambda: None)._message_item
items = [to_ddb(shape(owner, StoredMessage(f"m{n}", "inbox", summarize(raw), Flags(),
         source, "f" * 64, f"floor/{n}.eml", dt.datetime.now(dt.UTC), job_id=job,
         sha256="s" * 64))) for n, raw in enumerate(raws)]
boto3.client("dynamodb").put_item(TableName=args["table"],
                                  Item={"PK": {"S": pk}, "SK": {"S": inbox}})
local = threading.local()
def one(n):
    if not hasattr(local, "s3"):
        local.s3, local.ddb = boto3.client("s3"), boto3.client("dynamodb")
    raw = raws[n]
    local.s3.put_object(Bucket=args["bucket"], Key=f"floor/{n}.eml", Body=raw,
                        ContentType="message/rfc822",
                        ChecksumSHA256=base64.b64encode(hashlib.sha256(raw).digest()).decode())
    new = "attribute_not_exists(PK)"
    local.ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": args["table"], "Item": items[n], "ConditionExpression": new}},
        {"Put": {"TableName": args["table"], "ConditionExpression": new,
                 "Item": {"PK": {"S": pk}, "SK": {"S": keys.fingerprint_sk("inbox", f"{n:064d}")},
                          "message_id": {"S": f"m{n}"}}}},
        {"Update": {"TableName": args["table"],
                    "Key": {"PK": {"S": pk}, "SK": {"S": inbox}},
                    "UpdateExpression": "ADD #t :t, unread :u, #s :s",
                    "ConditionExpression": "attribute_exists(PK)",
                    "ExpressionAttributeNames": {"#t": "total", "#s": "size"},
                    "ExpressionAttributeValues": {":t": {"N": "1"}, ":u": {"N": "1"},
                                                  ":s": {"N": str(len(raw))}}}},
    ])
started = time.perf_counter()
with ThreadPoolExecutor(args["concurrency"]) as pool:
    list(pool.map(one, range(len(raws))))
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "cpu_s": round(time.process_time(), 1),
                  "calls": dict(CALLS)}))
"""
)


def hwm_kb(pid: int) -> int:
    """A process's peak resident set (VmHWM) in KB; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measured(
    cmd: list[str], env: dict[str, str], stdin: str = "", *, cpu: bool = False
) -> dict[str, Any]:
    """Run a child; its stdout's last line (JSON, if any), wall time and peak RSS.

    ``cpu``: add ``cpu_s``, the child's CPU (user + sys) from its rusage as ``wait4`` reports
    it: the child and every descendant it waited for (getmail's forked deliveries, say), not
    the parent or any server it talks to (the emulator, Dovecot).
    """
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdin is not None
    proc.stdin.write(stdin)
    proc.stdin.close()
    peak = 0
    # Reaped with wait4, not poll(): only wait4 hands back the child's rusage.
    while True:
        peak = max(peak, hwm_kb(proc.pid))
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            break
        time.sleep(0.02)
    wall = time.perf_counter() - started
    out = proc.stdout.read() if proc.stdout else ""
    err = proc.stderr.read() if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed ({proc.returncode}): {err[-2000:]}")
    lines = [line for line in out.strip().splitlines() if line.startswith("{")]
    data: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    figures = {**data, "wall_s": round(wall, 3), "peak_rss_mb": round(peak / 1024, 1)}
    if cpu:
        figures["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 2)
    return figures


def python_child(
    code: str, env: dict[str, str], stdin: str = "", *, profile: bool = False, cpu: bool = False
) -> dict[str, Any]:
    """A Python child with the repo importable (``sys.argv[1]`` is the repo's root).

    ``profile``: with BENCH_PYSPY=<file> set, the child runs under ``py-spy record`` (raw
    folded stacks, every thread) to show where it spends its time; BENCH_PYSPY_BIN names the
    py-spy executable when it is not on PATH. The peak RSS is then py-spy's, not the child's,
    and ``cpu`` (see ``measured``) counts py-spy's own sampling on top of the child's.
    """
    paths = [str(ROOT), str(ROOT / "infra" / "local"), str(ROOT / "layers" / "core")]
    env = {**env, "PYTHONPATH": os.pathsep.join(paths)}
    cmd = [sys.executable, "-c", code, str(ROOT)]
    if profile and os.environ.get("BENCH_PYSPY"):
        pyspy = os.environ.get("BENCH_PYSPY_BIN") or shutil.which("py-spy") or "py-spy"
        cmd = [
            pyspy,
            "record",
            "--format",
            "raw",
            "--threads",
            "-o",
            os.environ["BENCH_PYSPY"],
            "--",
            *cmd,
        ]
    return measured(cmd, env, stdin, cpu=cpu)


def sink_floor(
    env: dict[str, str],
    *,
    messages: int,
    table: str,
    bucket: str,
    concurrency: int,
    source: str,
    job: str | None = None,
) -> dict[str, Any]:
    """The sink floor (``FLOOR``) in a child: ``source`` is a ``SourceType`` value, ``job``
    the migration job the index items name (IMAP imports carry one).
    """
    args = {
        "n": messages,
        "table": table,
        "bucket": bucket,
        "concurrency": concurrency,
        "source": source,
        "job": job,
    }
    return python_child(FLOOR, env, json.dumps(args))


@contextlib.contextmanager
def mail_server(
    folders: Seeded, users: list[str]
) -> Iterator[tuple[Path, Dovecot, dict[str, str]]]:
    """A private Dovecot in a fresh directory, every user holding the same ``folders``: the
    directory (for the run's other files), the server and each user's password.
    """
    # Short, under /tmp: Dovecot's unix sockets live below it (108 bytes at most).
    with tempfile.TemporaryDirectory(prefix="bm", dir="/tmp") as tmp:
        base = Path(tmp)
        base.chmod(0o755)  # Dovecot's own users must reach its files below
        with Dovecot(base / "dv") as dovecot:
            passwords: dict[str, str] = {}
            for user in users:
                passwords[user] = f"pw-{os.urandom(16).hex()}"
                dovecot.add_user(user, passwords[user])
                for folder, seeded in folders.items():
                    dovecot.seed_maildir(user, folder, seeded)
            yield base, dovecot, passwords


def stack_config(base: Path, dovecot: Dovecot, **changes: Any) -> LocalStackConfig:
    """A throw-away local stack that trusts ``dovecot``'s certificate; no schedules run."""
    return LocalStackConfig(
        api_port=0,
        state_dir=base / "state",
        persist=False,
        run_schedules=False,
        mail_ca_file=str(dovecot.ca_pem),
        **changes,
    )


def function_env(stack: LocalStack, logical_id: str, **extra: str) -> dict[str, str]:
    """The environment of one of the stack's functions, for a child that plays it."""
    return {
        **os.environ,
        **stack.lambdas[logical_id].environment,
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        **extra,
    }


def login(api_url: str, email: str = "alice@acme.example", tenant: str = "acme") -> dict[str, str]:
    """Headers of a user of the local stack's demo directory (``POST /v1/local/login``)."""
    r = requests.post(
        f"{api_url}/v1/local/login", json={"email": email, "tenant": tenant}, timeout=30
    )
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['token']}"}


def register_pop(api_url: str, headers: dict[str, str], port: int, user: str, password: str) -> str:
    """A POP account on the test Dovecot (POP3S at ``port``), registered through the API: its id."""
    created = requests.post(
        f"{api_url}/v1/accounts",
        headers=headers,
        timeout=60,
        json={
            "preset": "manual",
            "host": "127.0.0.1",
            "port": port,
            "ssl": True,
            "username": user,
            "password": password,
            "agreed": True,
        },
    )
    created.raise_for_status()
    return str(created.json()["id"])


def sqs_record(body: dict[str, Any]) -> dict[str, Any]:
    """An SQS record carrying ``body`` (a fetch message), as the event source hands it over."""
    return {
        "messageId": uuid.uuid4().hex,
        "receiptHandle": "x",
        "body": json.dumps(body),
        "attributes": {},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:fetch",
        "awsRegion": "us-east-1",
    }


def fetch_record(tenant: str, user_id: str, account_id: str) -> dict[str, Any]:
    """An SQS record of one scheduled fetch, as the dispatcher queues it (a new tick each)."""
    return sqs_record(
        {
            "tenant_id": tenant,
            "user_id": user_id,
            "account_id": account_id,
            "trigger": "schedule",
            "tick": "bench-" + uuid.uuid4().hex,  # never taken for a redelivery
        }
    )


def rate(messages: int, seconds: float) -> float:
    """Messages per second, as reported."""
    return round(messages / seconds, 1)


def result_head(
    name: str, messages: int, megabytes: float, **versions: str | None
) -> dict[str, Any]:
    """The part every result file starts with: what ran, when, where, with which versions, on
    how much mail. ``versions`` adds the benchmark's own (a peer's, say) to the common ones.
    """
    return {**run_head(name, **versions), "messages": messages, "megabytes": round(megabytes, 1)}


def run_head(name: str, **versions: str | None) -> dict[str, Any]:
    """What ran, when, where and with which versions (``result_head`` without the mail)."""
    return {
        "benchmark": name,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        # One id for every result of one `make bench` (its charts compare within one run).
        "run": os.environ.get("BENCH_RUN"),
        "git": git_commit(),
        "machine": machine(),
        "versions": {**common_versions(), **versions},
    }


def machine() -> dict[str, Any]:
    """The machine a result was measured on: CPU model and count, memory, OS, load."""
    return {
        "cpu_model": _proc_field("/proc/cpuinfo", "model name"),
        "cpus": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        # 1, 5 and 15 minutes at the end of the run: other work on the machine skews it.
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def common_versions() -> dict[str, str | None]:
    """The versions every benchmark depends on: Python, the emulator, the SDK, the server."""
    return {
        "python": platform.python_version(),
        "moto": package_version("moto"),
        "boto3": package_version("boto3"),
        "botocore": package_version("botocore"),
        "dovecot": debian_version("dovecot-imapd"),
    }


def git_commit() -> dict[str, Any]:
    """The commit the benchmarked code is at, and whether the code had uncommitted changes."""

    def git(*args: str) -> str | None:
        out = subprocess.run(["git", *args], capture_output=True, text=True, check=False, cwd=ROOT)
        return out.stdout.strip() if out.returncode == 0 else None

    # Changes to the results and the docs (which `make bench` itself rewrites) don't count.
    code = [".", ":(exclude)bench/results", ":(exclude,glob)**/*.md"]
    status = git("status", "--porcelain", "--untracked-files=no", "--", *code)
    return {
        "commit": git("rev-parse", "HEAD"),
        "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
        "dirty": bool(status) if status is not None else None,
    }


def _proc_field(path: str, field: str) -> str | None:
    """The first ``field: value`` of a /proc file (None where there is none)."""
    try:
        with open(path) as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() == field:
                    return value.strip()
    except OSError:
        pass
    return None


def _memory_gb() -> float | None:
    total = _proc_field("/proc/meminfo", "MemTotal")  # "24684092 kB"
    return round(int(total.split()[0]) / 1024 / 1024, 1) if total else None


def package_version(name: str) -> str | None:
    """A Python package's installed version (None if it is not installed)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def debian_version(package: str) -> str | None:
    """A Debian package's installed version (None if it is not installed)."""
    out = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", package],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None


def write_result(name: str, result: dict[str, Any]) -> Path:
    """Write ``bench/results/<name>.json``."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return path


def print_row(label: str, seconds: float, messages: int, peak_rss_mb: float | None) -> None:
    """One contender's line of a benchmark's printed table."""
    rss = f"  peak RSS {peak_rss_mb:6.1f} MB" if peak_rss_mb is not None else ""
    print(f"  {label:24s} {seconds:7.2f} s {messages / seconds:8.1f} msg/s{rss}")


def seed_new(dovecot: Dovecot, users: list[str], pool: list[bytes], new: int) -> None:
    """``new`` messages from ``pool`` into each user's Inbox (each message once)."""
    for user in users:
        dovecot.seed_maildir(user, "INBOX", [(pool.pop(), set[str](), 1.7e9) for _ in range(new)])


def stored_by(stack: LocalStack, accounts: list[tuple[Owner, str]]) -> int:
    """The messages all ``accounts``' runs stored; fails unless each one's last run went well."""
    table, ddb = stack.physical_id("MailportTable"), LazyClient("dynamodb")
    store, runs = DynamoAccountStore(table, client=ddb), DynamoRunLedger(table, client=ddb)
    total = 0
    for owner, account_id in accounts:
        account = store.get_account(owner, account_id)
        assert account is not None
        if account.state.last_status != "succeeded":
            raise RuntimeError(f"{account_id}: {account.state.last_error}")
        total += sum(r.counts.fetched for r in runs.list_runs(owner, account_id, 100))
    return total


def stored_exactly(stored: int, expected: int) -> None:
    """Say how many messages were stored; stop the benchmark unless exactly as many as seeded."""
    print(f"  messages stored: {stored} of {expected}")
    if stored != expected:
        raise SystemExit("a poll lost or duplicated messages")
