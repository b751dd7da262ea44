"""Downloads too big for the API's answer (Lambda answers at most 6 MB), over HTTP on the local
stack: a message with a 5 MB attachment is refused whole and in part with 409 and clear
words, and its links download both from the store (moto's S3 over HTTP) with the file's
name; a small part still comes from the API itself; nobody else gets a link.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any

import boto3
import pytest
import requests

from mailport_local.stack import LocalStack
from tests.e2e.test_upload import start, upload_all, wait_done
from tests.support.api import login

pytestmark = pytest.mark.stack
BIG = 5_000_000  # decoded; about 6.8 MB as base64 in the message


def big_message(tag: str, data: bytes) -> bytes:
    m = EmailMessage(policy=SMTP)
    m["From"] = "佐藤 <sato@example.jp>"
    m["To"] = "me@acme.example"
    m["Subject"] = f"大きな添付 {tag}"
    m["Message-ID"] = f"<big-{tag}@example.jp>"
    m.set_content("資料を添付します。")
    m.add_attachment(data, maintype="application", subtype="pdf", filename="見積書 2026.pdf")
    m.add_attachment(b"small", maintype="text", subtype="plain", filename="note.txt")
    return m.as_bytes()


def stored(stack: LocalStack, h: dict[str, str], raw: bytes) -> str:
    files = {"big.eml": raw}
    batch = start(stack, h, files)
    upload_all(batch, files)
    state = wait_done(stack, h, batch["id"], timeout=90)
    assert [f["status"] for f in state["files"]] == ["stored"], state
    listed = requests.get(f"{stack.api_url}/v1/folders/inbox/messages", headers=h, timeout=10)
    [message] = listed.json()["messages"]
    return str(message["id"])


def link(stack: LocalStack, h: dict[str, str], path: str) -> dict[str, Any]:
    r = requests.get(f"{stack.api_url}{path}/link", headers=h, timeout=30)
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    expires = dt.datetime.fromisoformat(answer["expires_at"])
    assert dt.timedelta(0) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(minutes=5)
    return answer


def test_a_big_message_and_its_big_part_download_through_links(local_stack: LocalStack) -> None:
    api, tag = local_stack.api_url, uuid.uuid4().hex[:6]
    h = login(local_stack, f"big-{tag}@acme.example", "acme")
    data = os.urandom(BIG)
    raw = big_message(tag, data)
    message_id = stored(local_stack, h, raw)
    content = requests.get(f"{api}/v1/messages/{message_id}/content", headers=h, timeout=30)
    parts = {p["filename"]: p for p in content.json()["parts"]}
    pdf, note = parts["見積書 2026.pdf"], parts["note.txt"]
    assert pdf["size"] == BIG

    # Too big for the API's own answer: 409, saying what to do, in the reader's language.
    for path in (f"/v1/messages/{message_id}/raw", f"/v1/messages/{message_id}/parts/{pdf['id']}"):
        refused = requests.get(f"{api}{path}", headers={**h, "Accept-Language": "ja"}, timeout=30)
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["code"] == "limit_exceeded" and "/link" in error["message"], error
        assert "ダウンロード" in error["message"]

    # The part's link: decoded, under its name; asked again, the same bytes (the copy kept).
    for _ in range(2):
        url = link(local_stack, h, f"/v1/messages/{message_id}/parts/{pdf['id']}")["url"]
        got = requests.get(url, timeout=60)  # no token: the link is the permission
        assert got.status_code == 200 and got.content == data
        assert (
            "filename*=UTF-8''%E8%A6%8B%E7%A9%8D%E6%9B%B8%202026.pdf"
            in got.headers["Content-Disposition"]
        )
        assert got.headers["Content-Type"] == "application/octet-stream"
    # The message's link: its bytes exactly as received.
    url = link(local_stack, h, f"/v1/messages/{message_id}/raw")["url"]
    got = requests.get(url, timeout=60)
    assert got.status_code == 200 and got.content == raw
    assert f'filename="{message_id}.eml"' in got.headers["Content-Disposition"]
    # A small part still comes from the API itself.
    small = requests.get(
        f"{api}/v1/messages/{message_id}/parts/{note['id']}", headers=h, timeout=30
    )
    assert small.status_code == 200 and small.content == b"small"

    # Nobody else gets a link, nor one for a part the message does not have.
    other = login(local_stack, f"big-other-{tag}@acme.example", "acme")
    for path in (f"/v1/messages/{message_id}/raw", f"/v1/messages/{message_id}/parts/{pdf['id']}"):
        r = requests.get(f"{api}{path}/link", headers=other, timeout=30)
        assert r.status_code == 404, r.text
    r = requests.get(f"{api}/v1/messages/{message_id}/parts/9/link", headers=h, timeout=30)
    assert r.status_code == 404, r.text
    r = requests.get(f"{api}/v1/messages/{message_id}/parts/x/link", headers=h, timeout=30)
    assert r.status_code == 404, r.text

    # Deleted for good: its bytes and its decoded copy go with it.
    copies = boto3.client("s3").list_objects_v2(
        Bucket=local_stack.physical_id("MailBucket"), Prefix="parts/"
    )
    assert any(message_id in o["Key"] for o in copies.get("Contents", []))
    r = requests.delete(f"{api}/v1/messages/{message_id}", headers=h, timeout=30)
    assert r.status_code == 204, r.text
    copies = boto3.client("s3").list_objects_v2(
        Bucket=local_stack.physical_id("MailBucket"), Prefix="parts/"
    )
    assert not any(message_id in o["Key"] for o in copies.get("Contents", []))
