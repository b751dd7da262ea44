"""Reading a big message over HTTP (#23): uploaded through the ingest function, indexed with
its part map, its content and a part answered by the API as the whole read answers them.
"""

from __future__ import annotations

import json
import urllib.parse

import api_views_reading
import boto3
import pytest
import requests

from mailport.adapters import keys
from mailport.domain.mailbox import Owner
from mailport.domain.reading import read
from mailport_local.stack import LocalStack
from tests.e2e.test_upload import start, upload_all, wait_done
from tests.integration.test_ranged_reading import big_message
from tests.support.api import login

pytestmark = pytest.mark.stack


def test_a_big_message_reads_by_its_map_as_it_reads_whole(local_stack: LocalStack) -> None:
    h = login(local_stack, "big-reader@acme.example", "acme")
    raw = big_message()
    batch = start(local_stack, h, {"big.eml": raw})
    upload_all(batch, {"big.eml": raw})
    done = wait_done(local_stack, h, batch["id"])
    assert {f["status"] for f in done["files"]} == {"stored"}, done
    page = requests.get(
        f"{local_stack.api_url}/v1/folders/inbox/messages", headers=h, timeout=10
    ).json()
    (listed,) = [m for m in page["messages"] if m["subject"] == "お見積り"]
    message_id = listed["id"]

    me = requests.get(f"{local_stack.api_url}/v1/me", headers=h, timeout=10).json()
    item = boto3.client("dynamodb").get_item(
        TableName=local_stack.physical_id("MailportTable"),
        Key={
            "PK": {"S": keys.user_pk(Owner(me["tenant"]["id"], me["user"]["id"]))},
            "SK": {"S": keys.message_sk(message_id)},
        },
    )
    assert "part_map" in item.get("Item", {}), "the big message was indexed without its map"

    quoted = urllib.parse.quote(message_id, safe="")
    answer = requests.get(
        f"{local_stack.api_url}/v1/messages/{quoted}/content", headers=h, timeout=10
    )
    assert answer.status_code == 200, answer.text
    whole = api_views_reading.content(read(raw, lambda p: f"/v1/messages/{quoted}/parts/{p}"))
    assert answer.json() == json.loads(json.dumps(whole))
    pdf = requests.get(f"{local_stack.api_url}/v1/messages/{quoted}/parts/2", headers=h, timeout=10)
    assert pdf.status_code == 200 and pdf.content == b"%PDF" * 625_000
