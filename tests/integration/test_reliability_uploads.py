""".eml upload ingest on the local stack (DynamoDB and S3 in moto over HTTP): the result
paths no other test reaches, concurrent and repeated deliveries, a transient failure inside
one record of an SQS batch, and the POP dispatcher failing halfway through a tick.

Each upload test has a bucket of its own with no event notifications, so nothing but the
test ingests what it puts there (the stack's own upload bucket feeds the stack's ingest).
Each file must end once, say why, and store nothing twice.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import api_views
import boto3
import pytest

import eml_ingest
from mailport.adapters.clients import Clients
from mailport.adapters.dynamodb_mailbox import DynamoMailbox
from mailport.adapters.dynamodb_uploads import DynamoUploads
from mailport.adapters.s3 import S3RawStore, S3UploadBucket
from mailport.domain.accounts import FetchRequest, RunTrigger
from mailport.domain.mailbox import InsertOutcome, Owner
from mailport.domain.uploads import Fetched, FileStatus, ObjectRef, UploadBatch, upload_key
from mailport.errors import TransientError
from mailport.usecases.dispatch import Dispatcher
from mailport.usecases.importing import Importer, ImportRequest, ImportResult
from mailport.usecases.mailbox import MailboxService
from mailport.usecases.uploads import UploadService
from mailport_local.lambdas import LocalContext
from mailport_local.stack import LocalStack
from tests.integration import test_pop_import as pop
from tests.support.dovecot import Dovecot
from tests.support.events import sqs_record

pytestmark = pytest.mark.stack

MAX_BYTES = 50 * 1024 * 1024


def mail(tag: str) -> bytes:
    return (
        f"From: Sender <s@example.net>\r\nTo: me@example.org\r\nSubject: {tag}\r\n"
        f"Message-ID: <{tag}@example.net>\r\n\r\nbody of {tag}\r\n"
    ).encode()


class Objects:
    """The upload bucket, able to fail one read of a chosen key with ``TransientError``."""

    def __init__(self, inner: S3UploadBucket) -> None:
        self.inner = inner
        self.fail_once: set[str] = set()
        self.after_read: Callable[[str], None] | None = None  # runs between read and store

    def presign(self, key: str, size: int, expires_s: int) -> dict[str, Any]:
        return self.inner.presign(key, size, expires_s)

    def size(self, key: str) -> int | None:
        return self.inner.size(key)

    def read(self, key: str) -> Fetched:
        if key in self.fail_once:
            self.fail_once.discard(key)
            raise TransientError("reading the upload: the storage service is busy; try again")
        fetched = self.inner.read(key)
        if self.after_read is not None:
            self.after_read(key)
        return fetched

    def delete(self, keys: list[str]) -> list[str]:
        return self.inner.delete(keys)


@dataclass
class Env:
    owner: Owner
    store: DynamoMailbox
    uploads: DynamoUploads
    mailbox: MailboxService
    importer: Importer
    objects: Objects
    service: UploadService
    upload_bucket: str
    mail_bucket: str

    def batch(self, folder_id: str, files: dict[str, int]) -> UploadBatch:
        payload = {
            "folder_id": folder_id,
            "files": [{"name": n, "size": s} for n, s in files.items()],
        }
        return self.service.create(self.owner, payload).batch

    def key(self, batch: UploadBatch, index: int) -> str:
        return upload_key(self.owner.tenant_id, self.owner.user_id, batch.batch_id, index)

    def put(self, key: str, raw: bytes) -> None:
        boto3.client("s3").put_object(Bucket=self.upload_bucket, Key=key, Body=raw)

    def files(self, batch: UploadBatch) -> dict[str, tuple[str, str, str]]:
        """Each file's (status, reason, message), as ``GET /v1/uploads/{id}`` shows them."""
        again = self.service.get(self.owner, batch.batch_id)
        return {f.name: (f.status.value, f.reason, f.message) for f in again.files}

    def stored_objects(self) -> list[str]:
        listed = boto3.client("s3").list_objects_v2(
            Bucket=self.mail_bucket, Prefix=f"mail/{self.owner.tenant_id}/{self.owner.user_id}/"
        )
        return [o["Key"] for o in listed.get("Contents", [])]

    def uploads_left(self) -> list[str]:
        listed = boto3.client("s3").list_objects_v2(Bucket=self.upload_bucket)
        return sorted(o["Key"] for o in listed.get("Contents", []))

    def folder_counts(self, folder_id: str = "inbox") -> tuple[int, int]:
        folder = self.mailbox.folder(self.owner, folder_id)
        return folder.total, folder.unread

    def messages(self, folder_id: str = "inbox") -> list[str]:
        page = self.mailbox.messages(self.owner, folder_id, "100", None)
        return sorted(m.summary.subject for m in page.messages)


