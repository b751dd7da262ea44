"""The capacity model (bench/capacity.py): arithmetic, scaling and the real results files."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pytest

from bench import capacity
from bench.capacity import (
    DEFAULT_ITEM_SIZES,
    PRICES,
    TUNED,
    Inputs,
    Job,
    Limit,
    Range,
    Workload,
)


def fake_results() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A tiny stand-in for the three benchmark result files (only what the model reads)."""
    pop3 = {
        "messages": 100,
        "megabytes": 2.5,
        "mailport": {
            "calls": {
                "GetItem": 1,
                "UpdateItem": 1,
                "Decrypt": 1,
                "Query": 1,
                "PutObject": 100,
                "TransactWriteItems": 101,
                "BatchWriteItem": 4,
            }
        },
        "dispatcher": {"queued": 1000, "calls": {"Query": 10, "SendMessageBatch": 100}},
    }
    imap = {
        "messages": 100,
        "mailport_worker": {
            "cpu_s": 1.0,
            "calls": {
                "GetItem": 3,
                "Decrypt": 2,
                "Query": 2,
                "TransactWriteItems": 101,
                "UpdateItem": 3,
                "PutObject": 101,
                "BatchGetItem": 1,
            },
        },
        "mailport_end_to_end": {"state_transitions": 8, "lambda_invocations": 4},
    }
    ingest = {"messages": 100, "megabytes": 2.7}
    return pop3, imap, ingest


def inputs(**workload: Any) -> Inputs:
    pop3, imap, ingest = fake_results()
    return Inputs(pop3, imap, ingest, dict(DEFAULT_ITEM_SIZES), replace(Workload(), **workload))


def test_range_arithmetic() -> None:
    r = Range(1.0, 2.0)
    assert r + Range(1.0, 1.0) == Range(2.0, 3.0)
    assert r + 1 == Range(2.0, 3.0)
    assert r * 3 == Range(3.0, 6.0)
    assert 3 * r == Range(3.0, 6.0)
    assert r * Range(2.0, 4.0) == Range(2.0, 8.0)
    assert r / 2 == Range(0.5, 1.0)
    assert Range(5.0, 1.0).ordered() == Range(1.0, 5.0)


@pytest.mark.parametrize(
    "path", [capacity.pop_polls, capacity.pop_mail, capacity.pop_dispatch, capacity.uploads]
)
def test_pop_and_upload_requests_scale_linearly_with_users(path: Any) -> None:
    small = path(inputs(users=1000, uploads_per_month=1000))
    large = path(inputs(users=3000, uploads_per_month=3000))
    assert small.keys() == large.keys()
    for meter, amount in small.items():
        if meter == "events.invocations" or amount.high == 0:
            continue  # the schedule ticks as often whatever the number of accounts
        if path is capacity.pop_dispatch and meter.startswith(("lambda.", "logs.", "xray.")):
            continue  # one invocation a tick; only its duration grows
        assert large[meter].low == pytest.approx(3 * amount.low), meter
        assert large[meter].high == pytest.approx(3 * amount.high), meter


def test_migrations_scale_with_concurrency() -> None:
    small = capacity.imap(inputs(concurrent_migrations=10))
    large = capacity.imap(inputs(concurrent_migrations=20))
    for meter, amount in small.items():
        assert large[meter].low == pytest.approx(2 * amount.low), meter


def test_polls_count_what_the_run_measured() -> None:
    i = inputs(users=1000)
    polls = 1000 * 10 * 144 * 30
    usage = capacity.pop_polls(i)
    assert usage["lambda.requests"] == Range.of(polls)
    assert usage["kms.requests"] == Range.of(polls)  # one Decrypt a run (measured)
    assert usage["sqs.requests"] == Range.of(2 * polls)  # receive + delete (derived)
    # begin_run UpdateItem (1 WRU) + finish_run transaction of one item (2 WRU); 4+2 high.
    assert usage["ddb.wru"] == Range(3 * polls, 6 * polls)


def test_costs_equal_requests_times_price() -> None:
    usage = {
        "lambda.requests": Range.of(2e6),
        "kms.requests": Range(10_000, 20_000),
        "ddb.wru": Range.of(1e6),
        "s3.gb": Range.of(100),
        "lambda.gb_s": Range.of(1000),
    }
    cost = capacity.costs(usage, Range.of(PRICES["lambda.gb_s"].each))
    assert cost["lambda.requests"].low == pytest.approx(0.40)
    assert cost["kms.requests"].low == pytest.approx(0.03)
    assert cost["kms.requests"].high == pytest.approx(0.06)
    assert cost["ddb.wru"].low == pytest.approx(0.625)
    assert cost["s3.gb"].low == pytest.approx(2.3)
    assert cost["lambda.gb_s"].low == pytest.approx(1000 * 0.0000133334)


