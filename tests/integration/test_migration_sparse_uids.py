"""A folder whose UIDs are 1, 2 and 10,000,000 (a server that renumbered, an old mailbox
pruned for years): the worker finds its messages with UID SEARCH, not by asking the sizes of
5,000 empty windows of UIDs."""

from __future__ import annotations

from typing import Any

import pytest

from mailport.adapters.imap import ImapConnector
from mailport.domain.network import LOCAL_TESTS
from mailport.usecases.migration_copy import SEARCH_SPAN
from mailport_local.stack import LocalStack
from tests.integration.test_migration_runner import build, owner, ref_of
from tests.support.dovecot import Dovecot

pytestmark = [pytest.mark.stack, pytest.mark.dovecot]


class Counting:
    """The real connector, its sessions' size and search requests counted."""

    def __init__(self) -> None:
        self.real = ImapConnector(network=LOCAL_TESTS)
        self.asked: list[tuple[str, int, int]] = []

    def open(self, server: Any, credentials: Any) -> Any:
        session = self.real.open(server, credentials)
        asked = self.asked

        class Session:
            def __getattr__(self, name: str) -> Any:
                return getattr(session, name)

            def sizes(self, first: int, last: int) -> dict[int, int]:
                asked.append(("sizes", first, last))
                return dict(session.sizes(first, last))

            def uids(self, first: int, last: int) -> list[int]:
                asked.append(("uids", first, last))
                return list(session.uids(first, last))

        return Session()


def test_sparse_uids_are_found_with_uid_search(local_stack: LocalStack, dovecot: Dovecot) -> None:
    env = build(local_stack, dovecot)
    me = owner()
    user, password = env.seed_user(2)
    dovecot.doveadm(["mailbox", "update", "-u", user, "--min-next-uid", "10000000", "INBOX"])
    late = b"Subject: late\r\nMessage-ID: <late@x>\r\n\r\nafter the gap\r\n"
    dovecot.seed_maildir(user, "INBOX", [(late, set(), 1_700_000_100.0)])
    counting = Counting()
    env.runner._connector = counting
    job = env.create(me, user, password)
    ref = ref_of(me, job)
    cursor = env.runner.plan(ref)
    copying = len(counting.asked)
    while not cursor["done"]:
        cursor = env.runner.copy_chunk(ref, cursor)
    env.runner.finalize(ref)
    done = env.service.get(me, job["id"])
    assert done["state"] == "completed", done
    assert done["counts"]["imported"] == 3
    asked = counting.asked[copying:]
    searches = [a for a in asked if a[0] == "uids"]
    # The gap costs a search per SEARCH_SPAN UIDs (100 for 10 M), and sizes only where there
    # is mail: the window scan asked 5,000 times.
    assert len(searches) <= 10_000_000 // SEARCH_SPAN + 2, asked[:5]
    assert len([a for a in asked if a[0] == "sizes"]) <= 3, asked
