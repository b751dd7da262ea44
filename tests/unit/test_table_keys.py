"""The table's key format lives in ``mailport.adapters.keys`` alone: its builders and parsers
agree, and no other module of mailport or bench writes a key prefix itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mailport.adapters import keys
from mailport.domain.accounts import schedule_slot
from mailport.domain.mailbox import Owner

ROOT = Path(__file__).resolve().parents[2]
OWNER = Owner("acme-corp", "0f8fad5b-d9cb-469f-a165-70867728950e")

# A string (or f-string) that starts with a key prefix, or is a bare key marker. "COUNT" is
# left out: it is also DynamoDB's ``Select`` value.
_PREFIXES = (
    "USER|TENANT|POPSEEN|JOBMSG|DUE|SLOT|WAIT|FOLDER|FNAME|FP|MSG|UPLOAD|ACCOUNT|RUN|JOB|JOBFP|JOBREPORT|JOBPLAN"
    "|IMAPTPL|OAUTHFLOW|OAUTH|U|F"
)
_MARKERS = "MIGQ|MIGSTART|MIGRUN|MIGCOPY|RULES|ACCOUNTS|FLOW|TENANT|JOBS|SEALKEY|CREATED"
KEY_LITERAL = re.compile(rf"""[fFrRbB]?["'](?:(?:{_PREFIXES})#|#F#|(?:{_MARKERS})["'])""")


def sources() -> list[Path]:
    found = [*(ROOT / "layers/core/mailport").rglob("*.py"), *(ROOT / "bench").glob("*.py")]
    return [p for p in found if p != ROOT / "layers/core/mailport/adapters/keys.py"]


def test_the_scan_sees_a_key_literal() -> None:
    for line in ('pk = f"USER#{t}#{u}"', "sk = 'MIGCOPY'", 'x = "UPLOAD#b#F#0001"', 'k = "U#1"'):
        assert KEY_LITERAL.search(line), line
    for line in ('"ExpressionAttributeNames": {"#n": "name"}', '"Select": "COUNT"', "``USER#<t>``"):
        assert not KEY_LITERAL.search(line), line


def test_no_key_prefix_is_written_outside_the_keys_module() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in sources()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if KEY_LITERAL.search(line)
    ]
    assert len(sources()) > 30 and found == []


def test_the_user_partition_round_trips() -> None:
    pk = keys.user_pk(OWNER)
    assert pk == "USER#acme-corp#0f8fad5b-d9cb-469f-a165-70867728950e"
    assert keys.owner_of(pk) == OWNER
    assert pk.startswith(keys.user_prefix(OWNER.tenant_id))
    assert not keys.user_pk(Owner("acme", "u")).startswith(keys.user_prefix("acme-corp"))


@pytest.mark.parametrize("folder_id", ["inbox", "f-1#odd", ""])
def test_folder_and_message_keys_round_trip(folder_id: str) -> None:
    assert keys.folder_id_of(keys.folder_sk(folder_id)) == folder_id
    assert keys.message_id_of(keys.message_sk(f"m{folder_id}")) == f"m{folder_id}"
    assert keys.folder_sk(folder_id).startswith(keys.FOLDER_PREFIX)


def test_name_locks_ignore_case_and_mark_the_root() -> None:
    assert (
        keys.name_lock_sk(None, "Straße")
        == keys.name_lock_sk(None, "STRASSE")
        == ("FNAME#-#strasse")
    )
    assert keys.name_lock_sk("p1", "A") != keys.name_lock_sk("p2", "A")


@pytest.mark.parametrize("index", [0, 7, 999, 9999])
def test_upload_file_keys_round_trip(index: int) -> None:
    sk = keys.file_sk("b1", index)
    assert keys.file_index_of(sk) == index
    assert sk.startswith(keys.files_prefix("b1")) and sk.startswith(keys.batch_sk("b1"))
    assert not keys.batch_sk("b1").startswith(keys.files_prefix("b1"))  # the head is apart
    assert keys.file_sk("b1", 3) == "UPLOAD#b1#F#0003"


def test_run_and_receipt_keys_round_trip() -> None:
    sk = keys.run_sk("a1", "20261128T120000-abc")
    assert sk.startswith(keys.runs_prefix("a1")) and keys.run_id_of(sk) == "20261128T120000-abc"
    assert keys.receipt_of(keys.uidl_sk("GmailId#1")) == (True, "GmailId#1")
    assert keys.receipt_of(keys.content_sk("f" * 64)) == (False, "f" * 64)
    assert keys.seen_pk(OWNER, "a1") == f"POPSEEN#{OWNER.tenant_id}#{OWNER.user_id}#a1"


