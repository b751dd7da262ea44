"""Workers killed for real (docs/reliability.md, Gap 12), and a trickling server through a
whole fetch run (Gap 2).

The POP fetch worker's own Lambda handler (``functions/pop_fetch``) runs in a process of its
own, with the local stack's environment, against the test Dovecot through a ``FaultProxy``.
The proxy holds the worker at a known point (in the middle of a RETR; after DELE was
answered, with QUIT held back) and the test sends it SIGKILL: nothing in the worker gets to
run after that, no ``finally``, no QUIT. Then the worker runs again normally, and the same
invariants as the in-process kills must hold: nothing lost, nothing twice, the run's record
true, the user told.

Real Dovecot; DynamoDB, S3, KMS and SQS in moto over HTTP.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from mailport.domain.accounts import (
    FetchRequest,
    PopAccount,
    ReceiptOutcome,
    RunStatus,
    RunTrigger,
    fetch_message,
)
from mailport.domain.mailbox import Owner, SourceType
from mailport_local import calls
from mailport_local.stack import LocalStack
from tests.integration import test_migration_runner as mig
from tests.integration import test_pop_import as pop
from tests.support.dovecot import Dovecot
from tests.support.faultproxy import FaultProxy

pytestmark = [pytest.mark.stack, pytest.mark.dovecot]

ROOT = Path(__file__).resolve().parents[2]

# The child: one Lambda invocation of a function's handler. ``tuned`` changes the config of
# one part of the container where no setting does: the POP fetch's time budget (780 s + 60 s
# deployed), a migration chunk's batch size (100).
_CHILD = r"""
import dataclasses, json, os, sys
root, directory, module_name, tuned = sys.argv[1:5]
sys.path[:0] = [os.path.join(root, "functions", directory)]
if os.environ.get("MAILPORT_CALLS_FILE"):  # its AWS calls, for the least-privilege check
    from mailport_local import calls
    names = ("MAILPORT_CALLS_FILE", "MAILPORT_CALLS_STACK", "MAILPORT_CALLS_CALLER")
    calls.record_child(*(os.environ[k] for k in names))
module = __import__(module_name)
from mailport.wiring import container
from mailport_local.lambdas import LocalContext
for part, changes in json.loads(tuned).items():
    used = getattr(container(), part)
    used._config = dataclasses.replace(used._config, **changes)
event = json.loads(sys.stdin.read())
result = module.handler(event, LocalContext(module_name, 1024, 900))
print(json.dumps(result), flush=True)
"""


def sqs_event(request: FetchRequest) -> dict[str, Any]:
    """What the fetch queue's event source hands the POP worker for one request."""
    return {
        "Records": [
            {
                "messageId": uuid.uuid4().hex,
                "receiptHandle": "x",
                "body": json.dumps(request.to_json()),
                "attributes": {},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:fetch",
                "awsRegion": "us-east-1",
            }
        ]
    }


class Worker:
    """A function's handler, invoked once in a process of its own (the POP fetch worker
    unless told otherwise).
    """

    def __init__(
        self,
        stack: LocalStack,
        event: dict[str, Any],
        logs: Path,
        tuned: dict[str, dict[str, float]] | None = None,
        function: tuple[str, str] = ("PopFetchFunction", "pop_fetch"),
    ) -> None:
        logical, module = function
        sink = str(logs.with_suffix(".calls"))
        calls.CHILD_SINKS.append(sink)
        env = {
            **os.environ,
            **stack.lambdas[logical].environment,
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "MAILPORT_CALLS_FILE": sink,
            "MAILPORT_CALLS_STACK": stack.lambdas.stack,
            "MAILPORT_CALLS_CALLER": logical,
        }
        self._out = logs.with_suffix(".out")
        self._err = logs.with_suffix(".err")
        with self._out.open("w") as out, self._err.open("w") as err:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _CHILD,
                    str(ROOT),
                    module,
                    module,
                    json.dumps(tuned or {}),
                ],
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=err,
                env=env,
                cwd=ROOT,
                text=True,
            )
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(event))
        self.proc.stdin.close()

    def wait_for(self, what: Callable[[], bool], timeout: float = 60.0) -> None:
        """Until ``what`` is true; fails if the worker ends first."""
        deadline = time.monotonic() + timeout
        while not what():
            if self.proc.poll() is not None:
                pytest.fail(f"the worker ended ({self.proc.returncode}): {self._err.read_text()}")
            if time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail("the worker never got there")
            time.sleep(0.05)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        assert self.proc.wait(timeout=30) == -signal.SIGKILL

    def result(self) -> Any:
        assert self._ended() == 0, self._err.read_text()
        return json.loads(self._out.read_text().strip().splitlines()[-1])

    def failure(self) -> str:
        """The handler raised: what it printed (the traceback)."""
        assert self._ended() == 1, self._out.read_text()
        return self._err.read_text()

    def _ended(self) -> int:
        try:
            return self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail("the worker did not end")


