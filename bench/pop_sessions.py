"""Benchmark: hundreds of POP polls in one invocation, against ten an invocation.

    .venv/bin/python -m bench.pop_sessions [--accounts 250] [--delay-ms 40] [--rounds 3] \\
        [--sessions 50,250] [--per-message 25] [--new 2] [--stall 0]

Issue #21 asks for polls that cost close to nothing. Most of a poll is waiting on another
company's server, so the fetch worker takes messages of up to 25 accounts, ten messages an
invocation, and holds all their POP sessions at once (``FETCH_SESSIONS`` threads). This puts
the ways side by side, in the same run, on the same accounts:

- ``before``: the deployment as it was, a message per account and ten an invocation, ten
  polls side by side (``FETCH_SESSIONS=10``): 25 invocations for 250 accounts;
- ``sessions_N``: messages of ``--per-message`` accounts, ten an invocation (250 accounts: one
  invocation), ``N`` sessions at once.

``--accounts`` POP accounts (10 per user of the local stack's directory, the most a user may
have), each on a Dovecot user of its own, all behind one proxy that delays each of the
server's answers by ``--delay-ms`` (a distant server's round trip; TLS on, POP3S). Each round
measures polls that find nothing new (the accounts are settled: they only look) and polls
that find ``--new`` messages per account; modes alternate who goes first. Each mode runs in a
child process of its own playing the fetch worker (the real handler, the function's
environment), which reports its CPU (all threads), its peak RSS and every AWS call it makes.
Figures are printed and written to ``bench/results/pop_sessions.json``.

``--stall K``: K of the accounts sit behind a second proxy (same delay). After the rounds it
stops answering (``stall_after=0``: not even TLS) and every account is polled once more as
the last mode does: the invocation should end at the look's deadline
(``FetchConfig.look_deadline_s``), the K failed as slow servers, the others gone through.
"""

from __future__ import annotations

import argparse
import json
import statistics
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from bench.corpus import messages
from bench.harness import (
    INVOKE_FETCH,
    function_env,
    login,
    mail_server,
    python_child,
    register_pop,
    result_head,
    seed_new,
    sqs_record,
    stack_config,
    stored_by,
    stored_exactly,
    write_result,
)
from mailport.adapters.clients import LazyClient
from mailport.adapters.dynamodb_accounts import DynamoAccountStore
from mailport.domain.accounts import FetchRequest, RunTrigger
from mailport.domain.mailbox import Owner
from mailport_local.stack import LocalStack
from tests.support.faultproxy import FaultProxy

PER_USER = 10  # the most accounts a user may have


def record(requests: list[FetchRequest]) -> dict[str, Any]:
    """An SQS record carrying ``requests`` (as the dispatcher packs them); a lone one in the
    format of a message of one account before messages carried many, which every version of
    the worker reads (so ``--sessions ""`` measures the commit before them).
    """
    if len(requests) == 1:
        body: dict[str, Any] = requests[0].to_json()
    else:
        from mailport.domain.accounts import fetch_message  # noqa: PLC0415 (not in the commit before)

        body = fetch_message(requests)
    return sqs_record(body)


def events(accounts: list[tuple[Owner, str]], per_message: int) -> list[dict[str, Any]]:
    """Every account once, a new tick each: ``per_message`` to a record, ten to an event."""
    tick = "bench-" + uuid.uuid4().hex  # never one a redelivery took
    requests = [
        FetchRequest(o.tenant_id, o.user_id, a, RunTrigger.SCHEDULE, tick=tick) for o, a in accounts
    ]
    records = [record(requests[i : i + per_message]) for i in range(0, len(requests), per_message)]
    return [{"Records": records[i : i + 10]} for i in range(0, len(records), 10)]


