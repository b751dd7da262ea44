"""Searching the message index: what a search asks (``SearchQuery``), whether a listed
message matches it, and the paging loop that reads index pages until a page of matches.

A search reads only what an index entry holds (sender, subject, the message's date): no
message body, so it never reads the raw store.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from mailport.catalogue import say
from mailport.domain.mailbox import StoredMessage
from mailport.errors import ValidationFailed

MAX_QUERY_CHARS = 200
MAX_TERMS = 10
# A request reads at most this many index entries: a rare word in a huge folder answers
# a short (even empty) page with a cursor rather than reading the folder in one request.
READ_BUDGET = 1000
# And at most this many reads: an all-folders search over many empty folders stops too.
MAX_READS = 25
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TERM = re.compile(r'(?:(from|subject):)?(?:"([^"]*)"|(\S+))')


def normalise(text: str) -> str:
    """Text as a search compares it: NFKC (full-width Latin, half-width kana and the
    ideographic space fold to one form) then casefold, whitespace runs as one space.
    """
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """Every term must match: ``anywhere`` the sender or the subject, ``senders`` the
    sender's name or address, ``subjects`` the subject; the date (UTC) in
    [``since``, ``before``).
    """

    anywhere: tuple[str, ...] = ()
    senders: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    since: dt.date | None = None
    before: dt.date | None = None

    def matches(self, message: StoredMessage) -> bool:
        """Whether the listed ``message`` is one the search asks for."""
        when = sort_date(message).date()
        if (self.since and when < self.since) or (self.before and when >= self.before):
            return False
        summary = message.summary
        sender = normalise(" ".join(f"{a.name} {a.email}" for a in summary.from_))
        subject = normalise(summary.subject)
        return (
            all(t in sender for t in self.senders)
            and all(t in subject for t in self.subjects)
            and all(t in sender or t in subject for t in self.anywhere)
        )


def sort_date(message: StoredMessage) -> dt.datetime:
    """The date a folder is ordered by (its header date, else when it was received), UTC."""
    return (message.summary.date or message.received_at).astimezone(dt.UTC)


def parse_search(q: str | None, since: str | None, before: str | None) -> SearchQuery:
    """A search from the query string: ``q`` holds words (each matches the sender or the
    subject), ``from:word``, ``subject:word`` and ``"quoted words"``; ``since`` and
    ``before`` are dates (``YYYY-MM-DD``, UTC, ``before`` excluded).
    """
    text = q or ""
    if len(text) > MAX_QUERY_CHARS:
        raise ValidationFailed(say("mailbox.search_long", max=MAX_QUERY_CHARS))
    found: dict[str, list[str]] = {"": [], "from": [], "subject": []}
    # NFKC first, so a full-width "ｆｒｏｍ：" or an ideographic space works as typed.
    for field_name, quoted, bare in _TERM.findall(unicodedata.normalize("NFKC", text)):
        term = normalise(quoted or bare)
        if term:
            found[field_name].append(term)
    if sum(len(v) for v in found.values()) > MAX_TERMS:
        raise ValidationFailed(say("mailbox.search_terms", max=MAX_TERMS))
    start, end = _date("since", since), _date("before", before)
    if start and end and start >= end:
        raise ValidationFailed(say("mailbox.search_dates"))
    return SearchQuery(tuple(found[""]), tuple(found["from"]), tuple(found["subject"]), start, end)


def _date(name: str, value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        if not _DATE.fullmatch(value):
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError as e:
        raise ValidationFailed(say("mailbox.search_date", name=name)) from e


class IndexPage[P](NamedTuple):
    """A page of index entries, each with the position just after it, and the position
    after the page (``after`` None: nothing more to read).
    """

    entries: Sequence[tuple[StoredMessage, P]]
    after: P | None


def gather[P](
    read: Callable[[P, int], IndexPage[P]],
    start: P,
    query: SearchQuery,
    limit: int,
    *,
    budget: int = READ_BUDGET,
    max_reads: int = MAX_READS,
) -> tuple[list[StoredMessage], P | None]:
    """Up to ``limit`` matches from ``start`` on, reading pages (``read(position, size)``)
    until the limit is reached, the index ends, ``budget`` entries were read or
    ``max_reads`` pages; the position to go on from (None: the end). A page cut short by
    the limit goes on just after its last match, so no entry is skipped or given twice.
    """
    found: list[StoredMessage] = []
    position: P = start
    read_so_far = 0
    for _ in range(max_reads):
        entries, after = read(position, max(1, min(budget - read_so_far, 200)))
        for n, (message, here) in enumerate(entries):
            read_so_far += 1
            if query.matches(message):
                found.append(message)
                if len(found) == limit:
                    last = n == len(entries) - 1
                    return found, (None if last and after is None else here)
        if after is None:
            return found, None
        position = after
        if read_so_far >= budget:
            break
    return found, position
