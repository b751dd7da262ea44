"""A preview of a mailbox of hundreds of folders comes a page of 200 at a time (each page
examines only its own folders, well inside the API's time limit), on real Dovecot."""

from __future__ import annotations

import uuid

import api_views
import pytest

from mailport.errors import ValidationFailed
from mailport.usecases.migration import PREVIEW_PAGE
from mailport_local.stack import LocalStack
from tests.integration.test_migration_runner import build, owner
from tests.support.dovecot import Dovecot

pytestmark = [pytest.mark.stack, pytest.mark.dovecot]

FOLDERS = 450


def test_the_preview_pages_through_hundreds_of_folders(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    env = build(local_stack, dovecot)
    user, password = env.seed_user(1)
    for n in range(FOLDERS):
        mail = f"Subject: f{n}\r\nMessage-ID: <{uuid.uuid4().hex}@x>\r\n\r\nbody\r\n".encode()
        dovecot.seed_maildir(user, f"Projects.P{n:03d}", [(mail, set(), 1_700_000_000.0)])
    conn = {
        "type": "manual",
        "host": "127.0.0.1",
        "port": dovecot.imaps_port,
        "username": user,
        "password": password,
    }
    me = owner()
    pages, cursor = [], None
    while True:
        request = {"connection": conn, **({"cursor": cursor} if cursor else {})}
        page = api_views.preview(env.service.preview(me, request))  # type: ignore[arg-type]
        pages.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    listed = [f for p in pages for f in p["folders"]]
    total = pages[0]["folders_total"]
    # INBOX, the parent "Projects" and the 450 under it, each once, in order.
    assert total == FOLDERS + 2 and len(listed) == total
    assert [len(p["folders"]) for p in pages] == [
        PREVIEW_PAGE,
        PREVIEW_PAGE,
        total - 2 * PREVIEW_PAGE,
    ]
    assert len({f["name"] for f in listed}) == total
    assert sum(p["total_messages"] for p in pages) == FOLDERS + 1
    for bad in ("x", "99999", "-1"):
        with pytest.raises(ValidationFailed):
            env.service.preview(me, {"connection": conn, "cursor": bad})  # type: ignore[typeddict-item]
