"""The fetch worker's handler: a malformed message is dropped, a run's figures become
CloudWatch metrics (EMF on stdout), dimensioned by import path."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

import pop_fetch
from mailport.domain.accounts import (
    MAX_PER_MESSAGE,
    FetchRequest,
    FetchRun,
    RunCounts,
    RunStatus,
    RunTrigger,
    fetch_message,
    fetch_requests,
)
from mailport.errors import ValidationFailed
from mailport_local.lambdas import LocalContext


def event(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m{i}",
                "receiptHandle": "r",
                "body": body,
                "attributes": {},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:fetch",
                "awsRegion": "us-east-1",
            }
            for i, body in enumerate(bodies)
        ]
    }


def emf(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if '"_aws"' in line]


def wired(
    handle: Callable[[FetchRequest], FetchRun | None], batch: int = 10, sessions: int = 10
) -> Any:
    """A container with the fetcher and the settings the handler reads."""
    return lambda: SimpleNamespace(
        fetcher=SimpleNamespace(handle=handle, flush_checks=lambda: 0, prefetch=lambda r: None),
        settings=SimpleNamespace(fetch_batch_size=batch, fetch_sessions=sessions),
    )


def test_runs_become_metrics_and_junk_is_dropped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Lambda has the variable before the module loads (template.yaml Globals); here, set it.
    monkeypatch.setattr(pop_fetch.metrics, "namespace", "Mailport")
    seen: list[FetchRequest] = []

    def handle(request: FetchRequest) -> FetchRun:
        seen.append(request)
        return FetchRun(
            "r1",
            request.account_id,
            request.trigger,
            RunStatus.FAILED,
            dt.datetime.now(dt.UTC),
            counts=RunCounts(fetched=7, skipped_oversize=2),
            auto_disabled=True,
        )

    monkeypatch.setattr(pop_fetch, "container", wired(handle))
    good = json.dumps(
        {"tenant_id": "t", "user_id": "u", "account_id": "a1", "trigger": "schedule", "tick": "x"}
    )
    result = pop_fetch.handler(event("not json", good), LocalContext("pop-fetch", 128, 30))
    assert result == {"batchItemFailures": []}  # junk is dropped, not retried forever
    assert [(r.account_id, r.trigger) for r in seen] == [("a1", RunTrigger.SCHEDULE)]
    [blob] = emf(capsys.readouterr().out)
    assert blob["path"] == "pop"
    value = {k: v[0] if isinstance(v, list) else v for k, v in blob.items()}  # EMF may list
    assert (value["MessagesImported"], value["MessagesSkippedOversize"]) == (7.0, 2.0)
    assert (value["FetchFailures"], value["FetchRuns"]) == (1.0, 1.0)
    assert value["AccountsAutoDisabled"] == 1.0
    names = {m["Name"] for m in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert names == {
        "FetchRequests",
        "FetchRequestsDropped",
        "FetchRuns",
        "MessagesImported",
        "MessagesSkippedOversize",
        "FetchFailures",
        "AccountsAutoDisabled",
    }


def request_body(account_id: str) -> str:
    return json.dumps(
        {
            "tenant_id": "t",
            "user_id": "u",
            "account_id": account_id,
            "trigger": "schedule",
            "tick": "x",
        }
    )


def test_a_batch_runs_side_by_side_and_each_record_fails_alone(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(pop_fetch.metrics, "namespace", "Mailport")
    logged = io.StringIO()  # the Logger's handler kept the stdout of its import
    monkeypatch.setattr(pop_fetch.logger.registered_handler, "stream", logged)
    # Three polls that each wait for the other two: one after another, the first would give up.
    together = threading.Barrier(3, timeout=10)

    def handle(request: FetchRequest) -> None:
        if request.account_id == "broken":
            raise RuntimeError("the run escaped")
        together.wait()  # then None: "nothing to do", logged with the record's own account

    monkeypatch.setattr(pop_fetch, "container", wired(handle))
    bodies = [request_body(a) for a in ("a1", "a2", "broken", "a3")]
    result = pop_fetch.handler(event(*bodies), LocalContext("pop-fetch", 128, 30))
    assert result == {"batchItemFailures": [{"itemIdentifier": "m2"}]}  # SQS retries it alone
    logs = [json.loads(line) for line in logged.getvalue().splitlines()]
    idle = [line.get("account_id") for line in logs if line["message"].startswith("nothing to do")]
    # Each record's log line carries its own account, not the last one another thread set.
    assert sorted(idle) == ["a1", "a2", "a3"]
    [blob] = emf(capfd.readouterr().out)
    requests = blob["FetchRequests"]  # every thread's count kept (one value, or a list of them)
    total = sum(requests) if isinstance(requests, list) else requests
    assert total == 4


def test_a_records_log_keys_do_not_outlive_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # A warm container: the account of one invocation's lone record must not show on the
    # next invocation's lines.
    monkeypatch.setattr(pop_fetch.metrics, "namespace", "Mailport")
    logged = io.StringIO()
    monkeypatch.setattr(pop_fetch.logger.registered_handler, "stream", logged)
    monkeypatch.setattr(pop_fetch, "container", wired(lambda request: None))
    pop_fetch.handler(event(request_body("acct-one")), LocalContext("pop-fetch", 128, 30))
    pop_fetch.handler(event("not json", request_body("a2")), LocalContext("pop-fetch", 128, 30))
    logs = [json.loads(line) for line in logged.getvalue().splitlines()]
    [dropped] = [line for line in logs if line["message"].startswith("not a fetch request")]
    assert "account_id" not in dropped


def test_the_batch_runs_on_as_many_threads_as_the_settings_say(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # FETCH_SESSIONS (template.yaml FetchSessions) sizes the polls' pool: two here, so of
    # three records two meet while the third waits for a thread.
    monkeypatch.setattr(pop_fetch.metrics, "namespace", "Mailport")
    lock, active, most = threading.Lock(), [0], [0]
    pair = threading.Barrier(2, timeout=10)

    def handle(request: FetchRequest) -> None:
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        if request.account_id != "a3":
            pair.wait()  # a1 and a2 side by side, or this record fails
        with lock:
            active[0] -= 1

    monkeypatch.setattr(pop_fetch, "container", wired(handle, sessions=2))
    bodies = [request_body(a) for a in ("a1", "a2", "a3")]
    result = pop_fetch.handler(event(*bodies), LocalContext("pop-fetch", 128, 30))
    assert result == {"batchItemFailures": []}
    assert most[0] == 2


def test_the_batch_is_read_before_its_runs_and_its_checks_saved_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pop_fetch.metrics, "namespace", "Mailport")
    order: list[str] = []

    def handle(request: FetchRequest) -> None:
        order.append(f"run {request.account_id}")

    fetcher = SimpleNamespace(
        handle=handle,
        prefetch=lambda requests: order.append(
            "prefetch " + ",".join(r.account_id for r in requests)
        ),
        flush_checks=lambda: order.append("flush") or 0,
    )
    monkeypatch.setattr(
        pop_fetch,
        "container",
        lambda: SimpleNamespace(
            fetcher=fetcher, settings=SimpleNamespace(fetch_batch_size=1, fetch_sessions=1)
        ),
    )
    bodies = [
        json.dumps({"tenant_id": "t", "user_id": "u", "account_id": a, "trigger": "schedule"})
        for a in ("a1", "a2")
    ]
    pop_fetch.handler(event("junk", *bodies), LocalContext("pop-fetch", 128, 30))
    # Junk is not asked for; the runs come between the batch read and the one write.
    assert order == ["prefetch a1,a2", "run a1", "run a2", "flush"]


def many(*account_ids: str) -> str:
    """One message carrying several accounts (as the dispatcher packs them)."""
    return json.dumps(
        fetch_message(
            [FetchRequest("t", "u", a, RunTrigger.SCHEDULE, tick="x") for a in account_ids]
        )
    )


def test_the_accounts_of_every_message_share_one_pool_and_a_failure_fails_its_message_only(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(pop_fetch.metrics, "namespace", "Mailport")
    # Twelve polls in three messages, all of them at once (the barrier), as one
    # invocation's pool of sessions must hold them: with fewer threads they would time out.
    together = threading.Barrier(11, timeout=10)
    ran: list[str] = []
    lock = threading.Lock()

    def handle(request: FetchRequest) -> None:
        with lock:
            ran.append(request.account_id)
        if request.account_id == "broken":
            raise RuntimeError("the run escaped")
        together.wait()

    monkeypatch.setattr(pop_fetch, "container", wired(handle, batch=10, sessions=12))
    body = event(
        many("a1", "a2", "a3", "a4"), many("b1", "broken", "b2", "b3"), many("c1", "c2", "c3", "c4")
    )
    result = pop_fetch.handler(body, LocalContext("pop-fetch", 128, 30))
    # The message with the failed run is retried (its other runs are dropped then by their
    # tick); the other messages went through.
    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert sorted(ran) == sorted(
        ["a1", "a2", "a3", "a4", "b1", "broken", "b2", "b3", "c1", "c2", "c3", "c4"]
    )
    [blob] = emf(capfd.readouterr().out)
    requests = blob["FetchRequests"]
    assert (sum(requests) if isinstance(requests, list) else requests) == 12


def test_a_message_of_many_is_read_whole_or_dropped() -> None:
    assert [r.account_id for r in fetch_requests(json.loads(many("a1", "a2")))] == ["a1", "a2"]
    one = json.loads(request_body("solo"))  # as queued before messages carried many
    assert [r.account_id for r in fetch_requests(one)] == ["solo"]
    for junk in ({"requests": []}, {"requests": "a1"}, {"requests": [{"tenant_id": "t"}]}):
        with pytest.raises(ValidationFailed):
            fetch_requests(junk)
    with pytest.raises(ValidationFailed):
        fetch_requests({"requests": [one] * (MAX_PER_MESSAGE + 1)})
