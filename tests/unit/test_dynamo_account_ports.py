"""The POP account adapters split by port: each write that spans two kinds of item is one
request of one adapter (the account store's count + account, the run ledger's lease + record),
and clearing a deleted account takes runs and receipts in the same batches."""

from __future__ import annotations

import datetime as dt
from typing import Any

from mailport.adapters import keys
from mailport.adapters.dynamo_table import from_ddb
from mailport.adapters.dynamodb_accounts import DynamoAccountStore
from mailport.adapters.dynamodb_runs import DynamoRunLedger
from mailport.domain.accounts import (
    FetchRun,
    FetchState,
    PopAccount,
    Preset,
    RunStatus,
    RunTrigger,
)
from mailport.domain.mailbox import Owner
from tests.unit.fakes import RecordingClient, written

OWNER = Owner("t", "u")
NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
ACCOUNT = PopAccount(
    "a1", Preset.MANUAL, "pop.example.com", 995, True, "me", "inbox", "none", True, False, True, NOW
)


def run(trigger: RunTrigger) -> FetchRun:
    return FetchRun("r1", "a1", trigger, RunStatus.RUNNING, NOW)


def test_a_new_account_and_the_users_count_are_one_transaction() -> None:
    client = RecordingClient()
    DynamoAccountStore("t", client=lambda: client).create_account(OWNER, ACCOUNT, 10)
    ((method, kwargs),) = client.calls
    assert method == "transact_write_items"
    assert written(kwargs) == [
        ("Update", keys.user_pk(OWNER), keys.ACCOUNTS),
        ("Put", keys.user_pk(OWNER), keys.account_sk("a1")),
    ]


def test_a_manual_runs_lease_and_record_are_one_transaction_a_scheduled_one_an_update() -> None:
    client = RecordingClient()
    ledger = DynamoRunLedger("t", client=lambda: client)
    assert ledger.begin_run(OWNER, "a1", run(RunTrigger.MANUAL), 960, None)
    assert ledger.begin_run(OWNER, "a1", run(RunTrigger.SCHEDULE), 960, "tick")
    (manual, kwargs), (scheduled, _) = client.calls
    assert (manual, scheduled) == ("transact_write_items", "update_item")
    assert written(kwargs) == [
        ("Update", keys.user_pk(OWNER), keys.account_sk("a1")),
        ("Put", keys.user_pk(OWNER), keys.run_sk("a1", "r1")),
    ]


def test_a_run_that_lost_its_lease_keeps_only_its_record_while_the_account_exists() -> None:
    done = run(RunTrigger.SCHEDULE)
    client = RecordingClient(
        cancel_item=0, cancels=1, answers=[{"Item": {"PK": {"S": "x"}, "SK": {"S": "y"}}}]
    )
    ledger = DynamoRunLedger("t", client=lambda: client)
    ledger.finish_run(OWNER, ACCOUNT, done, FetchState(), disable=False, record=True)
    assert [m for m, _ in client.calls] == [
        "transact_write_items",
        "get_item",
        "transact_write_items",
    ]
    assert from_ddb(client.calls[1][1]["Key"]) == {
        "PK": keys.user_pk(OWNER),
        "SK": keys.account_sk("a1"),
    }
    assert written(client.calls[2][1]) == [("Put", keys.user_pk(OWNER), keys.run_sk("a1", "r1"))]

    gone = RecordingClient(cancel_item=0, cancels=1, answers=[{}])
    DynamoRunLedger("t", client=lambda: gone).finish_run(
        OWNER, ACCOUNT, done, FetchState(), disable=False, record=True
    )
    assert [m for m, _ in gone.calls] == ["transact_write_items", "get_item"]  # deleted: nothing


def test_an_unrecorded_finish_is_one_update_of_the_account() -> None:
    client = RecordingClient()
    DynamoRunLedger("t", client=lambda: client).finish_run(
        OWNER, ACCOUNT, run(RunTrigger.SCHEDULE), FetchState(), disable=True, record=False
    )
    ((method, kwargs),) = client.calls
    assert method == "update_item"
    assert from_ddb(kwargs["Key"])["SK"] == keys.account_sk("a1")
    assert "REMOVE GSI2PK, GSI2SK" in kwargs["UpdateExpression"]  # off the schedule


def test_forgetting_takes_runs_and_receipts_in_the_same_batches() -> None:
    def page(pk: str, *sks: str) -> dict[str, Any]:
        return {"Items": [{"PK": {"S": pk}, "SK": {"S": sk}} for sk in sks]}

    user, seen = keys.user_pk(OWNER), keys.seen_pk(OWNER, "a1")
    runs = page(user, keys.run_sk("a1", "r1"), keys.run_sk("a1", "r2"))
    receipts = page(seen, keys.uidl_sk("u1"), keys.uidl_sk("u2"))
    client = RecordingClient(answers=[runs, receipts])
    assert DynamoAccountStore("t", client=lambda: client).forget(OWNER, "a1", 4) is True
    (q1, _), (q2, _), (batch, kwargs) = client.calls
    assert (q1, q2, batch) == ("query", "query", "batch_write_item")
    deleted = [from_ddb(r["DeleteRequest"]["Key"]) for r in kwargs["RequestItems"]["t"]]
    # The account's check item first (an idle poll may have left one after the delete).
    assert [(d["PK"], d["SK"]) for d in deleted] == [
        (user, keys.checked_sk("a1")),
        (user, keys.run_sk("a1", "r1")),
        (user, keys.run_sk("a1", "r2")),
        (seen, keys.uidl_sk("u1")),
    ]
