"""Benchmark: the AWS calls, CPU and time of an idle POP poll, for an account that holds a
password and for ones that sign in with Microsoft and with Google (XOAUTH2), in one worker
process.

    .venv/bin/python -m bench.pop_signin [--polls 5]

All accounts sit on the same Dovecot (which checks XOAUTH2 tokens with the tests' fake
identity provider, over https). One child process plays the fetch worker: it polls each
account once (the first run, which imports its mail), then ``--polls`` more times with
nothing new. Every AWS call the child makes is counted by operation (``harness.COUNTER``),
per poll. The first idle poll of the sign-in account is its container's first use of the
token (a connection read, the sealed cache opened); the later ones are what a warm worker
pays every 10 minutes. Figures are printed and written to ``bench/results/pop_signin.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import uuid
from pathlib import Path
from typing import Any

import boto3
import requests

from bench.harness import (
    COUNTER,
    fetch_record,
    function_env,
    login,
    python_child,
    register_pop,
    run_head,
    stack_config,
    write_result,
)
from mailport.domain.mailbox import Owner
from mailport_local.stack import LocalStack
from tests.support.dovecot import Dovecot
from tests.support.fake_idp import FakeIdentityProvider

_POLLS = (
    COUNTER
    + """
import json, os, sys, time
sys.path[:0] = [os.path.join(sys.argv[1], "functions/pop_fetch")]
import pop_fetch
from mailport.wiring import container
from mailport_local.lambdas import LocalContext
container()
args = json.loads(sys.stdin.read())
polls = []
for event in args["events"]:
    CALLS.clear()
    cpu, started = time.process_time(), time.perf_counter()
    result = pop_fetch.handler(event, LocalContext("pop-fetch", 1024, 900))
    polls.append({"calls": dict(CALLS), "cpu_ms": round((time.process_time() - cpu) * 1000, 2),
                  "ms": round((time.perf_counter() - started) * 1000, 2),
                  "failures": result["batchItemFailures"]})
print(json.dumps({"polls": polls}))
"""
)


KINDS = ("password", "signin", "google")  # signin: Microsoft's


def _mail(who: str, n: int) -> bytes:
    # Different mail per account: the same message in two accounts of one user is stored once.
    return f"From: a@example.net\nSubject: {who} {n}\nMessage-ID: <{who}.{n}@x>\n\n{n}\n".encode()


def _signed_in_account(
    api: str, h: dict[str, str], idp: FakeIdentityProvider, email: str, provider: str
) -> str:
    """A POP account through ``provider``'s sign-in, as the console makes one: its id."""
    web = requests.Session()
    web.trust_env = False
    web.verify = idp.ca_file
    started = web.post(
        f"{api}/v1/oauth/{provider}/start",
        headers=h,
        json={"email": email, "purpose": "pop"},
        timeout=30,
    )
    started.raise_for_status()
    consent = web.get(started.json()["authorize_url"], allow_redirects=False, timeout=30)
    web.get(consent.headers["Location"], timeout=30).raise_for_status()
    created = requests.post(
        f"{api}/v1/accounts",
        headers=h,
        json={
            "preset": "gmail" if provider == "google" else "outlook",
            "connection_id": started.json()["connection_id"],
            "agreed": True,
        },
        timeout=60,
    )
    created.raise_for_status()
    return str(created.json()["id"])


def _polls(env: dict[str, str], owner: Owner, account_id: str, count: int) -> list[dict[str, Any]]:
    events = [
        {"Records": [fetch_record(owner.tenant_id, owner.user_id, account_id)]}
        for _ in range(count + 1)
    ]
    out = python_child(_POLLS, env, json.dumps({"events": events}))
    polls: list[dict[str, Any]] = out["polls"]
    if any(p["failures"] for p in polls):
        raise RuntimeError(f"polls failed: {polls}")
    return polls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--polls", type=int, default=5, help="idle polls after the first run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bs", dir="/tmp") as tmp:
        base = Path(tmp)
        base.chmod(0o755)  # Dovecot's own users must reach its files below
        idp = FakeIdentityProvider(base / "idp").start()
        try:
            with Dovecot(base / "dv", oauth2_introspection_url=idp.introspection_url) as dv:
                kinds = _measure(base, dv, idp, args.polls)
        finally:
            idp.stop()
    report(args, kinds)


