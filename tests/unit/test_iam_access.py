"""The least-privilege check's parts, on hand-made calls and roles: which actions a call
needs, how a role decides, and what counts as a grant used."""

from __future__ import annotations

from typing import Any

import pytest

from mailport_local.calls import Call
from tests.support.iam_access import Access, Arns, UnmappedCall, accesses
from tests.support.least_privilege import Role, Statement, exercised, glob_match, grants, roles_of

ARNS = Arns("us-east-1", "123456789012")
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/t"


def _call(service: str, operation: str, **params: Any) -> Call:
    return Call("stack", "Fn", service, operation, params)


def _role(*bodies: dict[str, Any]) -> Role:
    return Role("Fn", tuple(Statement("Fn", f"p#{n}", b) for n, b in enumerate(bodies)))


def test_a_transaction_needs_each_items_own_action() -> None:
    call = _call(
        "dynamodb",
        "TransactWriteItems",
        TransactItems=[
            {"Put": {"TableName": "t", "Item": {}}},
            {"Update": {"TableName": "t", "Key": {}}},
            {"ConditionCheck": {"TableName": "t", "Key": {}}},
            {"Delete": {"TableName": "t", "Key": {}}},
        ],
    )
    assert [a.action for a in accesses(call, ARNS)] == [
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:DeleteItem",
    ]


def test_a_query_on_an_index_names_the_index() -> None:
    assert accesses(_call("dynamodb", "Query", TableName="t", IndexName="GSI1"), ARNS) == [
        Access("dynamodb:Query", f"{TABLE}/index/GSI1")
    ]
    assert accesses(_call("dynamodb", "Query", TableName="t"), ARNS) == [
        Access("dynamodb:Query", TABLE)
    ]


def test_s3_copies_read_the_source_and_write_the_target() -> None:
    call = _call("s3", "CopyObject", Bucket="b", Key="t/k", CopySource="up/a%20b/c.eml")
    assert accesses(call, ARNS) == [
        Access("s3:GetObject", "arn:aws:s3:::up/a b/c.eml"),
        Access("s3:PutObject", "arn:aws:s3:::b/t/k"),
    ]
    many = _call(
        "s3", "DeleteObjects", Bucket="b", Delete={"Objects": [{"Key": "x"}, {"Key": "y"}]}
    )
    assert [a.resource for a in accesses(many, ARNS)] == ["arn:aws:s3:::b/x", "arn:aws:s3:::b/y"]
    assert accesses(_call("s3", "HeadObject", Bucket="b", Key="k"), ARNS)[0].action == (
        "s3:GetObject"
    )


def test_sqs_batches_need_the_single_message_action_on_the_queue() -> None:
    call = _call("sqs", "SendMessageBatch", QueueUrl="http://127.0.0.1:5000/123456789012/q")
    assert accesses(call, ARNS) == [
        Access("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:q")
    ]


def test_ses_authorizes_the_senders_identity() -> None:
    call = _call("ses", "SendRawEmail", Source="mailport <notices@example.jp>")
    assert accesses(call, ARNS)[0].resource.endswith(":identity/notices@example.jp")


def test_an_unknown_call_is_an_error_not_a_pass() -> None:
    with pytest.raises(UnmappedCall):
        accesses(_call("dynamodb", "ExecuteStatement", Statement="SELECT"), ARNS)
    with pytest.raises(UnmappedCall, match="without KeyId"):
        accesses(_call("kms", "Decrypt", CiphertextBlob=b"x"), ARNS)


def test_globs_are_iams_not_regular_expressions() -> None:
    assert glob_match("arn:aws:s3:::b/*", "arn:aws:s3:::b/t/k")
    assert not glob_match("arn:aws:s3:::b.c/*", "arn:aws:s3:::bxc/k")  # "." is a dot
    assert glob_match("arn:aws:sqs:*:*:q?", "arn:aws:sqs:r:1:q1")
    assert glob_match("DynamoDB:getitem", "dynamodb:GetItem", fold=True)
    assert not glob_match("arn:aws:s3:::B/*", "arn:aws:s3:::b/k")  # ARNs keep their case


