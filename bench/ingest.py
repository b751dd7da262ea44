"""Benchmark: .eml upload ingest through the local stack, against its sink floor.

    .venv/bin/python -m bench.ingest [--messages 1000] [--concurrency 4] [--big-mb 49]

1. Pipeline: the realistic mix is uploaded through the API (presigned POSTs) with C client
   threads; the ingest function runs with C environments and C SQS pollers; timed from the first
   POST until every file has a result.
2. Sink floor, same run, same messages, same concurrency C: the bare writes those messages need,
   done directly with boto3 — the upload PutObject, the mailbox PutObject (the pipeline
   copies instead), and the one index TransactWriteItems (message, fingerprint, folder
   counters and the file's result).
3. One message of ~49 MB ingested by the real handler in a process of its own (as a Lambda
   environment is): its peak RSS, against the target 2.5 x size + 100 MB.

Figures are printed and written to bench/results/ingest.json. Compare ratios within one run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import requests

from bench.corpus import big_message, messages
from bench.harness import login, result_head, write_result
from mailport.adapters.clients import Clients
from mailport.adapters.dynamodb_mailbox import DynamoMailbox
from mailport.adapters.dynamodb_uploads import DynamoUploads
from mailport.adapters.s3 import S3RawStore
from mailport.domain.mailbox import Owner, Source, SourceType, message_id_for
from mailport.domain.uploads import (
    FileResult,
    FileStatus,
    UploadBatch,
    UploadFile,
    upload_key,
)
from mailport.usecases.importing import Importer, ImportRequest
from mailport.usecases.mailbox import MailboxService
from mailport_local.stack import LocalStack, LocalStackConfig


def pipeline(
    stack: LocalStack,
    raws: list[bytes],
    concurrency: int,
    folder: str = "inbox",
    email: str = "alice@acme.example",
) -> dict[str, Any]:
    """Upload ``raws`` as ``email`` into ``folder``; time until every file has a result."""
    headers = login(stack.api_url, email)
    session = requests.Session()
    if folder != "inbox":  # a folder of its own per round: the same mail is new there
        made = session.post(
            f"{stack.api_url}/v1/folders", headers=headers, json={"name": folder}, timeout=60
        )
        made.raise_for_status()
        folder = made.json()["id"]
    started = time.perf_counter()
    batches = []
    for i in range(0, len(raws), 500):
        chunk = raws[i : i + 500]
        files = [{"name": f"m{i + n}.eml", "size": len(r)} for n, r in enumerate(chunk)]
        r = session.post(
            f"{stack.api_url}/v1/uploads",
            headers=headers,
            json={"folder_id": folder, "files": files},
            timeout=60,
        )
        r.raise_for_status()
        batch = r.json()
        batches.append(batch["id"])

        def send(n: int, batch: dict[str, Any] = batch, chunk: list[bytes] = chunk) -> None:
            post = batch["files"][n]["upload"]
            requests.post(
                post["url"], data=post["fields"], files={"file": ("m.eml", chunk[n])}, timeout=120
            ).raise_for_status()

        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(send, range(len(chunk))))
    uploaded = time.perf_counter()
    counts: dict[str, int] = {}
    # The last batch ends last: wait on it first, then the others are done already. Each poll
    # reads the whole batch, which the emulator pays for while it still ingests: once a
    # second while many files are pending, four times a second near the end, so the clock
    # stops soon after the last file's result.
    for batch_id in reversed(batches):
        while True:
            state = session.get(
                f"{stack.api_url}/v1/uploads/{batch_id}", headers=headers, timeout=60
            ).json()
            if state["done"]:
                for key, value in state["counts"].items():
                    counts[key] = counts.get(key, 0) + value
                break
            time.sleep(0.25 if state["counts"].get("pending", 0) <= 50 else 1.0)
    done = time.perf_counter()
    return {
        "seconds": done - started,
        "upload_seconds": uploaded - started,
        "msg_per_s": len(raws) / (done - started),
        "counts": counts,
    }


class _Recorder:
    """Stands in for a boto3 client: keeps each request instead of sending it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self) -> _Recorder:
        return self  # its own client source

    def __getattr__(self, operation: str) -> Any:
        def call(**kwargs: Any) -> dict[str, Any]:
            self.calls.append((operation, kwargs))
            return {}

        return call


