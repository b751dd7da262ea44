"""GSI1 projects only what its queries read (template.yaml), and the code reads nothing else
from its answers: a folder's listing stays one Query a page, the migration queue reads keys.

moto does project INCLUDE on an index Query (tests/integration/test_mailbox.py shows it on the
local stack); here the index answer is built from the template's own projection, so a read of
an attribute it leaves out fails without a stack.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

import api_views
import pytest

from mailport.adapters import keys
from mailport.adapters.dynamo_table import from_ddb, to_ddb
from mailport.adapters.dynamodb_job_format import queue_sort_key
from mailport.adapters.dynamodb_job_queue import DynamoJobQueue
from mailport.adapters.dynamodb_mailbox import LISTED_ATTRIBUTES, DynamoMailbox
from mailport.domain.mailbox import Flags, Owner, Source, SourceType, StoredMessage
from mailport.domain.message import Address, MessageSummary
from mailport.domain.migration import JobState, MigrationJob, SourceServer
from mailport_local.provision import Provisioner
from mailport_local.template import load_template
from tests.unit.fakes import RecordingClient

TABLE = load_template()["Resources"]["MailportTable"]["Properties"]
OWNER = Owner("acme", "u1")
NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
JOB = MigrationJob(
    "j1",
    "acme",
    "u1",
    SourceServer("generic", "imap.example.com", 993, True, "me"),
    JobState.QUEUED,
    NOW,
)


def gsi1() -> dict[str, Any]:
    (index,) = (g for g in TABLE["GlobalSecondaryIndexes"] if g["IndexName"] == keys.GSI1)
    return dict(index)


def projected_names() -> set[str]:
    """What a GSI1 answer can hold: the table's and the index's keys, and NonKeyAttributes."""
    projection = gsi1()["Projection"]
    assert projection["ProjectionType"] == "INCLUDE"
    key_names = [k["AttributeName"] for k in (*TABLE["KeySchema"], *gsi1()["KeySchema"])]
    return {*key_names, *projection["NonKeyAttributes"]}


def index_entry(item: Mapping[str, Any]) -> dict[str, Any]:
    """The copy of ``item`` GSI1 holds, as DynamoDB projects it."""
    names = projected_names()
    return {k: v for k, v in item.items() if k in names}


class ReadRecorder(Mapping[str, Any]):
    """An item that records every attribute asked of it (``get``, ``in`` and ``[]``)."""

    def __init__(self, item: Mapping[str, Any]) -> None:
        self._item = dict(item)
        self.read: set[str] = set()

    def __getitem__(self, name: str) -> Any:
        self.read.add(name)
        return self._item[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._item)

    def __len__(self) -> int:
        return len(self._item)


def _summary(**changes: Any) -> MessageSummary:
    base: dict[str, Any] = {
        "subject": "Quarterly figures",
        "from_": (Address("Ann Example", "ann@example.com"),),
        "to": (Address("", "me@acme.example"), Address("Bo", "bo@acme.example")),
        "cc": (Address("Cy", "cy@example.org"),),
        "date": dt.datetime(2026, 11, 27, 8, 30, tzinfo=dt.UTC),
        "message_id": "<q4@example.com>",
        "attachment_names": ("figures.xlsx", "notes.pdf"),
        "has_attachments": True,
        "size": 48_213,
    }
    return MessageSummary(**{**base, **changes})


MESSAGES = [
    StoredMessage(
        "m1",
        "inbox",
        _summary(),
        Flags(seen=True, flagged=True),
        Source(SourceType.IMAP, "j1"),
        "f" * 64,
        "raw/acme/u1/m1",
        NOW,
        icon="blue",
        job_id="j1",  # a migration's message: GSI2's keys too, which GSI1 leaves out
        header_message_id="<q4@example.com>",
        sha256="ab" * 32,
    ),
    StoredMessage(
        "m2",
        "inbox",
        _summary(date=None, cc=(), attachment_names=(), has_attachments=False, subject=""),
        Flags(answered=True),
        Source(SourceType.POP, "a1"),
        "e" * 64,
        "raw/acme/u1/m2",
        NOW,
    ),
]


def test_the_template_projects_exactly_what_the_listing_reads() -> None:
    projection = gsi1()["Projection"]
    listed = projection["NonKeyAttributes"]
    assert len(listed) == len(set(listed)) <= 20  # DynamoDB's limit for one index
    # Both ways: nothing read that is not projected, nothing projected that nobody reads.
    assert set(listed) == set(LISTED_ATTRIBUTES)


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: m.message_id)
def test_the_listing_reads_only_attributes_gsi1_projects(message: StoredMessage) -> None:
    mailbox = DynamoMailbox("tbl", client=object)
    item = mailbox._message_item(OWNER, message)
    assert set(item) - projected_names()  # the index copy does leave something out
    answer = ReadRecorder(index_entry(item))
    mailbox._message(answer, message.folder_id)
    assert answer.read <= projected_names(), answer.read - projected_names()


def test_a_listed_page_is_one_query_and_shows_what_the_message_shows() -> None:
    mailbox = DynamoMailbox("tbl", client=object)
    full = [to_ddb(mailbox._message_item(OWNER, m)) for m in MESSAGES]
    client = RecordingClient(answers=[{"Items": [index_entry(i) for i in full]}])
    listed, cursor = DynamoMailbox("tbl", client=lambda: client).list_messages(
        OWNER, "inbox", 50, None
    )
    ((method, kwargs),) = client.calls
    assert (method, kwargs["IndexName"], cursor) == ("query", keys.GSI1, None)
    # Everything the API shows of a listed message is what it shows of the message itself.
    whole = [DynamoMailbox._message(from_ddb(i)) for i in full]
    assert [api_views.message(m) for m in listed] == [api_views.message(m) for m in whole]
    assert [(m.fingerprint, m.raw_key) for m in listed] == [("", "")] * len(MESSAGES)


def test_the_migration_queue_reads_only_the_index_keys() -> None:
    entry = {
        "PK": keys.user_pk(OWNER),
        "SK": keys.job_sk(JOB.job_id),
        "GSI1PK": keys.QUEUE,
        "GSI1SK": queue_sort_key(JOB),
    }
    assert set(entry) <= projected_names()
    client = RecordingClient(answers=[{"Items": [to_ddb(entry)]}, {"Items": [to_ddb(entry)]}])
    queue = DynamoJobQueue("tbl", client=lambda: client)
    expected = [(OWNER, JOB.job_id)]
    assert queue.queued(10) == expected
    assert queue.starting(10) == expected
    assert all(kwargs["IndexName"] == keys.GSI1 for _, kwargs in client.calls)


class _Session:
    def __init__(self) -> None:
        self.client_ = RecordingClient()

    def client(self, service: str) -> RecordingClient:
        assert service == "dynamodb"
        return self.client_


def test_the_local_table_takes_its_indexes_from_the_template() -> None:
    session = _Session()
    template = load_template()
    provisioner = Provisioner(template, session=session)  # type: ignore[arg-type]
    provisioner._table("MailportTable", template["Resources"]["MailportTable"]["Properties"])
    ((method, kwargs),) = session.client_.calls
    assert method == "create_table"
    assert kwargs["GlobalSecondaryIndexes"] == TABLE["GlobalSecondaryIndexes"]
