"""Downloads over 4 MB (usecases/downloads.py) with its ports faked: a part is decoded once
into a copy that later links reuse; keys stay under the message's own; a missing part is
NotFound and stores nothing."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from types import SimpleNamespace
from typing import Any

import pytest

from mailport.domain.mailbox import Owner
from mailport.errors import NotFound
from mailport.usecases.downloads import LINK_SECONDS, Downloads, copy_key

NOW = dt.datetime(2026, 12, 8, 3, 0, tzinfo=dt.UTC)
OWNER = Owner("acme", "u1")
RAW_KEY = "mail/acme/u1/m1.0123456789abcdef.eml"


def raw() -> bytes:
    m = EmailMessage()
    m["Subject"] = "s"
    m.set_content("本文")
    m.add_attachment(b"%PDF big", maintype="application", subtype="pdf", filename="資料.pdf")
    return m.as_bytes()


class Box:
    def __init__(self) -> None:
        self.reads = 0

    def message(self, owner: Owner, message_id: str) -> Any:
        if (owner, message_id) != (OWNER, "m1"):
            raise NotFound("no such message")
        return SimpleNamespace(raw_key=RAW_KEY)

    def part_of(self, message: Any, part_id: str, *, limit: int | None) -> Any:
        from mailport.domain.reading import part

        assert limit is None  # a download by link takes any size
        assert message.raw_key == RAW_KEY  # the message already read, not read again
        self.reads += 1
        found = part(raw(), part_id)
        if found is None:
            raise NotFound("no such part")
        return found


class Links:
    def __init__(self) -> None:
        self.copies: dict[str, tuple[bytes, str]] = {}
        self.linked: list[tuple[str, str, str, int]] = []

    def link(self, key: str, filename: str, content_type: str, expires_s: int) -> str:
        self.linked.append((key, filename, content_type, expires_s))
        return f"https://store.example/{key}"

    def copy_name(self, key: str) -> str | None:
        return self.copies[key][1] if key in self.copies else None

    def put_copy(self, key: str, data: bytes, filename: str) -> None:
        self.copies[key] = (data, filename)


def downloads() -> tuple[Downloads, Box, Links]:
    box, links = Box(), Links()
    return Downloads(box, links, clock=lambda: NOW), box, links  # type: ignore[arg-type]


def test_a_part_is_decoded_once_and_its_copy_linked_under_its_name() -> None:
    d, box, links = downloads()
    first = d.part(OWNER, "m1", "2")
    second = d.part(OWNER, "m1", "2")
    assert box.reads == 1  # the second link reuses the copy
    key = copy_key(RAW_KEY, "2")
    assert key == "parts/acme/u1/m1.0123456789abcdef.eml/2"
    assert links.copies == {key: (b"%PDF big", "資料.pdf")}
    assert links.linked == [(key, "資料.pdf", "application/octet-stream", LINK_SECONDS)] * 2
    assert first.url == second.url and first.expires_at == NOW + dt.timedelta(minutes=5)


def test_the_message_itself_is_linked_as_it_is_stored() -> None:
    d, box, links = downloads()
    d.message(OWNER, "m1")
    assert links.linked == [(RAW_KEY, "m1.eml", "message/rfc822", LINK_SECONDS)]
    assert box.reads == 0 and links.copies == {}


def test_no_link_for_a_missing_part_or_someone_elses_message() -> None:
    d, _, links = downloads()
    with pytest.raises(NotFound):
        d.part(OWNER, "m1", "9")
    with pytest.raises(NotFound):
        d.part(Owner("acme", "u2"), "m1", "2")
    with pytest.raises(NotFound):
        d.message(Owner("other", "u1"), "m1")
    assert links.copies == {} and links.linked == []


@pytest.mark.parametrize(("size", "forgotten"), [(100, []), (5_000_000, ["parts/raw/"])])
def test_deleting_a_big_message_deletes_its_copies_and_a_small_one_asks_nothing(
    size: int, forgotten: list[str]
) -> None:
    from dataclasses import replace

    from mailport.usecases.mailbox import MailboxService
    from tests.unit.test_mailbox_search import message

    stored = message(1)
    stored = replace(stored, summary=replace(stored.summary, size=size))

    class Store:
        def get_message(self, owner: Owner, message_id: str) -> Any:
            return stored if message_id == stored.message_id else None

        def delete_message(self, owner: Owner, message: Any) -> None:
            pass

    class Raw:
        def delete(self, key: str) -> None:
            pass

    class Copies(Links):
        def __init__(self) -> None:
            super().__init__()
            self.forgotten: list[str] = []

        def forget_copies(self, prefix: str) -> None:
            self.forgotten.append(prefix)

    copies = Copies()
    box = MailboxService(Store(), Raw(), copies=copies)  # type: ignore[arg-type]
    box.delete_message(OWNER, stored.message_id)
    assert copies.forgotten == forgotten
