"""The local stack's fixes to moto: DynamoDB transactions behave as DynamoDB documents, SQS
sends do not count the queue, and S3 checks a browser-based POST upload's policy."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import uuid
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from mailport.adapters.clients import Clients
from mailport.adapters.s3 import S3UploadBucket
from mailport_local import moto_patches
from mailport_local.stack import LocalStack

pytestmark = pytest.mark.stack


@pytest.fixture
def table(local_stack: LocalStack) -> str:
    name = f"tx-{uuid.uuid4().hex[:8]}"
    boto3.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def put(table: str, key: str, cond: bool = True) -> dict:  # type: ignore[type-arg]
    op: dict = {"TableName": table, "Item": {"PK": {"S": key}}}  # type: ignore[type-arg]
    if cond:
        op["ConditionExpression"] = "attribute_not_exists(PK)"
    return {"Put": op}


def keys(table: str) -> set[str]:
    items = boto3.client("dynamodb").scan(TableName=table)["Items"]
    return {i["PK"]["S"] for i in items}


def test_a_cancelled_transaction_writes_nothing_and_names_the_reason(table: str) -> None:
    ddb = boto3.client("dynamodb")
    ddb.put_item(TableName=table, Item={"PK": {"S": "taken"}, "v": {"N": "1"}})
    with pytest.raises(ClientError) as err:
        ddb.transact_write_items(
            TransactItems=[
                put(table, "new-1"),
                {**put(table, "taken")},
                put(table, "new-2"),
            ]
        )
    reasons = [r["Code"] for r in err.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed", "None"]
    assert keys(table) == {"taken"}


def test_all_or_nothing_applies_every_write(table: str) -> None:
    boto3.client("dynamodb").transact_write_items(
        TransactItems=[put(table, "a"), put(table, "b"), put(table, "c")]
    )
    assert keys(table) == {"a", "b", "c"}


def test_concurrent_writes_survive_other_transactions_cancelling(table: str) -> None:
    from botocore.config import Config

    ddb = boto3.client("dynamodb")
    ddb.put_item(TableName=table, Item={"PK": {"S": "taken"}})
    # A table of some size: moto's own rollback deep-copied it per transaction, long enough
    # for other requests to land in between (measured without the fix, same scenario:
    # 2 of these writes lost and 6 requests failing with 500).
    for b in range(0, 2000, 25):
        ddb.batch_write_item(
            RequestItems={
                table: [
                    {"PutRequest": {"Item": {"PK": {"S": f"pad{b + j}"}, "v": {"S": "x" * 50}}}}
                    for j in range(25)
                ]
            }
        )
    errors: list[str] = []

    def writer(n: int) -> None:
        # No retries: a server error must show, not be papered over by botocore.
        client = boto3.client("dynamodb", config=Config(retries={"total_max_attempts": 1}))
        for i in range(15):
            try:
                client.transact_write_items(TransactItems=[put(table, f"w{n}-{i}")])
                client.transact_write_items(
                    TransactItems=[put(table, f"x{n}-{i}"), put(table, "taken")]
                )
            except ClientError as e:
                if e.response["Error"]["Code"] != "TransactionCanceledException":
                    errors.append(e.response["Error"]["Code"])

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    expected = {"taken"} | {f"pad{j}" for j in range(2000)}
    expected |= {f"w{n}-{i}" for n in range(4) for i in range(15)}
    assert keys(table) == expected


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry each time moto counts a queue's messages (the cost the SQS fixes avoid)."""
    from moto.sqs.models import Queue

    calls: list[int] = []
    original = Queue.approximate_number_of_messages
    monkeypatch.setattr(
        Queue,
        "approximate_number_of_messages",
        property(lambda q: calls.append(1) or original.fget(q)),  # type: ignore[attr-defined]
    )
    return calls


def test_sqs_send_does_not_count_the_queue_and_fifo_dedupe_still_works(
    local_stack: LocalStack, counted: list[int]
) -> None:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"p-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    sqs.send_message_batch(
        QueueUrl=url,
        Entries=[{"Id": str(i), "MessageBody": "x", "DelaySeconds": i} for i in range(10)],
    )
    sqs.send_message(QueueUrl=url, MessageBody="y")
    assert counted == []  # without the fix: once per message sent
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "2"  # "y" and the one with delay 0
    assert attrs["ApproximateNumberOfMessagesDelayed"] == "9"
    assert counted  # still counted where asked for

    fifo = sqs.create_queue(
        QueueName=f"p-{uuid.uuid4().hex[:8]}.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    for _ in range(2):
        sqs.send_message(QueueUrl=fifo, MessageBody="same", MessageGroupId="g")
    got = sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10)["Messages"]
    assert len(got) == 1  # deduplicated by content


