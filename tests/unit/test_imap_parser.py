"""IMAP parser: pure functions from response bytes to values, tested with bytes (no sockets).

The data is shaped as imaplib hands it over: one ``bytes`` per untagged line without its tag
and name, ``(line, literal)`` for a line that carries a literal, ``b""`` for the rest of
that line.
"""

from __future__ import annotations

import datetime as dt

import pytest

from mailport.adapters.imap.parser import (
    MAX_TEXT,
    backoff_s,
    by_uid,
    decode_name,
    examined,
    folder_from_list,
    headers_of,
    is_transient,
    parse_list,
    parse_message,
    plan_chunks,
    quote_name,
    scrub,
    search_uids,
    sizes_of,
    special_use,
    text,
    throttle_s,
    uid_set,
)
from mailport.domain.remote import ImapFolder

# -- commands -------------------------------------------------------------------------


def test_uid_set_compresses_ranges() -> None:
    assert uid_set([9, 1, 2, 3, 7, 10, 3]) == "1:3,7,9:10"
    assert uid_set([5]) == "5"
    with pytest.raises(ValueError):
        uid_set([])


def test_plan_chunks_by_count_and_bytes() -> None:
    sized = [(uid, 10) for uid in range(1, 8)]
    assert [[u for u, _ in c] for c in plan_chunks(sized, 3, 1000)] == [[1, 2, 3], [4, 5, 6], [7]]
    assert [[u for u, _ in c] for c in plan_chunks(sized, 50, 25)] == [[1, 2], [3, 4], [5, 6], [7]]
    # A message bigger than the byte budget goes alone.
    assert [[u for u, _ in c] for c in plan_chunks([(1, 5), (2, 99), (3, 5)], 50, 20)] == [
        [1],
        [2],
        [3],
    ]
    assert plan_chunks([], 50, 20) == []


# -- folders --------------------------------------------------------------------------


def test_special_use_and_selectable() -> None:
    assert special_use(["\\HasNoChildren", "\\sent", "\\Junk", "\\Marked"]) == {"\\Sent", "\\Junk"}
    f = folder_from_list((b"\\Noselect", b"\\HasChildren"), b"/", b"&ZeVnLIqe-/Sub")
    assert f == ImapFolder("日本語/Sub", b"&ZeVnLIqe-/Sub", "/", frozenset(), selectable=False)
    g = folder_from_list((b"\\Trash",), None, 2024)
    assert (g.name, g.raw_name, g.delimiter, g.special_use) == (
        "2024",
        b"2024",
        None,
        frozenset({"\\Trash"}),
    )


def test_parse_list_reads_quoted_atom_nil_and_literal_names() -> None:
    data = [
        b'(\\HasNoChildren \\Sent) "/" "Sent Items"',
        b"(\\Noselect \\HasChildren) NIL INBOX",
        (b'(\\HasNoChildren) "." {13}', b'Caf&AOk-s "1"'),  # a name sent as a literal
        b"",  # the rest of the literal's line
        b'(\\NonExistent) "/" "&ZeVnLIqe-"',
    ]
    folders = parse_list(data)
    assert [(f.name, f.raw_name, f.delimiter) for f in folders] == [
        ("Sent Items", b"Sent Items", "/"),
        ("INBOX", b"INBOX", None),
        ('Cafés "1"', b'Caf&AOk-s "1"', "."),
        ("日本語", b"&ZeVnLIqe-", "/"),
    ]
    assert [f.selectable for f in folders] == [True, False, True, False]
    assert folders[0].special_use == {"\\Sent"}
    assert parse_list([]) == []
    assert parse_list([b"", None]) == []


