"""AWS answers the other fault tests never see, injected in botocore's event hooks (below the
adapters and botocore's own retries) against moto over HTTP:

- SQS ``SendMessageBatch`` answering 200 with some entries ``Failed``;
- S3 ``DeleteObjects`` answering 200 with some keys in ``Errors``;
- DynamoDB ``BatchWriteItem`` leaving ``UnprocessedItems`` (moto never does);
- throttling from KMS (registration through the API, and a POP fetch), from Step Functions
  ``StartExecution`` (a migration starting, a revert) and from SES (a migration's notice).

Each test checks what must hold after the fault: nothing lost, nothing twice, the recorded
state true, the user told, and bounded retries.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, cast

import boto3
import pytest
import requests
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

import eml_ingest
from mailport.adapters import dynamo_table
from mailport.adapters.clients import LazyClient
from mailport.adapters.dynamodb import DynamoDirectory
from mailport.adapters.kms import KmsSecretBox
from mailport.adapters.ses import SesMailer
from mailport.adapters.sqs import SqsFetchQueue
from mailport.adapters.stepfunctions import SfnExecutions
from mailport.domain.accounts import (
    DISABLE_AFTER_FAILURES,
    FetchRequest,
    RunStatus,
    RunTrigger,
    fetch_requests,
)
from mailport.domain.identity import User
from mailport.domain.mailbox import Owner, SourceType
from mailport.domain.uploads import FileStatus
from mailport.errors import NotFound, TransientError
from mailport.usecases.dispatch import Dispatcher
from mailport_local.lambdas import LocalContext
from mailport_local.provision import ACCOUNT_ID, REGION
from mailport_local.stack import LocalStack
from tests.conftest import NOTICE_SENDER
from tests.integration import test_migration_runner as mig
from tests.integration import test_pop_import as pop
from tests.integration import test_reliability_uploads as up
from tests.integration.test_reliability_storage_faults import Body, Faults
from tests.integration.test_reliability_storage_faults import mail as small_mail
from tests.integration.test_reliability_storage_faults import request as import_request
from tests.support.api import login, pop_form
from tests.support.dovecot import Dovecot
from tests.support.events import sqs_record

pytestmark = pytest.mark.stack


def json_error(code: str, protocol: str = "1.1") -> AWSResponse:
    """A JSON-protocol error answer (KMS: 1.1, Step Functions: 1.0), as AWS throttles."""
    body = json.dumps({"__type": code, "message": "Rate exceeded"}).encode()
    headers = {"Content-Type": f"application/x-amz-json-{protocol}", "x-amzn-RequestId": "i"}
    return AWSResponse("https://injected", 400, headers, Body(body))


def ses_throttled() -> AWSResponse:
    body = (
        b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
        b"<Message>Maximum sending rate exceeded.</Message></Error>"
        b"<RequestId>i</RequestId></ErrorResponse>"
    )
    return AWSResponse("https://injected", 400, {"Content-Type": "text/xml"}, Body(body))


# -- SQS: SendMessageBatch with Failed entries ----------------------------------------------


class PartlyFailingBatches:
    """``SendMessageBatch`` answered as SQS does when some entries fail: 200, those entries in
    ``Failed`` (not sent), the others sent (through a client without this hook). An account's
    entry fails its first ``failing[account]`` attempts (None: every attempt).
    """

    def __init__(self, failing: dict[str, int | None]) -> None:
        self.failing = failing
        self.attempts: Counter[str] = Counter()
        self.calls = 0
        self.lock = threading.Lock()
        self.side = boto3.client("sqs")

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        body = json.loads(cast(bytes, request.body))
        sent: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        with self.lock:
            self.calls += 1
            for entry in body["Entries"]:
                # One account a message here (the queue's default packing).
                [queued] = fetch_requests(json.loads(entry["MessageBody"]))
                account = queued.account_id
                self.attempts[account] += 1
                times = self.failing.get(account, 0)
                fails = times is None or self.attempts[account] <= times
                (failed if fails else sent).append(entry)
        answer: dict[str, Any] = {
            "Successful": [],
            "Failed": [
                {"Id": e["Id"], "SenderFault": False, "Code": "InternalError", "Message": "x"}
                for e in failed
            ],
        }
        if sent:
            result = self.side.send_message_batch(QueueUrl=body["QueueUrl"], Entries=sent)
            answer["Successful"] = result["Successful"]
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "i"}
        return AWSResponse(request.url, 200, headers, Body(json.dumps(answer).encode()))


class Due:
    """The schedule's ``due``: the given accounts, spread over the ten minutes."""

    def __init__(self, owner: Owner, account_ids: list[str]) -> None:
        self.owner, self.account_ids = owner, account_ids

    def due(self, minute: int) -> Iterator[tuple[Owner, str, int]]:
        for i, account_id in enumerate(self.account_ids):
            if i % 10 == minute:
                yield self.owner, account_id, i


