"""The demo mail server's mail: synthetic, built with the standard library's ``email``.

Pure: nothing here touches the disk but ``write_large_message``, which streams into a file it
is given. Two users, ``taro`` (Japanese) and ``alice`` (English), each with a few dozen
messages in INBOX, Sent, Archive, Trash and folders of their own (taro's in Japanese, one
nested: "仕事.2026" is 仕事/2026 on a server whose separator is "."). Among them the charsets
mail from Japan really arrives in: ISO-2022-JP, Shift_JIS (labelled, and once mislabelled
iso-8859-1), EUC-JP, and RFC 2047 encoded-word subjects. Everything is derived from fixed
numbers, so two builds are byte for byte the same.
"""

from __future__ import annotations

import base64
import email.policy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import Header
from email.message import EmailMessage, Message
from email.mime.multipart import MIMEMultipart
from email.utils import format_datetime, formataddr
from typing import BinaryIO

# (raw message, IMAP flags, internal date as epoch seconds), as Dovecot.seed_maildir takes.
Seeded = tuple[bytes, set[str], float]

BASE_EPOCH = 1_767_225_600  # 2026-01-01T00:00:00Z; seeded mail is spread over the year before
_HOUR = 3600
_CRLF = email.policy.SMTP  # mail on the wire has CRLF line ends (sizes then match LIST's)
_CRLF_COMPAT = email.policy.compat32.clone(linesep="\r\n")


@dataclass(frozen=True, slots=True)
class DemoUser:
    """A mail user of the demo server (its login is ``name``)."""

    name: str
    password: str
    display_name: str
    address: str
    language: str


DEMO_MAIL_USERS = (
    DemoUser("taro", "taro-demo", "山田 太郎", "taro@demo-mail.example", "ja"),
    DemoUser("alice", "alice-demo", "Alice Adams", "alice@demo-mail.example", "en"),
)
LARGE_MESSAGE = ("taro", "INBOX")  # where the message over 50 MB is
# Raw attachment bytes; base64 with CRLF makes the message about 54.7 MB (over 50 MiB).
_LARGE_RAW = 40 * 1024 * 1024
_LARGE_LINE_IN = 57  # bytes per base64 line of 76 characters

_JA_PEOPLE = [
    ("佐藤 花子", "hanako.sato@example.co.jp"),
    ("鈴木 一郎", "ichiro.suzuki@example.ne.jp"),
    ("高橋 美咲", "misaki.takahashi@example.jp"),
    ("株式会社サンプル 総務部", "soumu@sample-corp.example.jp"),
]
_EN_PEOPLE = [
    ("Bob Brown", "bob@example.org"),
    ("Carol Chen", "carol.chen@example.com"),
    ("Dev Team", "dev-team@lists.example.net"),
    ("Travel Desk", "bookings@travel.example.com"),
]
_JA_SUBJECTS = {
    "INBOX": ["会議のお知らせ", "資料送付のご案内", "ランチのお誘い", "請求書の送付について"],
    "仕事": ["週次報告", "見積書のご確認", "打ち合わせ議事録", "納期の件"],
    "仕事.2026": ["2026年度 予算案", "新年度の体制について", "キックオフ資料"],
    "旅行": ["ご予約の確認（京都）", "航空券の予約完了", "温泉旅館のご案内"],
    "Sent": ["Re: 会議のお知らせ", "資料をお送りします", "お疲れさまです"],
    "Archive": ["昨年の忘年会について", "旧プロジェクトの資料"],
    "Trash": ["【広告】春のセール", "メルマガ第12号"],
}
_EN_SUBJECTS = {
    "INBOX": ["Team lunch on Friday", "Quarterly report draft", "Your invoice", "Welcome aboard"],
    "Projects": ["Roadmap review", "Design notes", "Standup summary"],
    "Projects.Launch": ["Launch checklist", "Press kit", "Go/no-go meeting"],
    "Sent": ["Re: Roadmap review", "Notes from today", "Thanks!"],
    "Archive": ["Holiday schedule 2025", "Old contract"],
    "Trash": ["Weekly newsletter", "Limited offer"],
}
# How many messages each folder gets (a few dozen a user, with the odd ones added).
_COUNTS = {"INBOX": 10, "Sent": 4, "Archive": 3, "Trash": 2}
_OTHER_COUNT = 4
_CSV_EVERY, _FILES_EVERY = 3, 5  # message n gets attachments when n % 7 is one of these


def _date(n: int) -> float:
    """Internal date of seeded message ``n``: spread over the year before BASE_EPOCH."""
    return float(BASE_EPOCH - (n * 37 + 11) * _HOUR)


def _flags(folder: str, n: int) -> set[str]:
    """Sent and old mail read, a third of INBOX unread, some flagged or answered."""
    if folder == "Sent":
        return {"\\Seen"}
    flags = {"\\Seen"} if folder != "INBOX" or n % 3 else set()
    if n % 4 == 1:
        flags.add("\\Flagged")
    if n % 5 == 2:  # noqa: PLR2004 - one in five
        flags.add("\\Answered")
    return flags


