"""A job's plan in items of its own (moto over HTTP): a job of thousands of folders stays far
from DynamoDB's 400 KB item limit, a checkpoint writes the job and the folder it changed,
the organisation's list reads no folder, and a job saved in the older format (its plan
inline) is read as before and moved out on its next save.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

import boto3
import pytest

from mailport.adapters import keys
from mailport.adapters.clients import Clients
from mailport.adapters.dynamo_table import to_ddb
from mailport.adapters.dynamodb_job_format import folder_item, job_fields
from mailport.adapters.dynamodb_jobs import DynamoJobStore
from mailport.domain.mailbox import Owner
from mailport.domain.migration import (
    Counts,
    FolderPlan,
    JobState,
    MigrationJob,
    SourceServer,
    advance,
)
from mailport.errors import Conflict
from mailport.usecases.migration_context import plan_changes
from mailport_local.stack import LocalStack

pytestmark = [pytest.mark.stack]

FOLDERS = 2500


def _folder(i: int) -> FolderPlan:
    name = f"Archive/{2000 + i // 12}/Month {i % 12:02d} プロジェクト"
    raw = f"Archive/{2000 + i // 12}/Month {i % 12:02d} &MNcw7TC4MKcwrzDI-".encode()
    return FolderPlan(
        name, raw, 1_700_000_000 + i, 50_001, 50_000, 400_000_000, 2, f"f{i:020d}", name
    )


def _job(owner: Owner) -> MigrationJob:
    return MigrationJob(
        job_id=f"j{uuid.uuid4().hex[:20]}",
        tenant_id=owner.tenant_id,
        user_id=owner.user_id,
        server=SourceServer("manual", "imap.example.com", 993, True, "someone@example.com"),
        state=JobState.RUNNING,
        created_at=dt.datetime.now(dt.UTC),
    )


def _item_bytes(table: str, owner: Owner, job_id: str) -> int:
    """The job item's size as DynamoDB counts it, near enough: names and values, UTF-8."""
    got = boto3.client("dynamodb").get_item(
        TableName=table, Key=to_ddb({"PK": keys.user_pk(owner), "SK": keys.job_sk(job_id)})
    )["Item"]
    return len(repr(got).encode("utf-8"))


@pytest.fixture
def store(local_stack: LocalStack) -> tuple[DynamoJobStore, str]:
    table = local_stack.physical_id("MailportTable")
    return DynamoJobStore(table, client=Clients().dynamodb), table


def test_thousands_of_folders_stay_far_from_the_item_limit(
    store: tuple[DynamoJobStore, str],
) -> None:
    jobs, table = store
    owner = Owner(f"t-{uuid.uuid4().hex[:8]}", "u1")
    job = _job(owner)
    jobs.create_job(job)
    planned = dataclasses.replace(
        job,
        plan=tuple(_folder(i) for i in range(FOLDERS)),
        planned=True,
        created_folders=tuple(f"f{i:020d}" for i in range(FOLDERS)),
    )
    saved = jobs.save_job(planned, plan_changes=plan_changes(job, planned), created_changed=True)
    loaded = jobs.get_job(owner, job.job_id)
    assert loaded is not None and loaded.plan == planned.plan
    assert loaded.created_folders == planned.created_folders
    assert _item_bytes(table, owner, job.job_id) < 4_000  # the plan inline was ~800 KB
    # A checkpoint: one folder changes; only it is written, with the job, in one transaction.
    moved = list(saved.plan)
    moved[7] = advance(moved[7], 100, Counts(imported=99, bytes=9_900), False)
    after = dataclasses.replace(saved, plan=tuple(moved))
    assert plan_changes(saved, after) == [7]
    jobs.save_job(after, plan_changes=[7])
    again = jobs.get_job(owner, job.job_id)
    assert again is not None and again.plan == after.plan and again.counts.imported == 99
    # The organisation's list: the totals, no folder read.
    (listed,), _ = jobs.tenant_jobs(owner.tenant_id, 10, None)
    assert not listed.plan_loaded and listed.plan == ()
    assert (listed.counts, listed.total_messages, listed.total_bytes) == (
        again.counts,
        again.total_messages,
        again.total_bytes,
    )
    assert listed.next_folder() == 0 and listed.percent() == again.percent()
    assert listed.totals.created == FOLDERS
    with pytest.raises(ValueError, match="without its plan"):
        jobs.save_job(listed, plan_changes=[0])
    # Saved without folders (as the scheduler saves), nothing of the plan is lost.
    jobs.save_job(dataclasses.replace(listed, version=again.version))
    kept = jobs.get_job(owner, job.job_id)
    assert kept is not None and kept.plan == after.plan


