"""Benchmark: ten POP polls in one invocation (``FetchWork``'s batch) against ten invocations.

    .venv/bin/python -m bench.pop_batch [--accounts 10] [--delay-ms 40] [--rounds 3]

Lambda bills an invocation for as long as it runs. A poll mostly waits on the other server,
so the worker takes ten polls an invocation and runs them side by side
(``mailport.batch.ConcurrentBatchProcessor``). This puts the two next to each other, in the
same run, on the same accounts:

- **one by one**: ten invocations of the real handler, one record each, as with
  ``BatchSize: 1``; their billed time is the sum of their durations;
- **a batch**: one invocation of the real handler with the ten records.

One user has ten POP accounts (the most a user may have), on ten Dovecot users behind a
proxy that delays each of the server's answers by ``--delay-ms`` (a distant server's round
trip; on loopback a poll would take only CPU). Each round measures polls that find nothing
new (most polls, docs/capacity.md) and polls that find 3 new messages per account; the two
ways alternate who goes first. Each way runs in a child process of its own, started after
the emulator, whose peak RSS (VmHWM) is reported. Figures are printed and written to
``bench/results/pop_batch.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
from typing import Any

import requests

from bench.corpus import messages
from bench.harness import (
    INVOKE_FETCH,
    fetch_record,
    function_env,
    login,
    mail_server,
    python_child,
    register_pop,
    result_head,
    seed_new,
    stack_config,
    stored_by,
    stored_exactly,
    write_result,
)
from mailport.domain.mailbox import Owner
from mailport_local.stack import LocalStack
from tests.support.faultproxy import FaultProxy


def register(api_url: str, port: int, users: list[str], passwords: dict[str, str]) -> list[str]:
    headers = login(api_url)
    return [register_pop(api_url, headers, port, user, passwords[user]) for user in users]


def polls(env: dict[str, str], owner: Owner, ids: list[str], *, batched: bool) -> dict[str, Any]:
    """One poll of every account, in one invocation or one invocation each."""
    records = [fetch_record(owner.tenant_id, owner.user_id, a) for a in ids]
    events = [{"Records": records}] if batched else [{"Records": [r]} for r in records]
    out = python_child(INVOKE_FETCH, env, json.dumps(events))
    if out["failures"]:
        raise RuntimeError(f"polls failed: {out['failures']}")
    return {
        "billed_s": round(sum(out["durations"]), 3),
        "cpu_s": round(out["cpu_s"], 3),  # the worker's own CPU (all threads)
        "invocations": len(out["durations"]),
        "peak_rss_mb": out["peak_rss_mb"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--delay-ms", type=float, default=40.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--new", type=int, default=3, help="new messages per account a round")
    args = parser.parse_args()
    users = [f"b{i}" for i in range(args.accounts)]
    # Every message new: the same one in two accounts of one user would be stored once.
    pool = messages(args.new * 2 * args.rounds * args.accounts)
    rounds: list[dict[str, Any]] = []
    with (
        mail_server({"INBOX": []}, users) as (base, dovecot, passwords),
        FaultProxy(("127.0.0.1", dovecot.pop3s_port), delay=args.delay_ms / 1000) as proxy,
        LocalStack(stack_config(base, dovecot)) as stack,
    ):
        # Polls run only when this benchmark says so.
        stack.sqs_sources["PopFetchFunction.FetchWork"].stop()
        ids = register(stack.api_url, proxy.port, users, passwords)
        me = requests.get(f"{stack.api_url}/v1/me", headers=login(stack.api_url), timeout=30)
        owner = Owner("acme", str(me.json()["user"]["id"]))
        env = function_env(stack, "PopFetchFunction")
        polls(env, owner, ids, batched=True)  # the first run of each account: the folders
        for n in range(args.rounds):
            order = [False, True] if n % 2 == 0 else [True, False]
            figures: dict[str, Any] = {}
            for batched in order:
                name = "batch" if batched else "one_by_one"
                figures[f"idle_{name}"] = polls(env, owner, ids, batched=batched)
                seed_new(dovecot, users, pool, args.new)
                figures[f"mail_{name}"] = polls(env, owner, ids, batched=batched)
            rounds.append(figures)
        stored = stored_by(stack, [(owner, a) for a in ids])
    report(args, rounds, stored)


def report(args: argparse.Namespace, rounds: list[dict[str, Any]], stored: int) -> None:
    """Print the figures and write bench/results/pop_batch.json."""

    def median(key: str, field: str) -> float:
        return round(float(statistics.median(r[key][field] for r in rounds)), 3)

    summary: dict[str, Any] = {}
    for kind in ("idle", "mail"):
        one, batch = median(f"{kind}_one_by_one", "billed_s"), median(f"{kind}_batch", "billed_s")
        summary[kind] = {
            "one_by_one_billed_s": one,
            "batch_billed_s": batch,
            "billed_ratio": round(one / batch, 2),
            "one_by_one_cpu_s": median(f"{kind}_one_by_one", "cpu_s"),
            "batch_cpu_s": median(f"{kind}_batch", "cpu_s"),
            "one_by_one_peak_rss_mb": median(f"{kind}_one_by_one", "peak_rss_mb"),
            "batch_peak_rss_mb": median(f"{kind}_batch", "peak_rss_mb"),
        }
    expected = args.accounts * args.new * 2 * args.rounds
    result = {
        **result_head("pop_batch", args.accounts, 0.0),
        "accounts": args.accounts,
        "delay_ms": args.delay_ms,
        "new_per_account": args.new,
        "rounds": rounds,
        "median": summary,
        "stored": stored,
        "expected": expected,
    }
    write_result("pop_batch", result)
    print(
        f"pop_batch: {args.accounts} accounts, {args.delay_ms:g} ms a server answer, "
        f"{args.rounds} rounds (medians)"
    )
    for kind, label in (("idle", "nothing new"), ("mail", f"{args.new} new each")):
        s = summary[kind]
        print(
            f"  {label:>12}: one by one {s['one_by_one_billed_s']:.2f} s billed "
            f"({s['one_by_one_peak_rss_mb']} MB peak), a batch {s['batch_billed_s']:.2f} s "
            f"({s['batch_peak_rss_mb']} MB peak): {s['billed_ratio']}x less billed time; "
            f"worker CPU {s['one_by_one_cpu_s']:.2f} s / {s['batch_cpu_s']:.2f} s"
        )
    stored_exactly(stored, expected)


if __name__ == "__main__":
    main()