def build(local_stack: LocalStack) -> Env:
    clients = Clients()
    table = local_stack.physical_id("MailportTable")
    # One DynamoDB client: hooks on the mailbox's also see the uploads' calls.
    store = DynamoMailbox(table, client=clients.dynamodb)
    uploads = DynamoUploads(table, client=clients.dynamodb)
    mail_bucket = local_stack.physical_id("MailBucket")
    raw = S3RawStore(mail_bucket, client=clients.s3)
    upload_bucket = f"ingest-{uuid.uuid4().hex[:10]}"
    boto3.client("s3").create_bucket(Bucket=upload_bucket)
    mailbox, importer = MailboxService(store, raw), Importer(store, raw)
    objects = Objects(S3UploadBucket(upload_bucket, client=clients.s3_presign))
    service = UploadService(
        folders=mailbox, uploads=uploads, objects=objects, importer=importer, max_bytes=MAX_BYTES
    )
    owner = Owner("acme", f"u-{uuid.uuid4().hex[:10]}")
    mailbox.ensure_system_folders(owner)
    return Env(
        owner, store, uploads, mailbox, importer, objects, service, upload_bucket, mail_bucket
    )


@pytest.fixture
def env(local_stack: LocalStack) -> Env:
    return build(local_stack)


# -- the result paths ---------------------------------------------------------------------


def test_size_mismatch_and_missing_end_once_and_say_why(env: Env) -> None:
    good = mail("sized")
    batch = env.batch(
        "inbox",
        {"grew.eml": len(good), "swapped.eml": len(good), "lost.eml": 100, "never.eml": 100},
    )
    grew, swapped, lost, never = (env.key(batch, i) for i in range(4))
    env.put(grew, good + b"more\r\n")  # the event says how big it really is
    env.put(swapped, good + b"more\r\n")  # the event says the declared size; S3 has more
    # lost.eml: the event came, the object is gone; never.eml: no size in the event either.
    events = [(grew, len(good) + 6), (swapped, len(good)), (lost, 100), (never, None)]
    results = [env.service.ingest(key, size) for key, size in events]
    assert [(r.result.status, r.result.reason) for r in results if r.result] == [
        (FileStatus.REJECTED, "size_mismatch"),
        (FileStatus.REJECTED, "size_mismatch"),
        (FileStatus.REJECTED, "missing"),
        (FileStatus.REJECTED, "missing"),
    ]
    told = env.files(batch)
    assert {name: status[:2] for name, status in told.items()} == {
        "grew.eml": ("rejected", "size_mismatch"),
        "swapped.eml": ("rejected", "size_mismatch"),
        "lost.eml": ("rejected", "missing"),
        "never.eml": ("rejected", "missing"),
    }
    assert all("upload it again" in message for _, _, message in told.values())
    assert api_views.upload(env.service.get(env.owner, batch.batch_id))["done"] is True
    assert (env.folder_counts(), env.stored_objects()) == ((0, 0), [])

    # Each event again, now with the right bytes in place: every file has ended already.
    env.put(grew, good)
    env.put(swapped, good)
    env.put(lost, mail("lost")[:100].ljust(100, b"x"))
    assert all(env.service.ingest(key, size).repeated for key, size in events)
    assert env.files(batch) == told
    assert (env.folder_counts(), env.stored_objects(), env.messages()) == ((0, 0), [], [])


