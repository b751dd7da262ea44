"""The notices mailport puts in a user's Inbox, rendered in both languages: one language
each, ``multipart/alternative`` (text and HTML, utf-8), the counts and the report's link,
and nothing a user typed or a server said able to add a header or markup. Each is also
written to ``tests/artifacts/notices/`` (git-ignored) as ``.eml`` and its HTML as ``.html``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

import api_inputs
import api_validation
import pytest

from mailport.catalogue import say
from mailport.domain.accounts import (
    DISABLE_AFTER_FAILURES,
    PopAccount,
    account_input,
    new_account,
)
from mailport.domain.migration import (
    Counts,
    FolderPlan,
    JobError,
    JobState,
    MigrationJob,
    SourceServer,
)
from mailport.domain.notices import (
    fetch_disabled,
    fetch_paused,
    fetch_warning,
    migration_notice,
)

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "notices"
NOW = dt.datetime(2026, 12, 7, 18, 45, tzinfo=dt.UTC)
CONSOLE = "https://mail.example.jp/console/"
HOSTILE = "server said\r\nBcc: victim@example.org <script>alert(1)</script>"


def account(username: str = "yamada@example.jp") -> PopAccount:
    """An account; the API refuses control characters in a login, so a hostile one is put in
    afterwards (a notice must not rely on the edge).
    """
    fields = {"username": "yamada@example.jp", "password": "pw", "agreed": True, "preset": "gmail"}
    request = account_input(api_validation.validate(api_inputs.AccountInput, fields))
    return dataclasses.replace(new_account(request, "a1", NOW, "inbox"), username=username)


def job(**kw: object) -> MigrationJob:
    plan = (
        FolderPlan("INBOX", b"INBOX", 7, 13, 12, 9000, 1, "inbox", "Inbox", retryable=2),
        FolderPlan("Work", b"Work", 7, 4, 3, 900, 0, "f-work", "Work"),
    )
    plan = (
        dataclasses.replace(
            plan[0], counts=Counts(imported=7, already_present=1, skipped_oversize=1, failed=2)
        ),
        dataclasses.replace(plan[1], counts=Counts(imported=3)),
    )
    base = MigrationJob(
        "job-42",
        "t",
        "u",
        SourceServer("manual", "imap.example.jp", 993, True, "山田 <yamada@example.jp>"),
        JobState.COMPLETED,
        dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        planned=True,
        plan=plan,
        started_at=dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC),
        finished_at=NOW,
    )
    return dataclasses.replace(base, **kw)


def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def parts(msg: EmailMessage) -> tuple[str, str]:
    """The text and the HTML, after checking the message's shape."""
    assert msg.get_content_type() == "multipart/alternative"
    kinds = [p.get_content_type() for p in msg.iter_parts()]
    assert kinds == ["text/plain", "text/html"]
    for part in msg.iter_parts():
        assert part.get_content_charset() == "utf-8"
    text = msg.get_body(preferencelist=("plain",))
    page = msg.get_body(preferencelist=("html",))
    assert text is not None and page is not None
    return text.get_content(), page.get_content()


