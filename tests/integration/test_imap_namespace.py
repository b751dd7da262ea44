"""A server whose personal namespace is "INBOX." with the separator "." (Courier-IMAP, Cyrus
in its classic namespace, many shared hosts): its own Dovecot, configured that way.

Without reading NAMESPACE every folder would land inside Inbox ("INBOX.日本語" as
Inbox › 日本語, "INBOX.Sent" a subfolder instead of Sent).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailport.adapters.imap import ImapConnector
from mailport.domain.mailbox import SystemFolder
from mailport.domain.network import LOCAL_TESTS
from mailport.domain.remote import Credentials, ServerAddress
from mailport.usecases.migration_shared import survey
from tests.support.dovecot import Dovecot, dovecot_available

pytestmark = pytest.mark.dovecot


@pytest.fixture(scope="module")
def prefixed() -> Iterator[Dovecot]:
    if not dovecot_available() or os.geteuid() != 0:
        pytest.skip("needs Dovecot, run as root (`make test` installs it)")
    base = Path(tempfile.mkdtemp(prefix="dvns", dir="/tmp"))
    try:
        with Dovecot(base, namespace_prefix="INBOX.") as dv:
            yield dv
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _mail(subject: str) -> bytes:
    return f"From: a@example.org\r\nSubject: {subject}\r\n\r\nbody\r\n".encode()


def test_folders_under_the_prefix_map_to_the_users_top_level(prefixed: Dovecot) -> None:
    user, password = f"ns-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    prefixed.add_user(user, password)
    seeded = {"INBOX": 2, "Sent": 1, "日本語": 3, "Work.2024": 1}
    for name, count in seeded.items():
        prefixed.seed_maildir(
            user, name, [(_mail(f"{name} {n}"), {"\\Seen"}, 1.7e9 + n) for n in range(count)]
        )
    address = ServerAddress(
        prefixed.host, prefixed.imaps_port, ssl=True, ca_file=str(prefixed.ca_pem)
    )
    session = ImapConnector(network=LOCAL_TESTS).open(address, Credentials(user, password))
    try:
        assert session.personal_prefix() == "INBOX."
        listed = {f.name for f in session.folders()}
        assert {"INBOX.Sent", "INBOX.日本語", "INBOX.Work.2024"} <= listed  # as the server says
        surveyed = {s.folder.name: s for s in survey(session, 50 * 1024 * 1024)}
    finally:
        session.logout()
    targets = {name: (s.mapping.system, s.mapping.path) for name, s in surveyed.items()}
    assert targets["INBOX"] == (SystemFolder.INBOX, ())
    assert targets["INBOX.Sent"] == (SystemFolder.SENT, ())
    assert targets["INBOX.日本語"] == (None, ("日本語",))
    assert targets["INBOX.Work.2024"] == (None, ("Work", "2024"))
    # Each folder was examined under the server's own name: the counts are the seeded ones.
    counts = {name: s.folder.messages for name, s in surveyed.items()}
    assert counts["INBOX.日本語"] == 3 and counts["INBOX"] == 2 and counts["INBOX.Sent"] == 1
