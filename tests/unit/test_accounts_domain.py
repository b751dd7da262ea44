"""External accounts: a request from the edge to the domain, presets, the schedule spread,
the listing digest, notices.
"""

from __future__ import annotations

import collections
import datetime as dt
import email
import email.policy
import typing
import uuid

import api_inputs
import api_validation
import api_views
import pytest

from mailport.domain.accounts import (
    PRESETS,
    SCHEDULE_WINDOW_S,
    AccountInput,
    FetchRequest,
    PopAccount,
    Preset,
    PresetName,
    RunTrigger,
    account_input,
    changed_account,
    clean_host,
    new_account,
    new_run_id,
    schedule_slot,
    server_digest,
)
from mailport.domain.notices import fetch_disabled, fetch_warning
from mailport.domain.remote import PopEntry
from mailport.errors import ValidationFailed

NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
BASE = {"username": "me@example.com", "password": "pw", "agreed": True}


def request(fields: dict[str, object]) -> AccountInput:
    """A body as the routes take it: its shape checked at the edge, its meaning here."""
    return account_input(api_validation.validate(api_inputs.AccountInput, fields))


def make(**fields: object) -> PopAccount:
    return new_account(request({**BASE, **fields}), "a1", NOW, "inbox")


def test_presets_fill_server_and_manual_needs_a_host() -> None:
    gmail = make(preset="gmail")
    assert (gmail.host, gmail.port, gmail.ssl) == ("pop.gmail.com", 995, True)
    assert make(preset="line_works").host == "pop.worksmobile.com"
    assert make(preset="gmail", port=1995).port == 1995  # a typed value wins
    with pytest.raises(ValidationFailed, match="host"):
        make(preset="manual")
    plain = make(preset="manual", host="Mail.Example.COM.", ssl=False)
    assert (plain.host, plain.port, plain.ssl) == ("mail.example.com", 110, False)
    ids = [p["id"] for p in api_views.presets(set())["presets"]]
    assert ids == [*(p.value for p in PRESETS), "manual"]


def test_defaults_follow_the_seed() -> None:
    a = make(preset="yahoo")
    assert (a.keep_original, a.auto_fetch, a.apply_rules, a.folder_id, a.icon) == (
        True,
        True,
        False,
        "inbox",
        "none",
    )


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"agreed": False}, "agreement"),
        ({"agreed": None}, "agreement"),
        ({"password": None}, "required"),
        ({"port": 0, "preset": "gmail"}, "port"),
        ({"port": 70000, "preset": "gmail"}, "port"),
        ({"port": True, "preset": "gmail"}, "port"),
        ({"port": "995", "preset": "gmail"}, "port"),
        ({"preset": "aol"}, "preset"),
        ({"preset": "manual", "host": "bad host"}, "host"),
        ({"preset": "manual", "host": "-x.example"}, "host"),
        ({"preset": "manual", "host": "a" * 64 + ".example"}, "host"),
        ({"preset": "gmail", "icon": "rainbow"}, "icon"),
        ({"preset": "gmail", "username": "a\r\nb"}, "control"),
        ({"preset": "gmail", "password": "p\x00w"}, "control"),
        ({"preset": "gmail", "username": "x" * 321}, "username"),
        ({"preset": "gmail", "keep_original": "no"}, "true or false"),
        ({"preset": "gmail", "unknown": 1}, "not a known field"),
    ],
)
def test_bad_input_is_refused_clearly(fields: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationFailed, match=problem):
        make(**fields)


def test_a_bad_host_is_refused_naming_the_field() -> None:
    """The shape of every field is checked at the edge (``test_api_body_validation``); the
    host name's labels here.
    """
    with pytest.raises(ValidationFailed) as caught:
        request({**BASE, "host": "bad host"})
    assert str(caught.value) == '"host" must be a host name such as pop.example.com'


def test_a_request_names_the_presets_the_domain_knows() -> None:
    assert set(typing.get_args(PresetName)) == {p.value for p in Preset}


def test_absent_and_null_fields_are_not_changes() -> None:
    data = request({"ssl": None, "host": None, "port": None})
    assert (data.ssl, data.host, data.port, data.changes_connection) == (None, None, None, False)


