"""Benchmark: POP3 import from a private Dovecot into the local stack, with its floors and peer.

    .venv/bin/python -m bench.pop3 [--messages 2000] [--accounts 100000]

Every contender runs in a process of its own (as a Lambda environment would), started from the
same parent that runs the emulator, on the same 2,000 messages (≈ 48.5 MB) seeded into three
Dovecot users:

1. mailport: the real fetch handler (``pop_fetch.handler``) with one scheduled request: login
   (POP3S), LIST/UIDL, pipelined RETR, parse, S3 PutObject, the index transaction, receipts.
2. Sink floor: the bare writes the same messages need, straight to the emulator, at the same
   concurrency as mailport's run (its store pool): S3 PutObject (with its SHA-256) and the
   index TransactWriteItems (the message's real index item, built before the clock starts;
   the fingerprint item; the folder counters; the same conditions).
3. Protocol floor: POP3S login + pipelined RETR of everything into memory, nothing stored.
4. getmail6 (Python, POP3S → a local Maildir), the peer the shared measurements name.

Then the dispatcher over N accounts (default 100,000) created in the emulator: its time, its
AWS calls, and how evenly the queued work spreads over the 10 minutes (max/mean per minute).

Peak RSS is the child's VmHWM, sampled every 20 ms (ru_maxrss would report the parent's peak
after fork). Figures are printed and written to bench/results/pop3.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import requests

from bench.corpus import messages
from mailport.adapters.dynamo_table import to_ddb
from mailport.adapters.dynamodb_accounts import DynamoAccounts
from mailport.domain.accounts import PopAccount, Preset
from mailport.domain.mailbox import Owner
from mailport.usecases.pop_fetch import FetchConfig
from mailport_local.stack import LocalStack, LocalStackConfig
from tests.support.dovecot import Dovecot

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"

# Counts every AWS call a child makes, by operation.
_COUNTER = """
import collections, botocore.client
CALLS = collections.Counter()
_orig = botocore.client.BaseClient._make_api_call
def _counted(self, name, params):
    CALLS[name] += 1
    return _orig(self, name, params)
botocore.client.BaseClient._make_api_call = _counted
"""

_PIPELINE = (
    _COUNTER
    + """
import json, os, sys, time
sys.path[:0] = [os.path.join(sys.argv[1], "functions/pop_fetch")]
import pop_fetch
from mailport.wiring import container
from mailport_local.lambdas import LocalContext
container()
event = json.loads(sys.stdin.read())
started = time.perf_counter()
result = pop_fetch.handler(event, LocalContext("pop-fetch", 1024, 900))
seconds = time.perf_counter() - started
print(json.dumps({"result": result, "seconds": seconds, "calls": dict(CALLS)}))
"""
)

_FLOOR = (
    _COUNTER
    + """
import base64, datetime as dt, hashlib, json, sys, threading, time, boto3
from concurrent.futures import ThreadPoolExecutor
from bench.corpus import messages
from mailport.adapters.dynamo_table import to_ddb
from mailport.adapters.dynamodb_mailbox import DynamoMailbox
from mailport.domain.mailbox import Flags, Owner, Source, SourceType, StoredMessage
from mailport.domain.mime import summarize
args = json.loads(sys.stdin.read())
raws = [m.replace(b"\\r\\n", b"\\n").replace(b"\\n", b"\\r\\n") for m in messages(args["n"])]
owner, pk = Owner("floor", "u1"), "USER#floor#u1"
# The index item each message needs, built before the clock starts: the floor is the writes.
shape = DynamoMailbox(args["table"])._message_item
items = [to_ddb(shape(owner, StoredMessage(f"m{n}", "inbox", summarize(raw), Flags(),
         Source(SourceType.POP, "a"), "f" * 64, f"floor/{n}.eml", dt.datetime.now(dt.UTC),
         sha256="s" * 64))) for n, raw in enumerate(raws)]
boto3.client("dynamodb").put_item(TableName=args["table"],
                                  Item={"PK": {"S": pk}, "SK": {"S": "FOLDER#inbox"}})
