"""The migration adapters split by port: each write that spans several kinds of item is one
request of one adapter (a job's start and the save that ends it, with the running counters),
and the reads that cross into other items say where (the mailbox's index of a job's messages,
the copy slots' partition)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest

from mailport.adapters import keys
from mailport.adapters.dynamo_table import from_ddb
from mailport.adapters.dynamodb_content_ledger import DynamoContentLedger
from mailport.adapters.dynamodb_copy_slots import DynamoCopySlots
from mailport.adapters.dynamodb_job_format import queue_sort_key
from mailport.adapters.dynamodb_job_queue import DynamoJobQueue
from mailport.adapters.dynamodb_jobs import DynamoJobStore
from mailport.domain.mailbox import Owner
from mailport.domain.migration import JobState, MigrationJob, SourceServer
from mailport.errors import Conflict
from tests.unit.fakes import RecordingClient, written

OWNER = Owner("t", "u")
NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
JOB = MigrationJob(
    "j1",
    "t",
    "u",
    SourceServer("generic", "imap.example.com", 993, True, "me"),
    JobState.QUEUED,
    NOW,
)
RUNNING = replace(JOB, state=JobState.RUNNING, started_at=NOW, slot=True)


JOB_AND_COUNTERS = [
    ("Update", keys.user_pk(OWNER), keys.job_sk("j1")),
    ("Update", keys.running_pk(), keys.COUNT),
    ("Update", keys.running_pk("t"), keys.COUNT),
]


def test_a_start_is_one_transaction_of_the_job_and_both_running_counters() -> None:
    client = RecordingClient()
    queue = DynamoJobQueue("tbl", client=lambda: client)
    assert queue.claim(JOB, RUNNING, 10, 2) == "started"
    ((method, kwargs),) = client.calls
    assert method == "transact_write_items"
    assert written(kwargs) == JOB_AND_COUNTERS
    job, overall, tenant = (next(iter(e.values())) for e in kwargs["TransactItems"])
    assert "GSI1PK = :queue" in job["UpdateExpression"]  # listed as starting
    assert from_ddb(job["ExpressionAttributeValues"])[":queue"] == keys.STARTING
    assert job["ConditionExpression"] == "version = :old AND #s = :q"
    for counter, limit in ((overall, 10), (tenant, 2)):
        assert counter["ConditionExpression"] == "attribute_not_exists(n) OR n < :max"
        assert from_ddb(counter["ExpressionAttributeValues"]) == {":d": 1, ":max": limit}


@pytest.mark.parametrize(
    ("failed", "outcome"), [(0, "not_queued"), (1, "full"), (2, "tenant_full")]
)
def test_which_condition_of_the_start_failed_says_why(failed: int, outcome: str) -> None:
    client = RecordingClient(cancel_item=failed)
    assert DynamoJobQueue("tbl", client=lambda: client).claim(JOB, RUNNING, 10, 2) == outcome


def test_the_save_that_gives_the_slot_back_is_one_transaction_with_the_counters() -> None:
    client = RecordingClient()
    store = DynamoJobStore("tbl", client=lambda: client)
    ended = replace(RUNNING, state=JobState.COMPLETED, slot=False, version=4)
    assert store.save_job(ended, release=True).version == 5
    ((method, kwargs),) = client.calls
    assert method == "transact_write_items"
    assert written(kwargs) == JOB_AND_COUNTERS
    _, overall, tenant = (next(iter(e.values())) for e in kwargs["TransactItems"])
    for counter in (overall, tenant):
        assert "ConditionExpression" not in counter  # giving back never fails
        assert from_ddb(counter["ExpressionAttributeValues"]) == {":d": -1}

    plain = RecordingClient()
    DynamoJobStore("tbl", client=lambda: plain).save_job(ended)
    assert [m for m, _ in plain.calls] == ["update_item"]  # a checkpoint: the job alone


def test_a_release_that_lost_the_race_is_a_conflict() -> None:
    client = RecordingClient(cancel_item=0)
    with pytest.raises(Conflict):
        DynamoJobStore("tbl", client=lambda: client).save_job(RUNNING, release=True)


def test_a_new_job_joins_the_queue_in_the_same_put() -> None:
    client = RecordingClient()
    DynamoJobStore("tbl", client=lambda: client).create_job(JOB)
    ((method, kwargs),) = client.calls
    item = from_ddb(kwargs["Item"])
    assert method == "put_item"
    assert (item["PK"], item["SK"]) == (keys.user_pk(OWNER), keys.job_sk("j1"))
    assert (item["GSI1PK"], item["GSI1SK"]) == (keys.QUEUE, queue_sort_key(JOB))


def test_a_jobs_messages_are_read_from_the_mailboxs_index() -> None:
    page = {"Items": [{"GSI2SK": {"S": "m1"}}, {"GSI2SK": {"S": "m2"}}]}
    client = RecordingClient(answers=[page])
    ledger = DynamoContentLedger("tbl", client=lambda: client)
    assert ledger.job_messages(OWNER, "j1", 100) == ["m1", "m2"]
    ((method, kwargs),) = client.calls
    assert (method, kwargs["IndexName"], kwargs["Limit"]) == ("query", keys.GSI2, 100)
    assert from_ddb(kwargs["ExpressionAttributeValues"]) == {":j": keys.job_partition(OWNER, "j1")}


def test_giving_a_copy_slot_back_reads_the_slots_only_and_deletes_the_holders_own() -> None:
    def slot(n: int, holder: str) -> dict[str, Any]:
        return {
            "PK": {"S": keys.COPYING},
            "SK": {"S": keys.slot_sk(n)},
            "holder": {"S": holder},
            "until": {"N": "1"},
        }

    client = RecordingClient(answers=[{"Items": [slot(0, "other"), slot(1, "j1")]}])
    DynamoCopySlots("tbl", client=lambda: client).give_copy_slot("j1")
    (query, q), (delete1, d1), (delete2, d2) = client.calls
    assert (query, delete1, delete2) == ("query", "delete_item", "delete_item")
    assert from_ddb(q["ExpressionAttributeValues"]) == {":p": keys.COPYING, ":s": keys.SLOT_PREFIX}
    assert [from_ddb(d["Key"])["SK"] for d in (d1, d2)] == [keys.slot_sk(1), keys.waiter_sk("j1")]
    assert all(from_ddb(d["ExpressionAttributeValues"]) == {":me": "j1"} for d in (d1, d2))