def floor_requests(
    stack: LocalStack, raws: list[bytes], owner: Owner, batch_id: str
) -> list[list[tuple[str, dict[str, Any]]]]:
    """Per message, the S3 and DynamoDB writes mailport's import makes for it.

    mailport's own ``Importer`` and adapters build them here, before any clock runs, against a
    recorder instead of AWS: the mailbox PutObject (with its checksum) and the one index
    transaction (message, fingerprint, folder counters and the upload file's result). Given
    no origin, the importer puts the bytes, as the issue's floor has it ("the bare S3
    PutObject"); the pipeline's ingest copies the upload inside S3 instead (a CopyObject).
    """
    table = stack.physical_id("MailportTable")
    mail_bucket = stack.physical_id("MailBucket")
    out = []
    for n, raw in enumerate(raws):
        recorder = _Recorder()
        importer = Importer(
            DynamoMailbox(table, client=recorder),
            S3RawStore(mail_bucket, client=recorder),
        )
        key = upload_key(owner.tenant_id, owner.user_id, batch_id, n)
        message_id = message_id_for("upload", batch_id, key)
        done = UploadFile(n, "", len(raw), status=FileStatus.STORED, message_id=message_id)
        importer.store(
            ImportRequest(
                owner=owner,
                raw=raw,
                folder_id="inbox",
                source=Source(SourceType.UPLOAD, batch_id),
                message_id=message_id,
                finish=FileResult(batch_id, done),
            )
        )
        out.append(recorder.calls)
    return out


def sink_floor(
    stack: LocalStack, raws: list[bytes], concurrency: int, round_: int = 1
) -> dict[str, Any]:
    """The writes the same messages need, straight to the emulator, no pipeline.

    Per message: the upload's PutObject (to a bucket with the same S3 -> SQS notification),
    then the requests mailport's import makes for it, replayed as they are (``floor_requests``).
    What the pipeline writes once per batch (the batch and its pending file items, the
    system folders) is written before the clock starts.
    """
    table = stack.physical_id("MailportTable")
    owner = Owner("floor", f"u{round_}")
    batch_id = f"ufloor{round_}"
    requests_of = floor_requests(stack, raws, owner, batch_id)
    made = Clients()
    mailbox = DynamoMailbox(table, client=made.dynamodb)
    MailboxService(
        mailbox, S3RawStore(stack.physical_id("MailBucket"), client=made.s3)
    ).ensure_system_folders(owner)
    files = tuple(UploadFile(n, f"m{n}.eml", len(raw)) for n, raw in enumerate(raws))
    DynamoUploads(table, client=made.dynamodb).create_batch(
        owner, UploadBatch(batch_id, "inbox", False, dt.datetime.now(dt.UTC), files)
    )
    # An upload bucket of its own, notifying a queue of its own: the floor pays the same S3
    # cost (event delivery included) without waking the real pipeline.
    upload_bucket = f"floor-uploads-{round_}"
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"floor-events-{round_}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    boto3.client("s3").create_bucket(Bucket=upload_bucket)
    boto3.client("s3").put_bucket_notification_configuration(
        Bucket=upload_bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    local = threading.local()

    def clients() -> dict[str, Any]:
        if not hasattr(local, "clients"):
            local.clients = {"s3": boto3.client("s3"), "dynamodb": boto3.client("dynamodb")}
        return local.clients  # type: ignore[no-any-return]

    def one(n: int) -> None:
        c = clients()
        c["s3"].put_object(Bucket=upload_bucket, Key=f"uploads/floor/{n:04d}", Body=raws[n])
        for operation, kwargs in requests_of[n]:
            client = c["s3"] if operation == "put_object" else c["dynamodb"]
            getattr(client, operation)(**kwargs)

    boto3.client("s3").list_buckets()
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(len(raws))))
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "msg_per_s": len(raws) / seconds,
        "requests_per_message": 1 + sum(map(len, requests_of)) / len(raws),
    }


# ru_maxrss survives exec on Linux (the child would report the parent's peak); VmHWM does not.
_CHILD = r"""
import json, os, sys
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
sys.path[:0] = [os.path.join(sys.argv[1], "functions/eml_ingest")]
import eml_ingest
from mailport.wiring import container
from mailport_local.lambdas import LocalContext
container()
base = hwm()
event = json.loads(sys.stdin.read())
result = eml_ingest.handler(event, LocalContext("eml-ingest", 1024, 900))
print(json.dumps({"result": result, "baseline_kb": base, "peak_kb": hwm()}))
"""


