"""The local stack's fixes to moto: DynamoDB transactions behave as DynamoDB documents."""

from __future__ import annotations

import threading
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

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


def test_sqs_send_does_not_count_the_queue_and_fifo_dedupe_still_works(
    local_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.sqs.models import Queue

    counted: list[int] = []
    original = Queue.approximate_number_of_messages
    monkeypatch.setattr(
        Queue,
        "approximate_number_of_messages",
        property(lambda q: counted.append(1) or original.fget(q)),  # type: ignore[attr-defined]
    )
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