def save(name: str, raw: bytes, page: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{name}.eml").write_bytes(raw)
    (ARTIFACTS / f"{name}.html").write_text(page, encoding="utf-8")


def assert_safe(msg: EmailMessage, text: str, page: str) -> None:
    assert msg["Bcc"] is None and msg["Auto-Submitted"] == "auto-generated"
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "http" not in page.replace(CONSOLE, "")  # no remote content, only the console
    assert "Bcc: victim@example.org" in text  # said, flattened into the body


POP = {
    "fetch_warning": lambda lang, url: fetch_warning(
        account("山田 <me@example.jp>\r\nBcc: victim@example.org"),
        3,
        HOSTILE,
        NOW,
        "n1",
        language=lang,
        console_url=url,
    ),
    "fetch_disabled": lambda lang, url: fetch_disabled(
        account("山田 <me@example.jp>\r\nBcc: victim@example.org"),
        HOSTILE,
        NOW,
        "n2",
        language=lang,
        console_url=url,
    ),
    "fetch_paused": lambda lang, url: fetch_paused(
        account("山田 <me@example.jp>\r\nBcc: victim@example.org"),
        HOSTILE,
        NOW,
        "n3",
        language=lang,
        console_url=url,
    ),
}
SUBJECTS = {
    "fetch_warning": ("is failing", "受信に失敗しています"),
    "fetch_disabled": ("was turned off", "自動取り込みを停止しました"),
    "fetch_paused": ("Sign in again", "もう一度サインインしてください"),
}


@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("kind", list(POP))
def test_pop_notices_in_one_language_text_and_html(kind: str, language: str) -> None:
    raw = POP[kind](language, CONSOLE)
    msg = parse(raw)
    text, page = parts(msg)
    save(f"{kind}-{language}", raw, page)
    en, ja = SUBJECTS[kind]
    subject = str(msg["Subject"])
    assert (en in subject) if language == "en" else (ja in subject and en not in subject)
    assert msg["Content-Language"] == language
    assert_safe(msg, text, page)
    assert f"{CONSOLE}#/accounts" in text and f'href="{CONSOLE}#/accounts"' in page
    if language == "ja":
        assert "外部メール" in text and "Automatic" not in text
        assert "2026年12月7日 18:45 UTC" in text
    else:
        assert "7 Dec 2026 18:45 UTC" in text and "自動" not in text
    if kind == "fetch_warning":
        left = DISABLE_AFTER_FAILURES - 3
        assert (f"{left} more" if language == "en" else f"あと{left}回") in text


def test_pop_error_as_words_is_said_in_the_notices_language() -> None:
    words = say("notice.migration.cancelled")
    ja = parts(parse(fetch_disabled(account(), words, NOW, "n", language="ja")))[0]
    en = parts(parse(fetch_disabled(account(), words, NOW, "n")))[0]
    assert "中止されました" in ja and "cancelled" in en


KINDS = [
    "started",
    "progress:50",
    "completed",
    "rolled_back",
    "rollback_failed",
    "signin_required:1",
]
MIG_SUBJECTS = {
    "started": ("started", "開始しました"),
    "progress:50": ("50% done", "50% 完了"),
    "completed": ("completed", "完了しました"),
    "rolled_back": ("was undone", "取り消しました"),
    "rollback_failed": ("could not be undone", "取り消しに失敗しました"),
    "signin_required:1": ("waiting for you to sign in", "サインインしてください"),
}


def state_for(kind: str) -> JobState:
    return {
        "started": JobState.RUNNING,
        "progress:50": JobState.RUNNING,
        "rolled_back": JobState.ROLLED_BACK,
        "rollback_failed": JobState.FAILED,
        "signin_required:1": JobState.NEEDS_SIGNIN,
    }.get(kind, JobState.COMPLETED)


@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("kind", KINDS)
def test_migration_notices_in_one_language_with_counts_and_the_report(
    kind: str, language: str
) -> None:
    the_job = job(state=state_for(kind), error=JobError("remote_error", HOSTILE))
    raw = migration_notice(
        the_job,
        kind,
        NOW,
        "m1",
        sender="n@x.example",
        to="u@y",
        language=language,
        console_url=CONSOLE,
    )
    msg = parse(raw)
    text, page = parts(msg)
    save(f"migration-{kind.replace(':', '-')}-{language}", raw, page)
    en, ja = MIG_SUBJECTS[kind]
    subject = str(msg["Subject"])
    assert (en in subject) if language == "en" else (ja in subject and "Migration" not in subject)
    assert "山田 <yamada@example.jp>" in subject  # encoded, decoded back as it was
    assert msg["From"] == "n@x.example" and msg["To"] == "u@y" and msg["Bcc"] is None
    assert "<script>" not in page and "山田 &lt;yamada@example.jp&gt;" in page
    if kind in ("rolled_back", "rollback_failed"):
        assert "Bcc: victim@example.org" in text and "&lt;script&gt;" in page
    if kind in ("progress:50", "completed", "signin_required:1", "rollback_failed"):
        counts = ("Imported: 10", "Skipped (50 MB or more): 1", "Could not be imported: 2")
        if language == "ja":
            counts = ("取り込んだメール: 10件", "（50MB以上）: 1件", "取り込めなかったメール: 2件")
        assert all(c in text for c in counts), text
    link = f"{CONSOLE}#/migration/job-42"
    if kind in ("completed", "rollback_failed"):
        assert link in text and f'href="{link}"' in page
    else:
        assert link not in text
    if language == "ja":
        assert "IMAPメール移行" in subject
        assert not any(w in text for w in ("Migration", "Imported", "What to do"))
    else:
        assert not any("\u3040" <= ch <= "\u30ff" for ch in text.replace("山田", ""))


def test_a_completed_migration_offers_only_what_it_can() -> None:
    done = job()
    text = parts(parse(migration_notice(done, "completed", NOW, "m", language="en")))[0]
    assert "IMAP migration > the job > Report" in text  # no console address: said in words
    assert "fetches those 2 messages again" in text and "offered until 6 Jan 2027 18:45 UTC" in text
    ja = parts(parse(migration_notice(done, "completed", NOW, "m", language="ja")))[0]
    assert (
        "2027年1月6日 18:45 UTCまで" in ja
        and "2件のメールは" in ja
        and "もう一度取り込めます" in ja
    )
    # Long ago: no newer-mail pass; nothing to retry: no retry; nothing failed: no report.
    old = dataclasses.replace(done, finished_at=NOW - dt.timedelta(days=31))
    plan = tuple(dataclasses.replace(f, retryable=0, counts=Counts(imported=3)) for f in done.plan)
    clean = dataclasses.replace(old, plan=plan)
    text = parts(parse(migration_notice(clean, "completed", NOW, "m")))[0]
    assert "Nothing else to do" in text and "Report" not in text and "newer mail" not in text


def test_a_rolled_back_migration_says_nothing_was_kept_and_how_to_start_again() -> None:
    undone = job(state=JobState.ROLLED_BACK, error=None)
    text = parts(parse(migration_notice(undone, "rolled_back", NOW, "m")))[0]
    assert "stopped" in text and "cancelled" in text and "Nothing from it was kept" in text
    assert "New migration" in text
    ja = parts(parse(migration_notice(undone, "rolled_back", NOW, "m", language="ja")))[0]
    assert "中止されました" in ja and "移行前の状態に戻って" in ja and "新しい移行" in ja


def test_a_console_address_that_is_not_http_is_not_linked() -> None:
    raw = migration_notice(job(), "completed", NOW, "m", console_url="javascript:alert(1)")
    text, page = parts(parse(raw))
    assert "javascript" not in page and "IMAP migration > the job > Report" in text