def big_one(stack: LocalStack, size_mb: float) -> dict[str, Any]:
    """Ingest one big message in a process of its own and read its peak RSS."""
    source = stack.sqs_sources["EmlIngestFunction.Uploads"]
    source.stop()  # this upload is handed to the child process instead
    raw = big_message(int(size_mb * 1024 * 1024))
    headers = login(stack.api_url, "bob@acme.example")
    batch = requests.post(
        f"{stack.api_url}/v1/uploads",
        headers=headers,
        json={"folder_id": "inbox", "files": [{"name": "big.eml", "size": len(raw)}]},
        timeout=60,
    ).json()
    post = batch["files"][0]["upload"]
    requests.post(
        post["url"], data=post["fields"], files={"file": ("big.eml", raw)}, timeout=300
    ).raise_for_status()
    key = post["fields"]["key"]
    record = {
        "s3": {
            "bucket": {"name": stack.physical_id("UploadBucket")},
            "object": {"key": key, "size": len(raw)},
        },
        "eventName": "ObjectCreated:Post",
        "eventSource": "aws:s3",
    }
    event = {
        "Records": [
            {
                "messageId": "big",
                "receiptHandle": "x",
                "body": json.dumps({"Records": [record]}),
                "attributes": {},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn",
                "awsRegion": "us-east-1",
            }
        ]
    }
    env = {
        **os.environ,
        **stack.lambdas["EmlIngestFunction"].environment,
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    root = str(Path(__file__).resolve().parents[1])
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, root],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    data = json.loads(out.stdout.strip().splitlines()[-1])
    state = requests.get(
        f"{stack.api_url}/v1/uploads/{batch['id']}", headers=headers, timeout=60
    ).json()
    size = len(raw) / 1024 / 1024
    peak = data["peak_kb"] / 1024
    return {
        "message_mb": round(size, 1),
        "status": state["files"][0]["status"],
        "peak_rss_mb": round(peak, 1),
        "baseline_rss_mb": round(data["baseline_kb"] / 1024, 1),
        "target_mb": round(2.5 * size + 100, 1),
        "within_target": peak <= 2.5 * size + 100,
    }


def _peak_rss_mb(pid: int | None) -> float | None:
    """A live process's peak RSS (VmHWM), in MB."""
    if pid is None:
        return None
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--big-mb", type=float, default=49.0)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="floor and pipeline alternate this many times; the median round is reported",
    )
    args = parser.parse_args()

    raws = messages(args.messages)
    total_mb = sum(map(len, raws)) / 1024 / 1024
    with tempfile.TemporaryDirectory() as state:
        config = LocalStackConfig(
            api_port=0,
            state_dir=Path(state),
            persist=False,
            run_schedules=False,
            concurrency={"EmlIngestFunction": args.concurrency, "ApiFunction": 2},
            # AWS is never in a function's process: the emulator gets a process of its own,
            # so the pipeline's Python and the emulator's no longer take turns on one lock.
            aws_process=True,
        )
        with LocalStack(config) as stack:
            # Interleaved, so load from elsewhere on a shared machine (and the emulator's
            # growing memory) weighs on both sides alike; each round writes new mail.
            rounds = []
            for n in range(1, args.rounds + 1):
                floor = sink_floor(stack, raws, args.concurrency, n)
                # A new user per round, as the floor has: a mailbox holding earlier rounds'
                # mail would make later rounds' reads dearer for the pipeline alone.
                pipe = pipeline(
                    stack,
                    raws,
                    args.concurrency,
                    folder=f"bench round {n}",
                    email=f"bench{n}@acme.example",
                )
                ratio = pipe["seconds"] / floor["seconds"]
                rounds.append({"pipeline": pipe, "sink_floor": floor, "ratio_to_floor": ratio})
                print(
                    f"  round {n}: pipeline {pipe['seconds']:.2f} s, floor {floor['seconds']:.2f} s"
                )
            median = sorted(rounds, key=lambda r: r["ratio_to_floor"])[len(rounds) // 2]
            pipe, floor = median["pipeline"], median["sink_floor"]
            rss_stack = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            rss_aws = _peak_rss_mb(stack.aws_pid)
            big = big_one(stack, args.big_mb) if args.big_mb else None
    result = {
        **result_head("ingest", args.messages, total_mb),
        "concurrency": args.concurrency,
        "pipeline": pipe,
        "sink_floor": floor,
        "ratio_to_floor": median["ratio_to_floor"],
        "rounds": rounds,
        "stack_process_peak_rss_mb": round(rss_stack, 1),
        "aws_process_peak_rss_mb": rss_aws,
        "big_message": big,
    }
    write_result("ingest", result)
    print(f"ingest: {args.messages} messages, {total_mb:.1f} MB, concurrency {args.concurrency}")
    print(
        f"  pipeline   {pipe['seconds']:7.2f} s  {pipe['msg_per_s']:7.1f} msg/s  {pipe['counts']}"
    )
    print(f"  sink floor {floor['seconds']:7.2f} s  {floor['msg_per_s']:7.1f} msg/s")
    ratios = ", ".join(f"{r['ratio_to_floor']:.2f}" for r in rounds)
    print(
        f"  ratio      {result['ratio_to_floor']:.2f}x the floor, the median of {len(rounds)} "
        f"rounds ({ratios}; target <= 1.25x)"
    )
    print(
        f"  peak RSS: stack process {rss_stack:.0f} MB, emulator process {rss_aws} MB "
        "(moto holds every object in memory)"
    )
    if big:
        print(
            f"  {big['message_mb']} MB message: {big['status']}, peak RSS {big['peak_rss_mb']} MB "
            f"(baseline {big['baseline_rss_mb']} MB; target <= {big['target_mb']} MB)"
        )


if __name__ == "__main__":
    main()
