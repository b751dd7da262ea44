"""Where a profile's CPU goes: own time by area (TLS, botocore's parts, X-Ray, logging, ...),
the inclusive time of named steps of a POP poll, the top functions; from a cProfile dump
(``bench.poll_profile``).
"""

from __future__ import annotations

import pstats
from collections import defaultdict
from pathlib import Path
from typing import Any

# Areas a function's own time is charged to, by its file; the first that matches wins.
# Builtins (no file) are charged to their caller's area, but for OpenSSL's and json's.
AREAS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("bench instrumentation", ("<string>",)),
    ("imports (first use)", ("<frozen importlib",)),
    ("X-Ray SDK, Powertools Tracer", ("aws_xray_sdk/", "aws_lambda_powertools/tracing/", "wrapt/")),
    ("metrics (EMF)", ("aws_lambda_powertools/metrics/", "mailport/figures.py")),
    ("logging (Powertools Logger, stdlib)", ("aws_lambda_powertools/logging/", "/logging/")),
    ("json", ("/json/",)),
    ("botocore: signing, credentials", ("botocore/auth.py", "botocore/signers.py", "/hmac.py")),
    ("botocore: serialize, validate", ("botocore/serialize.py", "botocore/validate.py")),
    ("botocore: parse response", ("botocore/parsers.py",)),
    ("botocore: endpoint rules", ("botocore/endpoint_provider.py", "botocore/regions.py")),
    ("botocore: event hooks, handlers", ("botocore/hooks.py", "botocore/handlers.py")),
    (
        "botocore: making clients (loaders, models, config)",
        ("botocore/loaders.py", "botocore/model.py", "botocore/session.py", "botocore/config"),
    ),
    ("botocore: the rest (client, awsrequest, retries)", ("botocore/", "boto3/")),
    ("urllib3", ("urllib3/",)),
    ("http.client, email header parsing", ("/http/", "/email/")),
    ("sockets, DNS", ("/socket.py", "/selectors.py", "/ipaddress.py")),
    ("threads (batch pool, watchdog timers)", ("/threading.py", "/concurrent/futures/")),
    ("POP3 (mailport.adapters.pop3, net)", ("mailport/adapters/pop3/", "mailport/adapters/net.py")),
    (
        "Powertools batch, the handler",
        ("aws_lambda_powertools/", "mailport/batch.py", "pop_fetch/pop_fetch.py"),
    ),
    ("mailport (use case, adapters, domain)", ("/mailport/", "mailport_local/")),
    ("other libraries", ("site-packages/",)),
    ("Python stdlib, other", ("/lib/python3", "<frozen")),
)
TLS_HANDSHAKE = "TLS: context, wrap, handshake"
TLS_IO = "TLS: record I/O (POP traffic)"
_SSL_IO = {"read", "write", "recv", "recv_into", "send", "sendall", "pending", "close"}

# Inclusive time of named steps (they nest, so are not to be added up): label, file, function.
STEPS: tuple[tuple[str, str, str], ...] = (
    ("AWS call, whole (client method, X-Ray's wrapper in)", "botocore/client.py", "_api_call"),
    ("  validate, serialize, endpoint rules", "botocore/client.py", "_convert_to_request_dict"),
    ("    endpoint rules", "botocore/client.py", "_resolve_endpoint_ruleset"),
    ("  sign, send, receive, parse (Endpoint)", "botocore/endpoint.py", "make_request"),
    ("    SigV4 signing", "botocore/auth.py", "add_auth"),
    ("    urllib3 urlopen (send, read the head)", "urllib3/connectionpool.py", "urlopen"),
    ("    parse the response", "botocore/parsers.py", "parse"),
    ("POP session open (TCP, TLS, USER/PASS, CAPA)", "pop3/connector.py", "open"),
    ("  TLS handshake (OpenSSL)", "~", "do_handshake' of '_ssl"),
    ("POP LIST + UIDL", "pop3/session.py", "entries"),
    ("POP QUIT", "pop3/session.py", "quit"),
    ("read the account (GetItem)", "dynamodb_accounts.py", "get_account"),
    ("take the lease (begin_run: UpdateItem)", "dynamodb_runs.py", "begin_run"),
    ("open the password (KMS Decrypt)", "adapters/kms.py", "open"),
    ("save the outcome (finish_run)", "dynamodb_runs.py", "finish_run"),
    ("X-Ray: begin subsegment", "core/recorder.py", "begin_subsegment"),
    ("X-Ray: end subsegment, stream", "core/recorder.py", "end_subsegment"),
    ("X-Ray: UDP send", "udp_emitter.py", "send_entity"),
    ("log records written (logging.Logger._log)", "logging/__init__.py", "_log"),
    ("metrics flush (EMF)", "mailport/figures.py", "emit"),
    ("imports (first use)", "<frozen importlib._bootstrap>", "_find_and_load"),
    ("boto3 client made", "botocore/session.py", "create_client"),
    ("TLS context made", "/ssl.py", "create_default_context"),
)

