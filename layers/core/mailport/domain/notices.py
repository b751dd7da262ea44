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
from mailport.domain.migration import MigrationJob, signin_service
from mailport.domain.oauth import OAuthProvider

SENDER = "mailport <no-reply@mailport.invalid>"


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _message(
    subject: str,
    body: str,
    now: dt.datetime,
    message_id: str,
    *,
    sender: str = SENDER,
    to: str = "you",
) -> bytes:
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = sender
    msg["To"] = to
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


def fetch_paused(account: PopAccount, error: str, now: dt.datetime, message_id: str) -> bytes:
    """The account's sign-in stopped working: automatic fetching waits for a new sign-in."""
    who = _one_line(account.username, 100)
    body = (
        f"Automatic fetching from {who} ({account.host}) is paused: the provider no longer\n"
        "accepts mailport's sign-in (it was revoked, expired, or the password was changed).\n"
        f"Reason: {_one_line(error)}\n\n"
        "To resume: open External mail and choose Sign in again for this account. Fetching\n"
        "then starts again by itself. Mail on the other server stays there; nothing was lost.\n\n"
        f"{who}（{account.host}）の自動受信を一時停止しました。メールサービス側でmailportの"
        "サインインが無効になりました（取り消し、期限切れ、パスワード変更など）。\n"
        f"理由: {_one_line(error)}\n"
        "外部メール設定でこのアカウントの「もう一度サインイン」を選ぶと、自動受信を再開します。\n"
    )
    subject = f"Sign in again to keep fetching from {who} / 外部メールのサインインが必要です"
    return _message(subject, body, now, message_id)


def _size(n: int) -> str:
    return f"{n / 1_048_576:.1f} MB"


def _counts_lines(job: MigrationJob) -> str:
    c = job.counts
    return (
        f"Imported: {c.imported}\nAlready in your mailbox: {c.already_present}\n"
        f"Skipped (50 MB or more): {c.skipped_oversize}\nCould not be imported: {c.failed}\n"
        f"取り込み: {c.imported}件 / 取り込み済み: {c.already_present}件 / "
        f"50MB以上のためスキップ: {c.skipped_oversize}件 / 失敗: {c.failed}件\n"
    )


def migration_notice(
    job: MigrationJob,
    kind: str,
    now: dt.datetime,
    message_id: str,
    *,
    sender: str = SENDER,
    to: str = "you",
) -> bytes:
    """A migration's start, progress milestone (``"progress:<percent>"``), completion,
    rollback or failed rollback, with its counts (``sender``/``to``: for the copy by email).
    """
    who = f"{_one_line(job.server.username, 100)} ({job.server.host})"
    error = _one_line(job.error.message) if job.error else ""
    if kind == "started":
        subject = f"Migration from {who} started / IMAPメール移行を開始しました"
        body = (
            f"Copying {job.total_messages} messages ({_size(job.total_bytes)}) in "
            f"{sum(1 for f in job.plan if f.target_id)} folders from {who}.\n"
            f"{who} から {job.total_messages}件（{_size(job.total_bytes)}）の移行を開始しました。\n"
            "Mail that arrives there from now on is not part of this migration.\n"
            "これ以降に届いたメールは移行の対象外です。\n"
        )
    elif kind.startswith("progress:"):
        percent = kind.split(":", 1)[1]
        subject = f"Migration from {who}: {percent}% done / IMAPメール移行 {percent}%"
        body = f"{percent}% of the messages from {who} are done.\n\n" + _counts_lines(job)
    elif kind == "completed":
        subject = f"Migration from {who} completed / IMAPメール移行が完了しました"
        body = f"The migration from {who} is complete.\n移行が完了しました。\n\n" + _counts_lines(
            job
        )
    elif kind == "rolled_back":
        subject = f"Migration from {who} was undone / IMAPメール移行を取り消しました"
        body = (
            f"The migration from {who} stopped: {error or 'cancelled'}\n"
            "Everything it had imported was removed: your mailbox is as it was before.\n"
            "移行を中止し、取り込んだメールをすべて削除して移行前の状態に戻しました。\n"
        )
    elif kind.startswith("signin_required"):
        provider = job.server.provider or OAuthProvider.MICROSOFT
        name, service = provider.label, signin_service(provider)
        subject = (
            f"Migration from {who} is waiting for you to sign in / "
            f"IMAPメール移行: {service} への再サインインが必要です"
        )
        body = (
            f"{name} no longer accepts the sign-in for {who} (it was revoked or expired).\n"
            "The migration is paused, not cancelled: what it copied stays. Open mailport's "
            "IMAP migration page and choose Sign in again; it carries on from where it "
            "stopped.\n"
            f"{service} のサインインが無効になったため、移行を一時停止しました（取り込み済みの"
            "メールはそのままです）。IMAPメール移行の画面から再度サインインすると、続きから再開します。\n\n"
            + _counts_lines(job)
        )
    else:  # rollback_failed
        subject = f"Migration from {who} could not be undone / 移行の取り消しに失敗しました"
        body = (
            f"The migration from {who} failed ({error}) and removing what it imported could "
            "not finish. Some imported mail may still be in your mailbox; contact your admin.\n"
            "移行に失敗し、取り込んだメールの削除も完了できませんでした。管理者にご連絡ください。\n"
        )
    return _message(subject, body, now, message_id, sender=sender, to=to)
