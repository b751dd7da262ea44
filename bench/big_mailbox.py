"""Benchmark: a big, messy mailbox migrated on the local stack.

    .venv/bin/python -m bench.big_mailbox [--messages 200000] [--folders 2000] [--big 50000]

A private Dovecot holds one mailbox per run (two: the worker alone, and end to end): INBOX,
one folder of ``--big`` messages, a folder whose only UIDs are 1 and 10,000,000 (a server
that renumbered), and the rest of ``--messages`` spread over ``--folders`` nested folders
(``Archive.<year>.<nnnn>``). Messages are synthetic (≈ 1 KB each, unique Message-IDs):
building 200,000 takes minutes, so this is in ``make bench``, not ``make test``.

1. The worker in a process of its own runs the state machine's steps one after the other
   (``bench.imap.worker_run``): the longest step against the worker's 600 s timeout, the
   worker's peak RSS, messages per second.
2. End to end through the API and Step Functions (``bench.imap.end_to_end``): wall time,
   state transitions and Lambda invocations per 10,000 messages.
3. The largest DynamoDB item the job left (the job item, its plan's folder items, its
   report's lines), by DynamoDB's size rules, against the 400 KB limit.

Figures are printed and written to bench/results/big_mailbox.json.
"""

from __future__ import annotations

import argparse
import logging
import time
from typing import Any

import boto3

from bench.capacity import KB, ddb_item_bytes
from bench.harness import function_env, mail_server, rate, result_head, stack_config, write_result
from bench.imap import STEP_OWNER, connection, end_to_end, worker_run
from mailport.adapters import keys
from mailport.adapters.dynamo_table import to_ddb
from mailport.domain.mailbox import Owner
from mailport_local.stack import LocalStack
from tests.support.dovecot import Dovecot

STEP_TIMEOUT_S = 600  # the worker's timeout (template.yaml)
ITEM_LIMIT = 400 * KB
SPARSE_GAP = 10_000_000


def _raw(folder: str, n: int) -> bytes:
    body = f"Message {n} of {folder}.\r\n" + "Lorem ipsum dolor sit amet. " * 30 + "\r\n"
    return (
        f"From: Sender {n % 97} <s{n % 97}@example.org>\r\nTo: me@example.org\r\n"
        f"Subject: {folder} #{n}\r\nMessage-ID: <{folder}.{n}@big.example>\r\n"
        f"Date: Mon, 07 Dec 2026 09:{n % 60:02d}:00 +0900\r\n\r\n{body}"
    ).encode()