def _measure(
    base: Path, dv: Dovecot, idp: FakeIdentityProvider, polls: int
) -> dict[str, list[dict[str, Any]]]:
    user, password = "bench-pw", f"pw-{uuid.uuid4().hex}"
    email, gmail = "bench-signin@outlook.example", "bench-signin@gmail.example"
    for name in (user, email, gmail):
        dv.add_user(name, password)
        dv.seed_maildir(name, "INBOX", [(_mail(name, n), set(), 1.7e9) for n in range(3)])
    environment = {
        "M365_AUTHORITY": idp.authority,
        "OAUTH_EXTRA_CA_FILE": idp.ca_file,
        "M365_POP_HOST": dv.host,
        "M365_POP_PORT": str(dv.pop3s_port),
        "GOOGLE_AUTHORIZE_URL": idp.google_authorize_url,
        "GOOGLE_TOKEN_URL": idp.google_token_url,
        "GOOGLE_ISSUER": idp.google_issuer,
        "GOOGLE_POP_HOST": dv.host,
        "GOOGLE_POP_PORT": str(dv.pop3s_port),
    }
    with LocalStack(stack_config(base, dv, environment=environment)) as stack:
        stack.sqs_sources["PopFetchFunction.FetchWork"].stop()  # polls run when we say
        app = {"client_id": idp.client_id, "client_secret": idp.client_secret}
        for secret in ("Microsoft365AppSecret", "GoogleAppSecret"):
            boto3.client("secretsmanager").put_secret_value(
                SecretId=stack.physical_id(secret), SecretString=json.dumps(app)
            )
        h = login(stack.api_url)
        me = requests.get(f"{stack.api_url}/v1/me", headers=h, timeout=30).json()
        owner = Owner("acme", str(me["user"]["id"]))
        accounts = {
            "password": register_pop(stack.api_url, h, dv.pop3s_port, user, password),
            "signin": _signed_in_account(stack.api_url, h, idp, email, "microsoft"),
            "google": _signed_in_account(stack.api_url, h, idp, gmail, "google"),
        }
        env = function_env(stack, "PopFetchFunction")
        refreshes = idp.refreshes
        kinds = {kind: _polls(env, owner, a, polls) for kind, a in accounts.items()}
        kinds["signin_token_requests"] = [{"refreshes": idp.refreshes - refreshes}]
        return kinds


def report(args: argparse.Namespace, kinds: dict[str, list[dict[str, Any]]]) -> None:
    """Print the figures and write bench/results/pop_signin.json."""
    summary: dict[str, Any] = {}
    for kind in KINDS:
        polls = kinds[kind]
        idle = polls[1:]
        warm = idle[1:] or idle
        summary[kind] = {
            "first_run_calls": polls[0]["calls"],
            "first_idle_poll_calls": idle[0]["calls"],
            "warm_idle_poll_calls": warm[-1]["calls"],
            "warm_idle_poll_call_count": sum(warm[-1]["calls"].values()),
            "warm_idle_cpu_ms_median": round(statistics.median(p["cpu_ms"] for p in warm), 2),
            "warm_idle_ms_median": round(statistics.median(p["ms"] for p in warm), 2),
        }
        print(
            f"{kind:9} warm idle poll: {summary[kind]['warm_idle_poll_call_count']} AWS calls "
            f"{warm[-1]['calls']}, CPU {summary[kind]['warm_idle_cpu_ms_median']} ms, "
            f"{summary[kind]['warm_idle_ms_median']} ms"
        )
    token_requests = kinds["signin_token_requests"][0]["refreshes"]
    print(f"token requests to the identity provider over all sign-in polls: {token_requests}")
    write_result(
        "pop_signin",
        {
            **run_head("pop_signin"),
            "idle_polls": args.polls,
            "summary": summary,
            "token_requests": token_requests,
            "polls": {k: kinds[k] for k in KINDS},
        },
    )


if __name__ == "__main__":
    main()