def test_lambda_tiers() -> None:
    first = 7.5e9 * 0.0000133334
    assert capacity.lambda_compute_usd(1e9) == pytest.approx(1e9 * 0.0000133334)
    assert capacity.lambda_compute_usd(7.5e9) == pytest.approx(first)
    assert capacity.lambda_compute_usd(8.5e9) == pytest.approx(first + 1e9 * 0.0000120001)


def test_state_machine_formula() -> None:
    assert (Job(1, 0, 1).transitions, Job(1, 0, 1).invocations) == (8, 4)  # measured
    assert (Job(5, 0, 1).transitions, Job(5, 0, 1).invocations) == (16, 8)  # bench/README.md
    paced = Job(2, 3, 1)
    assert paced.transitions == 6 + 4 + 9
    assert paced.invocations == 3 + 2 + 3


def test_migration_job_shape() -> None:
    job = capacity.migration_job(inputs())  # 100,000 messages, 5 GiB, 2,500 MiB a day
    assert job.chunks == 50
    assert job.pauses == 2 * 86_400 // 900
    assert job.executions == 1
    unpaced = capacity.migration_job(inputs(provider_daily_bytes=10 * capacity.GB))
    assert unpaced.pauses == 0


def test_migration_index_writes_count_messages_not_transactions() -> None:
    """A worker that groups its index writes makes few transactions (81 for 2,000 messages
    since 2026-12-07); each message is still indexed once, at index_wru's price.
    """
    one_each = inputs()
    pop3, imap, ingest = fake_results()
    imap["mailport_worker"]["calls"]["TransactWriteItems"] = 5  # groups of ~20
    grouped = Inputs(pop3, imap, ingest, dict(DEFAULT_ITEM_SIZES), Workload())
    for tuning in (capacity.Tuning(), TUNED):
        a = capacity.imap(replace(one_each, tuning=tuning))["ddb.wru"]
        b = capacity.imap(replace(grouped, tuning=tuning))["ddb.wru"]
        assert b == a
        w = one_each.workload
        per_message = a.low / (w.migrations_per_month * w.mailbox_messages)
        assert per_message >= 3  # message item, GSI1 copy, GSI2 keys, fingerprint claim


def test_item_sizes_by_dynamodb_rules() -> None:
    assert capacity.ddb_item_bytes({"PK": {"S": "ab"}}) == 4
    assert capacity.ddb_item_bytes({"n": {"N": "12345"}}) == 1 + 4
    assert capacity.ddb_item_bytes({"b": {"BOOL": True}}) == 2
    assert capacity.ddb_item_bytes({"l": {"L": [{"S": "x"}]}}) == 1 + 3 + 2
    assert capacity.ddb_item_bytes({"m": {"M": {"k": {"S": "v"}}}}) == 1 + 3 + 1 + 1 + 1
    assert capacity.units(983, 1024) == 1
    assert capacity.units(1025, 1024) == 2
    assert capacity.units(0, 4096) == 1


def test_limit_status() -> None:
    assert Limit("x", Range(1, 10), 100, "").status == "under"
    assert Limit("x", Range(50, 90), 100, "").status == "at risk"
    assert Limit("x", Range(200, 101), 100, "").status == "OVER"
    assert Limit("x", Range(200, 101), 100, "").need == Range(101, 200)


def test_the_real_results_give_positive_figures_for_every_path() -> None:
    i = capacity.load_inputs()
    capacity.check_against_measured(i)
    report = capacity.model(i)
    for name, cost in report.cost.items():
        assert capacity.total(cost.values()).low > 0, name
        for meter, usd in cost.items():
            assert usd.low >= 0 and usd.high >= usd.low, (name, meter)
    assert report.total.low > 0
    assert math.isclose(
        capacity.total(report.services.values()).high, report.total.high, rel_tol=1e-9
    )
    text = capacity.render(report, i)
    assert "#### Limits" in text and "| **all** |" in text
    data = capacity.to_json(report, i)
    assert set(data["paths"]) == set(capacity.PATHS)


def test_the_proposed_changes_cost_less() -> None:
    i = capacity.load_inputs()
    built, tuned = capacity.model(i), capacity.model(replace(i, tuning=TUNED))
    assert tuned.total.high < built.total.high
    assert tuned.services["KMS"].high < built.services["KMS"].high