local = threading.local()
def one(n):
    if not hasattr(local, "s3"):
        local.s3, local.ddb = boto3.client("s3"), boto3.client("dynamodb")
    raw = raws[n]
    local.s3.put_object(Bucket=args["bucket"], Key=f"floor/{n}.eml", Body=raw,
                        ContentType="message/rfc822",
                        ChecksumSHA256=base64.b64encode(hashlib.sha256(raw).digest()).decode())
    # The same conditions as mailport's: they make a retried write a no-op (no duplicates).
    new = "attribute_not_exists(PK)"
    local.ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": args["table"], "Item": items[n], "ConditionExpression": new}},
        {"Put": {"TableName": args["table"], "ConditionExpression": new,
                 "Item": {"PK": {"S": pk}, "SK": {"S": f"FP#inbox#{n:064d}"},
                          "message_id": {"S": f"m{n}"}}}},
        {"Update": {"TableName": args["table"],
                    "Key": {"PK": {"S": pk}, "SK": {"S": "FOLDER#inbox"}},
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
print(json.dumps({"seconds": seconds, "calls": dict(CALLS)}))
"""
)

_PROTOCOL = """
import json, sys, time
from mailport.adapters.pop3 import Pop3Connector
from mailport.domain.network import LOCAL_TESTS
from mailport.domain.remote import Credentials, ServerAddress
a = json.loads(sys.stdin.read())
started = time.perf_counter()
server = ServerAddress("127.0.0.1", a["port"], True, a["ca"])
session = Pop3Connector(network=LOCAL_TESTS).open(server, Credentials(a["user"], a["password"]))
total = 0
for _n, raw in session.retrieve([e.number for e in session.entries()]):
    total += len(raw)
session.quit()
print(json.dumps({"seconds": time.perf_counter() - started, "bytes": total}))
"""

_DISPATCH = (
    _COUNTER
    + """
import json, time
from mailport.wiring import container
c = container()
started = time.perf_counter()
result = c.dispatcher.dispatch("2026-11-28T10:00:00Z")
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "queued": result.queued,
                  "per_minute": list(result.per_minute), "calls": dict(CALLS)}))
"""
)


def _hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measured(cmd: list[str], env: dict[str, str], stdin: str = "") -> dict[str, Any]:
    """Run a child; its stdout's last line (JSON, if any), wall time and peak RSS."""
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
    while proc.poll() is None:
        peak = max(peak, _hwm_kb(proc.pid))
        time.sleep(0.02)
    wall = time.perf_counter() - started
    out = proc.stdout.read() if proc.stdout else ""
    err = proc.stderr.read() if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed ({proc.returncode}): {err[-2000:]}")
    lines = [line for line in out.strip().splitlines() if line.startswith("{")]
    data: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    return {**data, "wall_s": round(wall, 3), "peak_rss_mb": round(peak / 1024, 1)}


def python_child(code: str, env: dict[str, str], stdin: str = "") -> dict[str, Any]:
    """A Python child with the repo importable."""
    paths = [str(ROOT), str(ROOT / "infra" / "local"), str(ROOT / "layers" / "core")]
    env = {**env, "PYTHONPATH": os.pathsep.join(paths)}
    cmd = [sys.executable, "-c", code, str(ROOT)]
    if os.environ.get("BENCH_PYSPY") and code is _PIPELINE:  # where the run spends its time
        cmd = [
            "py-spy",
            "record",
            "--format",
            "raw",
            "--threads",
            "-o",
            os.environ["BENCH_PYSPY"],
            "--",
            *cmd,
        ]
    return measured(cmd, env, stdin)


def seed_users(dovecot: Dovecot, raws: list[bytes], names: list[str]) -> dict[str, str]:
    passwords = {}
    for name in names:
        passwords[name] = f"pw-{uuid.uuid4().hex}"
        dovecot.add_user(name, passwords[name])
        dovecot.seed_maildir(
            name, "INBOX", [(r, set(), 1_700_000_000.0 + i) for i, r in enumerate(raws)]
        )
    return passwords


