"""The per-item report's pure parts: a line from a message's bytes (however odd), which
lines the checkpoints count, the words in both languages, and the CSV a spreadsheet reads.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import replace

import api_views
import pytest

from mailport.catalogue import language_of, reason_codes, reason_words
from mailport.domain.migration import (
    FolderPlan,
    ItemReason,
    JobKind,
    JobState,
    MigrationJob,
    ReportItem,
    SourceServer,
    can_delta,
    can_retry,
    counts_for,
)
from mailport.usecases.migration import ReportPage
from mailport.usecases.migration_report import listed, report_item

FOLDER = FolderPlan("INBOX", b"INBOX", 7, 100, 99, 0, 0, "inbox", "Inbox", done_uid=50)


def test_every_reason_has_words_in_both_languages() -> None:
    assert set(reason_codes()) == {r.value for r in ItemReason}
    for code in reason_codes():
        en, ja = (
            reason_words(code, "en", 50 * 1024 * 1024),
            reason_words(code, "ja", 50 * 1024 * 1024),
        )
        assert en and ja and en != ja, code
        assert "{" not in en + ja, code  # every parameter filled
    assert "50 MB" in reason_words("too_large", "ja", 50 * 1024 * 1024)
    assert reason_words("nonesuch", "ja") == "nonesuch"


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("ja", "ja"),
        ("ja-JP,en;q=0.8", "ja"),
        ("en-US,ja;q=0.9", "en"),
        ("fr,ja;q=0.5,en;q=0.4", "ja"),
        ("ja;q=0,en", "en"),
        ("ja;q=zz", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_the_language_follows_accept_language(header: str | None, language: str) -> None:
    assert language_of(header) == language


def test_a_line_from_headers_decodes_as_the_index_does() -> None:
    head = (
        b"Subject: =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=\r\n"
        b"From: =?UTF-8?B?5bGx55Sw?= <Yamada@Example.JP>\r\n"
        b"Date: Tue, 01 Dec 2026 09:30:00 +0900\r\n\r\n"
    )
    line = report_item(3, FOLDER, 42, ItemReason.TOO_LARGE, 60_000_000, header=head, limit=1)
    assert (line.subject, line.sender) == ("テスト", "山田 <Yamada@example.jp>")
    assert line.date == dt.datetime(2026, 12, 1, 0, 30, tzinfo=dt.UTC)
    assert (line.folder_index, line.uidvalidity, line.uid, line.limit) == (3, 7, 42, 1)
    assert not line.retryable


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x00\xff\xfe binary", b"no header at all", b"Subject: \xff\xfe\r\nDate: soon\r\n\r\n"],
)
def test_a_line_is_made_whatever_the_bytes(raw: bytes) -> None:
    line = report_item(0, FOLDER, 1, ItemReason.UNREADABLE, len(raw), header=raw)
    assert line.retryable and line.date is None and "\x00" not in line.subject


def test_only_lines_a_checkpoint_counts_are_listed() -> None:
    def at(uid: int, uidvalidity: int = 7, index: int = 0) -> ReportItem:
        return ReportItem(index, "INBOX", uidvalidity, uid, ItemReason.VANISHED)

    assert counts_for(at(50), FOLDER) and not counts_for(at(51), FOLDER)
    assert not counts_for(at(3, uidvalidity=6), FOLDER)  # under the old numbering
    assert listed([at(1), at(51), at(2, index=5)], [FOLDER]) == [at(1)]


def test_retry_and_delta_are_offered_only_after_completion() -> None:
    now = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)
    assert can_retry(True, 1) and not can_retry(True, 0) and not can_retry(False, 1)
    full, retry = JobKind.FULL, JobKind.RETRY
    assert can_delta(True, now - dt.timedelta(days=29), now, full)
    assert not can_delta(True, now - dt.timedelta(days=30), now, full)
    assert not can_delta(False, now, now, full) and not can_delta(True, None, now, full)
    # A retry's plan holds only the folders it retried: the delta is its origin's.
    assert not can_delta(True, now, now, retry)


def test_the_csv_disarms_formulas_and_has_the_header_once() -> None:
    job = MigrationJob(
        "j1",
        "t",
        "u",
        SourceServer("manual", "h", 993, True, "me"),
        JobState.COMPLETED,
        dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        plan=(replace(FOLDER, done_uid=99),),
    )
    hostile = ReportItem(
        0, "INBOX", 7, 9, ItemReason.UNREADABLE, 10, '=HYPERLINK("x")', "@evil", None
    )
    page = ReportPage(job, [hostile], None)
    rows = list(csv.reader(io.StringIO(api_views.report_csv(page, "en", header=True))))
    assert rows[0] == list(api_views.CSV_COLUMNS)
    assert rows[1][7] == '\'=HYPERLINK("x")' and rows[1][8] == "'@evil"
    assert rows[1][10] == "true"
    assert len(list(csv.reader(io.StringIO(api_views.report_csv(page, "ja", header=False))))) == 1