def _query_body(result: dict[str, object]) -> object:
    from moto.core.serialize import JSONSerializer, XFormedAttributePicker
    from moto.core.utils import get_service_model

    operation = get_service_model("dynamodb").operation_model("Query")
    serializer = JSONSerializer(
        operation_model=operation, pretty_print=False, value_picker=XFormedAttributePicker()
    )
    return json.loads(serializer.serialize(result)["body"])


def test_attribute_values_are_written_as_moto_itself_writes_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto.core.serialize import BaseJSONSerializer

    moto_patches.install()
    nested = {"M": {"a": {"S": "x"}, "b": {"L": [{"N": "1"}, {"B": b"\x00\xff"}, {"NULL": True}]}}}
    item = {
        "PK": {"S": "USER#t#u"},
        "empty": {"S": ""},
        "text": {"S": "日本語 ①㈱髙 \u202e"},
        "n": {"N": "-12.50"},
        "blob": {"B": b"\x00raw\xff"},
        "strings": {"SS": ["a", "b"]},
        "numbers": {"NS": ["1", "2.5"]},
        "blobs": {"BS": [b"x", b"\x01\x02"]},
        "yes": {"BOOL": True},
        "no": {"BOOL": False},
        "null": {"NULL": True},
        "map": nested,
        "emptymap": {"M": {}},
        "list": {"L": [nested, {"SS": ["z"]}, {"L": []}]},
    }
    result = {"Count": 2, "ScannedCount": 3, "Items": [item, {"PK": {"S": "b"}}]}
    result["LastEvaluatedKey"] = {"PK": {"S": "b"}}
    assert all(moto_patches.attribute_value(v) is not None for v in item.values())  # fast path
    fast = _query_body(result)
    monkeypatch.setattr(
        BaseJSONSerializer, "_serialize_type_structure", moto_patches.ORIGINAL_STRUCTURE
    )
    assert fast == _query_body(result)
    # What moto's serializer would drop is left to it.
    assert moto_patches.attribute_value({"S": None}) is None
    assert moto_patches.attribute_value({"X": "?"}) is None


def test_sqs_clock_is_the_clock() -> None:
    import time

    from moto.core import utils
    from moto.sqs import models

    moto_patches.install()
    assert abs(models.unix_time() - utils.unix_time()) < 1  # type: ignore[attr-defined]
    assert abs(models.unix_time_millis() - time.time() * 1000) < 1000  # type: ignore[attr-defined]