def test_a_role_allows_only_what_a_statement_allows_and_deny_wins() -> None:
    get = Access("dynamodb:GetItem", TABLE)
    allow = {"Effect": "Allow", "Action": ["dynamodb:getitem"], "Resource": TABLE}
    role = _role(allow)
    assert role.allows(get)
    assert not role.allows(Access("dynamodb:PutItem", TABLE))  # not granted
    assert not role.allows(Access("dynamodb:GetItem", TABLE + "2"))  # another table
    assert not role.allows(get, without=role.statements[0])  # the statement removed
    deny = {"Effect": "Deny", "Action": "dynamodb:*", "Resource": "*"}
    assert not _role(allow, deny).allows(get)


def test_grants_used_and_unused() -> None:
    role = _role(
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": "arn:aws:s3:::b/*",
        }
    )
    used = {Access("s3:GetObject", "arn:aws:s3:::b/k")}
    verdicts = {a: exercised(a, r, used) for _s, a, r in grants(role)}
    assert verdicts == {"s3:GetObject": True, "s3:PutObject": False}


def test_statements_the_evaluator_cant_judge_are_refused() -> None:
    roles = {
        "FnRole": {
            "Properties": {
                "Policies": [
                    {
                        "PolicyName": "p",
                        "PolicyDocument": {
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": "kms:Decrypt",
                                    "Resource": "*",
                                    "Condition": {"StringEquals": {"kms:ViaService": "x"}},
                                }
                            ]
                        },
                    }
                ]
            }
        }
    }
    with pytest.raises(ValueError, match="Condition"):
        roles_of({"roles": roles, "callers": {"Fn": "FnRole"}}, lambda v: v, ["Fn"])
    # A statement naming no resource (or one resolved to "", as AWS::NoValue is locally):
    # moto's evaluator would allow it everything.
    for resource in ({}, {"Resource": ""}):
        body = {"Effect": "Allow", "Action": "s3:GetObject", **resource}
        policy = {"PolicyName": "p", "PolicyDocument": {"Statement": [body]}}
        open_role = {"FnRole": {"Properties": {"Policies": [policy]}}}
        with pytest.raises(ValueError, match="without a Resource"):
            roles_of({"roles": open_role, "callers": {"Fn": "FnRole"}}, lambda v: v, ["Fn"])


def test_a_childs_calls_come_back_from_its_sink(tmp_path: Any) -> None:
    from mailport_local.calls import CallRecorder, read_sink

    sink = tmp_path / "child.calls"
    recorder = CallRecorder(sink=str(sink), enabled=True)
    put = Call(
        "s", "PopFetchFunction", "s3", "PutObject", {"Bucket": "b", "Key": "k", "Body": b"x"}
    )
    recorder.add(put)
    with sink.open("a") as f:
        f.write('{"stack": "s", "caller": "Pop')  # the child was killed mid-line
    (back,) = read_sink(str(sink))
    assert back == Call(
        "s", "PopFetchFunction", "s3", "PutObject", {"Bucket": "b", "Key": "k", "Body": None}
    )
    assert accesses(back, ARNS) == [Access("s3:PutObject", "arn:aws:s3:::b/k")]


def test_a_recorder_left_off_keeps_nothing_and_a_call_keeps_names_not_mail() -> None:
    from mailport_local.calls import CallRecorder, _slim

    off = CallRecorder()  # make run's: its sessions would otherwise keep every call
    off.add(Call("s", "Fn", "s3", "PutObject", {"Bucket": "b", "Key": "k"}))
    assert off.snapshot() == []
    put = {"Bucket": "b", "Key": "k", "Body": b"x" * 1000, "Metadata": {"a": "b"}}
    assert _slim(put) == {"Bucket": "b", "Key": "k"}
    tx = {"TransactItems": [{"Put": {"TableName": "t", "Item": {"PK": {"S": "secret"}}}}]}
    assert _slim(tx) == {"TransactItems": [{"Put": {"TableName": "t"}}]}
    batch = {"RequestItems": {"t": [{"PutRequest": {"Item": {"PK": {"S": "x"}}}}]}}
    assert _slim(batch) == {"RequestItems": {"t": None}}
