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
after fork). CPU (``cpu_s``, ``cpu_ms_per_msg``) is, for mailport and getmail6 alike, the
child process's user + sys time from its rusage (``wait4``): the whole process, its start and
imports included, and any child it waited for (getmail forks one per delivered message). The
emulator and Dovecot run in processes of their own, so the CPU they spend answering is in
neither figure. mailport's ``handler_cpu_s`` is the handler call's share of it (process time,
every thread). Under BENCH_PYSPY, mailport's ``cpu_s`` includes py-spy's sampling too.
Figures are printed and written to bench/results/pop3.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import requests

from bench.corpus import messages
from bench.harness import (
    COUNTER,
    fetch_record,
    function_env,
    login,
    mail_server,
    measured,
    package_version,
    print_row,
    python_child,
    rate,
    register_pop,
    result_head,
    sink_floor,
    stack_config,
    write_result,
)
from mailport.adapters.clients import LazyClient
from mailport.adapters.dynamo_table import to_ddb
from mailport.adapters.dynamodb_accounts import DynamoAccountStore
from mailport.domain.accounts import PopAccount, Preset
from mailport.domain.mailbox import Owner, SourceType
from mailport.usecases.pop_fetch import FetchConfig
from mailport_local.stack import LocalStack
from tests.support.dovecot import Dovecot

_PIPELINE = (
    COUNTER
    + """
import json, os, sys, time
sys.path[:0] = [os.path.join(sys.argv[1], "functions/pop_fetch")]
import pop_fetch
from mailport.wiring import container
from mailport_local.lambdas import LocalContext
container()
event = json.loads(sys.stdin.read())
started, cpu_started = time.perf_counter(), time.process_time()
result = pop_fetch.handler(event, LocalContext("pop-fetch", 1024, 900))
seconds = time.perf_counter() - started
handler_cpu_s = round(time.process_time() - cpu_started, 2)
print(json.dumps({"result": result, "seconds": seconds, "handler_cpu_s": handler_cpu_s,
                  "calls": dict(CALLS)}))
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
    COUNTER
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
        cpu=True,
    )
    result["stored"] = len(list((maildir / "new").iterdir()))
    return result


def cpu_ms_per_msg(messages: int, cpu_s: float) -> float:
    """CPU milliseconds per message, as reported."""
    return round(cpu_s * 1000 / messages, 2)


def fetch_event(tenant: str, user_id: str, account_id: str) -> str:
    return json.dumps({"Records": [fetch_record(tenant, user_id, account_id)]})


def make_accounts(stack: LocalStack, count: int) -> float:
    """``count`` accounts with automatic fetching on, written straight to the table."""
    table = stack.physical_id("MailportTable")
    accounts = DynamoAccountStore(table, client=LazyClient("dynamodb"))
    ddb = boto3.client("dynamodb")
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    batch: list[Any] = []  # WriteRequestTypeDef items
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
    inbox = {"INBOX": [(r, set[str](), 1_700_000_000.0 + i) for i, r in enumerate(raws)]}
    users = ["mp", "gm", "pf"]
    with (
        mail_server(inbox, users) as (base, dovecot, passwords),
        LocalStack(stack_config(base, dovecot)) as stack,
    ):
        env = function_env(stack, "PopFetchFunction")
        account_id, user_id = register(stack, dovecot, passwords["mp"])
        floor = sink_floor(
            env,
            messages=args.messages,
            table=stack.physical_id("MailportTable"),
            bucket=stack.physical_id("MailBucket"),
            concurrency=FetchConfig().store_concurrency,
            source=SourceType.POP.value,
        )
        pipe = python_child(
            _PIPELINE, env, fetch_event("acme", user_id, account_id), profile=True, cpu=True
        )
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
            # moto answers a query at ~3.5 ms per item; ten at once on its one
            # process exceed botocore's 60 s read timeout. One at a time.
            denv = function_env(stack, "PopDispatchFunction", DISPATCH_PARALLELISM="1")
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
    headers = login(stack.api_url)
    me = requests.get(f"{stack.api_url}/v1/me", headers=headers, timeout=30).json()
    account_id = register_pop(stack.api_url, headers, dovecot.pop3s_port, "mp", password)
    return account_id, str(me["user"]["id"])


def stored_count(stack: LocalStack, account_id: str, user_id: str) -> dict[str, Any]:
    account = DynamoAccountStore(
        stack.physical_id("MailportTable"), client=LazyClient("dynamodb")
    ).get_account(Owner("acme", user_id), account_id)
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
    result = {
        **result_head("pop3", n, total_mb, getmail6=package_version("getmail6")),
        "mailport": {
            **pipe,
            "cpu_ms_per_msg": cpu_ms_per_msg(n, pipe["cpu_s"]),
            "msg_per_s": rate(n, pipe["seconds"]),
            "run": runs,
        },
        "sink_floor": {**floor, "msg_per_s": rate(n, floor["seconds"])},
        "protocol_floor": {**protocol, "msg_per_s": rate(n, protocol["seconds"])},
        "getmail6": {
            **peer,
            "cpu_ms_per_msg": cpu_ms_per_msg(n, peer["cpu_s"]),
            "msg_per_s": rate(n, peer["wall_s"]),
        },
        "ratio_to_sink_floor": round(pipe["seconds"] / floor["seconds"], 2),
        "ahead_of_getmail6": round(rate(n, pipe["seconds"]) / rate(n, peer["wall_s"]), 2),
        "dispatcher": dispatch,
    }
    write_result("pop3", result)
    print(f"pop3: {n} messages, {total_mb:.1f} MB, one account, one run")
    for name, figures_of, secs in [
        ("mailport (handler)", pipe, pipe["seconds"]),
        ("sink floor", floor, floor["seconds"]),
        ("protocol floor", protocol, protocol["seconds"]),
        ("getmail6 (process)", peer, peer["wall_s"]),
    ]:
        print_row(name, secs, n, figures_of["peak_rss_mb"])
    print(f"  mailport / sink floor: {result['ratio_to_sink_floor']}x (target <= 1.25x)")
    print(f"  mailport msg/s / getmail6 msg/s: {result['ahead_of_getmail6']}x")
    print(
        f"  CPU, process user+sys: mailport {pipe['cpu_s']:.2f} s, "
        f"{result['mailport']['cpu_ms_per_msg']} ms/msg (handler call {pipe['handler_cpu_s']} s); "
        f"getmail6 {peer['cpu_s']:.2f} s, {result['getmail6']['cpu_ms_per_msg']} ms/msg"
    )
    print(f"  mailport AWS calls: {pipe.get('calls')}")
    if dispatch:
        print(
            f"  dispatcher: {dispatch['queued']} accounts queued in {dispatch['seconds']:.1f} s, "
            f"calls {dispatch['calls']}, per-minute max/mean "
            f"{dispatch['spread_max_over_mean']}"
        )


if __name__ == "__main__":
    main()