def getmail6(dovecot: Dovecot, user: str, password: str, workdir: Path) -> dict[str, Any]:
    maildir = workdir / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    # getmail refuses to deliver as root; as on a real host it delivers as a mail user.
    workdir.chmod(0o755)
    for d in (maildir, *(maildir / s for s in ("cur", "new", "tmp"))):
        os.chown(d, 65534, 65534)
    rc = workdir / "getmailrc"
    rc.write_text(
        textwrap.dedent(f"""\
        [retriever]
        type = SimplePOP3SSLRetriever
        server = 127.0.0.1
        port = {dovecot.pop3s_port}
        username = {user}
        password = {password}
        ca_certs = {dovecot.ca_pem}
        [destination]
        type = Maildir
        path = {maildir}/
        user = nobody
        [options]
        read_all = true
        delete = false
        verbose = 0
        message_log_syslog = false
    """)
    )
    getmail = str(Path(sys.executable).with_name("getmail"))
    result = measured(
        [sys.executable, getmail, "--rcfile", str(rc), "--getmaildir", str(workdir)],
        dict(os.environ),
    )
    result["stored"] = len(list((maildir / "new").iterdir()))
    return result


def fetch_event(tenant: str, user_id: str, account_id: str) -> str:
    body = {
        "tenant_id": tenant,
        "user_id": user_id,
        "account_id": account_id,
        "trigger": "schedule",
        "tick": "bench-" + uuid.uuid4().hex,
    }
    return json.dumps(
        {
            "Records": [
                {
                    "messageId": "bench",
                    "receiptHandle": "x",
                    "body": json.dumps(body),
                    "attributes": {},
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn",
                    "awsRegion": "us-east-1",
                }
            ]
        }
    )


def make_accounts(stack: LocalStack, count: int) -> float:
    """``count`` accounts with automatic fetching on, written straight to the table."""
    table = stack.physical_id("MailportTable")
    accounts = DynamoAccounts(table)
    ddb = boto3.client("dynamodb")
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    batch: list[dict[str, Any]] = []
    for i in range(count):
        owner = Owner("bench", f"u{i // 10}")
        account = PopAccount(
            f"a{uuid.uuid4().hex[:20]}",
            Preset.GMAIL,
            "pop.gmail.com",
            995,
            True,
            f"user{i}@example.com",
            "inbox",
            "none",
            True,
            False,
            True,
            now,
        )
        batch.append({"PutRequest": {"Item": to_ddb(accounts.account_item(owner, account))}})
        if len(batch) == 25:
            ddb.batch_write_item(RequestItems={table: batch})
            batch = []
    if batch:
        ddb.batch_write_item(RequestItems={table: batch})
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--accounts", type=int, default=100_000)
    args = parser.parse_args()

    raws = messages(args.messages)
    total_mb = sum(map(len, raws)) / 1024 / 1024
    with tempfile.TemporaryDirectory(prefix="bp", dir="/tmp") as tmp:
        base = Path(tmp)
        base.chmod(0o755)  # Dovecot's own users must reach its files below
        with Dovecot(base / "dv") as dovecot:
            passwords = seed_users(dovecot, raws, ["mp", "gm", "pf"])
            config = LocalStackConfig(
                api_port=0,
                state_dir=base / "state",
                persist=False,
                run_schedules=False,
                mail_ca_file=str(dovecot.ca_pem),
            )
            with LocalStack(config) as stack:
                env = {
                    **os.environ,
                    **stack.lambdas["PopFetchFunction"].environment,
                    "POWERTOOLS_LOG_LEVEL": "WARNING",
                }
                account_id, user_id = register(stack, dovecot, passwords["mp"])
                floor = python_child(
                    _FLOOR,
                    env,
                    json.dumps(
                        {
                            "n": args.messages,
                            "table": stack.physical_id("MailportTable"),
                            "bucket": stack.physical_id("MailBucket"),
                            "concurrency": FetchConfig().store_concurrency,
                        }
                    ),
                )
                pipe = python_child(_PIPELINE, env, fetch_event("acme", user_id, account_id))
                protocol = python_child(
                    _PROTOCOL,
                    env,
                    json.dumps(
                        {
                            "port": dovecot.pop3s_port,
                            "ca": str(dovecot.ca_pem),
                            "user": "pf",
                            "password": passwords["pf"],
                        }
                    ),
                )
                peer = getmail6(dovecot, "gm", passwords["gm"], base / "getmail")
                runs = stored_count(stack, account_id, user_id)
                dispatch = None
                if args.accounts:
                    stack.sqs_sources["PopFetchFunction.FetchWork"].stop()
                    created_s = make_accounts(stack, args.accounts)
                    denv = {
                        **os.environ,
                        **stack.lambdas["PopDispatchFunction"].environment,
                        "POWERTOOLS_LOG_LEVEL": "WARNING",
                        # moto answers a query at ~3.5 ms per item; ten at once on its one
                        # process exceed botocore's 60 s read timeout. One at a time.
                        "DISPATCH_PARALLELISM": "1",
                    }
                    dispatch = python_child(_DISPATCH, denv)
                    dispatch["accounts_created_s"] = round(created_s, 1)
                    minutes = dispatch["per_minute"]
                    dispatch["spread_max_over_mean"] = round(
                        max(minutes) / (sum(minutes) / len(minutes)), 3
                    )
    report(
        args,
        total_mb,
        {"mailport": pipe, "sink_floor": floor, "protocol_floor": protocol, "getmail6": peer},
        runs,
        dispatch,
    )


