"""A canary password goes through every path that handles one: a POP account (a wrong
password refused, then the right one, a fetch), an IMAP migration (a refused preview, then a
full run) — and is then looked for everywhere it must never be: every line the functions
logged (their stdout and stderr, EMF included), every API answer, every DynamoDB item, and
every execution's history.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest
import requests

from mailport_local.stack import LocalStack
from tests.e2e.test_migration import ended, wait_job
from tests.e2e.test_pop_accounts import mail, wait_run
from tests.support.api import login, pop_form
from tests.support.dovecot import Dovecot

pytestmark = [pytest.mark.stack, pytest.mark.dovecot]


def _table_items(stack: LocalStack) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in (
        boto3.client("dynamodb")
        .get_paginator("scan")
        .paginate(TableName=stack.physical_id("MailportTable"))
    ):
        items += page["Items"]
    return items


def _histories(stack: LocalStack, job_id: str) -> list[Any]:
    sfn = boto3.client("stepfunctions")
    machine = stack.physical_id("MigrationStateMachine")
    return [
        sfn.get_execution_history(executionArn=e["executionArn"], maxResults=1000)
        for e in sfn.list_executions(stateMachineArn=machine, maxResults=1000)["executions"]
        if e["name"].startswith(job_id)
    ]


def test_a_canary_password_is_nowhere(
    local_stack: LocalStack, dovecot: Dovecot, capfd: pytest.CaptureFixture[str]
) -> None:
    api = local_stack.api_url
    h = login(local_stack, f"canary-{uuid.uuid4().hex[:6]}@acme.example", "acme")
    canary = f"Canary-{uuid.uuid4().hex}"
    wrong = f"{canary}-wrong"
    answers: list[str] = []

    def call(method: str, path: str, **kwargs: Any) -> requests.Response:
        r = requests.request(method, f"{api}{path}", headers=h, timeout=60, **kwargs)
        answers.append(r.text)
        return r

    # POP: refused with a wrong password, registered with the right one, fetched.
    pop_user = f"canary-pop-{uuid.uuid4().hex[:6]}"
    dovecot.add_user(pop_user, canary)
    dovecot.seed_maildir(pop_user, "INBOX", [(mail(i), set(), 1_700_000_000.0) for i in range(3)])
    refused = call("POST", "/v1/accounts", json=pop_form(dovecot.pop3s_port, pop_user, wrong))
    assert refused.status_code == 422, refused.text
    created = call("POST", "/v1/accounts", json=pop_form(dovecot.pop3s_port, pop_user, canary))
    assert created.status_code == 201, created.text
    account = created.json()["id"]
    run = call("POST", f"/v1/accounts/{account}/fetch").json()
    assert wait_run(local_stack, h, account, run["id"])["status"] == "succeeded"

    # IMAP: a preview refused, then a whole migration.
    imap_user = f"canary-imap-{uuid.uuid4().hex[:6]}"
    dovecot.add_user(imap_user, canary)
    dovecot.seed_maildir(imap_user, "INBOX", [(mail(i), set(), 1_700_000_000.0) for i in range(5)])
    connection = {
        "type": "manual",
        "host": "127.0.0.1",
        "port": dovecot.imaps_port,
        "ssl": True,
        "username": imap_user,
    }
    preview = call(
        "POST", "/v1/migrations/preview", json={"connection": {**connection, "password": wrong}}
    )
    assert preview.status_code == 422, preview.text
    job = call(
        "POST",
        "/v1/migrations",
        json={"connection": {**connection, "password": canary}, "agreed": True},
    ).json()
    done = wait_job(api, h, job["id"], ended)
    assert done["state"] == "completed", done
    answers += [call("GET", path).text for path in ("/v1/accounts", "/v1/migrations")]

    logged = capfd.readouterr()
    places = {
        "logs": logged.out + logged.err,
        "API answers": "\n".join(answers),
        "DynamoDB items": json.dumps(_table_items(local_stack), default=repr),
        "execution histories": json.dumps(_histories(local_stack, job["id"]), default=str),
    }
    assert len(places["logs"]) > 1000  # the functions did log (the scan saw something)
    for where, text in places.items():
        for secret in (canary, wrong):
            assert secret not in text, f"the password is in the {where}"
