"""Benchmark: what indexing an imported message costs, one transaction each against grouped.

    .venv/bin/python -m bench.index_writes [--messages 400] [--threads 40] [--rounds 3]

``--threads`` stores run at once (as a fetch batch's POP runs and a migration step's store
pool do), each storing messages of the realistic mix through mailport's ``Importer``, into a
new user's Inbox per round, against moto in a process of its own:

- ``one_by_one``: a TransactWriteItems per message (message, fingerprint, folder counters);
- ``grouped``: ``GroupIndexer`` over ``DynamoMessageIndex`` (what the stack deploys).

Per message it reports DynamoDB requests by API, and the write and read units those requests
cost by DynamoDB's rules (each item written: 1 WRU per KB, twice in a transaction; GSI1's
copy of a message: 1 WRU per KB of what it projects; a strongly consistent read: 1 RRU per
4 KB, and 1 for a key that is absent), counted from the requests' own items. Figures are
printed and written to bench/results/index_writes.json.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from bench.capacity import KB, ddb_item_bytes, units
from bench.corpus import messages
from bench.harness import result_head, write_result
from mailport.adapters.clients import Clients
from mailport.adapters.dynamodb_mailbox import LISTED_ATTRIBUTES, DynamoMailbox
from mailport.adapters.dynamodb_message_index import DynamoMessageIndex
from mailport.adapters.s3 import S3RawStore
from mailport.domain.mailbox import InsertOutcome, Owner, Source, SourceType, message_id_for
from mailport.usecases.importing import Importer, ImportRequest
from mailport.usecases.index_group import GroupIndexer
from mailport.usecases.mailbox import MailboxService
from mailport_local.stack import LocalStack, LocalStackConfig

GSI1_KEYS = ("PK", "SK", "GSI1PK", "GSI1SK")
FOLDER_ITEM_BYTES = 127  # bench/results/item_sizes.json's folder_bytes


class Meter:
    """Counts DynamoDB requests and the units their items cost."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.wru = 0.0
        self.rru = 0.0
        self._lock = threading.Lock()

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        with self._lock:
            self.calls[model.name] += 1
            self.wru += self._writes(model.name, params)
            self.rru += self._reads(model.name, params)

    @staticmethod
    def _written(item: dict[str, Any]) -> float:
        wru = float(units(ddb_item_bytes(item), KB))
        if "GSI1PK" in item:  # GSI1's copy (INCLUDE: the listed attributes and the keys)
            projected = {k: v for k, v in item.items() if k in GSI1_KEYS + LISTED_ATTRIBUTES}
            wru += units(ddb_item_bytes(projected), KB)
        return wru

    def _writes(self, name: str, params: dict[str, Any]) -> float:
        if name == "PutItem":
            return self._written(params["Item"])
        if name == "BatchWriteItem":
            return sum(
                self._written(r["PutRequest"]["Item"])
                for rs in params["RequestItems"].values()
                for r in rs
                if "PutRequest" in r
            )
        if name == "TransactWriteItems":
            total = 0.0
            for t in params["TransactItems"]:
                if "Put" in t:
                    total += 2 * self._written(t["Put"]["Item"])
                elif "Update" in t:
                    total += 2 * units(FOLDER_ITEM_BYTES, KB)
            return total
        return 0.0

    @staticmethod
    def _reads(name: str, params: dict[str, Any]) -> float:
        if name == "BatchGetItem":
            return float(sum(len(r["Keys"]) for r in params["RequestItems"].values()))
        if name == "GetItem":
            return 1.0
        return 0.0


def one_round(stack: LocalStack, raws: list[bytes], threads: int, grouped: bool) -> dict[str, Any]:
    meter = Meter()
    clients = Clients()
    client = clients.dynamodb()
    table = stack.physical_id("MailportTable")
    store = DynamoMailbox(table, client=lambda: client)
    raw_store = S3RawStore(stack.physical_id("MailBucket"), client=clients.s3)
    group = GroupIndexer(DynamoMessageIndex(table, client=lambda: client)) if grouped else None
    importer = Importer(store, raw_store, group=group)
    owner = Owner("bench", f"u-{uuid.uuid4().hex[:10]}")
    MailboxService(store, raw_store).ensure_system_folders(owner)
    client.meta.events.register("before-parameter-build.dynamodb.*", meter)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def worker(k: int) -> None:
        for n in range(k, len(raws), threads):
            result = importer.store(
                ImportRequest(
                    owner=owner,
                    raw=raws[n],
                    folder_id="inbox",
                    source=Source(SourceType.POP, "bench"),
                    message_id=message_id_for("pop", "bench", f"uidl-{n}"),
                )
            )
            with lock:
                outcomes[result.outcome.value] += 1

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    seconds = time.perf_counter() - started
    n = len(raws)
    inbox = MailboxService(store, raw_store).folder(owner, "inbox")
    if outcomes[InsertOutcome.STORED.value] != n or inbox.total != n:
        raise RuntimeError(f"stored {dict(outcomes)}, Inbox counts {inbox.total}, expected {n}")
    return {
        "requests_per_message": round(sum(meter.calls.values()) / n, 4),
        "calls_per_message": {k: round(v / n, 4) for k, v in sorted(meter.calls.items())},
        "wru_per_message": round(meter.wru / n, 3),
        "rru_per_message": round(meter.rru / n, 3),
        "ms_per_message": round(seconds * 1000 / n, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--threads", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    raws = messages(args.messages)
    modes = {"one_by_one": False, "grouped": True}
    rounds: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as state:
        config = LocalStackConfig(
            api_port=0,
            state_dir=Path(state),
            persist=False,
            run_schedules=False,
            aws_process=True,
        )
        with LocalStack(config) as stack:
            for r in range(args.rounds):
                order = list(modes) if r % 2 == 0 else list(reversed(modes))
                rounds.append({m: one_round(stack, raws, args.threads, modes[m]) for m in order})
    median = {
        m: {
            f: round(float(statistics.median(r[m][f] for r in rounds)), 4)
            for f in (
                "requests_per_message",
                "wru_per_message",
                "rru_per_message",
                "ms_per_message",
            )
        }
        | {"calls_per_message": rounds[-1][m]["calls_per_message"]}
        for m in modes
    }
    result = {
        **result_head("index_writes", args.messages, sum(map(len, raws)) / 1024 / 1024),
        "threads": args.threads,
        "rounds": rounds,
        "median": median,
    }
    write_result("index_writes", result)
    print(
        f"index_writes: {args.messages} messages, {args.threads} stores at once, "
        f"{args.rounds} rounds (medians)"
    )
    for m in modes:
        f = median[m]
        calls = ", ".join(f"{k} {v:g}" for k, v in f["calls_per_message"].items())
        print(
            f"  {m:>10}: {f['requests_per_message']:.3f} DynamoDB requests a message ({calls}); "
            f"{f['wru_per_message']:.2f} WRU, {f['rru_per_message']:.2f} RRU, "
            f"{f['ms_per_message']:.2f} ms a message"
        )


if __name__ == "__main__":
    main()
