"""What IAM checks for one SDK call: the actions it authorizes and the resource ARN of each.

Most operations authorize the action of their own name on the resource they name; the
exceptions below are AWS's documented ones (a transaction is authorized item by item, a
batch of SQS messages as the single-message action, S3's HeadObject as GetObject, a copy as a
read of the source and a write of the target). An operation not in this module is an error,
so a new kind of call can't slip past the role check unexamined.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any
from urllib.parse import unquote, urlsplit

from mailport_local.calls import Call


@dataclass(frozen=True)
class Access:
    """One action on one resource, as IAM evaluates it."""

    action: str
    resource: str


class UnmappedCall(Exception):
    """A call this module doesn't know how IAM authorizes."""


@dataclass(frozen=True)
class Arns:
    """The partition, region and account of the stack whose calls are read."""

    region: str
    account: str

    def table(self, name: str, index: str | None = None) -> str:
        base = (
            name
            if name.startswith("arn:")
            else (f"arn:aws:dynamodb:{self.region}:{self.account}:table/{name}")
        )
        return f"{base}/index/{index}" if index else base

    def queue(self, url: str) -> str:
        if url.startswith("arn:"):
            return url
        account, name = urlsplit(url).path.strip("/").split("/")[-2:]
        return f"arn:aws:sqs:{self.region}:{account}:{name}"

    def key(self, key_id: str) -> str:
        if key_id.startswith("arn:"):
            return key_id
        # IAM authorizes an alias's use on the key it names; this stack passes key ids.
        kind = "" if key_id.startswith("alias/") else "key/"
        return f"arn:aws:kms:{self.region}:{self.account}:{kind}{key_id}"

    def secret(self, secret_id: str) -> str:
        if secret_id.startswith("arn:"):
            return secret_id
        return f"arn:aws:secretsmanager:{self.region}:{self.account}:secret:{secret_id}"

    def function(self, name: str) -> str:
        if name.startswith("arn:"):
            return name
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{name}"

    def identity(self, source: str) -> str:
        address = parseaddr(source)[1] or source
        return f"arn:aws:ses:{self.region}:{self.account}:identity/{address}"


def _object(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


# TransactWriteItems and TransactGetItems: each item needs the action of its own kind.
_TRANSACT = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
_DYNAMODB_SINGLE = {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "DescribeTable"}
_DYNAMODB_INDEXED = {"Query", "Scan"}


def _dynamodb(call: Call, arns: Arns) -> list[Access]:
    p, op = call.params, call.operation
    if op in _DYNAMODB_SINGLE:
        return [Access(f"dynamodb:{op}", arns.table(p["TableName"]))]
    if op in _DYNAMODB_INDEXED:
        return [Access(f"dynamodb:{op}", arns.table(p["TableName"], p.get("IndexName")))]
    if op in {"BatchWriteItem", "BatchGetItem"}:
        return [Access(f"dynamodb:{op}", arns.table(t)) for t in p["RequestItems"]]
    if op in {"TransactWriteItems", "TransactGetItems"}:
        out = []
        for item in p["TransactItems"]:
            ((kind, body),) = item.items()
            out.append(Access(f"dynamodb:{_TRANSACT[kind]}", arns.table(body["TableName"])))
        return out
    raise UnmappedCall(f"dynamodb {op}")


def _copy_source(source: Any) -> str:
    if isinstance(source, dict):
        return _object(source["Bucket"], source["Key"])
    bucket, _, key = unquote(str(source)).lstrip("/").partition("/")
    return _object(bucket, key.split("?versionId=")[0])


def _s3(call: Call, arns: Arns) -> list[Access]:
    p, op = call.params, call.operation
    if op in {"GetObject", "PutObject", "DeleteObject"}:
        return [Access(f"s3:{op}", _object(p["Bucket"], p["Key"]))]
    if op == "HeadObject":
        return [Access("s3:GetObject", _object(p["Bucket"], p["Key"]))]
    if op == "PostObject":  # a presigned POST: the browser's upload is signed by this role
        return [Access("s3:PutObject", _object(p["Bucket"], p["Key"]))]
    if op == "CopyObject":
        return [
            Access("s3:GetObject", _copy_source(p["CopySource"])),
            Access("s3:PutObject", _object(p["Bucket"], p["Key"])),
        ]
    if op == "DeleteObjects":
        return [
            Access("s3:DeleteObject", _object(p["Bucket"], o["Key"]))
            for o in p["Delete"]["Objects"]
        ]
    if op in {"ListObjectsV2", "ListObjects", "HeadBucket"}:
        return [Access("s3:ListBucket", f"arn:aws:s3:::{p['Bucket']}")]
    raise UnmappedCall(f"s3 {op}")


_SQS_BATCH = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}
_SQS = {
    "SendMessage",
    "ReceiveMessage",
    "DeleteMessage",
    "ChangeMessageVisibility",
    "GetQueueAttributes",
}