def polls(
    env: dict[str, str], accounts: list[tuple[Owner, str]], per_message: int, sessions: int
) -> dict[str, Any]:
    """One poll of every account, as a worker with ``sessions`` threads would run them."""
    child = {**env, "FETCH_SESSIONS": str(sessions), "FETCH_BATCH_SIZE": "10"}
    out = python_child(INVOKE_FETCH, child, json.dumps(events(accounts, per_message)))
    if out["failures"]:
        raise RuntimeError(f"polls failed: {out['failures']}")
    n = len(accounts)
    return {
        "billed_ms_per_poll": round(sum(out["durations"]) * 1000 / n, 2),
        "cpu_ms_per_poll": round(out["cpu_s"] * 1000 / n, 2),  # the worker's own, all threads
        "invocations": len(out["durations"]),
        "longest_invocation_s": round(max(out["durations"]), 3),
        "peak_rss_mb": out["peak_rss_mb"],
        "calls_per_poll": {k: round(v / n, 3) for k, v in sorted(out["calls"].items())},
    }


def register(api_url: str, ports: list[int], users: list[str], passwords: dict[str, str]) -> Any:
    """Each server user's account (the i-th at ``ports[i]``), ``PER_USER`` to a local user:
    (owner, account id) pairs.
    """
    owners: list[tuple[str, dict[str, str]]] = []
    for u in range(0, len(users), PER_USER):
        headers = login(api_url, email=f"sessions{u // PER_USER}@acme.example")
        owners.append((str(_me(api_url, headers)), headers))

    def one(i: int) -> tuple[Owner, str]:
        user_id, headers = owners[i // PER_USER]
        return Owner("acme", user_id), register_pop(
            api_url, headers, ports[i], users[i], passwords[users[i]]
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, range(len(users))))


def _me(api_url: str, headers: dict[str, str]) -> str:
    r = requests.get(f"{api_url}/v1/me", headers=headers, timeout=30)
    r.raise_for_status()
    return str(r.json()["user"]["id"])


