"""The per-item report, "retry what failed" and the delta pass, on real Dovecot: every
message a job did not import is listed with its folder, subject, sender, date, size and
reason; a retry fetches only the listed ones worth trying again; a delta pass only what
arrived after the snapshot; neither duplicates anything, and each is a job of its own.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from typing import Any

import api_views
import pytest

from mailport.adapters.imap import ImapConnector
from mailport.domain.mailbox import Owner
from mailport.domain.migration import (
    DeltaUnavailable,
    FollowUpActive,
    JobKind,
    JobState,
    NotRetryable,
    PasswordRequired,
)
from mailport.domain.network import LOCAL_TESTS
from mailport.domain.remote import RemoteAuthFailed
from mailport.errors import NotFound, TransientError, ValidationFailed
from mailport_local.stack import LocalStack
from tests.integration.test_migration_runner import Env, build, owner, ref_of
from tests.support.dovecot import Dovecot

pytestmark = [pytest.mark.stack, pytest.mark.dovecot]

LIMIT = 20_000  # the size limit of these tests: a 30 KB message is "too large"
BIG_SUBJECT = "=?UTF-8?B?5aSn44GN44Gq5re75LuY44OV44Kh44Kk44Or?="  # 大きな添付ファイル


class Faulty:
    """The real connector; its sessions keep back the messages whose bytes carry a marker
    (``REFUSE-ME``: still listed by UID SEARCH; ``VANISH-ME``: gone from it too), while
    ``on`` is set — as a flaky server, or one that expunged mail mid-job, would.
    """

    def __init__(self) -> None:
        self.real = ImapConnector(network=LOCAL_TESTS)
        self.on = True
        self.hidden: set[int] = set()

    def open(self, server: Any, credentials: Any) -> Any:
        session = self.real.open(server, credentials)
        faulty = self

        class Session:
            def __getattr__(self, name: str) -> Any:
                return getattr(session, name)

            def fetch(self, sized: Any) -> Any:
                out = []
                for m in session.fetch(sized):
                    if faulty.on and (b"REFUSE-ME" in m.raw or b"VANISH-ME" in m.raw):
                        if b"VANISH-ME" in m.raw:
                            faulty.hidden.add(m.uid)
                        continue
                    out.append(m)
                return iter(out)

            def uids(self, first: int, last: int) -> list[int]:
                found = session.uids(first, last)
                return [u for u in found if not (faulty.on and u in faulty.hidden)]

        return Session()


def _mail(n: int, extra: bytes = b"") -> bytes:
    return f"Subject: m{n}\r\nFrom: A <a@example.com>\r\nMessage-ID: <r{n}@x>\r\n\r\n".encode() + (
        b"body " + extra + b"\r\n"
    )


def _seed(env: Env) -> tuple[str, str]:
    """A source of 3 good messages, one too large, one not mail, one the server keeps
    back and one that vanishes between listing and fetch.
    """
    user, password = env.seed_user(0)
    big = (
        f"Subject: {BIG_SUBJECT}\r\nFrom: =?UTF-8?B?5bGx55Sw?= <yamada@example.jp>\r\n"
        "Date: Tue, 01 Dec 2026 09:30:00 +0900\r\nMessage-ID: <big@x>\r\n\r\n"
    ).encode() + b"x" * 30_000
    mail = [
        _mail(1),
        _mail(2),
        _mail(3),
        big,
        b"this is not a mail message at all, only words\r\n",
        _mail(6, b"REFUSE-ME"),
        _mail(7, b"VANISH-ME"),
    ]
    env.dovecot.seed_maildir(
        user, "INBOX", [(m, set(), 1_700_000_000.0 + i) for i, m in enumerate(mail)]
    )
    return user, password


def _run(env: Env, me: Owner, job: dict[str, Any]) -> dict[str, Any]:
    ref = ref_of(me, job)
    cursor = env.runner.plan(ref)
    while not cursor["done"]:
        cursor = env.runner.copy_chunk(ref, cursor)
    env.runner.finalize(ref)
    return env.service.get(me, job["id"])


def _report(env: Env, me: Owner, job_id: str, limit: int = 200) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = env.service.report(me, job_id, limit, cursor)
        lines += api_views.migration_report(page, "en")["items"]
        cursor = page.next_cursor
        if cursor is None:
            return lines


def _inbox_subjects(env: Env, me: Owner) -> list[str]:
    """The migrated messages in the Inbox (the job's notices land there too: left out)."""
    listed = env.store.list_messages(me, "inbox", 500, None)[0]
    return sorted(m.summary.subject for m in listed if m.source.type.value == "imap")


@pytest.fixture
def faulty(local_stack: LocalStack, dovecot: Dovecot) -> tuple[Env, Faulty]:
    env = build(local_stack, dovecot, max_bytes=LIMIT, batch_messages=3)
    fault = Faulty()
    env.runner._connector = fault
    return env, fault


def test_the_report_lists_every_message_not_imported_and_why(
    faulty: tuple[Env, Faulty],
) -> None:
    env, _ = faulty
    me = owner()
    user, password = _seed(env)
    done = _run(env, me, env.create(me, user, password))
    assert done["state"] == "completed", done
    counts = done["counts"]
    assert counts == {"imported": 3, "already_present": 0, "skipped_oversize": 1, "failed": 3}
    lines = _report(env, me, done["id"], limit=2)  # pages of two: the cursor carries on
    assert len(lines) == counts["skipped_oversize"] + counts["failed"]
    by_reason = {line["reason"]: line for line in lines}
    assert set(by_reason) == {"too_large", "unreadable", "refused", "vanished"}
    big = by_reason["too_large"]
    # Only its header lines were fetched (BODY.PEEK[HEADER.FIELDS]), decoded as the index does.
    assert big["subject"] == "大きな添付ファイル"
    assert big["sender"] == "山田 <yamada@example.jp>"
    assert dt.datetime.fromisoformat(big["date"]) == dt.datetime(2026, 12, 1, 0, 30, tzinfo=dt.UTC)
    assert big["limit"] == LIMIT and big["size"] > LIMIT and big["retryable"] is False
    assert "limit" in big["reason_text"]
    assert by_reason["refused"]["subject"] == "" and by_reason["refused"]["size"] > 0
    assert by_reason["unreadable"]["retryable"] is True
    assert all(line["folder"] == "INBOX" for line in lines)
    assert done["retry_available"] is True and done["delta_until"] is not None
    # The same lines as CSV, in Japanese: a header row, then one row per message.
    page = env.service.report(me, done["id"], 200, None)
    rows = list(csv.reader(io.StringIO(api_views.report_csv(page, "ja", header=True))))
    assert rows[0][:4] == ["folder", "uid", "reason", "reason_text"]
    assert len(rows) == 1 + len(lines)
    assert any("MB" in row[3] and "サーバー" in row[3] for row in rows[1:])


def test_a_retry_fetches_only_what_can_be_retried_and_duplicates_nothing(
    faulty: tuple[Env, Faulty],
) -> None:
    env, fault = faulty
    me = owner()
    user, password = _seed(env)
    first = _run(env, me, env.create(me, user, password))
    before = _inbox_subjects(env, me)
    assert before == ["m1", "m2", "m3"]
    fault.on = False  # the server hands everything over now
    with pytest.raises(PasswordRequired):
        env.service.follow_up(me, first["id"], JobKind.RETRY, {"agreed": True})
    with pytest.raises(ValidationFailed):
        env.service.follow_up(me, first["id"], JobKind.RETRY, {"password": password})
    with pytest.raises(RemoteAuthFailed):
        env.service.follow_up(me, first["id"], JobKind.RETRY, {"agreed": True, "password": "wrong"})
    with pytest.raises(NotFound):  # somebody else's job: as if it did not exist
        env.service.follow_up(
            owner(), first["id"], JobKind.RETRY, {"agreed": True, "password": password}
        )
    retry = env.service.follow_up(
        me, first["id"], JobKind.RETRY, {"agreed": True, "password": password}
    )
    shown = api_views.migration(retry)
    assert shown["kind"] == "retry" and shown["origin_id"] == first["id"]
    done = _run(env, me, shown)
    assert done["state"] == "completed", done
    # Planned: the three worth retrying (not the oversized one); the refused and vanished
    # ones come now, the one that is not mail fails again and is listed again.
    assert done["progress"]["total_messages"] == 3
    assert done["counts"] == {
        "imported": 2,
        "already_present": 0,
        "skipped_oversize": 0,
        "failed": 1,
    }
    assert [line["reason"] for line in _report(env, me, done["id"])] == ["unreadable"]
    assert _inbox_subjects(env, me) == ["m1", "m2", "m3", "m6", "m7"]
    # Again: all of it is there already; nothing is stored twice.
    again = env.service.follow_up(
        me, first["id"], JobKind.RETRY, {"agreed": True, "password": password}
    )
    redone = _run(env, me, api_views.migration(again))
    assert redone["counts"]["imported"] == 0 and redone["counts"]["already_present"] == 2
    assert _inbox_subjects(env, me) == ["m1", "m2", "m3", "m6", "m7"]


def test_a_job_without_failures_offers_no_retry(local_stack: LocalStack, dovecot: Dovecot) -> None:
    env = build(local_stack, dovecot)
    me, job, _ = env.started(2)
    done = _run(env, me, job)
    assert done["retry_available"] is False
    assert _report(env, me, done["id"]) == []
    with pytest.raises(NotRetryable):
        env.service.follow_up(me, job["id"], JobKind.RETRY, {"agreed": True, "password": "x"})


def test_a_delta_pass_brings_only_what_arrived_since_and_reverts_on_its_own(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    env = build(local_stack, dovecot)
    me = owner()
    user, password = env.seed_user(3)
    first = _run(env, me, env.create(me, user, password))
    assert first["counts"]["imported"] == 3
    dovecot.seed_maildir(user, "INBOX", [(_mail(n), set(), 1_800_000_000.0 + n) for n in (10, 11)])
    dovecot.seed_maildir(user, "Projects", [(_mail(12), set(), 1_800_000_100.0)])
    delta = env.service.follow_up(
        me, first["id"], JobKind.DELTA, {"agreed": True, "password": password}
    )
    done = _run(env, me, api_views.migration(delta))
    assert done["kind"] == "delta" and done["state"] == "completed", done
    # Only the new ones: two in INBOX after its snapshot, and the folder new since.
    assert done["counts"] == {
        "imported": 3,
        "already_present": 0,
        "skipped_oversize": 0,
        "failed": 0,
    }
    subjects = _inbox_subjects(env, me)
    assert subjects == ["m0", "m1", "m10", "m11", "m2"]
    # Reverting the delta pass removes what it brought, not the first job's mail.
    env.service.revert(me, done["id"])
    ref = ref_of(me, done)
    while not env.runner.rollback(ref, None, "revert")["done"]:
        pass
    reverted = env.service.get(me, done["id"])
    assert reverted["state"] == "reverted" and reverted["removed"] == 3, reverted
    assert reverted["kept_folders"] == 0  # "Projects", made by the delta pass, went with it
    assert _inbox_subjects(env, me) == ["m0", "m1", "m2"]


def test_a_delta_pass_is_offered_for_thirty_days_only(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    env = build(local_stack, dovecot)
    me, job, _ = env.started(1)
    done = _run(env, me, job)
    until = dt.datetime.fromisoformat(done["delta_until"])
    assert until - dt.datetime.fromisoformat(done["finished_at"]) == dt.timedelta(days=30)
    env.clock.offset += dt.timedelta(days=31)
    assert env.service.get(me, job["id"])["delta_until"] is None
    with pytest.raises(DeltaUnavailable):
        env.service.follow_up(me, job["id"], JobKind.DELTA, {"agreed": True, "password": "x"})


def test_a_folder_deleted_on_the_server_mid_job_is_one_line_and_loses_nothing_else(
    local_stack: LocalStack, dovecot: Dovecot
) -> None:
    env = build(local_stack, dovecot)
    me = owner()
    user, password = env.seed_user(3)
    dovecot.seed_maildir(
        user, "Projects", [(_mail(n), set(), 1_700_000_500.0 + n) for n in range(4)]
    )
    job = env.create(me, user, password)
    ref = ref_of(me, job)
    cursor = env.runner.plan(ref)
    dovecot.doveadm(["mailbox", "delete", "-u", user, "Projects"])
    while not cursor["done"]:
        cursor = env.runner.copy_chunk(ref, cursor)
    env.runner.finalize(ref)
    done = env.service.get(me, job["id"])
    assert done["state"] == "completed", done
    assert done["counts"] == {
        "imported": 3,
        "already_present": 0,
        "skipped_oversize": 0,
        "failed": 4,
    }
    (line,) = _report(env, me, job["id"])
    assert (line["folder"], line["reason"], line["messages"], line["uid"]) == (
        "Projects",
        "folder_gone",
        4,
        0,
    )
    assert line["retryable"] is False
    assert _inbox_subjects(env, me) == ["m0", "m1", "m2"]
    # Counted as failed, but nothing a retry could fetch: none is offered, none is queued.
    assert done["retry_available"] is False
    with pytest.raises(NotRetryable):
        env.service.follow_up(me, job["id"], JobKind.RETRY, {"agreed": True, "password": password})


class FailingOnce:
    """The job store; its first save of a checkpoint fails (as a throttled write, a lost
    connection would), after the batch's report lines are written.
    """

    def __init__(self, real: Any) -> None:
        self.real = real
        self.failed = False

    def save_job(self, job: Any, **kwargs: Any) -> Any:
        if not self.failed and kwargs.get("plan_changes") and job.counts.handled:
            self.failed = True
            raise TransientError("the table is busy")
        return self.real.save_job(job, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_a_step_redone_after_a_failed_save_leaves_no_line_its_first_attempt_made(
    faulty: tuple[Env, Faulty],
) -> None:
    env, fault = faulty
    me = owner()
    user, password = env.seed_user(0)
    mail = [_mail(1), _mail(2, b"VANISH-ME"), _mail(3)]
    env.dovecot.seed_maildir(user, "INBOX", [(m, set(), 1.7e9 + i) for i, m in enumerate(mail)])
    job = env.create(me, user, password)
    ref = ref_of(me, job)
    cursor = env.runner.plan(ref)
    failing = FailingOnce(env.runner._jobs)
    env.runner._jobs = failing
    with pytest.raises(TransientError):  # the first batch: m2 missing, its line written
        env.runner.copy_chunk(ref, cursor)
    assert failing.failed
    fault.on = False  # the redo fetches it
    while not cursor["done"]:
        cursor = env.runner.copy_chunk(ref, cursor)
    env.runner.finalize(ref)
    done = env.service.get(me, job["id"])
    assert done["counts"]["imported"] == 3 and done["counts"]["failed"] == 0, done
    assert _report(env, me, job["id"]) == []  # the first attempt's "vanished" line is gone
    assert done["retry_available"] is False


def test_one_follow_up_at_a_time_and_none_over_a_reverted_job(
    faulty: tuple[Env, Faulty],
) -> None:
    env, _ = faulty
    me = owner()
    user, password = _seed(env)
    first = _run(env, me, env.create(me, user, password))
    body: Any = {"agreed": True, "password": password}
    retry = api_views.migration(env.service.follow_up(me, first["id"], JobKind.RETRY, body))
    with pytest.raises(FollowUpActive):  # another, while this one is queued
        env.service.follow_up(me, first["id"], JobKind.DELTA, body)
    with pytest.raises(FollowUpActive):  # nor reverted under it
        env.service.revert(me, first["id"])
    # Reverted anyway (an admin's revert through the store): the retry's plan refuses.
    origin = env.jobs.get_job(me, first["id"])
    assert origin is not None
    env.jobs.save_job(dataclasses.replace(origin, state=JobState.REVERTED))
    with pytest.raises(NotRetryable):
        env.runner.plan(ref_of(me, retry))