def test_a_folder_deleted_before_the_ingest_ends_the_file_as_folder_gone(env: Env) -> None:
    folder = env.mailbox.create_folder(env.owner, f"Projects {uuid.uuid4().hex[:6]}")
    raw = mail("orphaned")
    batch = env.batch(folder.folder_id, {"late.eml": len(raw)})
    env.mailbox.delete_folder(env.owner, folder.folder_id)  # after the batch, before the event
    key = env.key(batch, 0)
    env.put(key, raw)
    first = env.service.ingest(key, len(raw))
    assert first.result is not None
    assert (first.result.status, first.result.reason) == (FileStatus.REJECTED, "folder_gone")
    [(status, reason, message)] = env.files(batch).values()
    assert (status, reason) == ("rejected", "folder_gone")
    assert "choose another folder" in message
    assert env.stored_objects() == []  # the bytes written before the index refused are gone
    assert env.folder_counts() == (0, 0) and env.messages() == []
    assert folder.folder_id not in {f.folder_id for f in env.mailbox.folders(env.owner)}

    assert env.service.ingest(key, len(raw)).repeated  # the event again
    assert list(env.files(batch).values()) == [(status, reason, message)]
    assert env.stored_objects() == [] and env.messages() == []


@pytest.mark.parametrize("change", ["replaced", "removed"])
def test_an_upload_changed_after_its_read_keeps_the_bytes_read(env: Env, change: str) -> None:
    """The store copies the upload inside S3, pinned to the ETag it read. A second POST on
    the same URL (same size, other bytes) or a concurrent delivery's cleanup between the read
    and the copy must not put other bytes under the key named by the first bytes' hash.
    """
    raw, other = mail("first one"), mail("other one")
    assert len(raw) == len(other) and raw != other
    batch = env.batch("inbox", {"a.eml": len(raw)})
    key = env.key(batch, 0)
    env.put(key, raw)
    s3 = boto3.client("s3")

    def change_it(changed: str) -> None:
        if change == "replaced":
            env.put(changed, other)
        else:
            s3.delete_object(Bucket=env.upload_bucket, Key=changed)

    env.objects.after_read = change_it
    first = env.service.ingest(key, len(raw))
    assert first.result is not None and first.result.status is FileStatus.STORED
    [stored] = env.stored_objects()
    assert hashlib.sha256(raw).hexdigest()[:16] in stored
    body = s3.get_object(Bucket=env.mail_bucket, Key=stored)
    assert body["Body"].read() == raw
    assert body["ContentType"] == "message/rfc822"
    assert env.messages() == ["first one"]


def test_an_upload_is_copied_inside_s3_not_sent_again(env: Env) -> None:
    raw = mail("copied")
    batch = env.batch("inbox", {"c.eml": len(raw)})
    key = env.key(batch, 0)
    env.put(key, raw)
    session = boto3.session.Session()
    calls: list[str] = []
    session.events.register("before-call.s3", lambda model, **_: calls.append(model.name))
    store = S3RawStore(env.mail_bucket, client=Clients(session).s3)
    service = UploadService(
        folders=env.mailbox,
        uploads=env.uploads,
        objects=env.objects,
        importer=Importer(env.store, store),
        max_bytes=MAX_BYTES,
    )
    result = service.ingest(key, len(raw)).result
    assert result is not None and result.status is FileStatus.STORED
    assert calls == ["CopyObject"]
    [stored] = env.stored_objects()
    assert boto3.client("s3").get_object(Bucket=env.mail_bucket, Key=stored)["Body"].read() == raw


# -- concurrent and repeated deliveries ----------------------------------------------------


class Recording(Importer):
    """An importer that waits at ``gate`` between writing the bytes and indexing them, so
    both deliveries are past every check before either commits, and records each outcome.
    """

    def __init__(self, env: Env, gate: threading.Barrier) -> None:
        raw = S3RawStore(env.mail_bucket, client=Clients().s3)
        super().__init__(env.store, _GatedRaw(raw, gate))
        self.outcomes: list[InsertOutcome] = []
        self.lock = threading.Lock()

    def store(self, request: ImportRequest, rules: Any = None) -> ImportResult:
        result = super().store(request, rules)
        with self.lock:
            self.outcomes.append(result.outcome)
        return result