def test_schedule_keys_round_trip() -> None:
    due = keys.due_keys(OWNER, "a1")
    slot = schedule_slot("a1")
    assert due["GSI2PK"] == keys.due_partition(slot // 60)
    assert keys.due_of(due["GSI2SK"]) == (OWNER, "a1", slot)


def test_queue_keys_round_trip_and_sort_by_registration() -> None:
    first = keys.queue_order("2026-11-28T10:00:00+00:00", OWNER, "j1")
    later = keys.queue_order("2026-11-28T10:00:01+00:00", Owner("a", "b"), "j0")
    assert keys.queued_of(first) == (OWNER, "j1")
    assert first < later


def test_copy_slot_keys_round_trip() -> None:
    assert [keys.slot_of(keys.slot_sk(n)) for n in (0, 9, 49)] == [0, 9, 49]
    assert keys.slot_of(keys.waiter_sk("j1")) is None
    assert keys.slot_sk(3).startswith(keys.SLOT_PREFIX)
    assert (keys.running_pk(), keys.running_pk("acme")) == ("MIGRUN", "MIGRUN#acme")


def test_tenant_lists_and_other_partitions() -> None:
    gsi3 = keys.tenant_keys(keys.JOBS, "acme", "2026-11-28", "u1", "j1")
    assert gsi3 == {"GSI3PK": "TENANT#acme#JOBS", "GSI3SK": "2026-11-28#u1#j1"}
    assert gsi3["GSI3PK"] == keys.tenant_partition(keys.JOBS, "acme")
    assert keys.tenant_partition(keys.ACCOUNTS, "acme") == "TENANT#acme#ACCOUNTS"
    assert keys.flow_key("st") == ("OAUTHFLOW#st", "FLOW")
    assert keys.connection_sk("c1").startswith(keys.CONNECTION_PREFIX)
    assert keys.template_sk("t1").startswith(keys.TEMPLATE_PREFIX)
    assert keys.job_sk("j1").startswith(keys.JOB_PREFIX)
    assert keys.account_sk("a1").startswith(keys.ACCOUNT_PREFIX)
    assert keys.job_partition(OWNER, "j1") != keys.contents_pk(OWNER, "j1")


@pytest.mark.parametrize(
    ("built", "stored"),
    [
        # What items already in the table carry: a builder that changes strands them.
        (keys.tenant_pk("t"), "TENANT#t"),
        (keys.member_sk("u"), "USER#u"),
        (keys.template_sk("x"), "IMAPTPL#x"),
        (keys.user_pk(Owner("t", "u")), "USER#t#u"),
        (keys.folder_sk("f"), "FOLDER#f"),
        (keys.name_lock_sk("p", "Inbox"), "FNAME#p#inbox"),
        (keys.fingerprint_sk("f", "fp"), "FP#f#fp"),
        (keys.message_sk("m"), "MSG#m"),
        (keys.folder_partition(Owner("t", "u"), "f"), "FOLDER#t#u#f"),
        (keys.folder_order("2026-01-02T03:04:05", "m"), "2026-01-02T03:04:05#m"),
        (keys.job_partition(Owner("t", "u"), "j"), "JOBMSG#t#u#j"),
        (keys.batch_sk("b"), "UPLOAD#b"),
        (keys.account_sk("a"), "ACCOUNT#a"),
        (keys.run_sk("a", "r"), "RUN#a#r"),
        (keys.seen_pk(Owner("t", "u"), "a"), "POPSEEN#t#u#a"),
        (keys.uidl_sk("x"), "U#x"),
        (keys.content_sk("fp"), "F#fp"),
        (keys.due_partition(7), "DUE#7"),
        (keys.job_sk("j"), "JOB#j"),
        (keys.queue_order("c", Owner("t", "u"), "j"), "c#t#u#j"),
        (keys.slot_sk(4), "SLOT#4"),
        (keys.waiter_sk("j"), "WAIT#j"),
        (keys.contents_pk(Owner("t", "u"), "j"), "JOBFP#t#u#j"),
        (keys.report_pk(Owner("t", "u"), "j"), "JOBREPORT#t#u#j"),
        (keys.plan_pk(Owner("t", "u"), "j"), "JOBPLAN#t#u#j"),
        (keys.plan_sk(7), "00007"),
        (keys.CREATED, "CREATED"),
        (keys.report_sk(3, 4_294_967_295), "00003#4294967295"),
        (keys.report_folder_prefix(12), "00012#"),
        (keys.connection_sk("c"), "OAUTH#c"),
        (
            (keys.QUEUE, keys.STARTING, keys.COPYING, keys.COUNT),
            ("MIGQ", "MIGSTART", "MIGCOPY", "COUNT"),
        ),
        (
            (keys.TENANT, keys.RULES, keys.ACCOUNTS, keys.JOBS),
            ("TENANT", "RULES", "ACCOUNTS", "JOBS"),
        ),
        ((keys.GSI1, keys.GSI2, keys.GSI3), ("GSI1", "GSI2", "GSI3")),
    ],
)
def test_the_format_is_the_one_the_table_holds(built: object, stored: object) -> None:
    assert built == stored


@pytest.mark.parametrize(
    ("text", "ok"),
    [("00003#0000000007", True), ("3#7", False), ("00003#000000000x", False), ("", False)],
)
def test_a_report_cursor_is_a_report_sort_key(text: str, ok: bool) -> None:
    assert keys.is_report_sk(text) is ok


def test_an_account_is_due_in_its_slot_of_the_window() -> None:
    slot = schedule_slot("a1")
    assert keys.due_keys(Owner("t", "u"), "a1") == {
        "GSI2PK": f"DUE#{slot // 60}",
        "GSI2SK": f"{slot:03d}#t#u#a1",
    }