def test_decode_name_falls_back_to_utf8() -> None:
    assert decode_name(b"&ZeVnLIqe-") == "日本語"
    assert decode_name(b"Entw&APw-rfe") == "Entwürfe"
    assert decode_name(b"A&-B") == "A&B"
    assert decode_name(b"&!!-\xe2\x98\xba") == "&!!-☺"  # not valid mUTF-7: read as UTF-8
    assert text(b"\\Sent") == "\\Sent"
    assert text(7) == "7"


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        (b"Caf\xc3\xa9s", "Cafés"),  # imapclient alone: "CafÃ©s"
        (b"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e/Sub", "日本語/Sub"),
        (b"R&D \xc3\xa9t\xc3\xa9", "R&D été"),  # in a UTF-8 name "&" is just "&"
        (b"Caf\xc3\xa9s&AOk-", "Cafés&AOk-"),  # 8-bit: not mUTF-7, so not shifted
    ],
)
def test_decode_name_reads_8bit_utf8_as_utf8(raw: bytes, name: str) -> None:
    assert decode_name(raw) == name


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        (b"Caf&AOk-s", "Cafés"),  # valid mUTF-7: as before
        (b"Caf\xe9s", "Caf\xe9s"),  # 8-bit, not UTF-8 (Latin-1): as imapclient reads it
        (b"\x80", "\x80"),
        (b"&AOk\xff-", "&AOk\ufffd-"),  # neither: UTF-8 with a replacement
        (b"&\xff", "&\ufffd"),
    ],
)
def test_decode_name_other_bytes_decode_as_before_and_never_raise(raw: bytes, name: str) -> None:
    assert decode_name(raw) == name


def test_parse_list_keeps_the_raw_bytes_of_a_utf8_name() -> None:
    data = [
        b'(\\HasNoChildren) "/" "Caf\xc3\xa9s"',
        (b'(\\HasNoChildren) "/" {9}', b'\xc3\xa9t\xc3\xa9 "1"'),  # as a literal
        b"",
    ]
    folders = parse_list(data)
    assert [(f.name, f.raw_name) for f in folders] == [
        ("Cafés", b"Caf\xc3\xa9s"),
        ('été "1"', b'\xc3\xa9t\xc3\xa9 "1"'),
    ]


def test_quote_name_sends_the_listed_bytes_back() -> None:
    assert quote_name(b"Caf\xc3\xa9s") == b'"Caf\xc3\xa9s"'
    assert quote_name(b"Caf&AOk-s") == b'"Caf&AOk-s"'
    assert quote_name(b'a"b\\c') == b'"a\\"b\\\\c"'
    for bad in (b"a\r\nb LOGOUT", b"a\nb", b"a\0b"):
        with pytest.raises(ValueError, match="cannot be sent back"):
            quote_name(bad)


def test_examined_reads_uidvalidity_uidnext_and_exists() -> None:
    folder = ImapFolder("INBOX", b"INBOX", "/", frozenset())
    got = examined(folder, {b"EXISTS": 3, b"UIDVALIDITY": 42, b"READ-ONLY": [b""]}, 10)
    assert (got.name, got.uidvalidity, got.uidnext, got.messages) == ("INBOX", 42, 10, 3)
    empty = examined(folder, {}, 0)  # a server that says nothing: zeros, not a crash
    assert (empty.uidvalidity, empty.uidnext, empty.messages) == (0, 0, 0)


# -- messages -------------------------------------------------------------------------


def test_sizes_keep_only_the_uids_asked_for() -> None:
    data = [
        b"1 (UID 4 RFC822.SIZE 5)",
        b"2 (FLAGS (\\Seen))",  # unsolicited, no UID
        b"3 (UID 77 RFC822.SIZE 9)",  # a UID not asked for
        b"4 (UID 5)",  # no size
    ]
    assert sizes_of(data, range(1, 10)) == {4: 5}
    assert sizes_of(data, {4, 77}) == {4: 5, 77: 9}
    assert sizes_of([], {1}) == {}


def test_an_unsolicited_fetch_merges_by_sequence_number_not_uid() -> None:
    # Message 7 (UID 9) gets a FLAGS update before its answer: one entry, under UID 9, and
    # nothing lands on UID 7.
    data = [b"7 (FLAGS (\\Seen))", b"7 (UID 9 RFC822.SIZE 12)"]
    found = by_uid(data, {7, 9})
    assert list(found) == [9]
    assert found[9][b"FLAGS"] == (b"\\Seen",)
    assert found[9][b"RFC822.SIZE"] == 12


def test_parse_message_from_fetch_bytes() -> None:
    data = [
        (
            b'1 (UID 4 FLAGS (\\Seen $Label1) INTERNALDATE "17-Jul-2024 10:00:00 +0200" '
            b"RFC822.SIZE 5 BODY[] {5}",
            b"ab\r\nc",
        ),
        b")",
    ]
    item = by_uid(data, {4})[4]
    message = parse_message(4, item)
    assert (message.uid, message.raw, message.size) == (4, b"ab\r\nc", 5)
    assert message.flags == {"\\Seen", "$Label1"}
    assert message.internal_date is not None
    assert message.internal_date.utcoffset() == dt.timedelta(hours=2)