@pytest.fixture
def fetch_queue(local_stack: LocalStack) -> Iterator[str]:
    sqs = boto3.client("sqs")
    url = str(sqs.create_queue(QueueName=f"fetch-faults-{uuid.uuid4().hex[:8]}")["QueueUrl"])
    yield url
    sqs.delete_queue(QueueUrl=url)


def drain(url: str) -> list[FetchRequest]:
    """Every message the queue holds, as the worker would get them."""
    sqs, out = boto3.client("sqs"), list[FetchRequest]()
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        if not got.get("Messages"):
            return out
        out += [r for m in got["Messages"] for r in fetch_requests(json.loads(m["Body"]))]
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(got["Messages"])
            ],
        )


def hooked_queue(url: str, hook: PartlyFailingBatches) -> SqsFetchQueue:
    queue = SqsFetchQueue(url, client=LazyClient("sqs"))
    queue._sqs.meta.events.register("before-send.sqs.SendMessageBatch", hook)
    return queue


def test_failed_entries_are_retried_and_each_due_account_is_queued_once(
    fetch_queue: str,
) -> None:
    owner = Owner("acme", f"u-{uuid.uuid4().hex[:10]}")
    ids = [f"a{i:02}" for i in range(25)]
    # a00 fails once, a12 twice, a07 four times: its fifth and last attempt goes through.
    hook = PartlyFailingBatches({"a00": 1, "a12": 2, "a07": 4})
    # window_s=0: no delays, so the queue can be read at once.
    done = Dispatcher(Due(owner, ids), hooked_queue(fetch_queue, hook), window_s=0).dispatch("t1")  # type: ignore[arg-type]
    assert done.queued == 25
    queued = drain(fetch_queue)
    assert Counter(r.account_id for r in queued) == Counter(ids)  # each once, none lost
    assert {(r.tick, r.trigger) for r in queued} == {("t1", RunTrigger.SCHEDULE)}
    assert (hook.attempts["a00"], hook.attempts["a12"], hook.attempts["a07"]) == (2, 3, 5)
    assert all(hook.attempts[a] == 1 for a in ids if a not in ("a00", "a12", "a07"))


@pytest.mark.dovecot
def test_an_entry_failing_for_good_fails_the_tick_and_its_retry_runs_each_account_once(
    local_stack: LocalStack, dovecot: Dovecot, fetch_queue: str
) -> None:
    env = pop.build_env(local_stack, dovecot)
    ids = [a.account_id for a in pop.register_many(env, 3, messages=1, tag="q")]
    mine = up.MineOnly(env.schedule, env.owner)
    stuck = ids[1]
    hook = PartlyFailingBatches({stuck: None})
    tick = "2026-11-29T01:00:00Z"
    with pytest.raises(TransientError, match="queue is busy"):
        Dispatcher(mine, hooked_queue(fetch_queue, hook), window_s=0).dispatch(tick)  # type: ignore[arg-type]
    assert hook.attempts[stuck] == 5  # bounded: five attempts, then the tick fails clearly
    first = drain(fetch_queue)
    assert sorted(r.account_id for r in first) == sorted(set(ids) - {stuck})
    # EventBridge delivers the failed tick again; the queue works now.
    again = Dispatcher(
        mine, SqsFetchQueue(fetch_queue, client=LazyClient("sqs")), window_s=0
    ).dispatch(tick)  # type: ignore[arg-type]
    assert again.queued == 3
    second = drain(fetch_queue)
    assert sorted(r.account_id for r in second) == sorted(ids)
    # The workers get every message, the repeats too: each account runs once for the tick.
    ran = [run for run in (env.fetcher.handle(r) for r in first + second) if run is not None]
    assert sorted(run.account_id for run in ran) == sorted(ids)
    assert all(run.status is RunStatus.SUCCEEDED and run.counts.fetched == 1 for run in ran)
    assert pop.subjects(env) == [f"q{i} 0" for i in range(3)]