class _GatedRaw:
    def __init__(self, inner: S3RawStore, gate: threading.Barrier) -> None:
        self.inner, self.gate = inner, gate

    def put(self, key: str, raw: bytes, origin: ObjectRef | None = None) -> None:
        self.inner.put(key, raw, origin)
        self.gate.wait(timeout=60)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_two_ingests_of_one_key_at_once_store_it_once(env: Env) -> None:
    raw = mail("raced")
    batch = env.batch("inbox", {"raced.eml": len(raw)})
    key = env.key(batch, 0)
    env.put(key, raw)
    gate = threading.Barrier(2)
    importer = Recording(env, gate)
    results: list[Any] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        # Two Lambda instances: each its own service (and head cache) on the same table.
        service = UploadService(
            folders=env.mailbox,
            uploads=DynamoUploads(env.store._table, client=Clients().dynamodb),
            objects=env.objects,
            importer=importer,
            max_bytes=MAX_BYTES,
        )
        try:
            results.append(service.ingest(key, len(raw)))
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(importer.outcomes) == sorted([InsertOutcome.STORED, InsertOutcome.ALREADY_STORED])
    assert [r.result.status for r in results] == [FileStatus.STORED, FileStatus.STORED]
    assert sorted(r.repeated for r in results) == [False, True]  # counted once
    [(status, reason, _)] = env.files(batch).values()
    assert (status, reason) == ("stored", "")
    assert env.folder_counts() == (1, 1)
    assert env.messages() == ["raced"]
    assert len(env.stored_objects()) == 1


# -- the ingest function: one record of an SQS batch failing --------------------------------


@pytest.fixture
def handler(env: Env, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The ingest Lambda's handler, wired to this test's service and bucket."""
    monkeypatch.setattr(eml_ingest.metrics, "namespace", "Mailport")
    monkeypatch.setattr(
        eml_ingest,
        "container",
        lambda: SimpleNamespace(
            uploads=env.service, settings=SimpleNamespace(upload_bucket=env.upload_bucket)
        ),
    )

    def invoke(*records: dict[str, Any]) -> dict[str, Any]:
        event = {"Records": list(records)}
        return dict(eml_ingest.handler(event, LocalContext("ingest", 128, 30)))

    yield invoke


def counted(capsys: pytest.CaptureFixture[str]) -> dict[str, float]:
    """The upload path's metrics the handler printed (EMF) since the last call."""
    totals = dict.fromkeys(("UploadsProcessed", "MessagesImported", "UploadsRejected"), 0.0)
    for line in capsys.readouterr().out.splitlines():
        blob = json.loads(line) if line.startswith("{") and '"_aws"' in line else {}
        if blob.get("path") == "upload":
            for name in totals:
                value = blob.get(name, 0)
                totals[name] += sum(value) if isinstance(value, list) else value
    return totals


def test_a_transient_failure_in_one_record_returns_only_that_record(
    env: Env, handler: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    raws = {f"f{i}.eml": mail(f"batch {i}") for i in range(5)}
    batch = env.batch("inbox", {name: len(raw) for name, raw in raws.items()})
    keys = [env.key(batch, i) for i in range(5)]
    for key, raw in zip(keys, raws.values(), strict=True):
        env.put(key, raw)
    sizes = [len(raw) for raw in raws.values()]
    records = [
        sqs_record("m0", env.upload_bucket, [(keys[0], sizes[0])]),
        sqs_record("m1", env.upload_bucket, [(keys[1], sizes[1])]),
        sqs_record("m2", env.upload_bucket, [(keys[2], sizes[2])]),
        # One notification with two objects: the second fails after the first was stored
        # (and its upload is removed at the end of this invocation).
        sqs_record("m3", env.upload_bucket, [(keys[3], sizes[3]), (keys[4], sizes[4])]),
    ]
    env.objects.fail_once = {keys[1], keys[4]}
    counted(capsys)

    answer = handler(*records)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}]}
    told = env.files(batch)
    assert {n: s[0] for n, s in told.items()} == {
        "f0.eml": "stored",
        "f1.eml": "pending",  # still being checked, as the console shows it
        "f2.eml": "stored",
        "f3.eml": "stored",
        "f4.eml": "pending",
    }
    assert env.uploads_left() == sorted([keys[1], keys[4]])  # the rest was cleaned up
    assert env.folder_counts() == (3, 3)
    assert counted(capsys) == {
        "UploadsProcessed": 3,
        "MessagesImported": 3,
        "UploadsRejected": 0,
    }

    # SQS delivers the two failed records again: f3's upload is gone by now, and that must
    # not turn its stored result into "missing".
    assert handler(records[1], records[3]) == {"batchItemFailures": []}
    done = env.files(batch)
    assert {n: s[:2] for n, s in done.items()} == {n: ("stored", "") for n in raws}
    assert api_views.upload(env.service.get(env.owner, batch.batch_id))["done"] is True
    assert env.uploads_left() == []
    assert env.folder_counts() == (5, 5)
    assert env.messages() == sorted(f"batch {i}" for i in range(5))
    assert len(env.stored_objects()) == 5
    # The metrics count f1 and f4 now, and not f3 again (nor as rejected: "missing").
    assert counted(capsys) == {
        "UploadsProcessed": 2,
        "MessagesImported": 2,
        "UploadsRejected": 0,
    }

    # And the whole batch once more (at least once means maybe twice): nothing changes.
    assert handler(*records) == {"batchItemFailures": []}
    assert env.files(batch) == done
    assert env.folder_counts() == (5, 5) and len(env.stored_objects()) == 5
    assert counted(capsys) == {
        "UploadsProcessed": 0,
        "MessagesImported": 0,
        "UploadsRejected": 0,
    }


