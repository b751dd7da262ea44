"""The IMAP adapter against a real Dovecot: TLS, folders, EXAMINE, exact bytes, read-only."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import socket
import time
import uuid
from collections.abc import Iterator

import pytest

from mailport.adapters.imap import ImapConnector, ImapSession
from mailport.domain.network import LOCAL_TESTS, NetworkPolicy, RemoteAddressRefused
from mailport.domain.remote import (
    Credentials,
    ImapFolder,
    RemoteAuthFailed,
    RemoteTlsError,
    RemoteUnreachable,
    ServerAddress,
)
from tests.support.dovecot import Dovecot

pytestmark = pytest.mark.dovecot

FOLDERS = ("INBOX", "Archive.2024", "日本語")
PER_FOLDER = 100
BASE_EPOCH = 1_700_000_000


def _raw(folder: str, n: int) -> bytes:
    body = "".join(f"line {i} of message {n} in {folder} — ünïcødé\r\n" for i in range(n % 40))
    return (
        f"From: a{n}@example.org\r\nTo: b@example.org\r\nSubject: {folder} #{n}\r\n"
        f"Message-ID: <{n}.{uuid.uuid4().hex}@example.org>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"{body}end\r\n"
    ).encode()


def _flags(n: int) -> set[str]:
    flags: set[str] = set()
    if n % 2:
        flags.add("\\Seen")
    if n % 3 == 0:
        flags.add("\\Flagged")
    if n % 5 == 0:
        flags.add("\\Answered")
    return flags


Seeded = dict[str, list[tuple[bytes, set[str], float]]]


@pytest.fixture(scope="module")
def account(dovecot: Dovecot) -> tuple[str, str, Seeded]:
    user, password = f"imap-{uuid.uuid4().hex[:10]}", f"pw-{uuid.uuid4().hex}"
    dovecot.add_user(user, password)
    seeded: Seeded = {}
    for f_index, folder in enumerate(FOLDERS):
        msgs = [
            (_raw(folder, n), _flags(n), float(BASE_EPOCH + f_index * 10_000 + n * 60))
            for n in range(PER_FOLDER)
        ]
        dovecot.seed_maildir(user, folder, msgs)
        seeded[folder] = msgs
    return user, password, seeded


def _imaps(dv: Dovecot) -> ServerAddress:
    return ServerAddress(dv.host, dv.imaps_port, ssl=True, ca_file=str(dv.ca_pem))


@pytest.fixture
def session(dovecot: Dovecot, account: tuple[str, str, Seeded]) -> Iterator[ImapSession]:
    user, password, _ = account
    s = ImapConnector(network=LOCAL_TESTS).open(_imaps(dovecot), Credentials(user, password))
    yield s
    s.logout()


def _by_name(folders: list[ImapFolder]) -> dict[str, ImapFolder]:
    return {f.name: f for f in folders}


def test_starttls_login_and_list(dovecot: Dovecot, account: tuple[str, str, Seeded]) -> None:
    user, password, _ = account
    address = ServerAddress(dovecot.host, dovecot.imap_port, ssl=False, ca_file=str(dovecot.ca_pem))
    s = ImapConnector(network=LOCAL_TESTS).open(address, Credentials(user, password))
    try:
        assert "INBOX" in _by_name(s.folders())
    finally:
        s.logout()


def test_folders_decoded_with_delimiter(session: ImapSession) -> None:
    folders = _by_name(session.folders())
    assert {"INBOX", "Archive", "Archive.2024", "日本語"} <= folders.keys()
    jp = folders["日本語"]
    assert jp.raw_name == b"&ZeVnLIqe-"
    assert jp.delimiter == "."
    assert jp.selectable
    nested = folders["Archive.2024"]
    assert nested.raw_name == b"Archive.2024"
    # maildir++ has no directory for the parent: Dovecot lists it as \\Noselect.
    assert not folders["Archive"].selectable


def test_examine(session: ImapSession) -> None:
    jp = session.examine(_by_name(session.folders())["日本語"])
    assert jp.messages == PER_FOLDER
    assert jp.uidnext == PER_FOLDER + 1
    assert jp.uidvalidity > 0
    sizes = session.sizes(1, jp.uidnext)
    assert len(sizes) == PER_FOLDER
    assert session.sizes(5, 9).keys() == {5, 6, 7, 8, 9}


def test_fetch_exact_bytes_flags_dates_read_only(
    dovecot: Dovecot, account: tuple[str, str, Seeded], session: ImapSession
) -> None:
    _, _, seeded = account
    folders = _by_name(session.folders())
    started = time.perf_counter()
    fetched = 0
    for name in FOLDERS:
        info = session.examine(folders[name])
        got = list(session.fetch(session.sizes(1, info.uidnext - 1)))
        assert [m.uid for m in got] == list(range(1, PER_FOLDER + 1))
        for message, (raw, flags, epoch) in zip(got, seeded[name], strict=True):
            assert hashlib.sha256(message.raw).digest() == hashlib.sha256(raw).digest()
            assert message.size == len(raw)
            assert message.flags - {"\\Recent"} == flags
            assert message.internal_date == dt.datetime.fromtimestamp(epoch, dt.UTC)
        fetched += len(got)
    elapsed = time.perf_counter() - started
    print(f"\nfetched {fetched} messages in 3 folders over IMAPS in {elapsed:.3f} s")
    assert fetched == 3 * PER_FOLDER

    # BODY.PEEK and EXAMINE: unseen messages are still unseen.
    again = _by_name(session.folders())
    for name in FOLDERS:
        session.examine(again[name])
        sized = session.sizes(1, PER_FOLDER)
        unseen = {m.uid for m in session.fetch(sized) if "\\Seen" not in m.flags}
        assert unseen == {n + 1 for n in range(PER_FOLDER) if n % 2 == 0}


def test_fetch_skips_missing_uids_and_chunks(
    dovecot: Dovecot, account: tuple[str, str, Seeded]
) -> None:
    user, password, seeded = account
    s = ImapConnector(network=LOCAL_TESTS, chunk_messages=7, chunk_bytes=4096).open(
        _imaps(dovecot), Credentials(user, password)
    )
    try:
        s.examine(_by_name(s.folders())["INBOX"])
        sizes = s.sizes(1, 100)
        # 9999 is not there (a UID expunged after its size was asked, say): skipped.
        wanted = {uid: sizes[uid] for uid in (3, 1, 2, 50, 100)} | {9999: 10}
        got = list(s.fetch(wanted))
        assert [m.uid for m in got] == [1, 2, 3, 50, 100]
        assert got[3].raw == seeded["INBOX"][49][0]
    finally:
        s.logout()


def test_wrong_password(dovecot: Dovecot, account: tuple[str, str, Seeded]) -> None:
    user, _, _ = account
    with pytest.raises(RemoteAuthFailed) as info:
        ImapConnector(network=LOCAL_TESTS).open(
            _imaps(dovecot), Credentials(user, "not-the-password-xyz")
        )
    assert "not-the-password-xyz" not in str(info.value)


def test_untrusted_certificate(dovecot: Dovecot, account: tuple[str, str, Seeded]) -> None:
    user, password, _ = account
    for address in (
        ServerAddress(dovecot.host, dovecot.imaps_port, ssl=True),
        ServerAddress(dovecot.host, dovecot.imap_port, ssl=False),
    ):
        with pytest.raises(RemoteTlsError):
            ImapConnector(network=LOCAL_TESTS).open(address, Credentials(user, password))


def test_closed_port() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(RemoteUnreachable):
        ImapConnector(network=LOCAL_TESTS, connect_timeout=2).open(
            ServerAddress("127.0.0.1", port, ssl=True), Credentials("u", "p")
        )


def test_only_an_admin_template_may_name_another_port(
    dovecot: Dovecot, account: tuple[str, str, Seeded]
) -> None:
    """Mail ports only (the deployed rule), unless the address came from an admin's template;
    the address itself is vetted either way (private addresses allowed here for the test).
    """
    user, password, _ = account
    connector = ImapConnector(network=NetworkPolicy(allow_private=True))
    typed = _imaps(dovecot)
    with pytest.raises(RemoteAddressRefused):
        connector.open(typed, Credentials(user, password))
    session = connector.open(dataclasses.replace(typed, any_port=True), Credentials(user, password))
    session.logout()
    strict = ImapConnector()  # the deployed policy: public addresses only
    with pytest.raises(RemoteAddressRefused):
        strict.open(dataclasses.replace(typed, any_port=True), Credentials(user, password))