def mailbox(
    messages: int, folders: int, big: int
) -> dict[str, list[tuple[bytes, set[str], float]]]:
    """The folders and their messages (the sparse folder's second message comes later)."""
    big = min(big, messages // 2)
    rest = max(0, messages - big - 1)  # one message goes to the sparse folder
    others = max(1, folders - 3)
    layout: dict[str, int] = {"INBOX": 0, "Big": big}
    for i in range(others):
        layout[f"Archive.{2000 + i // 100}.{i:04d}"] = rest // others + (i < rest % others)
    layout["INBOX"] += messages - big - 1 - sum(v for k, v in layout.items() if k != "Big")
    out = {
        name: [(_raw(name, n), {"\\Seen"} if n % 3 else set(), 1.7e9 + n) for n in range(count)]
        for name, count in layout.items()
    }
    out["Sparse"] = [(_raw("Sparse", 1), set(), 1.7e9)]
    return out


def make_sparse(dovecot: Dovecot, user: str) -> None:
    """The sparse folder's next UID jumps to 10,000,000, then one more message arrives."""
    dovecot.doveadm(["mailbox", "update", "-u", user, "--min-next-uid", str(SPARSE_GAP), "Sparse"])
    dovecot.seed_maildir(user, "Sparse", [(_raw("Sparse", SPARSE_GAP), set(), 1.7e9 + 1)])


def largest_item(stack: LocalStack, owner: Owner, job_id: str) -> dict[str, Any]:
    """The job's items by size: the job item, the plan's, the report's."""
    table = stack.physical_id("MailportTable")
    ddb = boto3.client("dynamodb")
    job = ddb.get_item(
        TableName=table, Key=to_ddb({"PK": keys.user_pk(owner), "SK": keys.job_sk(job_id)})
    )["Item"]
    sizes = {"job_item_bytes": ddb_item_bytes(job), "plan_items": 0, "report_items": 0}
    largest = sizes["job_item_bytes"]
    for kind, pk in (
        ("plan_items", keys.plan_pk(owner, job_id)),
        ("report_items", keys.report_pk(owner, job_id)),
    ):
        pages = ddb.get_paginator("query").paginate(
            TableName=table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues=to_ddb({":pk": pk}),
        )
        for page in pages:
            for item in page["Items"]:
                sizes[kind] += 1
                largest = max(largest, ddb_item_bytes(item))
    return {**sizes, "largest_item_bytes": largest, "item_limit_bytes": ITEM_LIMIT}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--folders", type=int, default=2000)
    parser.add_argument("--big", type=int, default=50_000)
    args = parser.parse_args()
    logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
    seeded = mailbox(args.messages, args.folders, args.big)
    total = sum(len(v) for v in seeded.values()) + 1  # the sparse folder's second
    megabytes = sum(len(r) for v in seeded.values() for r, _, _ in v) / 1024 / 1024
    started = time.perf_counter()
    with mail_server({}, ["mp", "e2e"]) as (base, dovecot, passwords):
        for user in ("mp", "e2e"):
            for folder, mail in seeded.items():  # one resync at the end: each scans all
                dovecot.seed_maildir(user, folder, mail, resync=False)
            dovecot.resync_all(user)
            make_sparse(dovecot, user)
        build_s = time.perf_counter() - started
        config = stack_config(base, dovecot, environment={"POWERTOOLS_LOG_LEVEL": "WARNING"})
        with LocalStack(config) as stack:
            env = function_env(stack, "MigrationWorkerFunction")
            worker = worker_run(stack, env, connection(dovecot, "mp", passwords["mp"]), total)
            items = largest_item(stack, STEP_OWNER, worker["job_id"])
            e2e = end_to_end(stack, connection(dovecot, "e2e", passwords["e2e"]), total)
    steps = [worker["plan_s"], *(c["seconds"] for c in worker["chunks"]), worker["finalize_s"]]
    per_10k = 10_000 / total
    result = {
        **result_head("big_mailbox", total, megabytes),
        "folders": len(seeded),
        "big_folder": max(len(v) for v in seeded.values()),
        "sparse_uids": [1, SPARSE_GAP],
        "build_s": round(build_s, 1),
        "worker": {
            "seconds": round(worker["seconds"], 1),
            "msg_per_s": rate(total, worker["seconds"]),
            "steps": len(steps),
            "plan_s": worker["plan_s"],
            "longest_step_s": round(max(steps), 1),
            "step_timeout_s": STEP_TIMEOUT_S,
            "peak_rss_mb": max(c["peak_rss_mb"] for c in worker["chunks"]),
            "cpu_s": worker["cpu_s"],
            "counts": worker["counts"],
        },
        "end_to_end": {
            "seconds": round(e2e["seconds"], 1),
            "msg_per_s": rate(total, e2e["seconds"]),
            "transitions_per_10k": round(e2e["state_transitions"] * per_10k, 1),
            "invocations_per_10k": round(e2e["lambda_invocations"] * per_10k, 1),
            "state_transitions": e2e["state_transitions"],
            "lambda_invocations": e2e["lambda_invocations"],
        },
        "items": items,
    }
    write_result("big_mailbox", result)
    w, e = result["worker"], result["end_to_end"]
    print(
        f"big mailbox: {total} messages ({megabytes:.0f} MB) in {len(seeded)} folders, "
        f"the biggest {result['big_folder']}, UIDs 1 and {SPARSE_GAP:,} in one; built in "
        f"{build_s:.0f} s"
    )
    print(
        f"  worker: {w['seconds']} s, {w['msg_per_s']} msg/s, {w['steps']} steps, the longest "
        f"{w['longest_step_s']} s of {STEP_TIMEOUT_S} s (plan {w['plan_s']} s), peak RSS "
        f"{w['peak_rss_mb']} MB, CPU {w['cpu_s']} s"
    )
    print(
        f"  end to end: {e['seconds']} s, {e['msg_per_s']} msg/s, per 10,000 messages "
        f"{e['transitions_per_10k']} transitions and {e['invocations_per_10k']} invocations"
    )
    print(
        f"  largest item: {items['largest_item_bytes']:,} bytes of {ITEM_LIMIT:,} (job item "
        f"{items['job_item_bytes']:,}; {items['plan_items']} plan items, "
        f"{items['report_items']} report lines)"
    )


if __name__ == "__main__":
    main()