def register(stack: LocalStack, dovecot: Dovecot, password: str) -> tuple[str, str]:
    r = requests.post(
        f"{stack.api_url}/v1/local/login",
        json={"email": "alice@acme.example", "tenant": "acme"},
        timeout=30,
    )
    r.raise_for_status()
    headers = {"Authorization": f"Bearer {r.json()['token']}"}
    me = requests.get(f"{stack.api_url}/v1/me", headers=headers, timeout=30).json()
    created = requests.post(
        f"{stack.api_url}/v1/accounts",
        headers=headers,
        timeout=60,
        json={
            "preset": "manual",
            "host": "127.0.0.1",
            "port": dovecot.pop3s_port,
            "ssl": True,
            "username": "mp",
            "password": password,
            "agreed": True,
        },
    )
    created.raise_for_status()
    return str(created.json()["id"]), str(me["user"]["id"])


def stored_count(stack: LocalStack, account_id: str, user_id: str) -> dict[str, Any]:
    account = DynamoAccounts(stack.physical_id("MailportTable")).get_account(
        Owner("acme", user_id), account_id
    )
    assert account is not None
    return {"last_status": account.state.last_status, "last_error": account.state.last_error}


def report(
    args: argparse.Namespace,
    total_mb: float,
    figures: dict[str, dict[str, Any]],
    runs: dict[str, Any],
    dispatch: dict[str, Any] | None,
) -> None:
    """Print the figures and write bench/results/pop3.json."""
    pipe, floor = figures["mailport"], figures["sink_floor"]
    protocol, peer = figures["protocol_floor"], figures["getmail6"]
    n = args.messages

    def rate(seconds: float) -> float:
        return round(n / seconds, 1)

    result = {
        "benchmark": "pop3",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "messages": n,
        "megabytes": round(total_mb, 1),
        "mailport": {**pipe, "msg_per_s": rate(pipe["seconds"]), "run": runs},
        "sink_floor": {**floor, "msg_per_s": rate(floor["seconds"])},
        "protocol_floor": {**protocol, "msg_per_s": rate(protocol["seconds"])},
        "getmail6": {**peer, "msg_per_s": rate(peer["wall_s"])},
        "ratio_to_sink_floor": round(pipe["seconds"] / floor["seconds"], 2),
        "ahead_of_getmail6": round(rate(pipe["seconds"]) / rate(peer["wall_s"]), 2),
        "dispatcher": dispatch,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "pop3.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"pop3: {n} messages, {total_mb:.1f} MB, one account, one run")
    for name, key, secs in [
        ("mailport (handler)", "mailport", pipe["seconds"]),
        ("sink floor", "sink_floor", floor["seconds"]),
        ("protocol floor", "protocol_floor", protocol["seconds"]),
        ("getmail6 (process)", "getmail6", peer["wall_s"]),
    ]:
        print(
            f"  {name:20s} {secs:7.2f} s {n / secs:8.1f} msg/s  peak RSS "
            f"{result[key]['peak_rss_mb']:6.1f} MB"
        )  # type: ignore[index]
    print(f"  mailport / sink floor: {result['ratio_to_sink_floor']}x (target <= 1.25x)")
    print(f"  mailport msg/s / getmail6 msg/s: {result['ahead_of_getmail6']}x")
    print(f"  mailport AWS calls: {pipe.get('calls')}")
    if dispatch:
        print(
            f"  dispatcher: {dispatch['queued']} accounts queued in {dispatch['seconds']:.1f} s, "
            f"calls {dispatch['calls']}, per-minute max/mean "
            f"{dispatch['spread_max_over_mean']}"
        )


if __name__ == "__main__":
    main()