@pytest.fixture
def pop_env(local_stack: LocalStack, dovecot: Dovecot) -> pop.Env:
    return pop.build_env(local_stack, dovecot)


def big(i: int) -> bytes:
    return pop.message(i, "k", body_kb=40)  # about 38 KB each


def seeded(env: pop.Env, count: int) -> tuple[str, str, int]:
    """A Dovecot user with ``count`` big messages; and their bytes in all."""
    name, password = f"pu-{uuid.uuid4().hex[:10]}", f"pw-{uuid.uuid4().hex}"
    env.dovecot.add_user(name, password)
    raws = [big(i) for i in range(count)]
    pop.seed(env, name, raws)
    return name, password, sum(len(r) for r in raws)


def scheduled(env: pop.Env, account: PopAccount) -> FetchRequest:
    return FetchRequest(
        env.owner.tenant_id,
        env.owner.user_id,
        account.account_id,
        RunTrigger.SCHEDULE,
        tick=uuid.uuid4().hex,
    )


def kinds(env: pop.Env, count: int) -> list[str]:
    return sorted(f"k {i}" for i in range(count))


def next_run_after_the_lease(env: pop.Env, account: PopAccount) -> Any:
    """The worker again, normally (in this process), once the dead one's lease is over."""
    env.clock.offset = dt.timedelta(minutes=20)
    return pop.run(env, account)


def test_pop_worker_process_killed_mid_retr(
    pop_env: pop.Env, local_stack: LocalStack, tmp_path: Path
) -> None:
    env = pop_env
    name, password, _ = seeded(env, 4)
    with FaultProxy(("127.0.0.1", env.dovecot.pop3s_port)) as proxy:
        account = pop.register(env, name, password, port=proxy.port, keep_original=False)
        started = env.service.fetch_now(env.owner, account.account_id)
        proxy.stall_after = 20_000  # the TLS handshake, the listings, half the first message
        worker = Worker(local_stack, sqs_event(env.queue.sent[-1]), tmp_path / "worker")
        worker.wait_for(proxy.stalled.is_set)
        worker.kill()
        proxy.stall_after = None

        assert pop.subjects(env) == []  # the first message never arrived whole
        assert pop.on_server(env, name, password) == 4
        [dead] = env.service.runs(env.owner, account.account_id, None)
        assert (dead.run_id, dead.status) == (started.run_id, RunStatus.RUNNING)

        after = next_run_after_the_lease(env, account)
    assert (after.status, after.counts.fetched, after.counts.deleted) == (
        RunStatus.SUCCEEDED,
        4,
        4,
    )
    assert pop.subjects(env) == kinds(env, 4)  # none lost, none twice
    assert pop.on_server(env, name, password) == 0
    runs = {r.run_id: r for r in env.service.runs(env.owner, account.account_id, None)}
    assert (runs[started.run_id].status, runs[started.run_id].error_code) == (
        RunStatus.FAILED,
        "interrupted",
    )


