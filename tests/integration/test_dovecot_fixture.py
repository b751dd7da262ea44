"""The Dovecot test fixture itself: TLS, seeding, IMAP and POP3 views agree."""

from __future__ import annotations

import poplib
import re
import ssl
from dataclasses import dataclass

import pytest
from imapclient import IMAPClient

from tests.support.dovecot import Dovecot

pytestmark = pytest.mark.dovecot

USER = "fixture-alice"
PASSWORD = "s3cret pw"
FOLDER = "日本語"
T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z

INBOX = [
    (b"From: a@example.com\r\nSubject: one\r\n\r\nfirst\r\n", {"\\Seen"}, T0),
    # Bare LFs: Dovecot reports the CRLF ("virtual") size over IMAP and POP3.
    (
        b"From: b@example.com\nSubject: two\n\nsecond\nline\n",
        {"\\Flagged", "\\Answered"},
        T0 + 3600,
    ),
    (
        b"From: c@example.com\r\nSubject: three\r\n\r\nthird\r\n",
        {"\\Seen", "$Forwarded"},
        T0 + 7200,
    ),
]
JAPANESE = [
    (
        "From: d@example.com\r\nSubject: =?UTF-8?B?5pel5pys?=\r\n\r\nこんにちは\r\n".encode(),
        {"\\Seen"},
        T0,
    ),
]


def crlf_size(raw: bytes) -> int:
    return len(raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))


@dataclass(frozen=True)
class Mailbox:
    dv: Dovecot
    user: str
    password: str


@pytest.fixture(scope="module")
def mailbox(dovecot: Dovecot) -> Mailbox:
    dovecot.add_user(USER, PASSWORD)
    dovecot.seed_maildir(USER, "INBOX", INBOX)
    dovecot.seed_maildir(USER, FOLDER, JAPANESE)
    return Mailbox(dovecot, USER, PASSWORD)


def test_imaps_sees_seeded_messages_flags_and_utf7_folder(mailbox: Mailbox) -> None:
    dv = mailbox.dv
    with IMAPClient(dv.host, dv.imaps_port, ssl=True, ssl_context=dv.ssl_context()) as c:
        c.login(mailbox.user, mailbox.password)
        # imapclient decodes the modified UTF-7 name (&ZeVnLIqe-) for us.
        assert {name for _, _, name in c.list_folders()} == {"INBOX", FOLDER}

        c.select_folder("INBOX", readonly=True)
        data = c.fetch(c.search("ALL"), ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "BODY.PEEK[]"])
        assert len(data) == len(INBOX)
        for seq, (raw, flags, when) in enumerate(INBOX, start=1):
            got = data[seq]
            # \Recent is a session flag Dovecot adds to newly seen mail.
            assert {f.decode() for f in got[b"FLAGS"]} - {"\\Recent"} == flags
            # Maildir INTERNALDATE is the file's mtime.  imapclient hands back
            # a naive local time, which .timestamp() interprets as local.
            assert got[b"INTERNALDATE"].timestamp() == when
            assert got[b"RFC822.SIZE"] == crlf_size(raw)
            assert got[b"BODY[]"].replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")

        c.select_folder(FOLDER, readonly=True)
        body = c.fetch(c.search("ALL"), ["BODY.PEEK[]"])
        assert [v[b"BODY[]"] for v in body.values()] == [JAPANESE[0][0]]


def test_imap_starttls_verifies_against_fixture_ca(mailbox: Mailbox) -> None:
    dv = mailbox.dv
    with IMAPClient(dv.host, dv.imap_port, ssl=False) as c:
        assert b"STARTTLS" in c.capabilities()
        c.starttls(dv.ssl_context())
        sock = c.socket()
        assert isinstance(sock, ssl.SSLSocket)
        cert = sock.getpeercert()
        assert cert is not None
        # Both forms: some clients match an IP host only against dNSName.
        assert {("IP Address", "127.0.0.1"), ("DNS", "127.0.0.1"), ("DNS", "localhost")} <= set(
            cert["subjectAltName"]
        )
        c.login(mailbox.user, mailbox.password)
        assert c.select_folder("INBOX", readonly=True)[b"EXISTS"] == len(INBOX)