def _headers(msg: Message, user: DemoUser, folder: str, n: int, subject: str) -> None:
    people = _JA_PEOPLE if user.language == "ja" else _EN_PEOPLE
    name, address = people[n % len(people)]
    me = formataddr((user.display_name, user.address))
    other = formataddr((name, address))
    sent = folder == "Sent"
    msg["From"] = me if sent else other
    msg["To"] = other if sent else me
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.fromtimestamp(_date(n), UTC))
    msg["Message-ID"] = f"<demo.{user.name}.{n}@demo-mail.example>"


def _body(user: DemoUser, subject: str, n: int) -> str:
    if user.language == "ja":
        return (
            f"{user.display_name.split()[0]}様\n\nいつもお世話になっております。\n"
            f"「{subject}」の件でご連絡いたします。\n詳細は添付または下記をご確認ください。\n\n"
            f"よろしくお願いいたします。\n（デモ用のメール #{n}）\n"
        )
    return (
        f'Hi {user.display_name.split()[0]},\n\nA quick note about "{subject}".\n'
        f"Details are below or attached.\n\nBest,\n(demo message #{n})\n"
    )


def _plain(user: DemoUser, folder: str, n: int, subject: str) -> bytes:
    """An ordinary message (UTF-8), every third one with an HTML part, some attachments."""
    msg = EmailMessage(policy=_CRLF)
    _headers(msg, user, folder, n, subject)
    text = _body(user, subject, n)
    msg.set_content(text)
    if n % 3 == 0:
        html = "".join(f"<p>{line}</p>" for line in text.splitlines() if line)
        msg.add_alternative(f"<html><body>{html}</body></html>", subtype="html")
    ja = user.language == "ja"
    if n % 7 == _CSV_EVERY:
        rows = "項目,担当\r\n予算,佐藤\r\n" if ja else "item,owner\r\nbudget,bob\r\n"
        name = "議事録.csv" if ja else "minutes.csv"
        msg.add_attachment(rows.encode("utf-8"), "text", "csv", filename=name)
    if n % 7 == _FILES_EVERY:
        msg.add_attachment(_PDF, "application", "pdf", filename=f"document-{n}.pdf")
        msg.add_attachment(_PNG, "image", "png", filename="photo.png")
    for i, part in enumerate(msg.walk()):
        if part.is_multipart():  # fixed boundaries: the same message each build
            part.set_boundary(f"=_demo_{user.name}_{n}_{i}")
    return msg.as_bytes()


_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@dataclass(frozen=True, slots=True)
class _Legacy:
    """A text/plain message as older Japanese mail clients wrote it."""

    subject: str  # as it goes on the wire (encoded words already made)
    encoding: str  # what the body's bytes really are
    label: str  # the charset its Content-Type names
    cte: str  # 7bit, 8bit or base64
    flags: frozenset[str] = frozenset()


_TEXT = (
    "お世話になっております。\r\n来週の打ち合わせの日程についてご相談です。\r\n"
    "以上、よろしくお願いします。\r\n"
)


def _words(text: str, charset: str) -> str:
    """``text`` as RFC 2047 encoded words in ``charset``."""
    return Header(text, charset).encode()


def _mixed_subject() -> str:
    """新年度のご案内 in UTF-8, チーム便り in ISO-2022-JP, then plain ASCII: one Subject."""
    subject = Header("新年度のご案内", "utf-8")
    subject.append("チーム便り", "iso-2022-jp")
    subject.append(" 2026", "us-ascii")
    return subject.encode()


def _odd_specs() -> list[_Legacy]:
    return [
        _Legacy(
            _words("打ち合わせ日程のご相談", "iso-2022-jp"), "iso-2022-jp", "ISO-2022-JP", "7bit"
        ),
        _Legacy(_words("見積書（Shift_JIS）", "shift_jis"), "shift_jis", "Shift_JIS", "8bit"),
        # Shift_JIS bytes that say they are Latin-1: a broken client's, mojibake unless the
        # reader notices.
        _Legacy("Re: mitsumori (label wrong)", "shift_jis", "iso-8859-1", "8bit", _FLAGGED),
        _Legacy(_words("社内報（EUC-JP）", "euc-jp"), "euc-jp", "EUC-JP", "base64", _SEEN),
        # An encoded-word subject mixing charsets (RFC 2047) over a UTF-8 body.
        _Legacy(_mixed_subject(), "utf-8", "UTF-8", "8bit"),
    ]


_SEEN = frozenset({"\\Seen"})
_FLAGGED = frozenset({"\\Flagged"})