def test_pop_worker_process_killed_between_stores_and_saving_them(
    pop_env: pop.Env, local_stack: LocalStack, tmp_path: Path
) -> None:
    """Three messages are stored (S3 and the index); the run's receipts, which say so, are
    not saved yet: the worker is killed while the fourth is still arriving.
    """
    env = pop_env
    name, password, total = seeded(env, 4)
    with FaultProxy(("127.0.0.1", env.dovecot.pop3s_port)) as proxy:
        account = pop.register(env, name, password, port=proxy.port, keep_original=False)
        # In the fourth message (~38 KB each; TLS and the listings add a few KB before it).
        proxy.stall_after = total - 10_000
        worker = Worker(local_stack, sqs_event(scheduled(env, account)), tmp_path / "worker")
        worker.wait_for(lambda: proxy.stalled.is_set() and len(pop.subjects(env)) == 3)
        worker.kill()
        proxy.stall_after = None

        assert pop.subjects(env) == kinds(env, 3)
        assert env.receipts.imported(env.owner, account.account_id).uidls == {}  # unsaved
        assert pop.on_server(env, name, password) == 4

        after = next_run_after_the_lease(env, account)
    # The three are found stored under their (account, UIDL) ids: not stored again.
    assert (after.status, after.counts.fetched, after.counts.already_present) == (
        RunStatus.SUCCEEDED,
        1,
        3,
    )
    assert after.counts.deleted == 4
    assert pop.subjects(env) == kinds(env, 4)  # none lost, none twice
    assert pop.on_server(env, name, password) == 0
    state = env.service.get(env.owner, account.account_id).state
    assert state.last_status == RunStatus.SUCCEEDED.value and state.failures == 0


def test_pop_worker_process_killed_between_dele_and_quit(
    pop_env: pop.Env, local_stack: LocalStack, tmp_path: Path
) -> None:
    env = pop_env
    name, password, total = seeded(env, 3)
    with FaultProxy(("127.0.0.1", env.dovecot.pop3s_port)) as proxy:
        account = pop.register(env, name, password, port=proxy.port, keep_original=False)
        started = env.service.fetch_now(env.owner, account.account_id)
        # The server passes ``total`` bytes only in its answer to the last RETR (each earlier
        # one is ~40 KB on the wire, the handshake a few); the worker's next command is the
        # DELEs, and what it sends after their +OKs, QUIT, is held back.
        proxy.hold_after = total
        worker = Worker(local_stack, sqs_event(env.queue.sent[-1]), tmp_path / "worker")
        worker.wait_for(proxy.held.is_set)
        worker.kill()
        proxy.hold_after = None

        assert pop.subjects(env) == kinds(env, 3)  # stored, once each
        # Saved, so the command that passed was the DELEs (sent only after this) ...
        seen = env.receipts.imported(env.owner, account.account_id).uidls
        assert len(seen) == 3 and set(seen.values()) == {ReceiptOutcome.STORED}
        assert pop.on_server(env, name, password) == 3  # ... answered, but no QUIT
        [dead] = env.service.runs(env.owner, account.account_id, None)
        assert (dead.run_id, dead.status) == (started.run_id, RunStatus.RUNNING)

        after = next_run_after_the_lease(env, account)
    assert (after.status, after.counts.fetched, after.counts.deleted) == (
        RunStatus.SUCCEEDED,
        0,
        3,
    )
    assert pop.on_server(env, name, password) == 0
    assert pop.subjects(env) == kinds(env, 3)  # still once each
    runs = {r.run_id: r for r in env.service.runs(env.owner, account.account_id, None)}
    closed = runs[started.run_id]
    assert (closed.status, closed.error_code) == (RunStatus.FAILED, "interrupted")
    assert "interrupted" in closed.error  # what the user reads in the run history


