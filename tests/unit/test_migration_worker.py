"""The migration worker's handler: step dispatch and the error contract with the ASL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import migration_worker
from mailport.domain.remote import RemoteAuthFailed, RemoteTransient
from mailport.errors import TransientError
from mailport_local.lambdas import LocalContext
from migration_worker import UnknownStep, handler, run_step


@pytest.fixture(autouse=True)
def namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    # Lambda has the variable before the module loads (template.yaml Globals); here, set it.
    monkeypatch.setattr(migration_worker.metrics, "namespace", "Mailport")


def ctx() -> LocalContext:
    return LocalContext("migration", 128, 30)


class Runner:
    """Records which runner method each step reached."""

    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.error = error

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any) -> dict[str, Any]:
            self.calls.append((name, args))
            if self.error is not None:
                raise self.error
            return {"method": name}

        return call


REPO_ROOT = Path(__file__).resolve().parents[2]
JOB = {"job_id": "j1", "tenant_id": "t", "user_id": "u"}


@pytest.mark.parametrize(
    ("event", "method"),
    [
        ({"step": "plan"}, "plan"),
        ({"step": "copy_chunk", "cursor": {"chunks": 2}}, "copy_chunk"),
        ({"step": "finalize"}, "finalize"),
        ({"step": "notify", "outcome": "completed"}, "notify"),
        ({"step": "rollback", "error": {"Error": "X"}, "mode": "revert"}, "rollback"),
        ({"step": "continue"}, "continue_as_new"),
        ({"step": "suspend", "error": {"Error": "SignInRequired"}}, "suspend"),
    ],
)
def test_each_step_reaches_its_runner_method(event: dict[str, Any], method: str) -> None:
    runner = Runner()
    assert run_step(runner, {**event, "job": JOB})["method"] == method  # type: ignore[arg-type]
    assert runner.calls[0][1][0] == JOB


def test_unknown_step_is_a_named_error() -> None:
    with pytest.raises(UnknownStep):
        run_step(Runner(), {"step": "teleport", "job": JOB})  # type: ignore[arg-type]


class _Container:
    def __init__(self, runner: Runner) -> None:
        from mailport.adapters.metrics import MetricsBuffer

        self.migration_runner = runner
        self.migration_metrics = MetricsBuffer()


def test_transient_errors_leave_as_exactly_transient_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The ASL retries the error *name* TransientError: a subclass would not be retried."""
    runner = Runner(RemoteTransient("connection reset"))
    monkeypatch.setattr(migration_worker, "container", lambda: _Container(runner))
    with pytest.raises(TransientError) as caught:
        handler({"step": "plan", "job": JOB}, ctx())
    assert type(caught.value) is TransientError
    assert isinstance(caught.value.__cause__, RemoteTransient)