# -- S3: DeleteObjects with Errors ----------------------------------------------------------


class KeysRefused:
    """``DeleteObjects`` answering 200 with per-key ``Errors``: a refused key is not removed
    (the request names another, absent key in its place) and is listed in ``Errors``. A key
    is refused its first ``refuse[key]`` times (None: always).
    """

    def __init__(self, refuse: dict[str, int | None]) -> None:
        self.refuse = refuse
        self.asked: Counter[str] = Counter()
        self.refused: list[str] = []

    def before(self, params: dict[str, Any], **_: Any) -> None:
        objects = []
        for item in params["Delete"]["Objects"]:
            key = item["Key"]
            self.asked[key] += 1
            times = self.refuse.get(key, 0)
            if times is None or self.asked[key] <= times:
                self.refused.append(key)
                objects.append({"Key": key + ".absent"})
            else:
                objects.append(item)
        params["Delete"] = {**params["Delete"], "Objects": objects}

    def after(self, parsed: dict[str, Any], **_: Any) -> None:
        parsed["Errors"] = [
            {"Key": k, "Code": "InternalError", "Message": "injected"} for k in self.refused
        ]
        self.refused = []


def test_keys_delete_objects_refuses_stay_and_are_reported(
    local_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = up.build(local_stack)
    raws = {f"d{i}.eml": up.mail(f"delete {i}") for i in range(4)}
    batch = env.batch("inbox", {name: len(raw) for name, raw in raws.items()})
    keys = [env.key(batch, i) for i in range(4)]
    for key, raw in zip(keys, raws.values(), strict=True):
        env.put(key, raw)
    refused, flaky = keys[1], keys[2]
    hook = KeysRefused({refused: None, flaky: 1})
    s3 = env.objects.inner._s3
    s3.meta.events.register("before-parameter-build.s3.DeleteObjects", hook.before)
    s3.meta.events.register("after-call.s3.DeleteObjects", hook.after)
    warnings: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(eml_ingest.metrics, "namespace", "Mailport")
    monkeypatch.setattr(
        eml_ingest.logger, "warning", lambda msg, extra: warnings.append((msg, extra))
    )
    wired = SimpleNamespace(
        uploads=env.service, settings=SimpleNamespace(upload_bucket=env.upload_bucket)
    )
    monkeypatch.setattr(eml_ingest, "container", lambda: wired)
    try:
        records = [
            sqs_record(f"m{i}", env.upload_bucket, [(key, len(raw))])
            for i, (key, raw) in enumerate(zip(keys, raws.values(), strict=True))
        ]
        answer = eml_ingest.handler({"Records": records}, LocalContext("ingest", 128, 30))
    finally:
        s3.meta.events.unregister("before-parameter-build.s3.DeleteObjects", hook.before)
        s3.meta.events.unregister("after-call.s3.DeleteObjects", hook.after)
    assert answer == {"batchItemFailures": []}
    # Every file ended as it should, whatever became of its upload.
    assert {s for s, _, _ in env.files(batch).values()} == {FileStatus.STORED.value}
    assert env.messages() == sorted(f"delete {i}" for i in range(4))
    # The flaky key was tried again and removed; the refused one was tried three times in
    # all, is still there, and is the only one reported.
    assert (hook.asked[flaky], hook.asked[refused]) == (2, 3)
    assert env.uploads_left() == [refused]
    assert warnings == [("could not remove processed uploads", {"count": 1})]


# -- DynamoDB: BatchWriteItem with UnprocessedItems -----------------------------------------


class Unprocessed:
    """``BatchWriteItem`` writing only the first request of each call and returning the rest
    as ``UnprocessedItems`` (what DynamoDB does when it throttles; moto never does), for the
    first ``times`` calls (None: every call).
    """

    def __init__(self, table: str, times: int | None) -> None:
        self.table, self.times = table, times
        self.calls = 0
        self.left: list[dict[str, Any]] = []

    def before(self, params: dict[str, Any], **_: Any) -> None:
        self.calls += 1
        self.left = []
        if self.times is None or self.calls <= self.times:
            requests = params["RequestItems"][self.table]
            self.left = requests[1:]
            params["RequestItems"] = {self.table: requests[:1]}

    def after(self, parsed: dict[str, Any], **_: Any) -> None:
        if self.left:
            parsed["UnprocessedItems"] = {self.table: self.left}


def upload_items(env: up.Env) -> list[str]:
    """The sort keys of every upload item (batches and files) the user has."""
    got = boto3.client("dynamodb").query(
        TableName=env.store._table,
        KeyConditionExpression="PK = :pk AND begins_with(SK, :u)",
        ExpressionAttributeValues={
            ":pk": {"S": f"USER#{env.owner.tenant_id}#{env.owner.user_id}"},
            ":u": {"S": "UPLOAD#"},
        },
    )
    return [str(i["SK"]["S"]) for i in got["Items"]]


def test_unprocessed_items_are_retried_with_backoff_then_a_busy_table_shows_no_batch(
    local_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = up.build(local_stack)
    waits: list[int] = []
    real_back_off = dynamo_table.back_off

    def back_off(attempt: int) -> None:
        waits.append(attempt)
        real_back_off(attempt)

    monkeypatch.setattr(dynamo_table, "back_off", back_off)
    presigned: list[str] = []
    real_presign = env.objects.presign

    def presign(key: str, size: int, expires_s: int) -> dict[str, Any]:
        presigned.append(key)
        return real_presign(key, size, expires_s)

    monkeypatch.setattr(env.objects, "presign", presign)
    files = {f"f{i}.eml": 100 + i for i in range(30)}  # two requests: 25 files, then 5
    client = env.store._client()

    def create(hook: Unprocessed) -> Any:
        client.meta.events.register("before-parameter-build.dynamodb.BatchWriteItem", hook.before)
        client.meta.events.register("after-call.dynamodb.BatchWriteItem", hook.after)
        try:
            return env.batch("inbox", files)
        finally:
            client.meta.events.unregister(
                "before-parameter-build.dynamodb.BatchWriteItem", hook.before
            )
            client.meta.events.unregister("after-call.dynamodb.BatchWriteItem", hook.after)

    # Busy for three calls: the rest is retried after a backoff, and every file is recorded.
    busy = Unprocessed(env.store._table, times=3)
    batch = create(busy)
    assert (busy.calls, waits) == (5, [1, 2, 3])  # 1 + 1 + 1 + 22 of the first 25; then 5
    again = env.service.get(env.owner, batch.batch_id)
    assert [(f.name, f.size) for f in again.files] == list(files.items())
    assert len(presigned) == 30

    # Busy for good: seven retries, then the user is told to try again, and no batch shows.
    waits.clear()
    presigned.clear()
    before = set(upload_items(env))
    stuck = Unprocessed(env.store._table, times=None)
    with pytest.raises(TransientError, match="busy; try again"):
        create(stuck)
    assert (stuck.calls, waits) == (8, [1, 2, 3, 4, 5, 6, 7])
    assert presigned == []  # no upload URL for a batch that was not recorded
    written = set(upload_items(env)) - before
    assert len(written) == 8  # one file per call, no batch item: they expire with their TTL
    [batch_id] = {sk.split("#")[1] for sk in written}
    with pytest.raises(NotFound):
        env.service.get(env.owner, batch_id)


class UnprocessedKeys:
    """``BatchGetItem`` answering only the first key of each call and returning the rest as
    ``UnprocessedKeys`` (with the request's projection, as DynamoDB does), for the first
    ``times`` calls (None: every call).
    """

    def __init__(self, table: str, times: int | None) -> None:
        self.table, self.times = table, times
        self.calls = 0
        self.left: dict[str, Any] = {}

    def before(self, params: dict[str, Any], **_: Any) -> None:
        self.calls += 1
        self.left = {}
        if self.times is None or self.calls <= self.times:
            request = params["RequestItems"][self.table]
            self.left = {**request, "Keys": request["Keys"][1:]}
            params["RequestItems"] = {self.table: {**request, "Keys": request["Keys"][:1]}}

    def after(self, parsed: dict[str, Any], **_: Any) -> None:
        if self.left.get("Keys"):
            parsed["UnprocessedKeys"] = {self.table: self.left}


def test_unprocessed_keys_are_read_again_so_stored_messages_are_never_taken_for_new(
    local_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # existing_messages is how a migration chunk drops what it already stored: a key left
    # unread would be taken for a new message and imported twice.
    env = up.build(local_stack)
    monkeypatch.setattr(dynamo_table, "back_off", lambda attempt: None)  # counted below
    ids = []
    for n in range(12):
        stored = env.importer.store(import_request(env.owner, small_mail(n), f"k{n}"))
        ids.append(stored.message_id)
    asked = [*ids, "not-stored-1", "not-stored-2"]
    client = env.store._client()

    def existing(hook: UnprocessedKeys) -> set[str]:
        client.meta.events.register("before-parameter-build.dynamodb.BatchGetItem", hook.before)
        client.meta.events.register("after-call.dynamodb.BatchGetItem", hook.after)
        try:
            return set(env.store.existing_messages(env.owner, asked))
        finally:
            client.meta.events.unregister(
                "before-parameter-build.dynamodb.BatchGetItem", hook.before
            )
            client.meta.events.unregister("after-call.dynamodb.BatchGetItem", hook.after)

    busy = UnprocessedKeys(env.store._table, times=4)
    assert existing(busy) == set(ids)
    assert busy.calls == 5  # four answers of one key each, then the other ten at once
    stuck = UnprocessedKeys(env.store._table, times=None)
    with pytest.raises(TransientError, match="busy; try again"):
        existing(stuck)
    assert stuck.calls == 8  # the first read and seven retries


class NothingProcessed:
    """``BatchWriteItem`` answering 200 with every request in ``UnprocessedItems`` (nothing
    written), as a table throttled for longer than the retries last.
    """

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        self.calls += 1
        body = json.loads(cast(bytes, request.body))
        answer = json.dumps({"UnprocessedItems": body["RequestItems"]}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "i"}
        return AWSResponse(request.url, 200, headers, Body(answer))


@pytest.mark.dovecot
def test_receipts_that_cannot_be_saved_fail_the_run_before_dele_and_nothing_is_stored_twice(
    local_stack: LocalStack, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dynamo_table, "back_off", lambda attempt: None)  # calls counted
    env = pop.build_env(local_stack, dovecot)
    name, password = pop.server_user(env, 5)
    account = pop.register(env, name, password, keep_original=False)
    stuck = NothingProcessed()
    events = env.receipts._client().meta.events
    events.register("before-send.dynamodb.BatchWriteItem", stuck)
    try:
        broken = pop.run(env, account)
    finally:
        events.unregister("before-send.dynamodb.BatchWriteItem", stuck)
    assert stuck.calls == 16  # 1 + 7 retries in the run, and again as it ends: bounded
    assert (broken.status, broken.error_code) == (RunStatus.FAILED, "temporarily_unavailable")
    assert (broken.counts.fetched, broken.counts.deleted) == (5, 0)  # stored, none deleted
    assert pop.on_server(env, name, password) == 5  # no DELE for what is not remembered
    assert env.service.get(env.owner, account.account_id).state.failures == 0  # ours
    assert pop.subjects(env) == [f"m {i}" for i in range(5)]

    done = pop.run(env, account)
    assert done.status is RunStatus.SUCCEEDED
    assert (done.counts.fetched, done.counts.already_present, done.counts.deleted) == (0, 5, 5)
    assert pop.subjects(env) == [f"m {i}" for i in range(5)]  # none twice
    assert pop.on_server(env, name, password) == 0


# -- KMS throttling -------------------------------------------------------------------------


@pytest.mark.dovecot
def test_kms_throttled_at_registration_answers_503_and_saves_nothing(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    api = local_stack.api_url
    h = login(local_stack, f"kms-{uuid.uuid4().hex[:6]}@acme.example", "acme")

    def listed() -> list[str]:
        r = requests.get(f"{api}/v1/accounts", headers=h, timeout=10)
        assert r.status_code == 200, r.text
        return [str(a["id"]) for a in r.json()["accounts"]]

    assert listed() == []  # (and the API's container is built)
    name, password = f"kms-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    dovecot.add_user(name, password)
    form = pop_form(dovecot.pop3s_port, name, password)
    # The API's KMS client, in the API function's own container.
    box = cast(KmsSecretBox, local_stack.container("ApiFunction")._secrets)
    # As in a container that holds no data key yet (a warm one seals without calling KMS):
    # the key must be asked of KMS, and KMS throttles every call.
    box._held.clear()
    box._current = None
    throttled = Faults(json_error("ThrottlingException"), times=None)
    box._kms.meta.events.register("before-send.kms", throttled)
    try:
        refused = requests.post(f"{api}/v1/accounts", headers=h, json=form, timeout=60)
    finally:
        box._kms.meta.events.unregister("before-send.kms", throttled)
    assert refused.status_code == 503, refused.text
    error = refused.json()["error"]
    assert error["code"] == "temporarily_unavailable" and "try again" in error["message"]
    assert password not in refused.text
    assert throttled.seen == 3  # botocore's standard retries, then the API answered
    assert listed() == []  # the login was tried, but nothing was saved without its password
    created = requests.post(f"{api}/v1/accounts", headers=h, json=form, timeout=60)
    assert created.status_code == 201, created.text
    assert listed() == [created.json()["id"]]


@pytest.mark.dovecot
def test_kms_throttled_on_fetches_fails_them_as_ours_never_counting_against_the_account(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    env = pop.build_env(local_stack, dovecot)
    name, password = pop.server_user(env, 2)
    account = pop.register(env, name, password)
    env.dovecot.add_user(name, "changed-" + password)  # the provider's side: this counts
    for _ in range(2):
        assert pop.run(env, account).error_code == "remote_auth_failed"
    assert env.service.get(env.owner, account.account_id).state.failures == 2

    throttled = Faults(json_error("ThrottlingException"), times=None)
    kms = env.secrets._kms
    kms.meta.events.register("before-send.kms.Decrypt", throttled)
    try:
        # Enough runs to switch it off, were they counted (2 + 8 = 10). Each as if its hold
        # of the data key had run out, so each asks KMS (a held key would open from memory).
        runs = []
        for _ in range(DISABLE_AFTER_FAILURES - 2):
            env.secrets._held.clear()
            runs.append(pop.run(env, account))
    finally:
        kms.meta.events.unregister("before-send.kms.Decrypt", throttled)
    assert throttled.seen == 3 * len(runs)
    for run in runs:
        assert (run.status, run.error_code) == (RunStatus.FAILED, "temporarily_unavailable")
        assert run.error and not run.auto_disabled and run.counts.fetched == 0
    after = env.service.get(env.owner, account.account_id)
    assert after.state.failures == 2  # neither counted nor reset: the account did nothing
    assert after.auto_fetch and after.state.last_error_code == "temporarily_unavailable"
    assert pop.subjects(env, source=SourceType.NOTICE) == []  # no "failing" warning (at 3)
    assert pop.on_server(env, name, "changed-" + password) == 2  # nothing taken or deleted

    env.dovecot.add_user(name, password)  # fixed at the provider
    done = pop.run(env, account)
    assert (done.status, done.counts.fetched) == (RunStatus.SUCCEEDED, 2)
    assert env.service.get(env.owner, account.account_id).state.failures == 0


# -- Step Functions and SES throttling --------------------------------------------------------


@pytest.fixture
def pass_machine(local_stack: LocalStack) -> str:
    """A state machine of one Pass state: real executions that do nothing."""
    sfn = boto3.client("stepfunctions")
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
    return str(
        sfn.create_state_machine(
            name=f"pass-{uuid.uuid4().hex[:8]}",
            definition=json.dumps(definition),
            roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/pass",
        )["stateMachineArn"]
    )


def executions_of(arn: str, job_id: str) -> list[str]:
    listed = boto3.client("stepfunctions").list_executions(stateMachineArn=arn)["executions"]
    return sorted(str(e["name"]) for e in listed if str(e["name"]).startswith(job_id))


def copy_all(env: mig.Env, ref: dict[str, str]) -> None:
    cursor = env.runner.plan(ref)
    while not cursor["done"]:
        cursor = env.runner.copy_chunk(ref, cursor)
    env.runner.finalize(ref)


@pytest.mark.dovecot
def test_start_execution_throttled_leaves_the_job_to_the_sweep_which_starts_it_once(
    local_stack: LocalStack, dovecot: Dovecot, pass_machine: str
) -> None:
    env = mig.build(local_stack, dovecot)
    executions = SfnExecutions(pass_machine, client=LazyClient("stepfunctions"))
    env.service._executions = executions
    env.service.scheduler._executions = executions
    events = executions._sfn.meta.events
    throttled = Faults(json_error("ThrottlingException", "1.0"), times=None)
    me = mig.owner()
    user, password = env.seed_user(2)
    events.register("before-send.stepfunctions.StartExecution", throttled)
    try:
        job = env.create(me, user, password)
    finally:
        events.unregister("before-send.stepfunctions.StartExecution", throttled)
    assert throttled.seen == 3
    # Our service being busy does not end the user's job: it keeps its slot and its sealed
    # password, and stays listed as starting.
    assert (job["state"], job["error"]) == ("running", None)
    assert executions_of(pass_machine, job["id"]) == []
    stored = env.jobs.get_job(me, job["id"])
    assert stored is not None and stored.sealed_secret is not None
    env.service.scheduler.sweep()
    assert executions_of(pass_machine, job["id"]) == []  # too soon: it may just be starting
    env.clock.offset += dt.timedelta(minutes=2)
    env.service.scheduler.sweep()
    assert executions_of(pass_machine, job["id"]) == [job["id"]]
    ref = mig.ref_of(me, job)
    copy_all(env, ref)  # what the execution runs; its first save takes it off the list
    env.service.scheduler.sweep()
    assert executions_of(pass_machine, job["id"]) == [job["id"]]  # started once
    done = env.service.get(me, job["id"])
    assert (done["state"], cast(dict[str, int], done["counts"])["imported"]) == ("completed", 2)

    # A revert throttled: refused with 503's error, the job still completed; then it works.
    events.register("before-send.stepfunctions.StartExecution", throttled)
    try:
        with pytest.raises(TransientError):
            env.service.revert(me, job["id"])
    finally:
        events.unregister("before-send.stepfunctions.StartExecution", throttled)
    assert env.service.get(me, job["id"])["state"] == "completed"
    assert executions_of(pass_machine, job["id"]) == [job["id"]]
    assert env.service.revert(me, job["id"])["state"] == "reverting"
    [revert] = [n for n in executions_of(pass_machine, job["id"]) if n != job["id"]]
    assert revert.startswith(f"{job['id']}-revert")
    assert env.runner.rollback(ref, None, "revert")["state"] == "reverted"


@pytest.mark.dovecot
def test_start_execution_refused_for_good_ends_the_new_job_and_frees_its_slot(
    local_stack: LocalStack, dovecot: Dovecot, pass_machine: str
) -> None:
    env = mig.build(local_stack, dovecot, max_per_tenant=1)
    executions = SfnExecutions(pass_machine, client=LazyClient("stepfunctions"))
    env.service._executions = executions
    env.service.scheduler._executions = executions
    events = executions._sfn.meta.events
    refused = Faults(json_error("AccessDeniedException", "1.0"), times=None)
    me = mig.owner()
    user, password = env.seed_user(1)
    events.register("before-send.stepfunctions.StartExecution", refused)
    try:
        job = env.create(me, user, password)
    finally:
        events.unregister("before-send.stepfunctions.StartExecution", refused)
    assert refused.seen == 1  # a refusal, not a busy service: not retried
    error = cast(dict[str, str], job["error"])
    assert (job["state"], error["code"]) == ("rolled_back", "not_started")
    stored = env.jobs.get_job(me, job["id"])
    assert stored is not None and stored.sealed_secret is None  # the password dropped
    # Its slot was given back: the tenant's next job (one at a time) starts.
    again = env.create(me, user, password)
    assert again["state"] == "running"
    assert executions_of(pass_machine, again["id"]) == [again["id"]]
    copy_all(env, mig.ref_of(me, again))
    assert env.service.get(me, again["id"])["state"] == "completed"


def emails_to(address: str) -> int:
    """How many messages SES (moto, in this process) accepted for ``address``."""
    from moto.ses.models import ses_backends

    sent = ses_backends[ACCOUNT_ID][REGION].sent_messages
    return sum(1 for m in sent if any(address in d for d in m.destinations))


def notices(env: mig.Env, owner: Owner) -> int:
    page = env.store.list_messages(owner, "inbox", 100, None)[0]
    return sum(1 for m in page if m.source.type is SourceType.NOTICE)


@pytest.mark.dovecot
def test_ses_throttled_on_the_notice_retries_the_notify_step_which_emails_once(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    env = mig.build(local_stack, dovecot, notice_sender=NOTICE_SENDER)
    directory = DynamoDirectory(
        local_stack.physical_id("MailportTable"), client=LazyClient("dynamodb")
    )
    mailer = SesMailer(client=LazyClient("ses"))
    env.runner._mailer, env.runner._directory = mailer, directory
    me = mig.owner()
    email = f"ses-{uuid.uuid4().hex[:6]}@acme.example"
    directory.put_user(User(me.user_id, me.tenant_id, email, "Ses", admin=False))
    user, password = env.seed_user(2)
    job = env.create(me, user, password)
    ref = mig.ref_of(me, job)
    copy_all(env, ref)
    sent, told = emails_to(email), notices(env, me)  # the "started" notice, both ways

    throttled = Faults(ses_throttled(), times=None)
    mailer._ses.meta.events.register("before-send.ses.SendRawEmail", throttled)
    try:
        # The step fails as transient: the state machine retries it (then moves on anyway).
        with pytest.raises(TransientError):
            env.runner.notify(ref, "completed")
    finally:
        mailer._ses.meta.events.unregister("before-send.ses.SendRawEmail", throttled)
    assert throttled.seen == 3
    view = env.service.get(me, job["id"])
    counts = cast(dict[str, int], view["counts"])
    assert (view["state"], counts["imported"]) == ("completed", 2)  # unchanged
    assert (notices(env, me), emails_to(email)) == (told + 1, sent)  # the Inbox copy is in

    assert env.runner.notify(ref, "completed") == {"notified": "completed", "state": "completed"}
    assert (notices(env, me), emails_to(email)) == (told + 1, sent + 1)  # each once
