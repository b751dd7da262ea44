"""POP3 parser: pure functions from bytes to values, tested with bytes (no sockets)."""

from __future__ import annotations

import pytest

from mailport.adapters.pop3.parser import (
    body_end,
    cap,
    parse_capa,
    parse_list,
    parse_reply,
    parse_uidl,
    unstuff,
)
from mailport.domain.remote import RemoteProtocolError

# -- parsers -------------------------------------------------------------------------------


def test_parse_uidl() -> None:
    assert parse_uidl([b"1 whqtswO00WBw418f9t5JxYwZ\r\n", b"2 QhdPYR:00WBw1Ph7x7"]) == {
        1: "whqtswO00WBw418f9t5JxYwZ",
        2: "QhdPYR:00WBw1Ph7x7",
    }
    assert parse_uidl([]) == {}


@pytest.mark.parametrize(
    "line",
    [b"1", b"x abc", b"0 abc", b"-1 abc", b"1 abc def", b"1 \xffabc", b"9" * 40 + b" a", b""],
)
def test_parse_uidl_malformed(line: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_uidl([line])


def test_parse_uidl_duplicate() -> None:
    with pytest.raises(RemoteProtocolError, match="duplicate"):
        parse_uidl([b"1 a", b"1 b"])


def test_parse_list() -> None:
    assert parse_list([b"1 120\r\n", b"2 200 extra"]) == {1: 120, 2: 200}


@pytest.mark.parametrize("line", [b"1", b"1 x", b"a 1", b"1 -5", b"1 " + b"9" * 5000])
def test_parse_list_malformed(line: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_list([line])


def test_parse_errors_cap_server_text() -> None:
    with pytest.raises(RemoteProtocolError) as info:
        parse_list([b"x" * 10_000])
    assert len(info.value.message) < 260


@pytest.mark.parametrize(
    ("stuffed", "raw"),
    [
        (b"", b""),
        (b"a\r\nb\r\n", b"a\r\nb\r\n"),
        (b"..\r\n", b".\r\n"),
        (b"..leading\r\n", b".leading\r\n"),
        (b"x\r\n...\r\n..y\r\n", b"x\r\n..\r\n.y\r\n"),
        (b"mid.dle\r\n", b"mid.dle\r\n"),
    ],
)
def test_unstuff(stuffed: bytes, raw: bytes) -> None:
    assert unstuff(stuffed) == raw


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        (b"+OK ready\r\n", ("+OK", "ready")),
        (b"+OK\r\n", ("+OK", "")),
        (b"-ERR [IN-USE] locked\r\n", ("-ERR", "[IN-USE] locked")),
        (b"+ eyJzdGF0dXMiOiI0MDEifQ==\r\n", ("+", "eyJzdGF0dXMiOiI0MDEifQ==")),
        (b"+OK caf\xc3\xa9 \xff\r\n", ("+OK", "café \ufffd")),
    ],
)
def test_parse_reply(line: bytes, reply: tuple[str, str]) -> None:
    assert parse_reply(line) == reply


@pytest.mark.parametrize("line", [b"OK ready\r\n", b"\r\n", b"* OK imap\r\n", b"-OK\r\n"])
def test_parse_reply_unexpected(line: bytes) -> None:
    with pytest.raises(RemoteProtocolError, match="unexpected POP3 reply"):
        parse_reply(line)


def test_parse_reply_caps_server_text() -> None:
    kind, text = parse_reply(b"-ERR " + b"x" * 10_000 + b"\r\n")
    assert kind == "-ERR"
    assert len(text) <= 200
    assert cap(b"a\r\nb") == cap("a\r\nb")
    assert "\n" not in cap(b"a\r\nb")


def test_parse_capa() -> None:
    lines = [b"USER", b"uidl", b"SASL PLAIN XOAUTH2", b"", b"PIPELINING", b"STLS"]
    assert parse_capa(lines) == {"USER", "UIDL", "SASL", "PIPELINING", "STLS"}
    assert parse_capa([]) == frozenset()


@pytest.mark.parametrize(
    ("buf", "start", "end"),
    [
        (b".\r\n", 0, 0),
        (b"a\r\n.\r\n", 0, 3),
        (b"a\r\n..\r\nb\r\n.\r\nnext", 0, 10),
        (b"a\r\n.\r\n", 3, -1),  # searched from past the terminator's line break
        (b"a\r\nb\r\n", 0, -1),
        (b"a\r\n.", 0, -1),  # the terminator's CRLF has not arrived yet
    ],
)
def test_body_end(buf: bytes, start: int, end: int) -> None:
    assert body_end(buf, start) == end
