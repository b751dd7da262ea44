"""Benchmark: where an idle POP poll's CPU goes, by area, in the real fetch handler.

    .venv/bin/python -m bench.poll_profile [--accounts 20] [--passes 4] [--delay-ms 40]
        [--modes local,deployed,deployed_unsampled]

``bench.pop_batch`` saw 63-86 ms of worker CPU per idle poll in a batch of ten (issue #21),
``bench.pop_signin`` about 7 ms for a lone warm one. This runs the real handler
(``functions/pop_fetch``: Powertools Logger, Tracer and metrics as wired) on accounts with
nothing new, in batches of ten (the template's FetchBatchSize), ``--passes`` times over, in a
child process per mode:

- ``local``: as the local stack runs it (POWERTOOLS_TRACE_DISABLED, the template's log level);
- ``deployed``: as Lambda runs it with active tracing and the invocation sampled
  (LAMBDA_TASK_ROOT set, a new ``_X_AMZN_TRACE_ID`` per invocation; segments go by UDP to
  127.0.0.1:2000, where nobody listens);
- ``deployed_unsampled``: the same, not sampled (most invocations under X-Ray's default rule,
  the first request a second and 5 % of the rest).

Each mode runs in three children: plain, as deployed (``time.process_time`` per batch, AWS
calls and their CPU by operation, TLS handshakes and their CPU); the same polls one after
another without the server's delay; and those under cProfile, for the breakdown by area
(``bench.profile_areas``; why one after another: ``measure``). A child's first batch is its
container's first invocation (cold) and is reported apart from the warm ones:
``bench.pop_batch`` measures one cold batch a child. Last, the client's CPU for a full and a
resumed TLS handshake. Dovecot sits behind the fault proxy (``--delay-ms`` per answer), moto
in this process. Figures are printed and written to ``bench/results/poll_profile.json``
(bench/README.md says what they showed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import ssl
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests
import trustme

from bench.harness import (
    COUNTER,
    ROOT,
    fetch_record,
    function_env,
    login,
    mail_server,
    python_child,
    register_pop,
    run_head,
    stack_config,
    write_result,
)
from bench.profile_areas import analyse
from mailport.adapters.clients import LazyClient
from mailport.adapters.dynamodb_accounts import DynamoAccountStore
from mailport.adapters.net import tls_context
from mailport.domain.mailbox import Owner
from mailport_local.stack import DEMO_USERS, LocalStack
from tests.support.faultproxy import FaultProxy

BATCH = 10  # template.yaml FetchBatchSize's default

# The fetch worker, batch after batch: plain, or with a cProfile per thread (``profile``).
_CHILD = (
    COUNTER
    + r"""
