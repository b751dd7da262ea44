"""The demo mail server's mail (mailport_local.demo_mail_content): every message parses, the
odd charsets are what they say (or, once, deliberately not), and builds are repeatable."""

from __future__ import annotations

import email
import email.policy
import io
from email.message import EmailMessage

import pytest

from mailport_local.demo_mail_content import (
    DEMO_MAIL_USERS,
    LARGE_MESSAGE,
    large_message_size,
    mailboxes,
    new_message,
    write_large_message,
)
from mailport_local.dovecot import imap_utf7_encode

TARO, ALICE = DEMO_MAIL_USERS
MAX_BYTES = 50 * 1024 * 1024  # mailport's limit (mailport.domain.message.MAX_BYTES)


def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def by_subject(user_messages: dict[str, list[tuple[bytes, set[str], float]]]) -> dict[str, bytes]:
    return {
        str(parse(raw)["Subject"]): raw for seeded in user_messages.values() for raw, _, _ in seeded
    }


@pytest.mark.parametrize("user", DEMO_MAIL_USERS, ids=lambda u: u.name)
def test_every_message_parses_with_crlf_and_a_unique_id(user: object) -> None:
    boxes = mailboxes(user)  # type: ignore[arg-type]
    total = sum(len(v) for v in boxes.values())
    assert 25 <= total <= 60  # a few dozen
    ids = set()
    for folder, seeded in boxes.items():
        assert seeded, folder
        for raw, flags, when in seeded:
            assert b"\n" not in raw.replace(b"\r\n", b""), "bare LF"
            msg = parse(raw)
            assert not msg.defects, (folder, msg.defects)
            assert msg["From"] and msg["To"] and msg["Date"] and msg["Subject"]
            ids.add(msg["Message-ID"])
            assert flags <= {"\\Seen", "\\Flagged", "\\Answered"}
            assert 1_700_000_000 < when < 1_800_000_000
            for part in msg.walk():
                if part.get_content_maintype() == "text":
                    assert part.get_content()  # decodes in its declared charset
    assert len(ids) == total


def test_folders_standard_and_japanese_nested() -> None:
    taro = mailboxes(TARO)
    assert {"INBOX", "Sent", "Archive", "Trash", "仕事", "仕事.2026", "旅行"} == set(taro)
    assert {"INBOX", "Sent", "Archive", "Trash"} <= set(mailboxes(ALICE))
    assert imap_utf7_encode("仕事.2026") == "&TtVOiw-.2026"  # on disk, "." nests it


def test_flags_some_seen_some_flagged_some_unread() -> None:
    flags = [f for seeded in mailboxes(TARO).values() for _, f, _ in seeded]
    assert any("\\Flagged" in f for f in flags) and any("\\Answered" in f for f in flags)
    assert any(not f for f in flags) and sum("\\Seen" in f for f in flags) > len(flags) / 2
    sent = [f for _, f, _ in mailboxes(TARO)["Sent"]]
    assert all("\\Seen" in f for f in sent)


def test_attachments_including_a_japanese_file_name() -> None:
    names = set()
    for seeded in mailboxes(TARO).values():
        for raw, _, _ in seeded:
            names |= {a.get_filename() for a in parse(raw).iter_attachments()}
    assert {"議事録.csv", "photo.png"} <= names
    assert any(n and n.endswith(".pdf") for n in names)


def test_the_charsets_japanese_mail_arrives_in() -> None:
    mail = by_subject(mailboxes(TARO))
    iso = parse(mail["打ち合わせ日程のご相談"])
    assert iso.get_content_charset() == "iso-2022-jp"
    assert b"=?iso-2022-jp?b?" in mail["打ち合わせ日程のご相談"]
    assert "打ち合わせ" in iso.get_content()
    raw_iso = mail["打ち合わせ日程のご相談"]
    assert all(b < 0x80 for b in raw_iso)  # 7bit on the wire, escape sequences included
    assert b"\x1b$B" in raw_iso

    sjis = parse(mail["見積書（Shift_JIS）"])
    assert sjis.get_content_charset() == "shift_jis"
    assert "打ち合わせ" in sjis.get_content()

    euc = parse(mail["社内報（EUC-JP）"])
    assert euc.get_content_charset() == "euc-jp" and euc["Content-Transfer-Encoding"] == "base64"
    assert "打ち合わせ" in euc.get_content()

    # Mislabelled: Shift_JIS bytes under charset=iso-8859-1 read as mojibake in Latin-1...
    wrong = parse(mail["Re: mitsumori (label wrong)"])
    assert wrong.get_content_charset() == "iso-8859-1"
    assert "打ち合わせ" not in wrong.get_content()
    body = wrong.get_payload(decode=True)
    assert isinstance(body, bytes) and "打ち合わせ" in body.decode("shift_jis")

    # ...and an RFC 2047 subject of UTF-8 and ISO-2022-JP encoded words together.
    mixed = mail["新年度のご案内チーム便り 2026"]
    assert b"=?utf-8?b?" in mixed and b"=?iso-2022-jp?b?" in mixed


def test_builds_are_repeatable() -> None:
    assert mailboxes(TARO) == mailboxes(TARO)
    assert new_message(ALICE, 3, 1_767_225_600.0) == new_message(ALICE, 3, 1_767_225_600.0)


def test_the_large_message_is_over_the_limit_streamed_and_parses() -> None:
    assert LARGE_MESSAGE == ("taro", "INBOX")
    buf = io.BytesIO()
    write_large_message(TARO)(buf)
    raw = buf.getvalue()
    assert len(raw) == large_message_size() > MAX_BYTES
    assert b"\n" not in raw.replace(b"\r\n", b"")
    msg = parse(raw)
    assert "50 MB" in str(msg["Subject"])
    (attachment,) = msg.iter_attachments()
    assert attachment.get_filename() == "movie.mp4"
    data = attachment.get_payload(decode=True)
    assert isinstance(data, bytes) and len(data) == (40 * 1024 * 1024 // 57) * 57


def test_new_mail_is_numbered_per_language() -> None:
    ja = parse(new_message(TARO, 7, 1_767_225_600.0))
    en = parse(new_message(ALICE, 8, 1_767_225_600.0))
    assert ja["Subject"] == "新着のデモメール #7" and en["Subject"] == "New demo mail #8"
    assert ja["Message-ID"] != en["Message-ID"]