def _sqs(call: Call, arns: Arns) -> list[Access]:
    op = call.operation
    if op in _SQS or op in _SQS_BATCH:
        return [Access(f"sqs:{_SQS_BATCH.get(op, op)}", arns.queue(call.params["QueueUrl"]))]
    raise UnmappedCall(f"sqs {op}")


def _kms(call: Call, arns: Arns) -> list[Access]:
    op = call.operation
    if op in {
        "Encrypt",
        "Decrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "ReEncrypt",
        "DescribeKey",
    }:
        if "KeyId" not in call.params:
            # Decrypt without KeyId is authorized on whatever key the blob names: the
            # adapter always names its key, so the check can read which one.
            raise UnmappedCall(f"kms {op} without KeyId")
        return [Access(f"kms:{op}", arns.key(call.params["KeyId"]))]
    raise UnmappedCall(f"kms {op}")


def _states(call: Call, arns: Arns) -> list[Access]:
    p, op = call.params, call.operation
    if op in {"StartExecution", "ListExecutions", "DescribeStateMachine"}:
        return [Access(f"states:{op}", p["stateMachineArn"])]
    if op in {"DescribeExecution", "StopExecution", "GetExecutionHistory"}:
        return [Access(f"states:{op}", p["executionArn"])]
    raise UnmappedCall(f"stepfunctions {op}")


def _ses(call: Call, arns: Arns) -> list[Access]:
    if call.operation in {"SendRawEmail", "SendEmail"}:
        return [Access(f"ses:{call.operation}", arns.identity(call.params["Source"]))]
    raise UnmappedCall(f"ses {call.operation}")


def _secretsmanager(call: Call, arns: Arns) -> list[Access]:
    if call.operation in {"GetSecretValue", "DescribeSecret"}:
        secret = arns.secret(call.params["SecretId"])
        return [Access(f"secretsmanager:{call.operation}", secret)]
    raise UnmappedCall(f"secretsmanager {call.operation}")


def _lambda(call: Call, arns: Arns) -> list[Access]:
    if call.operation == "Invoke":
        return [Access("lambda:InvokeFunction", arns.function(call.params["FunctionName"]))]
    raise UnmappedCall(f"lambda {call.operation}")


_SERVICES = {
    "dynamodb": _dynamodb,
    "s3": _s3,
    "sqs": _sqs,
    "kms": _kms,
    "stepfunctions": _states,
    "ses": _ses,
    "secretsmanager": _secretsmanager,
    "lambda": _lambda,
}


def accesses(call: Call, arns: Arns) -> list[Access]:
    """Every (action, resource) IAM checks for ``call``; ``UnmappedCall`` if unknown."""
    mapper = _SERVICES.get(call.service)
    if mapper is None:
        raise UnmappedCall(f"{call.service} {call.operation}")
    return mapper(call, arns)