def test_partition_queries_answer_what_moto_answers(
    local_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.models.table import Table

    ddb = boto3.client("dynamodb")
    table = f"q-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=table,
        KeySchema=[
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for pk in ("P#a", "P#b"):
        for i in range(30):
            item = {"PK": {"S": pk}, "SK": {"S": f"{'MSG' if i % 3 else 'FILE'}#{i:03d}"}}
            item["n"] = {"N": str(i)}
            item["big"] = {"S": "x" * (i * 5000)}
            ddb.put_item(TableName=table, Item=item)
    values = {":pk": {"S": "P#a"}, ":m": {"S": "MSG#"}, ":f": {"S": "FILE#0"}}
    values |= {":lo": {"S": "MSG#005"}}
    values |= {":hi": {"S": "MSG#020"}, ":ten": {"N": "10"}}
    queries: list[dict[str, object]] = [
        {"KeyConditionExpression": "PK = :pk"},
        {"KeyConditionExpression": "PK = :pk", "ScanIndexForward": False, "Limit": 7},
        {"KeyConditionExpression": "PK = :pk AND begins_with(SK, :m)", "Limit": 4},
        {"KeyConditionExpression": "PK = :pk AND begins_with(SK, :m)", "ScanIndexForward": False},
        {"KeyConditionExpression": "PK = :pk AND begins_with(SK, :f)", "Limit": 3},
        {"KeyConditionExpression": "PK = :pk AND SK BETWEEN :lo AND :hi"},
        {"KeyConditionExpression": "PK = :pk AND SK > :lo", "FilterExpression": "n > :ten"},
        {"KeyConditionExpression": "PK = :pk AND begins_with(SK, :m)", "Select": "COUNT"},
        {"KeyConditionExpression": "PK = :pk", "ProjectionExpression": "SK, n"},
        {"KeyConditionExpression": "PK = :none"},
    ]

    def pages(query: dict[str, object]) -> list[dict[str, object]]:
        text = " ".join(str(v) for v in query.values())
        used = {k: v for k, v in (values | {":none": {"S": "P#z"}}).items() if k in text}
        out, start = [], None
        while True:
            kwargs: dict[str, object] = {"TableName": table, **query}
            kwargs["ExpressionAttributeValues"] = used
            if start:
                kwargs["ExclusiveStartKey"] = start
            page = ddb.query(**kwargs)  # type: ignore[arg-type]
            page.pop("ResponseMetadata")
            out.append(page)
            start = page.get("LastEvaluatedKey")
            if not start:
                return out

    moto_patches.install()
    replaced = [pages(q) for q in queries]
    monkeypatch.setattr(Table, "query", moto_patches.ORIGINAL_QUERY)
    assert replaced == [pages(q) for q in queries]
    assert len(replaced[0]) > 1  # the 1 MB page limit was reached: paging was compared too


def test_the_item_size_limit_still_holds(table: str) -> None:
    ddb = boto3.client("dynamodb")
    # Split over many attributes: the limit is on the whole item, checked once it is built.
    parts = {f"a{i}": {"S": "x" * 10_000} for i in range(40)}
    ddb.put_item(TableName=table, Item={"PK": {"S": "fits"}, **parts})  # 400 KB and names
    parts["a40"] = {"S": "x" * 6_000}
    with pytest.raises(ClientError, match="Item size has exceeded"):
        ddb.put_item(TableName=table, Item={"PK": {"S": "too-big"}, **parts})
    assert keys(table) == {"fits"}


def test_sqs_receive_checks_retention_without_counting_the_queue(
    local_stack: LocalStack, counted: list[int]
) -> None:
    from moto.sqs.models import sqs_backends

    from mailport_local.provision import ACCOUNT_ID, REGION

    sqs = boto3.client("sqs")
    name = f"r-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name, Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="new")
    sqs.send_message(QueueUrl=url, MessageBody="old")
    queue = sqs_backends[ACCOUNT_ID][REGION].queues[name]
    old = next(m for m in queue._messages if m.body == "old")
    old.sent_timestamp -= 120_000  # sent two minutes ago: past its 60 s retention
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    assert [m["Body"] for m in got] == ["new"]
    assert counted == []  # without the fix: three times per message handed out


# ---------------------------------------------------------------- S3 POST policies


@pytest.fixture
def bucket(local_stack: LocalStack) -> str:
    name = f"post-{uuid.uuid4().hex[:8]}"
    boto3.client("s3").create_bucket(Bucket=name)
    return name


def presigned(bucket: str, key: str, size: int, expires: int = 900) -> dict[str, Any]:
    """mailport's upload adapter's presigned POST (key, type, exact size; SigV4)."""
    return S3UploadBucket(bucket, client=Clients().s3_presign).presign(key, size, expires)


def send(post: dict[str, Any], body: bytes, **changed: str | None) -> requests.Response:
    """POST the form, with some fields changed (None: left out)."""
    fields = {k: v for k, v in {**post["fields"], **changed}.items() if v is not None}
    return requests.post(post["url"], data=fields, files={"file": ("x", body)}, timeout=30)


def refused(r: requests.Response, status: int, code: str, message: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "application/xml"
    assert f"<Code>{code}</Code>" in r.text and f"<Message>{message}" in r.text, r.text


def stored(bucket: str) -> list[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])
    return [o["Key"] for o in listed]


def test_a_post_upload_that_breaks_its_policy_is_refused_as_s3_would(bucket: str) -> None:
    key, body = "uploads/t/alice/b/0000", b"y" * 100
    post = presigned(bucket, key, len(body))
    policy_failed = "Invalid according to Policy: Policy Condition failed: "
    other_key = send(post, body, key="uploads/t/bob/b/0000")
    refused(other_key, 403, "AccessDenied", f'{policy_failed}["eq", "$key", "{key}"]')
    other_type = send(post, body, **{"Content-Type": "text/html"})
    refused(other_type, 403, "AccessDenied", f'{policy_failed}["eq", "$Content-Type"')
    refused(send(post, body + b"y"), 400, "EntityTooLarge", "Your proposed upload exceeds")
    assert "<MaxSizeAllowed>100</MaxSizeAllowed>" in send(post, body + b"y").text
    refused(send(post, body[:-1]), 400, "EntityTooSmall", "Your proposed upload is smaller")
    extra = send(post, body, **{"x-amz-meta-batch": "someone-elses"})
    refused(extra, 403, "AccessDenied", "Invalid according to Policy: Extra input fields: x-amz")
    # The policy rewritten to allow any key: its signature no longer matches.
    policy = json.loads(base64.b64decode(post["fields"]["policy"]))
    policy["conditions"] = [c for c in policy["conditions"] if "key" not in c]
    rewritten = base64.b64encode(json.dumps(policy).encode()).decode()
    refused(
        send(post, body, policy=rewritten, key="uploads/t/bob/b/0000"),
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match",
    )
    refused(send(post, body, policy=None), 403, "AccessDenied", "Access Denied")  # anonymous
    late = presigned(bucket, key, len(body), expires=-1)
    refused(send(late, body), 403, "AccessDenied", "Invalid according to Policy: Policy expired.")
    assert stored(bucket) == []

    assert send(post, body).status_code == 204  # the form as it was given
    assert stored(bucket) == [key]


def test_starts_with_the_filename_variable_and_sigv2(bucket: str) -> None:
    """``starts-with`` checks the key after S3 puts the file's name in for ``${filename}``;
    a SigV2 form (boto3's default) has its signature checked too."""
    post = boto3.client("s3").generate_presigned_post(
        Bucket=bucket,
        Key="in/${filename}",
        Conditions=[["starts-with", "$key", "in/"]],
        ExpiresIn=60,
    )
    assert "signature" in post["fields"]  # SigV2
    refused(
        send(post, b"x", key="out/${filename}"),
        403,
        "AccessDenied",
        'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "in/"]',
    )
    policy = json.loads(base64.b64decode(post["fields"]["policy"]))
    policy["conditions"] = [["starts-with", "$key", ""]]
    rewritten = base64.b64encode(json.dumps(policy).encode()).decode()
    anywhere = send(post, b"x", policy=rewritten, key="out/${filename}")
    refused(anywhere, 403, "SignatureDoesNotMatch", "The request signature we calculated")
    assert send(post, b"x").status_code == 204
    assert stored(bucket) == ["in/x"]


def test_the_policy_check_installs_once_and_in_a_process_of_its_own() -> None:
    """A moto server started elsewhere (``install()`` only, no local stack) checks policies
    too, and installing twice wraps moto once."""
    script = """
import boto3, requests
from moto.server import ThreadedMotoServer
from moto.s3.responses import S3Response
from mailport_local import moto_patches
moto_patches.install()
moto_patches.install()
assert not hasattr(S3Response._bucket_response_post.__wrapped__, "__wrapped__")  # once
server = ThreadedMotoServer(port=0)
server.start()
url = "http://127.0.0.1:%d" % server._server.server_port
s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                  aws_access_key_id="k", aws_secret_access_key="s")
s3.create_bucket(Bucket="bkt")
post = s3.generate_presigned_post(Bucket="bkt", Key="mine", ExpiresIn=60)
r = requests.post(post["url"], data={**post["fields"], "key": "theirs"}, files={"file": b"x"})
print("status", r.status_code)
server.stop()
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "status 403" in done.stdout.splitlines()


# ---------------------------------------------------------------- S3 CopyObject preconditions


def test_copy_source_if_match_is_enforced_as_s3_does(bucket: str) -> None:
    s3 = boto3.client("s3")
    etag = s3.put_object(Bucket=bucket, Key="src", Body=b"one")["ETag"]
    source = {"Bucket": bucket, "Key": "src"}
    s3.copy_object(Bucket=bucket, Key="a", CopySource=source, CopySourceIfMatch=etag)
    assert s3.get_object(Bucket=bucket, Key="a")["Body"].read() == b"one"
    s3.put_object(Bucket=bucket, Key="src", Body=b"two")
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="c", CopySource=source, CopySourceIfMatch=etag)
    assert e.value.response["Error"]["Code"] == "PreconditionFailed"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    s3.delete_object(Bucket=bucket, Key="src")
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="c", CopySource=source, CopySourceIfMatch=etag)
    assert e.value.response["Error"]["Code"] == "NoSuchKey"
    assert "c" not in stored(bucket)


@pytest.mark.parametrize(
    "fields",
    [
        {"ETag": '"a&b<c>"', "LastModified": "2026-11-29T03:27:50.000Z", "ChecksumSHA256": "x="},
        {"ChecksumCRC32": "c", "ETag": '"e"', "LastModified": "2026-11-29T03:27:50.000Z"},
        {"ETag": '"e"', "LastModified": "2026-11-29T03:27:50.000Z"},
    ],
)
def test_copy_results_are_written_as_moto_itself_writes_them(
    local_stack: LocalStack, fields: dict[str, str]
) -> None:
    from moto.core.responses import ActionResult
    from moto.s3.responses import S3Response

    response = S3Response()
    response.data = {"Action": "CopyObject"}
    response.headers, response.querystring = {}, {"Action": ["CopyObject"]}
    response.response_headers = {"server": "amazon.com", "date": "Sun, 29 Nov 2026 03:27:50 GMT"}
    result = ActionResult({"CopyObjectResult": fields})
    fast = S3Response.serialized(response, result)
    assert S3Response.serialized is not moto_patches.ORIGINAL_S3_SERIALIZED
    assert fast == moto_patches.ORIGINAL_S3_SERIALIZED(response, result)
    # Anything else still goes through moto's serializer.
    other = ActionResult({"CopyObjectResult": {**fields, "LastModified": "yesterday"}})
    assert moto_patches._copy_result_xml(response, other) is None
