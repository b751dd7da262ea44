"""Benchmark: IMAP migration from a private Dovecot into the local stack, with its floors and
peer.

    .venv/bin/python -m bench.imap [--messages 2000]

The same messages (2,000 ≈ 48.5 MB, split unevenly over 6 folders, some \\Seen, \\Flagged or
\\Answered) are seeded into four Dovecot users, one per run:

1. mailport, the worker: in a process of its own (as a Lambda environment would be), the real
   worker handler runs the state machine's steps one after the other, as Step Functions would
   call them: Plan, CopyChunk until the cursor says done, Finalize. The job is created before
   the clock starts, by the real ``MigrationService`` given executions that only record (so no
   Step Functions execution starts): this run is the worker alone. Seconds, msg/s, AWS calls,
   chunks, and the peak RSS after each chunk (the child's VmHWM).
2. mailport, end to end: ``POST /v1/migrations`` through the local API, Step Functions (moto,
   running infra/statemachines/migration.asl.json) drives the worker in the emulator's process
   until the job is completed. Wall time, Lambda invocations of the worker and state
   transitions (states entered, across every execution of the job), per 10,000 messages.
3. Sink floor: the bare writes the same messages need, straight to the emulator, at the
   worker's store concurrency (bench/harness.py ``FLOOR``, the same as the POP3 benchmark's).
4. Protocol floor: IMAPS login, then EXAMINE, sizes and FETCH of every folder into memory with
   mailport's own IMAP adapter; nothing stored.
5. offlineimap3 (Debian's package, Python), IMAPS into a local Maildir, one-shot.

Figures are printed and written to bench/results/imap.json. Compare ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import requests

from bench.corpus import messages
from bench.harness import (
    Seeded,
    debian_version,
    function_env,
    login,
    mail_server,
    measured,
    print_row,
    python_child,
    rate,
    result_head,
    sink_floor,
    stack_config,
    write_result,
)
from bench.imap_children import PROTOCOL, WORKER
from mailport.adapters.clients import LazyClient
from mailport.adapters.dynamodb_jobs import DynamoJobStore
from mailport.domain.mailbox import Owner, SourceType
from mailport.domain.migration import JobState
from mailport.usecases.migration import MigrationConfig
from mailport_local.stack import LocalStack
from tests.support.dovecot import Dovecot

# Where the messages go: uneven shares, a parent with a child, a non-ASCII name.
FOLDERS = (
    ("INBOX", 0.34),
    ("Sent", 0.16),
    ("Archive", 0.08),
    ("Archive.2024", 0.22),
    ("Work", 0.12),
    ("日本語", 0.08),
)
STEP_OWNER = Owner("bench", "step")
TARGETS = {
    "ratio_to_sink_floor": 1.25,
    "ahead_of_offlineimap3": 1.0,
    "transitions_per_10k": 50,
    "cpu_ms_per_message": 3.0,  # the worker's steps (issue #22)
}


def split(raws: list[bytes]) -> Seeded:
    """The messages over ``FOLDERS`` in contiguous runs, with flags and internal dates."""
    out: Seeded = {}
    start = 0
    for i, (folder, share) in enumerate(FOLDERS):
        end = len(raws) if i == len(FOLDERS) - 1 else start + round(len(raws) * share)
        out[folder] = [(raws[n], flags(n), 1_700_000_000.0 + 60 * n) for n in range(start, end)]
        start = end
    return out


def flags(n: int) -> set[str]:
    """Two thirds read, some flagged, some answered."""
    return {
        flag
        for flag, on in (
            ("\\Seen", n % 3 != 0),
            ("\\Flagged", n % 13 == 0),
            ("\\Answered", n % 7 == 0),
        )
        if on
    }


def connection(dovecot: Dovecot, user: str, password: str) -> dict[str, Any]:
    """The API's ``connection`` object for a user of the Dovecot (IMAPS, typed in)."""
    server = {"type": "manual", "host": "127.0.0.1", "port": dovecot.imaps_port, "ssl": True}
    return {**server, "username": user, "password": password}


def imaps(dovecot: Dovecot) -> dict[str, Any]:
    """Where a child reaches the Dovecot's IMAPS, and the CA it trusts."""
    return {"port": dovecot.imaps_port, "ca": str(dovecot.ca_pem)}