def _legacy(user: DemoUser, n: int, spec: _Legacy) -> bytes:
    """``spec`` as raw bytes (compat32: headers kept as given, as those clients wrote them)."""
    msg = Message(policy=_CRLF_COMPAT)
    _headers(msg, user, "INBOX", n, "")
    msg.replace_header("Subject", spec.subject)
    msg["MIME-Version"] = "1.0"
    msg["Content-Type"] = f"text/plain; charset={spec.label}"
    msg["Content-Transfer-Encoding"] = spec.cte
    body = _TEXT.encode(spec.encoding)
    if spec.cte == "base64":
        msg.set_payload(base64.encodebytes(body).decode("ascii"))
    else:
        # 7bit/8bit: the bytes as they are (surrogateescape carries them through as_bytes).
        msg.set_payload(body.decode("ascii", "surrogateescape"))
    return msg.as_bytes()


def _odd_charsets(user: DemoUser, first: int) -> list[Seeded]:
    """The charsets a Japanese inbox really has, one message each."""
    return [
        (_legacy(user, first + i, spec), set(spec.flags), _date(first + i))
        for i, spec in enumerate(_odd_specs())
    ]


def mailboxes(user: DemoUser) -> dict[str, list[Seeded]]:
    """Every folder of ``user`` (server names, "." separating levels) with its messages."""
    subjects = _JA_SUBJECTS if user.language == "ja" else _EN_SUBJECTS
    out: dict[str, list[Seeded]] = {}
    n = 0
    for folder, titles in subjects.items():
        count = _COUNTS.get(folder, _OTHER_COUNT)
        seeded: list[Seeded] = []
        for i in range(count):
            subject = titles[i % len(titles)] + (
                f" ({i // len(titles) + 1})" if i >= len(titles) else ""
            )
            seeded.append((_plain(user, folder, n, subject), _flags(folder, n), _date(n)))
            n += 1
        out[folder] = seeded
    if user.language == "ja":
        out["INBOX"].extend(_odd_charsets(user, n))
    return out


def large_message_headers(user: DemoUser) -> bytes:
    """The start of the message over 50 MB, up to its attachment's base64 lines."""
    outer = MIMEMultipart(policy=_CRLF_COMPAT, boundary="demo-large-boundary")
    _headers(outer, user, "INBOX", 999, "")
    outer.replace_header("Date", format_datetime(datetime.fromtimestamp(_date(0) - _HOUR, UTC)))
    del outer["Subject"]
    outer["Subject"] = _words("【大容量】動画ファイルの共有（50 MB 超）", "utf-8")
    head = outer.as_bytes().split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    text = "容量が大きいため、このメールは取り込まれません。\r\n".encode()
    return (
        head
        + b"--demo-large-boundary\r\nContent-Type: text/plain; charset=utf-8\r\n"
        + b"Content-Transfer-Encoding: 8bit\r\n\r\n"
        + text
        + b'--demo-large-boundary\r\nContent-Type: video/mp4; name="movie.mp4"\r\n'
        + b"Content-Transfer-Encoding: base64\r\n"
        + b'Content-Disposition: attachment; filename="movie.mp4"\r\n\r\n'
    )


def write_large_message(user: DemoUser) -> Callable[[BinaryIO], None]:
    """A writer of the message over 50 MB: repeated bytes in base64, streamed a block at a time
    (never the whole message in memory).
    """

    def write(fh: BinaryIO) -> None:
        fh.write(large_message_headers(user))
        line = base64.b64encode(bytes(range(_LARGE_LINE_IN))) + b"\r\n"
        lines = _LARGE_RAW // _LARGE_LINE_IN
        block = line * 4096
        for _ in range(lines // 4096):
            fh.write(block)
        fh.write(line * (lines % 4096))
        fh.write(b"--demo-large-boundary--\r\n")

    return write


def large_message_size() -> int:
    """How big the message over 50 MB is, in bytes."""
    lines = _LARGE_RAW // _LARGE_LINE_IN
    head = len(large_message_headers(DEMO_MAIL_USERS[0]))
    return head + lines * 78 + len(b"--demo-large-boundary--\r\n")


def new_message(user: DemoUser, n: int, when: float) -> bytes:
    """Mail that arrives while the stack runs (``drop-mail``): number ``n``, sent ``when``."""
    msg = EmailMessage(policy=_CRLF)
    people = _JA_PEOPLE if user.language == "ja" else _EN_PEOPLE
    msg["From"] = formataddr(people[n % len(people)])
    msg["To"] = formataddr((user.display_name, user.address))
    if user.language == "ja":
        msg["Subject"] = f"新着のデモメール #{n}"
        msg.set_content(
            f"新しく届いたデモ用のメールです（#{n}）。\n取り込まれるのをお待ちください。\n"
        )
    else:
        msg["Subject"] = f"New demo mail #{n}"
        msg.set_content(f"This message arrived while mailport was running (#{n}).\n")
    msg["Date"] = format_datetime(datetime.fromtimestamp(when, UTC))
    msg["Message-ID"] = f"<demo.new.{user.name}.{n}.{int(when)}@demo-mail.example>"
    return msg.as_bytes()