def test_parse_message_defaults_and_a_missing_body() -> None:
    data = [(b"1 (UID 8 BODY[] {3}", b"xyz"), b")"]
    message = parse_message(8, by_uid(data, {8})[8])
    assert (message.flags, message.internal_date, message.size) == (frozenset(), None, 3)
    with pytest.raises(ValueError, match="no message body for UID 9"):
        parse_message(9, by_uid([b"1 (UID 9 RFC822.SIZE 3)"], {9})[9])


# -- server text ----------------------------------------------------------------------


def test_scrub_hides_secrets_and_caps_length() -> None:
    said = scrub("NO bad   password hunter2\r\n" + "x" * 500, ["hunter2", ""])
    assert "hunter2" not in said
    assert "\n" not in said
    assert len(said) <= 200


def test_scrub_keeps_short_text_whole_on_one_line() -> None:
    assert scrub("NO [AUTHENTICATIONFAILED]\r\n  token tok-1", ["tok-1"]) == (
        "NO [AUTHENTICATIONFAILED] token ***"
    )
    assert len(scrub("y" * 1000, ())) == MAX_TEXT


@pytest.mark.parametrize(
    ("said", "transient"),
    [
        ("[UNAVAILABLE] try later", True),
        ("[inuse] mailbox locked", True),
        ("[LIMIT] too many sessions", True),
        ("Too many connections from your IP", True),
        ("Maximum number of connections from user+IP exceeded", True),
        ("Request is throttled.", True),
        ("[AUTHENTICATIONFAILED] Invalid credentials", False),
        ("BAD syntax", False),
    ],
)
def test_is_transient(said: str, *, transient: bool) -> None:
    assert is_transient(said) is transient


@pytest.mark.parametrize(
    ("said", "wait"),
    [
        ("Request is throttled. Suggested Backoff Time: 92415 milliseconds", 92.415),
        ("Request is throttled.", 60.0),  # Microsoft 365 without a hint
        ("[ALERT] Too many simultaneous connections. (Failure)", 60.0),  # Gmail
        ("[OVERQUOTA] Account exceeded command or bandwidth limits. (Failure)", 1800.0),  # Gmail
        ("[UNAVAILABLE] Temporary System Problem", 60.0),  # Gmail's BYE, RFC 5530
        ("[INUSE] Mailbox in use", 60.0),
        ("[LIMIT] Too many flags", None),  # an implementation limit: no wait lifts it
        ("Maximum number of connections from user+IP exceeded", 60.0),  # Dovecot's BYE
        ("socket error: EOF", None),
        ("[AUTHENTICATIONFAILED] Invalid credentials", None),
        ("Try again later", None),  # vague: retried, not paused
    ],
)
def test_throttle_answers_and_their_waits(said: str, wait: float | None) -> None:
    assert throttle_s(said) == wait
    if wait is not None:
        assert is_transient(said)


def test_backoff_hint_in_seconds() -> None:
    said = "Request is throttled. Suggested Backoff Time: 92415 milliseconds"
    assert backoff_s(said) == 92.415
    assert backoff_s("backoff time:1000 MILLISECONDS") == 1.0
    assert backoff_s("[UNAVAILABLE] try later") is None


def test_search_uids_reads_a_uid_search_answer() -> None:
    assert search_uids([b"1 7 10000000"]) == [1, 7, 10000000]
    assert search_uids([b"9 3 3"]) == [3, 9]  # ascending, each once
    assert search_uids([None]) == [] and search_uids([b""]) == []
    assert search_uids([b"2 (MODSEQ 5)", b"4"]) == [2, 4]  # words that aren't UIDs dropped


def test_headers_of_reads_the_header_fields_literal_by_uid() -> None:
    head = b"Subject: hi\r\nFrom: a@b\r\n\r\n"
    data = [
        (b"1 (UID 4 BODY[HEADER.FIELDS (FROM SUBJECT DATE)] {%d}" % len(head), head),
        b")",
        b"2 (UID 5)",  # no header literal: left out
        (b"3 (UID 6 BODY[HEADER.FIELDS (FROM SUBJECT DATE)] {2}", b"\r\n"),
        b")",
    ]
    assert headers_of(data, {4, 5}) == {4: head}
    assert headers_of(data, {4, 5, 6}) == {4: head, 6: b"\r\n"}
