"""Migration domain rules: connections, folder mapping, pacing, progress, errors."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from mailport.domain.mailbox import SystemFolder
from mailport.domain.migration import (
    DAY_S,
    GMAIL,
    Counts,
    FolderPlan,
    ImapTemplate,
    JobState,
    MigrationJob,
    SourceServer,
    UnsupportedConnection,
    Window,
    map_folders,
    pace_for,
    pace_wait,
    parse_connection,
    parse_template,
    reached_milestones,
    restart_folder,
)
from mailport.domain.oauth import OAuthProvider
from mailport.domain.remote import ImapFolder
from mailport.errors import ValidationFailed
from mailport.usecases.migration_runner import error_of

TEMPLATES = {"t1": ImapTemplate("t1", "Corp", "imap.corp.example", 10993, True)}


def folder(name: str, *flags: str, delimiter: str = "/", selectable: bool = True) -> ImapFolder:
    return ImapFolder(name, name.encode(), delimiter, frozenset(flags), selectable)


# -- connections -------------------------------------------------------------------------


def test_manual_connection_defaults_the_port_from_ssl() -> None:
    body = {"type": "manual", "host": "IMAP.Example.org ", "username": "me", "password": " p "}
    server, password = parse_connection(body, {}.get)
    assert (server.host, server.port, server.ssl, password) == (
        "imap.example.org",
        993,
        True,
        " p ",
    )
    server, _ = parse_connection({**body, "ssl": False}, {}.get)
    assert server.port == 143


# A connection's types and bounds are checked at the API's edge (test_api_body_validation);
# which fields its type needs, and that they are not blank, here.
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"host": " "}, "connection.host is required"),
        ({"host": ""}, "connection.host is required"),
        ({"username": "\t"}, "connection.username is required"),
        ({"password": " "}, "connection.password is required"),
    ],
)
def test_connection_refusals_name_the_field(change: dict[str, object], message: str) -> None:
    body = {"type": "manual", "host": "imap.example.org", "username": "me", "password": "p"}
    with pytest.raises(ValidationFailed) as caught:
        parse_connection({**body, **change}, TEMPLATES.get)
    assert str(caught.value) == message


@pytest.mark.parametrize("missing", ["host", "username", "password"])
def test_a_manual_connection_needs_its_fields(missing: str) -> None:
    body = {"type": "manual", "host": "imap.example.org", "username": "me", "password": "p"}
    del body[missing]
    with pytest.raises(ValidationFailed) as caught:
        parse_connection(body, TEMPLATES.get)
    assert str(caught.value) == f"connection.{missing} is required"


def test_a_template_connection_needs_a_login() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_connection({"type": "template", "template_id": "t1", "password": "p"}, TEMPLATES.get)
    assert str(caught.value) == "connection.username is required"
    with pytest.raises(ValidationFailed, match="admin"):
        parse_connection({"type": "template", "username": "me", "password": "p"}, TEMPLATES.get)


# A template's types and bounds are checked at the API's edge (test_api_body_validation);
# what the name may show is the domain's.
@pytest.mark.parametrize("name", ["a\u202eb", "a\r\nb", "a\x00b"])
def test_a_template_name_that_would_misread_is_refused(name: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_template({"name": name, "host": "imap.corp.example"}, "t1")
    assert str(caught.value) == "name may not contain control characters or direction overrides"


def test_a_template_defaults_the_port_from_ssl() -> None:
    plain = parse_template({"name": "Corp", "host": "IMAP.corp.example", "ssl": False}, "t1")
    assert (plain.host, plain.port, plain.ssl) == ("imap.corp.example", 143, False)
    assert parse_template({"name": " Corp ", "host": "h"}, "t1") == ImapTemplate(
        "t1", "Corp", "h", 993, True
    )


def test_a_template_names_host_and_port_and_may_use_any_port() -> None:
    body = {"type": "template", "template_id": "t1", "username": "me", "password": "p"}
    server, _ = parse_connection(body, TEMPLATES.get)
    assert (server.kind, server.host, server.port, server.template_id) == (
        "template",
        "imap.corp.example",
        10993,
        "t1",
    )
    with pytest.raises(ValidationFailed, match="admin"):
        parse_connection({**body, "template_id": "other-tenants"}, TEMPLATES.get)


def test_microsoft365_connections_name_one_of_the_users_sign_ins() -> None:
    body = {"type": "microsoft365", "connection_id": "m1"}
    with pytest.raises(UnsupportedConnection):  # a deployment without Microsoft 365
        parse_connection(body, {}.get)
    server = SourceServer("microsoft365", "outlook.office365.com", 993, True, "a@b.example")
    mine = {(OAuthProvider.MICROSOFT, "m1"): server}

    def signed_in(provider: OAuthProvider, cid: str) -> SourceServer | None:
        return mine.get((provider, cid))

    assert parse_connection(body, {}.get, signed_in) == (server, "")
    for other in ({**body, "connection_id": "m2"}, {"type": "microsoft365"}):
        with pytest.raises(ValidationFailed, match="connection_id"):
            parse_connection(other, {}.get, signed_in)
    # A Microsoft sign-in is not a Google source (its token never goes to Gmail's server).
    with pytest.raises(ValidationFailed, match="Google sign-ins"):
        parse_connection({"type": "google", "connection_id": "m1"}, {}.get, signed_in)
    google = SourceServer("google", "imap.gmail.com", 993, True, "a@gmail.example", None, "g1")
    mine[(OAuthProvider.GOOGLE, "g1")] = google
    assert parse_connection({"type": "google", "connection_id": "g1"}, {}.get, signed_in) == (
        google,
        "",
    )
    assert google.provider is OAuthProvider.GOOGLE and server.provider is None


def test_the_source_key_ignores_host_case_but_not_the_user() -> None:
    a = SourceServer("manual", "imap.example.org", 993, True, "me")
    assert a.key == SourceServer("manual", "IMAP.example.org", 993, True, "me").key
    assert a.key != SourceServer("manual", "imap.example.org", 993, True, "you").key


# -- folder mapping -------------------------------------------------------------------------


def test_inbox_special_use_and_usual_names_map_to_system_folders() -> None:
    mapped = {
        m.source.name: m
        for m in map_folders(
            [
                folder("INBOX"),
                folder("Sent Items"),
                folder("Gesendet", "\\Sent"),
                folder("Deleted Items"),
                folder("Spam"),
                folder("Archive/Sent"),
                folder("Drafts", "\\Drafts"),
            ]
        )
    }
    assert mapped["INBOX"].system is SystemFolder.INBOX
    assert mapped["Drafts"].system is SystemFolder.DRAFTS
    assert mapped["Deleted Items"].system is SystemFolder.TRASH
    assert mapped["Spam"].system is SystemFolder.JUNK
    # A nested "Sent" is the user's own folder, not the system one.
    assert mapped["Archive/Sent"].system is None
    assert mapped["Archive/Sent"].path == ("Archive", "Sent")
    # Two candidates for Sent: the first met wins, the other keeps its name.
    sent = [m for m in mapped.values() if m.system is SystemFolder.SENT]
    assert len(sent) == 1


def test_the_separator_becomes_nesting_and_views_are_skipped() -> None:
    mapped = map_folders(
        [
            folder("Work.2024.Q1", delimiter="."),
            folder("[Gmail]", "\\Noselect", selectable=False),
            folder("[Gmail]/Starred", "\\Flagged"),
            folder("[Gmail]/Important", "\\Important"),
            folder("日本語"),
        ]
    )
    by_name = {m.source.name: m for m in mapped}
    assert by_name["Work.2024.Q1"].path == ("Work", "2024", "Q1")
    assert by_name["[Gmail]"].skip_reason and by_name["[Gmail]/Starred"].skip_reason
    assert by_name["[Gmail]/Important"].skip_reason
    assert by_name["日本語"].path == ("日本語",) and by_name["日本語"].skip_reason is None


def test_gmail_all_mail_goes_last_without_the_bracketed_parent() -> None:
    mapped = map_folders(
        [
            folder("[Gmail]/All Mail", "\\All"),
            folder("Receipts"),
            folder("INBOX"),
            folder("[Gmail]/Sent Mail", "\\Sent"),
        ]
    )
    assert [m.source.name for m in mapped] == [
        "INBOX",
        "[Gmail]/Sent Mail",
        "Receipts",
        "[Gmail]/All Mail",
    ]
    assert mapped[-1].path == ("All Mail",)
    assert all(m.dedup_across for m in mapped)


def test_hostile_names_stay_data() -> None:
    (m,) = map_folders([folder("../../etc\\passwd", delimiter="/")])
    assert m.path == ("..", "..", "etc\\passwd")


# -- pacing ---------------------------------------------------------------------------------


def test_profiles_by_host() -> None:
    assert pace_for("imap.gmail.com").name == "gmail"
    assert pace_for("outlook.office365.com").name == "microsoft365"
    assert pace_for("imap.example.org").daily_bytes is None
    assert pace_for("imap.example.org", 1000).daily_bytes == 1000


def test_generic_servers_never_wait() -> None:
    assert pace_wait(pace_for("x"), Window(0, 10**12), 5.0, 10**9)[0] == 0


def test_gmail_waits_for_the_day_window_once_the_cap_is_used() -> None:
    start = 1_000_000.0
    wait, window = pace_wait(GMAIL, Window(start, GMAIL.daily_bytes or 0), start + 3600, 10)
    assert wait == DAY_S - 3600 and window.start == start
    # A new day: the window starts over.
    wait, window = pace_wait(GMAIL, Window(start, 10**12), start + DAY_S, 10)
    assert wait == 0 and window == Window(start + DAY_S, 0)


def test_one_message_bigger_than_the_cap_still_goes_in_a_fresh_window() -> None:
    assert pace_wait(GMAIL, Window(0, 0), 10.0, 10**12)[0] == 0


# -- progress ---------------------------------------------------------------------------------


def _plan(messages: int, done: Counts, bytes_: int = 1000) -> FolderPlan:
    return FolderPlan(
        "INBOX", b"INBOX", 7, messages + 1, messages, bytes_, 0, "inbox", "Inbox", counts=done
    )


def _job(**kw: object) -> MigrationJob:
    base = MigrationJob(
        "j1",
        "t",
        "u",
        SourceServer("manual", "h", 993, True, "me"),
        JobState.RUNNING,
        dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        planned=True,
    )
    return dataclasses.replace(base, **kw)


def test_percent_eta_and_counts() -> None:
    job = _job(plan=(_plan(10, Counts(imported=4, already_present=1, bytes=500)),), busy_s=5.0)
    assert job.percent() == 50
    assert job.eta_seconds(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)) == 5
    assert job.counts.to_json() == {
        "imported": 4,
        "already_present": 1,
        "skipped_oversize": 0,
        "failed": 0,
    }
    paused = _job(
        plan=job.plan,
        busy_s=5.0,
        state=JobState.PAUSED,
        paused_until=dt.datetime(2026, 1, 1, 0, 1, tzinfo=dt.UTC),
    )
    assert paused.eta_seconds(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)) == 65
    assert _job(plan=(_plan(0, Counts()),)).percent() == 100


def test_the_daily_cap_adds_days_to_the_eta() -> None:
    job = _job(
        plan=(_plan(10, Counts(imported=1, bytes=100), bytes_=3100),),
        busy_s=1.0,
        daily_bytes=1000,
        window=Window(0, 1000),
    )
    # 3000 bytes left at 100 B/s = 30 s, and three more days of cap.
    assert job.eta_seconds(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)) == 30 + 3 * DAY_S


def test_restart_starts_the_folder_and_its_counts_over() -> None:
    f = restart_folder(_plan(10, Counts(imported=3)), 99, 50)
    assert (f.uidvalidity, f.uidnext, f.done_uid, f.restarts) == (99, 50, 0, 1)
    assert f.counts == Counts()


def test_milestones_are_announced_once() -> None:
    assert reached_milestones(10, 60, ()) == [25, 50]
    assert reached_milestones(10, 60, (25,)) == [50]
    assert reached_milestones(60, 60, ()) == []


def test_error_of_reads_the_lambda_cause() -> None:
    cause = json.dumps({"errorType": "RemoteAuthFailed", "errorMessage": "IMAP login refused"})
    error = error_of({"Error": "RemoteAuthFailed", "Cause": cause})
    assert (error.code, error.message) == ("remote_auth_failed", "IMAP login refused")
    assert error_of({"Error": "JobCancelled", "Cause": "{}"}).code == "cancelled"
    assert error_of(None).code == "failed"


@pytest.mark.parametrize(
    ("kind", "subject"),
    [
        ("started", "started"),
        ("progress:50", "50%"),
        ("completed", "completed"),
        ("rolled_back", "undone"),
        ("rollback_failed", "could not be undone"),
    ],
)
def test_notices_carry_counts_and_never_a_header_from_server_text(kind: str, subject: str) -> None:
    from email import message_from_bytes, policy

    from mailport.domain.migration import JobError
    from mailport.domain.notices import migration_notice

    job = _job(
        plan=(_plan(10, Counts(imported=7, skipped_oversize=1)),),
        error=JobError("remote_error", "server said\r\nBcc: victim@example.org"),
    )
    raw = migration_notice(
        job, kind, dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "m1", sender="n@x.example", to="u@y"
    )
    msg = message_from_bytes(raw, policy=policy.default)
    assert subject in str(msg["Subject"])
    assert msg["From"] == "n@x.example" and msg["To"] == "u@y" and msg["Bcc"] is None
    assert "Auto-Submitted" in msg
    if kind in ("completed", "progress:50"):
        text = msg.get_body(preferencelist=("plain",))  # multipart/alternative: its text part
        assert text is not None and "Imported: 7" in text.get_content()


@pytest.mark.parametrize("name", ["a\u202eb", "a\u2066b", "bell\x07", "tab\tname", "esc\x1b[31m"])
def test_a_template_name_may_not_hide_or_turn_round_what_follows(name: str) -> None:
    """Users see "name (host:port)": an override would show "(…:993)" as another server."""
    with pytest.raises(ValidationFailed):
        parse_template({"name": name, "host": "imap.example.com", "port": 993}, "t1")
    shown = "<img src=x onerror=alert(1)> 社内サーバー \u200f"  # markup is text; RTL marks stay
    assert parse_template({"name": shown, "host": "h", "port": 993}, "t1").name == shown.strip()


def test_folders_under_a_personal_namespace_map_as_top_level_ones() -> None:
    # Courier-IMAP, Cyrus (classic namespace), many shared hosts: NAMESPACE (("INBOX." ".")).
    listed = [
        folder("INBOX", delimiter="."),
        folder("INBOX.Sent", delimiter="."),
        folder("inbox.Trash", delimiter="."),  # INBOX is case-insensitive (RFC 3501)
        folder("INBOX.日本語", delimiter="."),
        folder("INBOX.Work.2024", delimiter="."),
        folder("INBOX.Archive.Sent", delimiter="."),
        folder("Shared.Team", delimiter="."),  # outside the personal namespace: as listed
    ]
    by_name = {m.source.name: m for m in map_folders(listed, "INBOX.")}
    assert by_name["INBOX"].system is SystemFolder.INBOX
    assert by_name["INBOX.Sent"].system is SystemFolder.SENT
    assert by_name["inbox.Trash"].system is SystemFolder.TRASH
    assert (by_name["INBOX.日本語"].system, by_name["INBOX.日本語"].path) == (None, ("日本語",))
    assert by_name["INBOX.Work.2024"].path == ("Work", "2024")
    assert by_name["INBOX.Archive.Sent"].path == ("Archive", "Sent")  # nested: the user's own
    assert by_name["Shared.Team"].path == ("Shared", "Team")
    # The source keeps the server's own name: commands use it.
    assert by_name["INBOX.日本語"].source.name == "INBOX.日本語"
    # Without the prefix (the server said none) nothing changes: INBOX.Sent is under Inbox.
    assert {m.source.name: m.path for m in map_folders(listed)}["INBOX.Sent"] == ("INBOX", "Sent")