# -- the POP dispatcher failing after k sends -----------------------------------------------


class MineOnly:
    """The schedule, with ``due`` narrowed to one user (the table is shared)."""

    def __init__(self, inner: Any, owner: Owner) -> None:
        self.inner, self.owner = inner, owner

    def due(self, minute: int) -> Iterator[tuple[Owner, str, int]]:
        return (d for d in self.inner.due(minute) if d[0] == self.owner)


class QueueFailingAfter:
    """Takes ``budget`` requests, then fails (SQS down mid-tick); ``None``: takes all."""

    def __init__(self, budget: int | None) -> None:
        self.budget = budget
        self.sent: list[FetchRequest] = []
        self.lock = threading.Lock()

    def send(self, requests: list[FetchRequest]) -> None:
        with self.lock:
            for request in requests:
                if self.budget is not None and len(self.sent) >= self.budget:
                    raise TransientError("queueing the fetch: the queue is busy; try again")
                self.sent.append(request)


@pytest.mark.dovecot
def test_the_dispatcher_failing_after_k_sends_then_retried_runs_each_account_once(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    env = pop.build_env(local_stack, dovecot)
    accounts = pop.register_many(env, 4, messages=2, tag="acct")
    mine = MineOnly(env.schedule, env.owner)
    tick = "2026-11-28T10:00:00Z"  # the EventBridge event's time: the same on its retry

    failing = QueueFailingAfter(budget=2)
    with pytest.raises(TransientError):
        Dispatcher(mine, failing).dispatch(tick)  # type: ignore[arg-type]
    assert len(failing.sent) == 2  # two accounts queued before the queue failed
    retry = QueueFailingAfter(budget=None)
    assert Dispatcher(mine, retry).dispatch(tick).queued == 4  # type: ignore[arg-type]
    queued = failing.sent + retry.sent
    ids = {a.account_id for a in accounts}
    assert {r.account_id for r in retry.sent} == ids
    assert {(r.tick, r.trigger) for r in queued} == {(tick, RunTrigger.SCHEDULE)}

    # The workers take every message the queue holds, duplicates included.
    ran = [run for run in (env.fetcher.handle(r) for r in queued) if run is not None]
    assert sorted(run.account_id for run in ran) == sorted(ids)  # one run per account
    assert all(run.counts.fetched == 2 for run in ran)
    for account in accounts:
        assert len(env.service.runs(env.owner, account.account_id, None)) == 1
    assert pop.subjects(env) == sorted(f"acct{i} {n}" for i in range(4) for n in range(2))
    # The same tick once more: nothing runs.
    again = QueueFailingAfter(budget=None)
    Dispatcher(mine, again).dispatch(tick)  # type: ignore[arg-type]
    assert [env.fetcher.handle(r) for r in again.sent] == [None] * 4