def test_a_trickling_server_fails_a_whole_fetch_run_which_the_next_one_completes(
    pop_env: pop.Env, local_stack: LocalStack, tmp_path: Path
) -> None:
    """The handler, not just the session: a run whose server trickles is cut by its watchdog
    (its budget shrunk to 1 s + 2 s), ends ``failed`` as the server's transient fault with
    nothing deleted, and the next run takes everything.
    """
    env = pop_env
    name, password, _ = seeded(env, 3)
    with FaultProxy(("127.0.0.1", env.dovecot.pop3s_port), trickle_every=0.2) as proxy:
        account = pop.register(env, name, password, port=proxy.port, keep_original=False)
        proxy.trickle_after = 20_000  # in the first message, then a byte every 0.2 s
        worker = Worker(
            local_stack,
            sqs_event(scheduled(env, account)),
            tmp_path / "slow",
            tuned={"fetcher": {"time_budget_s": 1.0, "cutoff_grace_s": 2.0}},
        )
        assert worker.result() == {"batchItemFailures": []}  # the run ended, and said so
        proxy.trickle_after = None

        [failed] = env.service.runs(env.owner, account.account_id, None)
        assert failed.status is RunStatus.FAILED
        assert failed.error_code == "remote_temporarily_unavailable"
        assert "too slowly" in failed.error
        assert failed.counts.deleted == 0 and failed.counts.fetched == 0
        assert pop.on_server(env, name, password) == 3
        state = env.service.get(env.owner, account.account_id).state
        assert (state.last_status, state.failures) == (RunStatus.FAILED.value, 1)

        again = Worker(local_stack, sqs_event(scheduled(env, account)), tmp_path / "again")
        assert again.result() == {"batchItemFailures": []}
    runs = env.service.runs(env.owner, account.account_id, None)
    done = next(r for r in runs if r.run_id != failed.run_id)
    assert (done.status, done.counts.fetched, done.counts.deleted) == (RunStatus.SUCCEEDED, 3, 3)
    assert pop.subjects(env) == kinds(env, 3)
    assert pop.on_server(env, name, password) == 0


def test_migration_worker_process_killed_mid_chunk_then_retried(
    local_stack: LocalStack, dovecot: Dovecot, tmp_path: Path
) -> None:
    """The migration worker's handler (one CopyChunk step of 4 messages, as the local
    stack's settings have it, fetched 2 at a time) is killed in the middle of the second
    FETCH, the first two stored but not yet indexed (a batch is indexed with its checkpoint);
    the state machine's retry of the step (here, in this process) completes the job with
    each message once.
    """
    env = mig.build(local_stack, dovecot, chunk_messages=100)
    me = mig.owner()
    user, password = env.seed_user(4, size=40_000)  # the child's chunk: all four
    with FaultProxy(("127.0.0.1", dovecot.imaps_port)) as proxy:
        job: dict[str, Any] = env.create(me, user, password, port=proxy.port)
        ref = mig.ref_of(me, job)
        cursor = env.runner.plan(ref)
        proxy.stall_after = 100_000  # of ≈ 160 KB: in the third message
        worker = Worker(
            local_stack,
            {"step": "copy_chunk", "job": ref, "cursor": cursor},
            tmp_path / "chunk",
            tuned={"migration_runner": {"batch_messages": 2}},
            function=("MigrationWorkerFunction", "migration_worker"),
        )
        # The first batch's bytes are stored (and what of the second came before the stall);
        # its index entries go in with its checkpoint, which comes after the next batch's
        # FETCH, the one stalled here.
        worker.wait_for(lambda: proxy.stalled.is_set() and stored(local_stack, me) >= 2)
        assert copied(env, me) == []  # stored, not yet indexed: what the retry must heal
        worker.kill()
        proxy.stall_after = None
        assert env.service.get(me, job["id"])["state"] == "running"  # true: a step died

        mig._finish(env, ref, cursor)  # the step again, then the rest
    done: dict[str, Any] = env.service.get(me, job["id"])
    assert done["state"] == "completed" and done["counts"]["imported"] == 4
    assert copied(env, me) == [f"m{i}" for i in range(4)]  # none lost, none twice


