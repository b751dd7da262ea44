"""Local state survives a restart: tables, objects and KMS keys (id and material)."""

from __future__ import annotations

import uuid
from pathlib import Path

import boto3
import pytest

from mailport_local.provision import ACCOUNT_ID, REGION
from mailport_local.snapshot import Snapshot
from mailport_local.stack import LocalStack

pytestmark = pytest.mark.stack


def test_tables_and_objects_round_trip(local_stack: LocalStack, tmp_path: Path) -> None:
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    table = f"snap-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    bucket = f"snap-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    items = [
        {"PK": {"S": f"k{i}"}, "blob": {"B": bytes([i, 0, 255])}, "n": {"N": str(i)}}
        for i in range(60)
    ]
    for item in items:
        ddb.put_item(TableName=table, Item=item)
    raw = b"From: a\r\nSubject: =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=\r\n\r\n\x00\xff"
    s3.put_object(
        Bucket=bucket,
        Key="u/日本語 メール.eml",
        Body=raw,
        ContentType="message/rfc822",
        Metadata={"batch": "b1"},
    )

    snap = Snapshot(tmp_path, boto3.session.Session())
    snap.save({"T": table}, {"B": bucket}, {})
    for item in items:
        ddb.delete_item(TableName=table, Key={"PK": item["PK"]})
    s3.delete_object(Bucket=bucket, Key="u/日本語 メール.eml")

    counts = snap.restore({"T": table}, {"B": bucket})
    assert counts["items"] == 60 and counts["objects"] == 1
    got = {i["PK"]["S"]: i for i in ddb.scan(TableName=table)["Items"]}
    assert got["k7"]["blob"]["B"] == bytes([7, 0, 255])
    obj = s3.get_object(Bucket=bucket, Key="u/日本語 メール.eml")
    assert obj["Body"].read() == raw
    assert obj["ContentType"] == "message/rfc822"
    # Metadata names are case-insensitive (the local endpoint capitalises header names).
    assert {k.lower(): v for k, v in obj["Metadata"].items()} == {"batch": "b1"}


def test_a_new_key_adopts_the_old_id_so_old_ciphertexts_decrypt(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    from moto.kms.models import kms_backends

    kms = boto3.client("kms")
    old = kms.create_key()["KeyMetadata"]["KeyId"]
    context = {"tenant": "acme", "user": "u1", "account": "a1"}
    blob = kms.encrypt(KeyId=old, Plaintext=b"pop-password", EncryptionContext=context)[
        "CiphertextBlob"
    ]
    snap = Snapshot(tmp_path, boto3.session.Session())
    snap.save({}, {}, {"Key": old})

    # A restart: the old key is gone, a new one is created for the same logical id.
    kms_backends[ACCOUNT_ID][REGION].keys.pop(old)
    new = kms.create_key()["KeyMetadata"]["KeyId"]
    assert snap.adopt_key("Key", new) == old
    assert new not in kms_backends[ACCOUNT_ID][REGION].keys
    assert (
        kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"] == b"pop-password"
    )
    with pytest.raises(kms.exceptions.InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=blob, EncryptionContext={**context, "user": "u2"})