def worker_run(
    stack: LocalStack, env: dict[str, str], conn: dict[str, Any], expected: int
) -> dict[str, Any]:
    """The worker's steps in a process of its own; the job must have imported everything."""
    stdin = {"tenant": STEP_OWNER.tenant_id, "user": STEP_OWNER.user_id, "connection": conn}
    run = python_child(WORKER, env, json.dumps(stdin), profile=True)
    table = stack.physical_id("MailportTable")
    job = DynamoJobStore(table, client=LazyClient("dynamodb")).get_job(STEP_OWNER, run["job_id"])
    if job is None or job.state is not JobState.COMPLETED or job.counts.imported != expected:
        state = job.state.value if job else "missing"
        counts = job.counts.to_json() if job else {}
        raise RuntimeError(f"worker run: job {state}, {counts}; expected {expected} imported")
    if run["executions_started"] != [run["job_id"]]:  # the scheduler's launch, recorded only
        raise RuntimeError(f"worker run: executions asked for {run['executions_started']}")
    return {**run, "counts": job.counts.to_json()}


def end_to_end(stack: LocalStack, conn: dict[str, Any], expected: int) -> dict[str, Any]:
    """Through the API and Step Functions until the job is completed; the wall time."""
    headers = login(stack.api_url)
    worker = stack.lambdas["MigrationWorkerFunction"]
    invocations = worker.invocations
    started = time.perf_counter()
    created = requests.post(
        f"{stack.api_url}/v1/migrations",
        headers=headers,
        json={"connection": conn, "agreed": True},
        timeout=60,
    )
    created.raise_for_status()
    job_id = str(created.json()["id"])
    deadline = started + 1800
    while True:
        job = requests.get(f"{stack.api_url}/v1/migrations/{job_id}", headers=headers, timeout=60)
        job.raise_for_status()
        state = job.json()["state"]
        if state == "completed":
            break
        if (
            state in ("rolled_back", "failed", "reverting", "reverted")
            or time.perf_counter() > deadline
        ):
            raise RuntimeError(f"end to end: the job is {state}: {job.json().get('error')}")
        time.sleep(0.5)
    seconds = time.perf_counter() - started
    counts = job.json()["counts"]
    if counts["imported"] != expected:
        raise RuntimeError(f"end to end: {counts}; expected {expected} imported")
    executions = settled_executions(stack, job_id)
    transitions = {name: states_entered(arn) for name, arn in executions.items()}
    return {
        "seconds": seconds,
        "job_id": job_id,
        "counts": counts,
        "lambda_invocations": worker.invocations - invocations,
        "state_transitions": sum(transitions.values()),
        "executions": transitions,
    }


def settled_executions(stack: LocalStack, job_id: str, timeout: float = 120) -> dict[str, str]:
    """The job's executions (``<job>`` and ``<job>-c<n>``) once none is running."""
    sfn = boto3.client("stepfunctions")
    machine = stack.physical_id("MigrationStateMachine")
    deadline = time.monotonic() + timeout
    while True:
        mine = [
            e
            for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine)
            for e in page["executions"]
            if e["name"] == job_id or e["name"].startswith(f"{job_id}-c")
        ]
        if mine and all(e["status"] != "RUNNING" for e in mine):
            failed = [e["name"] for e in mine if e["status"] != "SUCCEEDED"]
            if failed:
                raise RuntimeError(f"end to end: executions did not succeed: {failed}")
            return {e["name"]: e["executionArn"] for e in mine}
        if time.monotonic() > deadline:
            raise RuntimeError(f"end to end: executions still running: {mine}")
        time.sleep(0.2)


def states_entered(execution_arn: str) -> int:
    """State transitions of one execution: the states it entered."""
    sfn = boto3.client("stepfunctions")
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
    return sum(1 for page in pages for e in page["events"] if "stateEnteredEventDetails" in e)


def offlineimap3(dovecot: Dovecot, user: str, password: str, workdir: Path) -> dict[str, Any]:
    """offlineimap3, one-shot, into a local Maildir; the process's wall time, peak RSS and CPU
    (user + sys of the process and every thread, from its rusage: ``measured``).
    """
    mail = workdir / "Mail"
    workdir.mkdir()
    rc = workdir / "offlineimaprc"
    rc.write_text(
        textwrap.dedent(f"""\
        [general]
        accounts = bench
        metadata = {workdir}/metadata
        ui = quiet

        [Account bench]
        localrepository = local
        remoterepository = remote

        [Repository local]
        type = Maildir
        localfolders = {mail}

        [Repository remote]
        type = IMAP
        remotehost = 127.0.0.1
        remoteport = {dovecot.imaps_port}
        ssl = yes
        sslcacertfile = {dovecot.ca_pem}
        remoteuser = {user}
        remotepass = {password}
        readonly = True
    """)
    )
    env = {**os.environ, "HOME": str(workdir)}
    result = measured(["offlineimap", "-c", str(rc), "-o", "-u", "quiet"], env, cpu=True)
    result["stored"] = sum(
        1 for sub in ("cur", "new") for d in mail.glob(f"**/{sub}") for f in d.iterdir()
    )
    return result


