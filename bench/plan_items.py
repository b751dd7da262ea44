"""Benchmark: what a migration job's item costs, its plan inline (as built first) against its
plan in items of its own (one per folder), by the number of folders.

    .venv/bin/python -m bench.plan_items [--folders 10,100,1000,2000,5000]

Built with the job store's own item builders (``dynamodb_jobs._fields`` and
``_folder_item``) from folders with realistic long names (Japanese, modified UTF-7 raw names)
and mid-copy checkpoints, and sized by DynamoDB's rules (``bench.capacity.ddb_item_bytes``;
1 WRU per KB written, twice in a transaction; 1 RRU per 4 KB of a strongly consistent read).
Per job: the job item's size (DynamoDB refuses items over 400 KB), the write units of one
checkpoint (it changes one folder: inline, the whole item is rewritten; in items, one
transaction of the job and that folder) and the read units of loading the job at the start
of a step. Figures are computed, not timed: they do not depend on the machine. Printed and
written to bench/results/plan_items.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from bench.capacity import KB, ddb_item_bytes, units
from bench.harness import run_head, write_result
from mailport.adapters import keys
from mailport.adapters.dynamo_table import to_ddb
from mailport.adapters.dynamodb_job_format import folder_item, job_fields
from mailport.domain.mailbox import Owner
from mailport.domain.migration import Counts, FolderPlan, JobState, MigrationJob, SourceServer

ITEM_LIMIT = 400 * KB
OWNER = Owner("acme-corp", "0f8fad5b-d9cb-469f-a165-70867728950e")


def _folder(i: int) -> FolderPlan:
    name = f"Archive/{2000 + i // 12}/Month {i % 12:02d} プロジェクト"
    raw = f"Archive/{2000 + i // 12}/Month {i % 12:02d} &MNcw7TC4MKcwrzDI-".encode()
    counts = Counts(3_999, 1, 2, 3, 399_000_000)
    return FolderPlan(
        name,
        raw,
        1_700_000_000 + i,
        50_001,
        4_000,
        400_000_000,
        2,
        f"f{i:020d}",
        name,
        done_uid=49_999,
        counts=counts,
    )


def _job(folders: int) -> MigrationJob:
    return MigrationJob(
        job_id="j" + "a" * 20,
        tenant_id=OWNER.tenant_id,
        user_id=OWNER.user_id,
        server=SourceServer("manual", "imap.example.com", 993, True, "someone@example.com"),
        state=JobState.RUNNING,
        created_at=dt.datetime(2026, 12, 7, tzinfo=dt.UTC),
        plan=tuple(_folder(i) for i in range(folders)),
        planned=True,
        created_folders=tuple(f"f{i:020d}" for i in range(folders)),
    )


def _key(sk: str, pk: str) -> dict[str, Any]:
    return {"PK": pk, "SK": sk, "version": 12}


def measure(folders: int) -> dict[str, Any]:
    """One job of ``folders`` folders, both ways."""
    job = _job(folders)
    fields = {k: v for k, v in job_fields(job).items() if v is not None}
    base = _key(keys.job_sk(job.job_id), keys.user_pk(OWNER))
    inline = {**base, **{k: v for k, v in fields.items() if k != "totals"}}
    inline["plan"] = [folder_item(f) for f in job.plan]
    inline["created_folders"] = list(job.created_folders)
    now = {**base, **fields}
    plan_pk = keys.plan_pk(OWNER, job.job_id)
    folder_items = [
        {"PK": plan_pk, "SK": keys.plan_sk(i), **folder_item(f)} for i, f in enumerate(job.plan)
    ]
    inline_b = ddb_item_bytes(to_ddb(inline))
    job_b = ddb_item_bytes(to_ddb(now))
    folder_b = [ddb_item_bytes(to_ddb(f)) for f in folder_items]
    plan_b = sum(folder_b)
    return {
        "folders": folders,
        "inline": {
            "job_item_bytes": inline_b,
            "fits": inline_b <= ITEM_LIMIT,
            "checkpoint_wru": units(inline_b, KB),
            "load_rru": units(inline_b, 4 * KB),
        },
        "items": {
            "job_item_bytes": job_b,
            "largest_item_bytes": max([job_b, *folder_b]),
            "fits": max([job_b, *folder_b]) <= ITEM_LIMIT,
            # TransactWriteItems: each item twice.
            "checkpoint_wru": 2 * (units(job_b, KB) + units(max(folder_b), KB)),
            # GetItem of the job, then a Query of the plan (units of the sum, per 4 KB).
            "load_rru": units(job_b, 4 * KB) + units(plan_b, 4 * KB),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folders", default="10,100,1000,2000,5000")
    args = parser.parse_args()
    rows = [measure(int(n)) for n in args.folders.split(",")]
    print(
        f"{'folders':>8} | {'inline item':>12} {'ckpt WRU':>9} {'load RRU':>9} | "
        f"{'job item':>9} {'ckpt WRU':>9} {'load RRU':>9}"
    )
    for r in rows:
        a, b = r["inline"], r["items"]
        size = f"{a['job_item_bytes'] / KB:9.1f} KB" + ("" if a["fits"] else "!")
        print(
            f"{r['folders']:>8} | {size:>12} {a['checkpoint_wru']:>9} {a['load_rru']:>9} | "
            f"{b['job_item_bytes'] / KB:6.1f} KB {b['checkpoint_wru']:>9} {b['load_rru']:>9}"
        )
    print("! : over DynamoDB's 400 KB item limit (the save is refused)")
    write_result("plan_items", {**run_head("plan_items"), "rows": rows})


if __name__ == "__main__":
    main()