import contextvars, cProfile, json, os, pstats, ssl, sys, threading, time, types, uuid
import botocore.client
args = json.loads(sys.stdin.read())
# Logs and EMF go to stdout, as in Lambda; here into a file (the parent reads the pipe only
# once the child is gone), the result to the real stdout.
result_out = os.fdopen(os.dup(1), "w")
os.dup2(os.open(args["log_file"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 1)
LOCK = threading.Lock()
TLS = {"n": 0, "cpu": 0.0}
AWS_CPU = collections.Counter()
_handshake = ssl.SSLSocket.do_handshake
def _timed_handshake(self, *a, **k):
    t = time.thread_time()
    try:
        return _handshake(self, *a, **k)
    finally:
        with LOCK:
            TLS["n"] += 1
            TLS["cpu"] += time.thread_time() - t
ssl.SSLSocket.do_handshake = _timed_handshake
sys.path[:0] = [os.path.join(sys.argv[1], "functions/pop_fetch")]
import pop_fetch  # the Tracer patches botocore here when tracing is on
import mailport.adapters.net
from mailport.batch import ConcurrentBatchProcessor
from mailport.wiring import container
from mailport_local.lambdas import LocalContext
_call = botocore.client.BaseClient.__dict__["_make_api_call"]
def _timed_call(self, name, params):  # outside X-Ray's wrapper: its cost is in
    t = time.thread_time()
    try:
        return _call.__get__(self, type(self))(name, params)
    finally:
        with LOCK:
            AWS_CPU[name] += time.thread_time() - t
botocore.client.BaseClient._make_api_call = _timed_call
if args["sequential"]:  # the batch's records one after another, in the handler's thread
    ConcurrentBatchProcessor.process = lambda self: [
        contextvars.copy_context().run(self._process_record, r) for r in self.records]
class _Timer:  # the session watchdog's timer, without its thread (see ``threads`` below)
    daemon = False
    def __init__(self, *a, **k): pass
    def start(self): pass
    def cancel(self): pass
if args["profile_dir"]:
    mailport.adapters.net.threading = types.SimpleNamespace(Timer=_Timer)
container()
def threads():  # what the profile leaves out: a watchdog timer per poll, a pool per batch
    cpu = time.process_time()
    for _ in range(200):
        t = threading.Timer(900, print)
        t.daemon = True
        t.start(); t.cancel(); t.join()
    timer = (time.process_time() - cpu) / 200
    cpu = time.process_time()
    for _ in range(20):
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(10) as pool:
            [f.result() for f in [pool.submit(int) for _ in range(10)]]
    return {"watchdog_timer_ms": round(timer * 1000, 3),
            "pool_of_10_ms": round((time.process_time() - cpu) / 20 * 1000, 3)}
batches, profile = [], None
for n, event in enumerate(args["events"]):
    if args["sampled"] is not None:  # Lambda sets a new one for each invocation
        os.environ["_X_AMZN_TRACE_ID"] = (
            f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};"
            f"Parent={uuid.uuid4().hex[:16]};Sampled={args['sampled']}")
    CALLS.clear(); AWS_CPU.clear(); TLS.update(n=0, cpu=0.0)
    sys.stdout.flush()
    logged = os.fstat(1).st_size
    if args["profile_dir"] and n <= 1:  # one profile for the cold batch, one for the rest
        profile = cProfile.Profile(time.process_time)
    cpu, started = time.process_time(), time.perf_counter()
    if profile is not None:
        profile.enable()
    result = pop_fetch.handler(event, LocalContext("pop-fetch", 1024, 900))
    if profile is not None:
        profile.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - started
    sys.stdout.flush()
    batches.append({
        "polls": len(event["Records"]), "cpu_ms": round(cpu * 1000, 2),
        "wall_ms": round(wall * 1000, 2), "calls": dict(CALLS),
        "aws_cpu_ms": {k: round(v * 1000, 2) for k, v in AWS_CPU.items()},
        "tls_handshakes": TLS["n"], "tls_handshake_cpu_ms": round(TLS["cpu"] * 1000, 2),
        "log_bytes": os.fstat(1).st_size - logged,
        "failures": result["batchItemFailures"]})
    if profile is not None and (n == 0 or n == len(args["events"]) - 1):
        profile.dump_stats(os.path.join(args["profile_dir"], "cold" if n == 0 else "warm"))
print(json.dumps({"batches": batches, "threads": threads() if args["profile_dir"] else None}),
      file=result_out, flush=True)
"""
)

MODES = ("local", "deployed", "deployed_unsampled")
# What each mode sets on top of the function's environment (the local stack's).
_LAMBDA = {
    "POWERTOOLS_TRACE_DISABLED": "false",
    "LAMBDA_TASK_ROOT": str(ROOT / "functions" / "pop_fetch"),
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
}


def mode_env(stack: LocalStack, mode: str) -> tuple[dict[str, str], int | None]:
    """A mode's environment, and the ``Sampled`` flag of its trace header (None: no header)."""
    fn = stack.lambdas["PopFetchFunction"]
    # function_env quiets benchmarks to WARNING; a poll runs at the template's level.
    level = fn.environment.get("POWERTOOLS_LOG_LEVEL", "INFO")
    env = function_env(stack, "PopFetchFunction", POWERTOOLS_LOG_LEVEL=level)
    if mode == "local":
        return env, None
    return {**env, **_LAMBDA, "AWS_LAMBDA_FUNCTION_NAME": fn.name}, int(mode == "deployed")


def worker(
    env: dict[str, str],
    sampled: int | None,
    events: list[Any],
    base: Path,
    *,
    sequential: bool = False,
    profile: bool = False,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One child playing the fetch worker over ``events``: its batches, and with ``profile``
    the folder of its profiles and what its thread starts cost.
    """
    run = uuid.uuid4().hex[:8]
    profiles = base / f"prof-{run}" if profile else None
    if profiles is not None:
        profiles.mkdir()
    args = {
        "events": events,
        "sampled": sampled,
        "sequential": sequential or profile,
        "log_file": str(base / f"log-{run}"),
        "profile_dir": str(profiles or ""),
    }
    # One after another: every poll in the handler's thread, none in the sessions pool.
    child_env = {**env, "FETCH_SESSIONS": "1"} if args["sequential"] else env
    out = python_child(_CHILD, child_env, json.dumps(args))
    for batch in out["batches"]:
        if batch["failures"] or "PutObject" in batch["calls"]:
            raise RuntimeError(f"not an idle batch: {batch}")
    return out["batches"], {"profiles": profiles, "threads": out["threads"]}


def per_poll(batches: list[dict[str, Any]]) -> dict[str, Any]:
    """Batches' figures per poll: CPU and wall time (medians, range), counts (means)."""
    polls = sum(b["polls"] for b in batches)

    def each(field: str) -> list[float]:
        return [b[field] / b["polls"] for b in batches]

    def total(field: str) -> dict[str, float]:
        summed: Counter[str] = Counter()
        for b in batches:
            summed.update(b[field])
        return {k: round(v / polls, 2) for k, v in sorted(summed.items())}

    cpu = each("cpu_ms")
    return {
        "batches": len(batches),
        "polls": polls,
        "cpu_ms_per_poll": round(statistics.median(cpu), 2),
        "cpu_ms_per_poll_range": [round(min(cpu), 2), round(max(cpu), 2)],
        "billed_ms_per_poll": round(statistics.median(each("wall_ms")), 2),
        "tls_handshakes_per_poll": round(sum(b["tls_handshakes"] for b in batches) / polls, 2),
        "tls_handshake_cpu_ms_per_poll": round(statistics.median(each("tls_handshake_cpu_ms")), 2),
        "aws_calls_per_poll": total("calls"),
        "aws_cpu_ms_per_poll": total("aws_cpu_ms"),
        "log_bytes_per_poll": round(sum(b["log_bytes"] for b in batches) / polls),
    }


def measure(
    stack: LocalStack, proxy: FaultProxy, mode: str, events: list[Any], base: Path
) -> dict[str, Any]:
    """A mode: plain figures (cold batch, warm batches), the same polls one after another
    without the server's delay, and the profiles of those (cProfile on Python 3.12 is one
    per process, on ``sys.monitoring``, with one call stack: threads would tangle it).
    """
    env, sampled = mode_env(stack, mode)
    delay = proxy.delay
    plain, _ = worker(env, sampled, events, base)
    proxy.delay = 0.0  # read by each new connection; CPU is what these two measure
    try:
        one_by_one, _ = worker(env, sampled, events, base, sequential=True)
        profiled, extra = worker(env, sampled, events, base, profile=True)
    finally:
        proxy.delay = delay
    cold, warm = per_poll(plain[:1]), per_poll(plain[1:])
    profiles: Path = extra["profiles"]
    threads = extra["threads"]
    return {
        "environment": {k: env[k] for k in ("POWERTOOLS_LOG_LEVEL", *_LAMBDA) if k in env},
        "trace_sampled": sampled,
        "cold": cold,
        "warm": warm,
        "one_after_another": {"cold": per_poll(one_by_one[:1]), "warm": per_poll(one_by_one[1:])},
        "profiled_run": {"cold": per_poll(profiled[:1]), "warm": per_poll(profiled[1:])},
        # Left out of the profile (it runs a batch in one thread, the watchdog without one).
        "threads_ms": {
            "watchdog_timer_per_poll": threads["watchdog_timer_ms"],
            "pool_per_poll": round(threads["pool_of_10_ms"] / BATCH, 3),
        },
        "profile": {
            "cold": analyse(profiles / "cold", cold["polls"], cold["cpu_ms_per_poll"]),
            "warm": analyse(profiles / "warm", warm["polls"], warm["cpu_ms_per_poll"]),
        },
        "batches": {"plain": plain, "one_after_another": one_by_one, "profiled": profiled},
    }


def register_all(stack: LocalStack, port: int, users: list[str], pw: dict[str, str]) -> list[Any]:
    """The accounts, ten per demo user (a user's most), each in one batch: the batches'
    records as (owner, account ids).
    """
    groups: list[Any] = []
    for start in range(0, len(users), BATCH):
        tenant, email = DEMO_USERS[start // BATCH][:2]
        headers = login(stack.api_url, email, tenant)
        me = requests.get(f"{stack.api_url}/v1/me", headers=headers, timeout=30).json()
        owner = Owner(tenant, str(me["user"]["id"]))
        ids = [
            register_pop(stack.api_url, headers, port, u, pw[u])
            for u in users[start : start + BATCH]
        ]
        groups.append((owner, ids))
    return groups


def events_for(groups: list[Any], passes: int) -> list[Any]:
    """``passes`` polls of every account, a batch (one invocation) per group."""
    return [
        {"Records": [fetch_record(owner.tenant_id, owner.user_id, a) for a in ids]}
        for _ in range(passes)
        for owner, ids in groups
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=20, help=f"{BATCH} a demo user")
    parser.add_argument("--passes", type=int, default=4, help="polls of each account a child")
    parser.add_argument("--delay-ms", type=float, default=40.0)
    parser.add_argument("--modes", default=",".join(MODES))
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    if set(modes) - set(MODES) or not 0 < args.accounts <= BATCH * len(DEMO_USERS):
        parser.error(f"modes among {MODES}; at most {BATCH * len(DEMO_USERS)} accounts")
    if args.passes * -(-args.accounts // BATCH) < 2:
        parser.error("a child needs two batches at least (a cold one, a warm one)")
    users = [f"p{i}" for i in range(args.accounts)]
    results: dict[str, Any] = {}
    with (
        mail_server({"INBOX": []}, users) as (base, dovecot, passwords),
        FaultProxy(("127.0.0.1", dovecot.pop3s_port), delay=args.delay_ms / 1000) as proxy,
        LocalStack(stack_config(base, dovecot)) as stack,
    ):
        stack.sqs_sources["PopFetchFunction.FetchWork"].stop()  # polls run when we say
        groups = register_all(stack, proxy.port, users, passwords)
        env, _ = mode_env(stack, "local")
        worker(env, None, events_for(groups, 1), base, profile=False)  # first runs
        for mode in modes:
            results[mode] = measure(stack, proxy, mode, events_for(groups, args.passes), base)
        checked(stack, groups)
        tls = {"dovecot": tls_resumption(dovecot.host, dovecot.pop3s_port, str(dovecot.ca_pem))}
        with ticket_server(base) as (host, port, ca_file):
            tls["resuming_server"] = tls_resumption(host, port, ca_file)
    report(args, results, tls)


def checked(stack: LocalStack, groups: list[Any]) -> None:
    """Every account's last poll succeeded."""
    accounts = DynamoAccountStore(stack.physical_id("MailportTable"), client=LazyClient("dynamodb"))
    for owner, ids in groups:
        for account_id in ids:
            account = accounts.get_account(owner, account_id)
            if account is None or account.state.last_status != "succeeded":
                raise RuntimeError(f"{account_id}: {account and account.state.last_error}")


@contextlib.contextmanager
def ticket_server(base: Path) -> Iterator[tuple[str, int, str]]:
    """A TLS server on loopback that resumes sessions (one process, one ticket key, as large
    providers' servers do; Dovecot's login processes each have their own): host, port, CA file.
    """
    ca = trustme.CA()
    ca_file = base / "ticket-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):  # a timeout, or a client gone
                conn, _ = listener.accept()
                conn.settimeout(5)
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.sendall(b"+OK ready\r\n")
                    tls.recv(64)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", listener.getsockname()[1], str(ca_file)
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def tls_resumption(host: str, port: int, ca_file: str, rounds: int = 40) -> dict[str, Any]:
    """The client's CPU for a full TLS handshake through mailport's own context, and for one
    that offers the session (TLS 1.3 ticket) of the connection before.
    """
    context = tls_context(ca_file)

    def handshake(session: ssl.SSLSession | None) -> tuple[float, ssl.SSLSession | None, bool]:
        with socket.create_connection((host, port), timeout=10) as raw:
            cpu = time.thread_time()
            tls = context.wrap_socket(raw, server_hostname=host, session=session)
            spent = time.thread_time() - cpu
            tls.recv(512)  # the greeting: a TLS 1.3 server sends its tickets after the handshake
            ticket, reused = tls.session, bool(tls.session_reused)
            tls.close()
        return spent, ticket, reused

    full = [handshake(None)[0] for _ in range(rounds)]
    resumed, reused = [], 0
    _, ticket, _ = handshake(None)
    for _ in range(rounds):
        spent, ticket, hit = handshake(ticket)
        resumed.append(spent)
        reused += hit
    return {
        "full_ms": round(statistics.median(full) * 1000, 3),
        "offered_ticket_ms": round(statistics.median(resumed) * 1000, 3),
        "resumed_share": round(reused / rounds, 2),
    }


def _print_areas(rows: list[dict[str, Any]], limit: int) -> None:
    print("      own time by area (share, est. ms a poll):")
    for row in rows[:limit]:
        print(f"        {row['share']:6.1%} {row['est_ms']:6.2f} ms  {row['area']}")


def _print_steps(rows: list[dict[str, Any]], only: tuple[str, ...] = ()) -> None:
    print("      steps (est. ms a poll, inclusive, nested; calls a poll):")
    for row in rows:
        if not only or any(word in row["step"] for word in only):
            print(f"        {row['est_ms']:6.2f} ms  x{row['calls_per_poll']:<5g} {row['step']}")


def _print_mode(mode: str, m: dict[str, Any]) -> None:
    warm, cold = m["warm"], m["cold"]
    calls = ", ".join(
        f"{op} x{n:g} {warm['aws_cpu_ms_per_poll'].get(op, 0):.2f} ms"
        for op, n in warm["aws_calls_per_poll"].items()
    )
    aws_ms = sum(warm["aws_cpu_ms_per_poll"].values())
    alone, threads = m["one_after_another"]["warm"]["cpu_ms_per_poll"], m["threads_ms"]
    print(
        f"  {mode}: CPU a warm idle poll {warm['cpu_ms_per_poll']} ms (batches "
        f"{warm['cpu_ms_per_poll_range'][0]}-{warm['cpu_ms_per_poll_range'][1]}), a poll of the "
        f"cold batch {cold['cpu_ms_per_poll']} ms; billed {warm['billed_ms_per_poll']} ms a "
        f"poll; one after another without the delay {alone} ms"
    )
    print(
        f"    a warm poll: AWS calls {aws_ms:.2f} ms ({calls}; X-Ray's part in); "
        f"{warm['tls_handshakes_per_poll']:g} TLS handshake {warm['tls_handshake_cpu_ms_per_poll']}"
        f" ms; {warm['log_bytes_per_poll']} B of logs and EMF; threads {threads['pool_per_poll']}"
        f" ms (pool) + {threads['watchdog_timer_per_poll']} ms (watchdog), not in the profile"
    )
    for phase in ("warm", "cold"):
        profile = m["profile"][phase]
        print(
            f"    {phase} profile: {profile['profiled_cpu_ms_per_poll']} ms a poll under cProfile"
            f" (x{profile['scale_to_plain']} to plain)"
        )
        _print_areas(profile["self_by_area"], 12 if phase == "warm" else 6)
        cold_only = ("AWS call", "imports", "made", "account")
        _print_steps(profile["steps"], () if phase == "warm" else cold_only)


def report(args: argparse.Namespace, results: dict[str, Any], tls: dict[str, Any]) -> None:
    """Print the figures and write bench/results/poll_profile.json."""
    print(
        f"poll_profile: {args.accounts} idle accounts, batches of {BATCH}, {args.passes} passes "
        f"a child, {args.delay_ms:g} ms a server answer"
    )
    for mode, figures in results.items():
        _print_mode(mode, figures)
    for server, t in tls.items():
        print(
            f"  TLS handshake, client CPU, {server}: full {t['full_ms']} ms; offering the last "
            f"session {t['offered_ticket_ms']} ms ({t['resumed_share']:.0%} resumed)"
        )
    write_result(
        "poll_profile",
        {
            **run_head("poll_profile"),
            "accounts": args.accounts,
            "batch_size": BATCH,
            "passes": args.passes,
            "delay_ms": args.delay_ms,
            "modes": results,
            "tls_resumption": tls,
        },
    )


if __name__ == "__main__":
    main()