Key = tuple[str, int, str]
Entry = tuple[int, int, float, float, dict[Key, tuple[int, int, float, float]]]


def area_of(key: Key) -> str | None:
    """The area a function's own time goes to; None for a builtin charged to its caller."""
    path, _, name = key
    if path == "~":
        if "_ssl." in name:
            io = any(f"'{op}' of '_ssl._SSLSocket'" in name for op in _SSL_IO)
            return TLS_IO if io else TLS_HANDSHAKE
        return "json" if "_json" in name else None
    if path.endswith("/ssl.py"):
        return TLS_IO if name in _SSL_IO else TLS_HANDSHAKE
    for label, needles in AREAS:
        if any(needle in path for needle in needles):
            return label
    return "other"


Spent = defaultdict[str, defaultdict[Key, float]]  # area -> function -> own seconds


def _self_by_area(stats: dict[Key, Entry]) -> Spent:
    """Own time per area and function in it (a partition: adds up to the profile's total)."""
    spent: Spent = defaultdict(lambda: defaultdict(float))
    for key, (_, _, own, _, callers) in stats.items():
        label = area_of(key)
        if label is not None:
            spent[label][key] += own
            continue
        for caller, (_, _, part, _) in callers.items():  # a builtin: its callers' areas
            spent[area_of(caller) or "builtins"][key] += part
        spent["builtins"][key] += own - sum(c[2] for c in callers.values())
    return spent


def _steps(stats: dict[Key, Entry], per: float, scale: float) -> list[dict[str, Any]]:
    """The named steps' inclusive time a poll (recursive calls counted once)."""
    rows = []
    for label, where, name in STEPS:
        found = [
            entry
            for key, entry in stats.items()
            if where in key[0] and (name in key[2] if where == "~" else key[2] == name)
        ]
        calls = sum(e[1] for e in found)
        if calls:
            total = sum(e[3] for e in found) * per
            rows.append(
                {
                    "step": label,
                    "calls_per_poll": round(calls * per / 1000, 2),
                    "profiled_ms": round(total, 2),
                    "est_ms": round(total * scale, 2),
                }
            )
    return rows


def _short(key: Key) -> str:
    path, line, name = key
    if path == "~":
        return name
    for marker in ("site-packages/", "layers/core/", "functions/", "/lib/python3.12/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{path}:{line}({name})"


def analyse(path: Path, polls: int, plain_ms: float) -> dict[str, Any]:
    """One profile, per poll: own time by area, the named steps, the top functions.
    ``est_ms`` spreads ``plain_ms`` (a plain poll's CPU) by the areas' shares, as if
    cProfile's overhead fell evenly on every area (it weighs on many small calls most).
    """
    stats: dict[Key, Entry] = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    total = sum(e[2] for e in stats.values())
    per = 1000 / polls
    scale = plain_ms / (total * per)

    def areas(spent: Spent) -> list[dict[str, Any]]:
        rows = []
        for label, functions in spent.items():
            seconds = sum(functions.values())
            if seconds * per < 0.01:
                continue
            most = sorted(functions.items(), key=lambda kv: -kv[1])[:4]
            rows.append(
                {
                    "area": label,
                    "profiled_ms": round(seconds * per, 2),
                    "share": round(seconds / total, 3),
                    "est_ms": round(seconds * per * scale, 2),
                    "top": {_short(k): round(v * per * scale, 3) for k, v in most},
                }
            )
        return sorted(rows, key=lambda row: -float(row["share"]))

    def top(cumulative: bool) -> list[dict[str, Any]]:
        def spent(entry: Entry) -> float:
            return entry[3] if cumulative else entry[2]

        ranked = sorted(stats.items(), key=lambda kv: spent(kv[1]), reverse=True)[:15]
        return [
            {
                "function": _short(k),
                "calls_per_poll": round(e[1] / polls, 2),
                "ms": round(spent(e) * per, 3),
            }
            for k, e in ranked
        ]

    return {
        "polls": polls,
        "profiled_cpu_ms_per_poll": round(total * per, 2),
        "scale_to_plain": round(scale, 3),
        "self_by_area": areas(_self_by_area(stats)),
        "steps": _steps(stats, per, scale),
        "top_self": top(cumulative=False),
        "top_cumulative": top(cumulative=True),
    }
