"""Ranged reading against the emulator over HTTP (#23): S3RawStore's ranged get, and a big
message imported through the Importer (both index paths), its part map on its DynamoDB item,
read back by ranges with the answers the whole read gives.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import api_views_reading
import boto3
import pytest

from mailport.adapters import keys
from mailport.adapters.clients import Clients
from mailport.adapters.dynamodb_mailbox import DynamoMailbox
from mailport.adapters.dynamodb_message_index import DynamoMessageIndex
from mailport.adapters.s3 import S3RawStore
from mailport.domain.mailbox import Owner, Source, SourceType, message_id_for
from mailport.domain.reading import part, read
from mailport.errors import NotFound
from mailport.usecases.importing import Importer, ImportRequest
from mailport.usecases.index_group import GroupIndexer
from mailport.usecases.mailbox import MailboxService
from mailport_local.stack import LocalStack
from tests.integration.test_s3_adapters import bucket
from tests.support.reading_mail import JAPANESE, PNG, base64_part, multipart
from tests.support.reading_mail import part as mime_part

pytestmark = pytest.mark.stack
__all__ = ["bucket"]  # the fixture, shared


class Recorder:
    """Every S3 request's operation and parameters, through a session's events."""

    def __init__(self) -> None:
        self.session = boto3.session.Session()
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.session.events.register("provide-client-params.s3", self._seen)

    def _seen(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.name, dict(params)))


def test_a_ranged_get_reads_only_its_range(bucket: str) -> None:
    recorder = Recorder()
    store = S3RawStore(bucket, client=Clients(recorder.session).s3)
    raw = bytes(range(256)) * 40
    store.put("mail/t/u/m.eml", raw)
    assert store.get_range("mail/t/u/m.eml", 0, 10) == raw[:10]
    assert store.get_range("mail/t/u/m.eml", 300, 301) == raw[300:301]
    assert store.get_range("mail/t/u/m.eml", 10_000, 20_000) == raw[10_000:]  # cut at the end
    assert store.get_range("mail/t/u/m.eml", len(raw), len(raw) + 16) == b""  # S3's 416
    with pytest.raises(NotFound):
        store.get_range("mail/t/u/absent.eml", 0, 10)
    ranges = [p.get("Range") for name, p in recorder.calls if name == "GetObject"]
    assert ranges == [
        "bytes=0-9",
        "bytes=300-300",
        "bytes=10000-19999",
        f"bytes={len(raw)}-{len(raw) + 15}",
        "bytes=0-9",
    ]


def big_message() -> bytes:
    """Text, HTML with an inline logo, and a 2.5 MB attachment: over the map's threshold."""
    html = f'<p>{JAPANESE}</p><img src="cid:logo@example.jp">'.encode()
    related = multipart(
        "related",
        mime_part("text/html; charset=utf-8", html, "Content-Transfer-Encoding: 8bit"),
        base64_part("image/png", PNG, "Content-ID: <logo@example.jp>"),
        boundary="rel",
        subject="",
    )
    alternative = multipart(
        "alternative",
        base64_part("text/plain; charset=shift_jis", JAPANESE.encode("cp932")),
        related,
        boundary="alt",
        subject="",
    )
    attached = base64_part(
        "application/pdf",
        b"%PDF" * 625_000,
        'Content-Disposition: attachment; filename="見積書.pdf"',
    )
    return multipart("mixed", alternative, attached, boundary="mix", subject="お見積り")


def url(part_id: str) -> str:
    return f"/v1/messages/m/parts/{part_id}"


@pytest.mark.parametrize("grouped", [False, True], ids=["one_by_one", "grouped"])
def test_a_big_message_is_read_by_ranges_as_it_reads_whole(
    local_stack: LocalStack, grouped: bool
) -> None:
    owner = Owner("acme", f"u-{uuid.uuid4().hex[:10]}")
    recorder = Recorder()
    clients = Clients(recorder.session)
    table = local_stack.physical_id("MailportTable")
    mailbox = DynamoMailbox(table, client=clients.dynamodb)
    raw_store = S3RawStore(local_stack.physical_id("MailBucket"), client=clients.s3)
    group = GroupIndexer(DynamoMessageIndex(table, client=clients.dynamodb)) if grouped else None
    importer, service = (
        Importer(mailbox, raw_store, group=group),
        MailboxService(mailbox, raw_store),
    )
    raw = big_message()
    for n, body in enumerate((raw, multipart("mixed", base64_part("text/plain", b"small")))):
        importer.store(
            ImportRequest(
                owner=owner,
                raw=body,
                folder_id="inbox",
                source=Source(SourceType.UPLOAD, "b1"),
                message_id=message_id_for("upload", "b1", str(n)),
            )
        )
    big_id, small_id = (message_id_for("upload", "b1", str(n)) for n in range(2))
    items = {
        i: boto3.client("dynamodb").get_item(
            TableName=table, Key={"PK": {"S": keys.user_pk(owner)}, "SK": {"S": keys.message_sk(i)}}
        )["Item"]
        for i in (big_id, small_id)
    }
    assert "part_map" in items[big_id]
    assert "part_map" not in items[small_id]  # ordinary mail: the item as before

    recorder.calls.clear()
    answer = api_views_reading.content(service.content(owner, big_id, url))
    assert json.dumps(answer) == json.dumps(api_views_reading.content(read(raw, url)))
    gets = [p for name, p in recorder.calls if name == "GetObject"]
    assert len(gets) == 1 and gets[0]["Range"].startswith("bytes=")
    first, last = (int(n) for n in gets[0]["Range"][len("bytes=") :].split("-"))
    assert last - first < 2_000

    recorder.calls.clear()
    whole = part(raw, "2")
    found = service.part(owner, big_id, "2")
    assert (found.content_type, found.filename, found.data) == (
        whole.content_type if whole else None,
        "見積書.pdf",
        b"%PDF" * 625_000,
    )
    gets = [p for name, p in recorder.calls if name == "GetObject"]
    assert len(gets) == 1 and "Range" in gets[0]