def outcomes(stack: LocalStack, accounts: list[tuple[Owner, str]], stall: int) -> dict[str, Any]:
    """After the stalled poll: the last ``stall`` accounts failed as slow servers, every
    other one went through (else this fails loudly).
    """
    store = DynamoAccountStore(stack.physical_id("MailportTable"), client=LazyClient("dynamodb"))
    codes: dict[str, int] = {}
    error = ""
    for n, (owner, account_id) in enumerate(accounts):
        account = store.get_account(owner, account_id)
        assert account is not None
        state, stalled = account.state, n >= len(accounts) - stall
        if stalled and state.last_status != "failed":
            raise RuntimeError(f"{account_id}: its server stalled, yet {state.last_status}")
        if not stalled and state.last_status != "succeeded":
            raise RuntimeError(f"{account_id}: {state.last_error}")
        if stalled:
            codes[state.last_error_code] = codes.get(state.last_error_code, 0) + 1
            error = state.last_error
    return {"stalled": stall, "stalled_errors": codes, "stalled_error": error}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=250)
    parser.add_argument("--delay-ms", type=float, default=40.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sessions", default="50,250")
    parser.add_argument("--per-message", type=int, default=25)
    parser.add_argument("--new", type=int, default=2, help="new messages per account a poll")
    parser.add_argument("--stall", type=int, default=0, help="accounts whose server stalls")
    args = parser.parse_args()
    modes = {"before": (1, 10)} | {
        f"sessions_{n}": (args.per_message, int(n)) for n in args.sessions.split(",") if n
    }
    users = [f"s{i}" for i in range(args.accounts)]
    # Every message new: the same one in two accounts of one user would be stored once.
    pool = messages(args.new * len(modes) * args.rounds * args.accounts)
    rounds: list[dict[str, Any]] = []
    with (
        mail_server({"INBOX": []}, users) as (base, dovecot, passwords),
        FaultProxy(("127.0.0.1", dovecot.pop3s_port), delay=args.delay_ms / 1000) as proxy,
        FaultProxy(("127.0.0.1", dovecot.pop3s_port), delay=args.delay_ms / 1000) as stalling,
        LocalStack(stack_config(base, dovecot)) as stack,
    ):
        stack.sqs_sources["PopFetchFunction.FetchWork"].stop()  # polls only when said
        ports = [proxy.port] * (args.accounts - args.stall) + [stalling.port] * args.stall
        accounts = register(stack.api_url, ports, users, passwords)
        env = function_env(stack, "PopFetchFunction")
        polls(env, accounts, 1, 10)  # the first run of each (empty mailboxes)
        for n in range(args.rounds):
            order = list(modes) if n % 2 == 0 else list(reversed(modes))
            figures: dict[str, Any] = {}
            for mode in order:
                per_message, sessions = modes[mode]
                figures[f"idle_{mode}"] = polls(env, accounts, per_message, sessions)
                seed_new(dovecot, users, pool, args.new)
                figures[f"mail_{mode}"] = polls(env, accounts, per_message, sessions)
            rounds.append(figures)
        stored = stored_by(stack, accounts)
        stall = None
        if args.stall:
            stalling.stall_after = 0  # now: registering needed a server that answers
            stall = polls(env, accounts, *modes[list(modes)[-1]])
            stall |= outcomes(stack, accounts, args.stall)
    report(args, list(modes), rounds, stored, stall)


def report(
    args: argparse.Namespace,
    modes: list[str],
    rounds: list[dict[str, Any]],
    stored: int,
    stall: dict[str, Any] | None,
) -> None:
    """Print the figures and write bench/results/pop_sessions.json."""
    median: dict[str, Any] = {}
    for kind in ("idle", "mail"):
        median[kind] = {}
        for mode in modes:
            runs = [r[f"{kind}_{mode}"] for r in rounds]
            median[kind][mode] = {
                field: round(float(statistics.median(r[field] for r in runs)), 2)
                for field in (
                    "billed_ms_per_poll",
                    "cpu_ms_per_poll",
                    "peak_rss_mb",
                    "invocations",
                    "longest_invocation_s",
                )
            } | {"calls_per_poll": runs[-1]["calls_per_poll"]}
        best = median[kind][modes[-1]]
        # The keys: the default deployment's figures (the last mode given).
        median[kind]["billed_ms_per_poll"] = best["billed_ms_per_poll"]
        median[kind]["cpu_ms_per_poll"] = best["cpu_ms_per_poll"]
    expected = args.accounts * args.new * len(modes) * args.rounds
    result = {
        **result_head("pop_sessions", args.accounts, 0.0),
        "accounts": args.accounts,
        "delay_ms": args.delay_ms,
        "per_message": args.per_message,
        "new_per_account": args.new,
        "modes": modes,
        "rounds": rounds,
        "median": median,
        "stored": stored,
        "expected": expected,
        "stall": stall,
    }
    write_result("pop_sessions", result)
    print(
        f"pop_sessions: {args.accounts} accounts, {args.delay_ms:g} ms a server answer, TLS, "
        f"{args.rounds} rounds (medians)"
    )
    for kind in ("idle", "mail"):
        for mode in modes:
            m = median[kind][mode]
            calls = ", ".join(f"{k} {v:g}" for k, v in m["calls_per_poll"].items())
            print(
                f"  {kind:>4} {mode:>12}: billed {m['billed_ms_per_poll']:7.2f} ms a poll, "
                f"CPU {m['cpu_ms_per_poll']:6.2f} ms a poll, {m['invocations']:g} invocations "
                f"(longest {m['longest_invocation_s']:g} s), peak {m['peak_rss_mb']:g} MB; "
                f"calls a poll: {calls}"
            )
    if stall is not None:
        print(
            f"  {stall['stalled']} server(s) stalling, {modes[-1]}: {stall['invocations']} "
            f"invocation(s), the longest {stall['longest_invocation_s']:g} s; the stalled "
            f"failed ({stall['stalled_errors']}), the other {args.accounts - stall['stalled']} "
            f"went through; peak {stall['peak_rss_mb']:g} MB"
        )
    stored_exactly(stored, expected)


if __name__ == "__main__":
    main()