def test_a_trickling_server_fails_a_chunk_step_which_its_retry_completes(
    local_stack: LocalStack, dovecot: Dovecot, tmp_path: Path
) -> None:
    """The migration worker's handler, its chunk's time shrunk to 1 s + 2 s: a server that
    trickles inside a FETCH is cut, and the step fails as exactly ``TransientError`` (which
    the state machine retries), not as a Lambda timeout; the retry completes the job.
    """
    env = mig.build(local_stack, dovecot, chunk_messages=100)
    me = mig.owner()
    user, password = env.seed_user(4, size=40_000)
    with FaultProxy(("127.0.0.1", dovecot.imaps_port), trickle_every=0.2) as proxy:
        job: dict[str, Any] = env.create(me, user, password, port=proxy.port)
        ref = mig.ref_of(me, job)
        cursor = env.runner.plan(ref)
        proxy.trickle_after = 20_000  # in the first message, then a byte every 0.2 s
        worker = Worker(
            local_stack,
            {"step": "copy_chunk", "job": ref, "cursor": cursor},
            tmp_path / "chunk",
            tuned={"migration_runner": {"chunk_seconds": 1.0, "cutoff_grace_s": 2.0}},
            function=("MigrationWorkerFunction", "migration_worker"),
        )
        failure = worker.failure()
        assert "mailport.errors.TransientError" in failure and "too slowly" in failure
        proxy.trickle_after = None
        assert env.service.get(me, job["id"])["state"] == "running"
        assert copied(env, me) == []

        mig._finish(env, ref, cursor)  # the state machine's retry, then the rest
    done: dict[str, Any] = env.service.get(me, job["id"])
    assert done["state"] == "completed" and done["counts"]["imported"] == 4
    assert copied(env, me) == [f"m{i}" for i in range(4)]


def stored(stack: LocalStack, me: Owner) -> int:
    """How many messages' bytes are in the mail bucket under ``me``'s prefix."""
    s3 = boto3.client("s3")
    prefix = f"mail/{me.tenant_id}/{me.user_id}/"
    page = s3.list_objects_v2(Bucket=stack.physical_id("MailBucket"), Prefix=prefix)
    return int(page.get("KeyCount", 0))


def copied(env: mig.Env, me: Owner) -> list[str]:
    inbox = env.runner._service.messages(me, "inbox", 50, None).messages
    return sorted(m.summary.subject for m in inbox if m.source.type is SourceType.IMAP)


def test_pop_worker_process_killed_mid_batch_of_a_message_of_many(
    pop_env: pop.Env, local_stack: LocalStack, tmp_path: Path
) -> None:
    """One message carries four accounts, polled side by side in one invocation; three finish,
    the fourth is in the middle of a RETR when the worker is killed. Redelivered, the message
    takes nothing twice; the next tick finishes the fourth.
    """
    env = pop_env
    done = [pop.server_user(env, 2, tag=f"d{i}") for i in range(3)]  # distinct contents
    name, password, _ = seeded(env, 3)
    accounts = [pop.register(env, n, p, keep_original=False) for n, p in done]
    finished = sorted(f"d{i} {j}" for i in range(3) for j in range(2))
    with FaultProxy(("127.0.0.1", env.dovecot.pop3s_port)) as proxy:
        slow = pop.register(env, name, password, port=proxy.port, keep_original=False)
        proxy.stall_after = 20_000  # the TLS handshake, the listings, half the first message
        tick = uuid.uuid4().hex
        requests = [
            FetchRequest(
                env.owner.tenant_id, env.owner.user_id, a.account_id, RunTrigger.SCHEDULE, tick=tick
            )
            for a in [*accounts, slow]
        ]
        event = sqs_event(requests[0])
        event["Records"][0]["body"] = json.dumps(fetch_message(requests))
        worker = Worker(local_stack, event, tmp_path / "worker")
        worker.wait_for(lambda: proxy.stalled.is_set() and len(pop.subjects(env)) == 6)
        worker.kill()
        proxy.stall_after = None
        assert pop.subjects(env) == finished  # the three finished ones

        # SQS delivers the message again once its visibility timeout (30 min) is over.
        env.clock.offset = dt.timedelta(minutes=31)
        again = [env.fetcher.handle(r) for r in requests]
        assert all(r is None or r.counts.fetched == 0 for r in again)  # nothing twice
        # The next tick: the dead run's lease is long over; it is closed and the rest comes.
        later = pop.run(env, slow)
    assert (later.status, later.counts.fetched) == (RunStatus.SUCCEEDED, 3)
    assert pop.subjects(env) == sorted(finished + kinds(env, 3))  # none lost, none twice
    for n, p in [*done, (name, password)]:
        assert pop.on_server(env, n, p) == 0