def test_a_save_that_loses_the_race_writes_no_folder(store: tuple[DynamoJobStore, str]) -> None:
    jobs, _ = store
    owner = Owner(f"t-{uuid.uuid4().hex[:8]}", "u1")
    job = _job(owner)
    jobs.create_job(job)
    planned = dataclasses.replace(job, plan=tuple(_folder(i) for i in range(3)), planned=True)
    saved = jobs.save_job(planned, plan_changes=[0, 1, 2])
    jobs.save_job(saved)  # somebody else saved meanwhile
    moved = list(saved.plan)
    moved[1] = advance(moved[1], 5, Counts(imported=5), False)
    with pytest.raises(Conflict):
        jobs.save_job(dataclasses.replace(saved, plan=tuple(moved)), plan_changes=[1])
    loaded = jobs.get_job(owner, job.job_id)
    assert loaded is not None and loaded.plan == saved.plan  # the folder is as it was


def test_a_job_saved_with_its_plan_inline_reads_and_moves_out(
    store: tuple[DynamoJobStore, str],
) -> None:
    jobs, table = store
    owner = Owner(f"t-{uuid.uuid4().hex[:8]}", "u1")
    job = dataclasses.replace(
        _job(owner),
        plan=tuple(_folder(i) for i in range(5)),
        planned=True,
        created_folders=("fa", "fb"),
    )
    old: dict[str, Any] = {
        "PK": keys.user_pk(owner),
        "SK": keys.job_sk(job.job_id),
        "version": 3,
        **{k: v for k, v in job_fields(job).items() if k != "totals"},
        "plan": [folder_item(f) for f in job.plan],  # as items were saved before
        "created_folders": list(job.created_folders),
    }
    boto3.client("dynamodb").put_item(TableName=table, Item=to_ddb(old))
    loaded = jobs.get_job(owner, job.job_id)
    assert loaded is not None and loaded.plan == job.plan and loaded.version == 3
    assert loaded.created_folders == ("fa", "fb")
    moved = list(loaded.plan)
    moved[4] = advance(moved[4], 9, Counts(imported=9), False)
    jobs.save_job(dataclasses.replace(loaded, plan=tuple(moved)), plan_changes=[4])
    raw = boto3.client("dynamodb").get_item(
        TableName=table, Key=to_ddb({"PK": keys.user_pk(owner), "SK": keys.job_sk(job.job_id)})
    )["Item"]
    assert "plan" not in raw and "created_folders" not in raw and "totals" in raw
    after = jobs.get_job(owner, job.job_id)
    assert after is not None and after.plan == tuple(moved)
    assert after.created_folders == ("fa", "fb")


def test_an_older_item_saved_without_its_plan_keeps_it_inline(
    store: tuple[DynamoJobStore, str],
) -> None:
    jobs, table = store
    owner = Owner(f"t-{uuid.uuid4().hex[:8]}", "u1")
    job = dataclasses.replace(_job(owner), plan=(_folder(0), _folder(1)), planned=True)
    old: dict[str, Any] = {
        "PK": keys.user_pk(owner),
        "SK": keys.job_sk(job.job_id),
        "version": 1,
        **{k: v for k, v in job_fields(job).items() if k != "totals"},
        "plan": [folder_item(f) for f in job.plan],
    }
    boto3.client("dynamodb").put_item(TableName=table, Item=to_ddb(old))
    bare = jobs.get_job(owner, job.job_id, plan=False)  # as the scheduler reads it
    assert bare is not None and bare.total_messages == job.total_messages
    jobs.save_job(dataclasses.replace(bare, executions=2))
    loaded = jobs.get_job(owner, job.job_id)
    assert loaded is not None and loaded.plan == job.plan and loaded.executions == 2


def test_a_redone_plan_of_fewer_folders_leaves_none_of_the_first_one(
    store: tuple[DynamoJobStore, str],
) -> None:
    """More folders than a transaction holds are written before the job: a Plan step that
    lost its save, redone over a source with fewer folders, must not find the first one's."""
    jobs, _ = store
    owner = Owner(f"t-{uuid.uuid4().hex[:8]}", "u1")
    job = _job(owner)
    jobs.create_job(job)
    jobs.save_job(job)  # somebody saved meanwhile: ``job``'s version is stale
    first = dataclasses.replace(job, plan=tuple(_folder(i) for i in range(150)), planned=True)
    with pytest.raises(Conflict):
        jobs.save_job(first, plan_changes=range(150))
    current = jobs.get_job(owner, job.job_id)
    assert current is not None and current.plan == ()
    redo = dataclasses.replace(current, plan=tuple(_folder(i) for i in range(120)), planned=True)
    jobs.save_job(redo, plan_changes=range(120))
    loaded = jobs.get_job(owner, job.job_id)
    assert loaded is not None and len(loaded.plan) == 120 and loaded.plan == redo.plan