def test_other_errors_keep_their_name_for_the_catch(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = Runner(RemoteAuthFailed("IMAP login refused"))
    monkeypatch.setattr(migration_worker, "container", lambda: _Container(runner))
    with pytest.raises(RemoteAuthFailed):
        handler({"step": "plan", "job": JOB}, ctx())


def test_a_chunks_figures_become_emf_metrics_with_path_imap(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The runner reports through ``EmfMigrationMetrics``; the handler flushes them."""
    from mailport.adapters.metrics import MetricsBuffer
    from mailport.domain.migration import Counts, JobState

    reporter = MetricsBuffer()

    class Reporting(Runner):
        def copy_chunk(self, job: Any, cursor: Any) -> dict[str, Any]:
            reporter.chunk(Counts(imported=5, already_present=2, bytes=4096), 1.25)
            return {"done": True}

        def finalize(self, job: Any) -> dict[str, Any]:
            reporter.ended(JobState.COMPLETED, 90.0)
            return {"state": "completed"}

    wired = _Container(Reporting())
    wired.migration_metrics = reporter
    monkeypatch.setattr(migration_worker, "container", lambda: wired)
    handler({"step": "copy_chunk", "job": JOB, "cursor": {}}, ctx())
    handler({"step": "finalize", "job": JOB}, ctx())
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    chunk, final = blobs
    assert chunk["path"] == final["path"] == "imap"
    assert (chunk["MessagesImported"], chunk["BytesImported"], chunk["ChunkDuration"]) == (
        [5.0],
        [4096.0],
        [1.25],
    )
    assert chunk["MessagesAlreadyPresent"] == [2.0] and chunk["MigrationSteps"] == [1.0]
    assert (final["MigrationsCompleted"], final["MigrationDuration"]) == ([1.0], [90.0])


def test_the_scheduler_sweeps_on_its_schedule_and_reacts_to_ended_executions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import migration_scheduler

    calls: list[tuple[str, Any]] = []

    class Scheduler:
        def sweep(self) -> list[str]:
            calls.append(("sweep", None))
            return []

        def execution_ended(self, name: str, status: str, payload: Any) -> None:
            calls.append((status, payload))

    wired = type("W", (), {"migrations": type("M", (), {"scheduler": Scheduler()})()})()
    monkeypatch.setattr(migration_scheduler, "container", lambda: wired)
    base = {
        "version": "0",
        "id": "e1",
        "account": "123456789012",
        "time": "2026-11-28T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
    }
    sweep = {**base, "source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
    ended = {
        **base,
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "detail": {
            "name": "j1",
            "status": "ABORTED",
            "executionArn": "arn:aws:states:us-east-1:123456789012:execution:m:j1",
            "input": json.dumps({"job": JOB}),
        },
    }
    migration_scheduler.handler(sweep, ctx())
    migration_scheduler.handler(ended, ctx())
    assert calls == [("sweep", None), ("ABORTED", {"job": JOB})]


@pytest.mark.parametrize(
    ("detail", "parsed"),
    [
        (
            {"name": "j1", "status": "FAILED", "input": '{"job": {"id": 1}}'},
            ("j1", "FAILED", {"job": {"id": 1}}),
        ),
        ({"name": "j1", "status": "TIMED_OUT", "input": "not json"}, ("j1", "TIMED_OUT", {})),
        ({"name": "j1", "status": "ABORTED", "input": "[1]"}, ("j1", "ABORTED", {})),
        ({"name": "j1", "status": "SUCCEEDED"}, ("j1", "SUCCEEDED", {})),
        ({"status": "FAILED"}, None),
        ({"name": "j1", "status": 3}, None),
        ("a string", None),
    ],
)
def test_a_status_change_is_read_or_refused_loudly(detail: Any, parsed: Any) -> None:
    import migration_scheduler

    if parsed is None:
        with pytest.raises(ValueError, match="status change"):
            migration_scheduler.execution_detail(detail)
    else:
        assert migration_scheduler.execution_detail(detail) == parsed


def test_a_refused_sign_in_keeps_its_name_for_the_suspend_catch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The ASL sends ``SignInRequired`` to Suspend (the job waits), not to Rollback."""
    from mailport.domain.oauth import SignInRequired

    runner = Runner(SignInRequired("sign in again"))
    monkeypatch.setattr(migration_worker, "container", lambda: _Container(runner))
    with pytest.raises(SignInRequired) as caught:
        handler({"step": "copy_chunk", "job": JOB}, ctx())
    assert type(caught.value).__name__ == "SignInRequired"
    asl = json.loads((REPO_ROOT / "infra/statemachines/migration.asl.json").read_text())
    for state in ("Plan", "CopyChunk"):
        first = asl["States"][state]["Catch"][0]
        assert first == {
            "ErrorEquals": ["SignInRequired"],
            "ResultPath": "$.error",
            "Next": "Suspend",
        }


def test_throttling_is_waited_out_and_only_named_errors_are_retried() -> None:
    """A throttled worker must not roll back a job that is days in (the capacity review's
    finding): Lambda throttling gets hours of retries; transient errors about 45 minutes;
    other errors go straight to the catch (except in the rollback, which retries anything).
    """
    asl = json.loads((REPO_ROOT / "infra/statemachines/migration.asl.json").read_text())
    for name, state in asl["States"].items():
        if state["Type"] != "Task":
            continue
        throttle, *rest = state["Retry"]
        assert throttle["ErrorEquals"] == ["Lambda.TooManyRequestsException"], name
        waited = sum(
            min(throttle["IntervalSeconds"] * throttle["BackoffRate"] ** i, 600)
            for i in range(throttle["MaxAttempts"])
        )
        assert waited > 3 * 3600, name
        for retrier in rest:
            if "TransientError" in retrier["ErrorEquals"]:
                assert retrier["MaxAttempts"] >= 12, name
            else:
                assert retrier["ErrorEquals"] == ["States.ALL"], name
                assert name in ("Rollback", "Revert"), name