def test_pop3s_list_sizes_and_uidl_format(mailbox: Mailbox) -> None:
    dv = mailbox.dv
    with IMAPClient(dv.host, dv.imaps_port, ssl=True, ssl_context=dv.ssl_context()) as c:
        c.login(mailbox.user, mailbox.password)
        uidvalidity = c.select_folder("INBOX", readonly=True)[b"UIDVALIDITY"]
        uids = c.search("ALL")

    pop = poplib.POP3_SSL(dv.host, dv.pop3s_port, context=dv.ssl_context())
    try:
        caps = pop.capa()
        assert "PIPELINING" in caps and "UIDL" in caps
        pop.user(mailbox.user)
        pop.pass_(mailbox.password)
        _, listing, _ = pop.list()
        sizes = [int(line.split()[1]) for line in listing]
        assert sizes == [crlf_size(raw) for raw, _, _ in INBOX]
        _, uidl, _ = pop.uidl()
        got = [line.split()[1].decode() for line in uidl]
        # pop3_uidl_format = %08Xu%08Xv: IMAP UID then UIDVALIDITY in hex;
        # Dovecot 2.3 prints the hex digits in lowercase despite the "X".
        assert got == [f"{uid:08x}{uidvalidity:08x}" for uid in uids]
        assert all(re.fullmatch(r"[0-9a-f]{16}", u) for u in got)
        _, lines, octets = pop.retr(2)
        assert octets == sizes[1]
        assert b"\n".join(lines) + b"\n" == INBOX[1][0]
    finally:
        pop.quit()


def test_pop3_stls_verifies_against_fixture_ca(mailbox: Mailbox) -> None:
    dv = mailbox.dv
    pop = poplib.POP3(dv.host, dv.pop3_port)
    try:
        pop.stls(context=dv.ssl_context())
        assert isinstance(pop.sock, ssl.SSLSocket)
        pop.user(mailbox.user)
        pop.pass_(mailbox.password)
        assert pop.stat()[0] == len(INBOX)
    finally:
        pop.quit()


@pytest.mark.parametrize("proto", ["imaps", "pop3s"])
def test_default_context_rejects_fixture_cert(dovecot: Dovecot, proto: str) -> None:
    # A context with only the system trust store must not accept the fixture CA.
    ctx = ssl.create_default_context()
    with pytest.raises(ssl.SSLCertVerificationError):
        if proto == "imaps":
            IMAPClient(dovecot.host, dovecot.imaps_port, ssl=True, ssl_context=ctx)
        else:
            poplib.POP3_SSL(dovecot.host, dovecot.pop3s_port, context=ctx)


def test_add_user_while_running(dovecot: Dovecot) -> None:
    dovecot.add_user("fixture-bob", "first")
    pop = poplib.POP3_SSL(dovecot.host, dovecot.pop3s_port, context=dovecot.ssl_context())
    try:
        pop.user("fixture-bob")
        pop.pass_("first")
        assert pop.stat() == (0, 0)
    finally:
        pop.quit()

    # A password change is visible at once too (add_user waits for Dovecot).
    dovecot.add_user("fixture-bob", "second")
    pop = poplib.POP3_SSL(dovecot.host, dovecot.pop3s_port, context=dovecot.ssl_context())
    try:
        pop.user("fixture-bob")
        with pytest.raises(poplib.error_proto):
            pop.pass_("first")
    finally:
        pop.close()
    # Right after a failed login from 127.0.0.1: Dovecot's per-IP auth
    # penalty would hold this one for 4 s; the fixture disables it.
    pop = poplib.POP3_SSL(dovecot.host, dovecot.pop3s_port, context=dovecot.ssl_context())
    try:
        pop.user("fixture-bob")
        pop.pass_("second")
    finally:
        pop.quit()