def test_hosts_are_names_or_ip_literals() -> None:
    assert clean_host("192.0.2.1") == "192.0.2.1"
    assert clean_host("[2001:db8::1]") == "2001:db8::1"
    assert clean_host("pop.example.jp") == "pop.example.jp"


def test_changing_the_server_needs_the_password_again() -> None:
    before = make(preset="gmail")
    with pytest.raises(ValidationFailed, match="password again"):
        changed_account(before, request({"host": "evil.example"}))
    with pytest.raises(ValidationFailed, match="password again"):
        changed_account(before, request({"username": "other@example.com"}))
    moved = changed_account(before, request({"port": 1995, "password": "pw"}))
    assert (moved.host, moved.port) == ("pop.gmail.com", 1995)  # the rest kept
    icon = changed_account(before, request({"icon": "red"}))
    assert icon.icon == "red" and icon.host == before.host


def test_switching_automatic_fetch_back_on_restarts_the_count() -> None:
    from dataclasses import replace

    from mailport.domain.accounts import FetchState

    off = replace(
        make(preset="gmail"),
        auto_fetch=False,
        state=FetchState(failures=10, disabled_reason="failed 10 times"),
    )
    on = changed_account(off, request({"auto_fetch": True}))
    assert on.auto_fetch and on.state.failures == 0 and on.state.disabled_reason == ""


def test_100000_accounts_spread_evenly_over_the_window() -> None:
    per_minute = collections.Counter(
        schedule_slot(f"a{uuid.uuid4().hex[:20]}") // 60 for _ in range(100_000)
    )
    assert set(per_minute) == set(range(SCHEDULE_WINDOW_S // 60))
    mean = 100_000 / len(per_minute)
    assert max(per_minute.values()) / mean <= 1.05


def test_listing_digest() -> None:
    a = [PopEntry(1, "u1", 10), PopEntry(2, "u2", 20)]
    assert server_digest(a) == server_digest(list(reversed(a)))  # numbers don't matter
    assert server_digest(a) != server_digest([*a, PopEntry(3, "u3", 5)])
    assert server_digest(a) != server_digest([PopEntry(1, "u1", 11), a[1]])
    assert server_digest([PopEntry(1, None, 10)]) == ""  # no UIDL: never "nothing new"


def test_run_ids_sort_by_time_and_requests_round_trip() -> None:
    earlier, later = new_run_id(NOW, "ffff"), new_run_id(NOW + dt.timedelta(seconds=1), "0000")
    assert earlier < later
    request = FetchRequest("t", "u", "a", RunTrigger.SCHEDULE, tick="2026-11-28T10:00:00Z")
    assert FetchRequest.from_json(request.to_json()) == request
    with pytest.raises(ValidationFailed):
        FetchRequest.from_json({"tenant_id": "t"})
    with pytest.raises(ValidationFailed):
        FetchRequest.from_json({**request.to_json(), "trigger": "sometimes"})


def test_account_json_never_has_the_password() -> None:
    from dataclasses import replace

    account = replace(make(preset="gmail"), sealed_password=b"sealed-bytes")
    shown = api_views.account(account, NOW)
    assert "password" not in shown and "sealed" not in str(shown)
    assert "sealed-bytes" not in repr(account)


def test_notices_are_well_formed_and_cannot_be_injected_into() -> None:
    account = make(preset="gmail", username="山田 <yamada@example.jp>")
    raw = fetch_disabled(account, "login refused\r\nBcc: victim@example.com", NOW, "n1")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert "turned off" in str(msg["Subject"])  # one language: English unless told
    ja = email.message_from_bytes(
        fetch_disabled(account, "x", NOW, "n1", language="ja"), policy=email.policy.default
    )
    assert "停止" in str(ja["Subject"]) and "turned off" not in str(ja["Subject"])
    assert msg["Bcc"] is None and msg["Auto-Submitted"] == "auto-generated"
    body = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "login refused Bcc: victim@example.com" in body  # flattened into the text
    warning = email.message_from_bytes(
        fetch_warning(account, 3, "x", NOW, "n2"), policy=email.policy.default
    )
    assert "7 more" in warning.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert Preset.GMAIL in PRESETS