def busy(run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``run()``'s figures and the CPU time this process spent meanwhile: the emulator, the
    API and the in-process functions all run here.
    """
    before = time.process_time()
    figures = run()
    return {**figures, "parent_cpu_s": round(time.process_time() - before, 1)}


def contenders(
    stack: LocalStack, dovecot: Dovecot, passwords: dict[str, str], n: int, expected: int
) -> dict[str, dict[str, Any]]:
    """The runs against the local stack, one after the other, and the protocol floor."""
    env = function_env(stack, "MigrationWorkerFunction")
    floor = busy(
        lambda: sink_floor(
            env,
            messages=n,
            table=stack.physical_id("MailportTable"),
            bucket=stack.physical_id("MailBucket"),
            concurrency=MigrationConfig().store_concurrency,
            source=SourceType.IMAP.value,
            job="floor-job",
        )
    )
    worker = busy(
        lambda: worker_run(stack, env, connection(dovecot, "mp", passwords["mp"]), expected)
    )
    e2e = busy(lambda: end_to_end(stack, connection(dovecot, "e2e", passwords["e2e"]), expected))
    protocol = python_child(
        PROTOCOL,
        env,
        json.dumps({"user": "pf", "password": passwords["pf"]} | imaps(dovecot)),
    )
    return {
        "mailport_worker": worker,
        "mailport_end_to_end": e2e,
        "sink_floor": floor,
        "protocol_floor": protocol,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument(
        "--worker-only",
        action="store_true",
        help="only the worker and offlineimap3, their CPU printed, no result written "
        "(with BENCH_PYSPY=<file>, the worker under py-spy: bench/harness.py python_child)",
    )
    args = parser.parse_args()
    n = args.messages
    # moto logs an ERROR for every Choice rule whose IsPresent path is absent (the ASL's
    # Route state): expected, and noise here.
    logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)

    raws = messages(n)
    total_mb = sum(map(len, raws)) / 1024 / 1024
    folders = split(raws)
    # Messages at or over the size limit are skipped by design (the corpus has none).
    limit = MigrationConfig().max_bytes
    expected = sum(1 for r in raws if len(r) + r.count(b"\n") - r.count(b"\r\n") < limit)
    users = ["mp", "oi"] if args.worker_only else ["mp", "e2e", "oi", "pf"]
    with mail_server(folders, users) as (base, dovecot, passwords):
        config = stack_config(base, dovecot, environment={"POWERTOOLS_LOG_LEVEL": "WARNING"})
        with LocalStack(config) as stack:
            if args.worker_only:
                env = function_env(stack, "MigrationWorkerFunction")
                conn = connection(dovecot, "mp", passwords["mp"])
                figures = {"mailport_worker": worker_run(stack, env, conn, expected)}
            else:
                figures = contenders(stack, dovecot, passwords, n, expected)
        # After the stack has stopped: it has nothing to do with this run.
        figures["offlineimap3"] = offlineimap3(dovecot, "oi", passwords["oi"], base / "oi")
    peer = figures["offlineimap3"]
    if args.worker_only:
        worker = figures["mailport_worker"]
        print_cpu(cpu_per_message(n, worker, peer))
        print(f"  worker steps: user {worker['steps_user_s']} s, sys {worker['steps_sys_s']} s")
        print(f"  worker AWS calls: {figures['mailport_worker'].get('calls')}")
        return
    protocol = figures["protocol_floor"]
    if protocol["messages"] != n or peer["stored"] != n:
        raise RuntimeError(f"protocol floor read {protocol['messages']}, offlineimap3 {peer}")
    report(n, total_mb, {f: len(m) for f, m in folders.items()}, figures)


def cpu_per_message(n: int, worker: dict[str, Any], peer: dict[str, Any]) -> dict[str, float]:
    """CPU ms per message, side by side: the worker's steps (the target's figure), the worker's
    whole process (imports and the job's creation in) and offlineimap3's whole process.
    """
    return {
        "mailport_worker": round(worker["steps_cpu_s"] * 1000 / n, 2),
        "mailport_worker_process": round(worker["cpu_s"] * 1000 / n, 2),
        "offlineimap3": round(peer["cpu_s"] * 1000 / n, 2),
    }


def print_cpu(cpu: dict[str, float]) -> None:
    """The CPU per message line."""
    target = TARGETS["cpu_ms_per_message"]
    met = cpu["mailport_worker"] <= target
    print(
        f"  CPU per message: mailport worker {cpu['mailport_worker']} ms (its whole process "
        f"{cpu['mailport_worker_process']} ms), offlineimap3 {cpu['offlineimap3']} ms "
        f"(whole process); target <= {target} ms, {'met' if met else 'not met'}"
    )


def report(
    n: int, total_mb: float, folders: dict[str, int], figures: dict[str, dict[str, Any]]
) -> None:
    """Print the figures and write bench/results/imap.json."""
    worker, e2e = figures["mailport_worker"], figures["mailport_end_to_end"]
    floor, protocol, peer = (
        figures["sink_floor"],
        figures["protocol_floor"],
        figures["offlineimap3"],
    )
    per_10k = 10_000 / n
    result = {
        **result_head("imap", n, total_mb, offlineimap3=debian_version("offlineimap3")),
        "folders": folders,
        "mailport_worker": {
            **worker,
            "msg_per_s": rate(n, worker["seconds"]),
            "rss_per_chunk_mb": [c["peak_rss_mb"] for c in worker["chunks"]],
        },
        "mailport_end_to_end": {
            **e2e,
            "msg_per_s": rate(n, e2e["seconds"]),
            "invocations_per_10k": round(e2e["lambda_invocations"] * per_10k, 1),
            "transitions_per_10k": round(e2e["state_transitions"] * per_10k, 1),
        },
        "sink_floor": {**floor, "msg_per_s": rate(n, floor["seconds"])},
        "protocol_floor": {**protocol, "msg_per_s": rate(n, protocol["seconds"])},
        "offlineimap3": {**peer, "msg_per_s": rate(n, peer["wall_s"])},
        "ratio_to_sink_floor": round(worker["seconds"] / floor["seconds"], 2),
        "ahead_of_offlineimap3": round(rate(n, worker["seconds"]) / rate(n, peer["wall_s"]), 2),
        # Whether any importer writing through this emulator could be ahead of the peer.
        "sink_floor_vs_offlineimap3": round(rate(n, floor["seconds"]) / rate(n, peer["wall_s"]), 2),
        "transitions_per_10k": round(e2e["state_transitions"] * per_10k, 1),
        "invocations_per_10k": round(e2e["lambda_invocations"] * per_10k, 1),
        "cpu_ms_per_message": cpu_per_message(n, worker, peer),
        "targets": {
            "ratio_to_sink_floor": f"<= {TARGETS['ratio_to_sink_floor']}",
            "ahead_of_offlineimap3": f"> {TARGETS['ahead_of_offlineimap3']}",
            "transitions_per_10k": f"<= {TARGETS['transitions_per_10k']}",
            "cpu_ms_per_message": f"<= {TARGETS['cpu_ms_per_message']}",
        },
    }
    result["met"] = {
        "ratio_to_sink_floor": result["ratio_to_sink_floor"] <= TARGETS["ratio_to_sink_floor"],
        "ahead_of_offlineimap3": result["ahead_of_offlineimap3"] > TARGETS["ahead_of_offlineimap3"],
        "transitions_per_10k": result["transitions_per_10k"] <= TARGETS["transitions_per_10k"],
        "cpu_ms_per_message": result["cpu_ms_per_message"]["mailport_worker"]
        <= TARGETS["cpu_ms_per_message"],
    }
    write_result("imap", result)
    print(f"imap: {n} messages, {total_mb:.1f} MB, {len(folders)} folders, one run")
    for label, secs, rss in [
        ("mailport (worker)", worker["seconds"], worker["peak_rss_mb"]),
        ("mailport (end to end)", e2e["seconds"], None),
        ("sink floor", floor["seconds"], floor["peak_rss_mb"]),
        ("protocol floor", protocol["seconds"], protocol["peak_rss_mb"]),
        ("offlineimap3 (process)", peer["wall_s"], peer["peak_rss_mb"]),
    ]:
        print_row(label, secs, n, rss)
    met = result["met"]
    print(
        f"  mailport / sink floor: {result['ratio_to_sink_floor']}x (target <= 1.25x, "
        f"{'met' if met['ratio_to_sink_floor'] else 'not met'})"
    )
    print(
        f"  mailport msg/s / offlineimap3 msg/s: {result['ahead_of_offlineimap3']}x "
        f"(target > 1, {'met' if met['ahead_of_offlineimap3'] else 'not met'})"
    )
    print(
        f"  per 10,000 messages: {result['transitions_per_10k']} state transitions "
        f"(target <= 50, {'met' if met['transitions_per_10k'] else 'not met'}), "
        f"{result['invocations_per_10k']} Lambda invocations "
        f"(measured: {e2e['state_transitions']} and {e2e['lambda_invocations']})"
    )
    print(
        f"  worker: {len(worker['chunks'])} chunk(s), peak RSS per chunk "
        f"{result['mailport_worker']['rss_per_chunk_mb']} MB"
    )
    print_cpu(result["cpu_ms_per_message"])
    print(f"  worker AWS calls: {worker.get('calls')}")


if __name__ == "__main__":
    main()
