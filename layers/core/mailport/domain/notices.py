"""Messages mailport itself puts in a user's Inbox (fetch warnings, automatic fetch turned off).

Built with ``email.message.EmailMessage`` and the SMTP policy: it encodes non-ASCII headers
(RFC 2047) and refuses CR/LF in a header value, so nothing a user typed (a login name) or a
server said (an error text) can add a header.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
from email.message import EmailMessage

from mailport.domain.accounts import DISABLE_AFTER_FAILURES, PopAccount

SENDER = "mailport <no-reply@mailport.invalid>"


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _message(subject: str, body: str, now: dt.datetime, message_id: str) -> bytes:
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = SENDER
    msg["To"] = "you"
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(now)
    msg["Message-ID"] = f"<{message_id}@notices.mailport.invalid>"
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
    msg.set_content(body, charset="utf-8")
    return msg.as_bytes()


def fetch_warning(
    account: PopAccount, failures: int, error: str, now: dt.datetime, message_id: str
) -> bytes:
    """After a few automatic runs failed in a row: what fails and how to fix it."""
    who = _one_line(account.username, 100)
    left = DISABLE_AFTER_FAILURES - failures
    body = (
        f"Automatic fetching from {who} ({account.host}) has failed {failures} times in a row.\n"
        f"Last error: {_one_line(error)}\n\n"
        f"If it fails {left} more times in a row, automatic fetching will be turned off.\n"
        "Check the password and that POP3 access is enabled at the provider, then edit the\n"
        "account under External mail and use Fetch now to try it.\n\n"
        f"{who}（{account.host}）からの自動受信が{failures}回続けて失敗しました。\n"
        f"エラー: {_one_line(error)}\n"
        f"あと{left}回続けて失敗すると自動受信を停止します。パスワードと、メールサービス側で"
        "POP3が有効になっているかをご確認ください。\n"
    )
    subject = f"Fetching mail from {who} is failing / 外部メールの受信に失敗しています"
    return _message(subject, body, now, message_id)


def fetch_disabled(account: PopAccount, error: str, now: dt.datetime, message_id: str) -> bytes:
    """Automatic fetching was switched off: why, and how to turn it back on."""
    who = _one_line(account.username, 100)
    body = (
        f"Automatic fetching from {who} ({account.host}) failed {DISABLE_AFTER_FAILURES} times"
        " in a row and has been turned off.\n"
        f"Last error: {_one_line(error)}\n\n"
        "To fix it: open External mail, edit the account (check the password and that POP3\n"
        "access is enabled at the provider), try Fetch now, then switch Fetch automatically\n"
        "back on. Mail on the other server stays there; nothing was lost.\n\n"
        f"{who}（{account.host}）からの自動受信が{DISABLE_AFTER_FAILURES}回続けて失敗したため、"
        "自動受信を停止しました。\n"
        f"エラー: {_one_line(error)}\n"
        "外部メール設定でパスワードとPOP3の設定を確認し、「今すぐ受信」で確認してから"
        "自動受信を再度オンにしてください。\n"
    )
    subject = f"Automatic fetching from {who} was turned off / 外部メールの自動受信を停止しました"
    return _message(subject, body, now, message_id)
