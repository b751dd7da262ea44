"""The catalogue's words for the notices mailport puts in a user's Inbox (POP fetch warnings,
automatic fetch turned off or paused; a migration's start, progress and end). See
``mailport.domain.notices``; ``{account}``/``{source}`` are "login (host)", ``{when}`` a date
already in the reader's form, ``{error}`` what the other server said (never translated).
"""

from __future__ import annotations

ENTRIES: dict[str, tuple[str, str]] = {
    # Shared pieces
    "notice.account": ("{who} ({host})", "{who}（{host}）"),
    "notice.date": (
        "{day} {month} {year} {time} UTC",
        "{year}年{month}月{day}日 {time} UTC",
    ),
    "notice.footer": (
        "mailport sent this message automatically; replies to it are not read.",
        "このメールは mailport が自動で送信しています。返信いただいても確認できません。",
    ),
    "notice.what_next": ("What to do next", "次にしていただくこと"),
    "notice.last_error": ("Last error", "前回のエラー"),
    "notice.reason": ("Reason", "理由"),
    "notice.times": ("{n} times", "{n}回"),
    "notice.count": ("{n}", "{n}件"),
    "notice.open_console": ("Open mailport", "mailport を開く"),
    # POP: fetch warning, turned off, paused
    "notice.fetch_warning.subject": (
        "Fetching mail from {who} is failing",
        "外部メール {who} の受信に失敗しています",
    ),
    "notice.fetch_warning.lead": (
        "Automatic fetching from {account} has failed {failures} times in a row (last tried "
        "{when}).",
        "{account}からの自動取り込みが{failures}回続けて失敗しました（最終試行：{when}）。",
    ),
    "notice.fetch_warning.cutoff": (
        "If it fails {left} more times in a row, automatic fetching will be turned off."
        " Mail on the other server stays there.",
        "あと{left}回続けて失敗すると、自動取り込みを停止します。元のサーバーにあるメールは"
        "そのまま残ります。",
    ),
    "notice.fetch.failures": ("Failed in a row", "連続して失敗した回数"),
    "notice.fetch.left": (
        "Failures left before it is turned off",
        "自動取り込みの停止までの残り回数",
    ),
    "notice.fetch.step_check": (
        "Check the password (or app password) and that POP3 access is enabled at the provider.",
        "パスワード（またはアプリパスワード）と、メールサービス側で POP3 が有効になっているかを"
        "ご確認ください。",
    ),
    "notice.fetch.step_edit": (
        "Edit the account under External mail (POP3), then use Fetch now to try it.",
        "「外部メール（POP3）」でアカウントの設定を直し、「今すぐ取り込む」で受信できるかを"
        "お試しください。",
    ),
    "notice.fetch.nothing_lost": (
        "Mail on the other server stays there; nothing was lost.",
        "元のサーバーにあるメールはそのまま残っています。失われたメールはありません。",
    ),
    "notice.fetch_disabled.subject": (
        "Automatic fetching from {who} was turned off",
        "外部メール {who} の自動取り込みを停止しました",
    ),
    "notice.fetch_disabled.lead": (
        "Automatic fetching from {account} failed {failures} times in a row and has been"
        " turned off ({when}).",
        "{account}からの自動取り込みが{failures}回続けて失敗したため、自動取り込みを停止しました"
        "（{when}）。",
    ),
    "notice.fetch_disabled.step_on": (
        "Once it works, switch Fetch automatically every 10 minutes back on for the account.",
        "受信できることを確認したら、アカウントの「10 分ごとに自動で取り込む」をもう一度"
        "オンにしてください。",
    ),
    "notice.fetch_paused.subject": (
        "Sign in again to keep fetching from {who}",
        "外部メール {who} にもう一度サインインしてください",
    ),
    "notice.fetch_paused.lead": (
        "Automatic fetching from {account} is paused ({when}): the provider no longer accepts"
        " mailport's sign-in (it was revoked, expired, or the password was changed).",
        "{account}の自動取り込みを一時停止しました（{when}）。メールサービス側で mailport の"
        "サインインが無効になりました（取り消し、期限切れ、パスワードの変更など）。",
    ),
    "notice.fetch_paused.step": (
        "Open External mail (POP3) and choose Sign in again for this account. Fetching then"
        " starts again by itself.",
        "「外部メール（POP3）」でこのアカウントの「もう一度サインイン」を選んでください。"
        "サインインすると自動取り込みを再開します。",
    ),
    # Migration: the counts
    "notice.migration.imported": ("Imported", "取り込んだメール"),
    "notice.migration.already_present": (
        "Already in your mailbox",
        "すでにメールボックスにあったメール",
    ),
    "notice.migration.skipped_oversize": (
        "Skipped ({limit} MB or more)",
        "サイズが大きすぎるため取り込まなかったメール（{limit}MB以上）",
    ),
    "notice.migration.failed": ("Could not be imported", "取り込めなかったメール"),
    "notice.migration.folders": ("Folders", "フォルダ数"),
    "notice.fetch.open_accounts": (
        "The account is under External mail (POP3):",
        "アカウントの設定は「外部メール（POP3）」にあります。",
    ),
    # Migration: each kind
    "notice.migration.started.subject": (
        "Migration from {source} started",
        "IMAPメール移行を開始しました（{source}）",
    ),
    "notice.migration.started.lead": (
        "Copying {messages} messages ({size}) in {folders} folders from {source}, started {when}.",
        "{source}から{folders}フォルダ・{messages}件（{size}）のIMAPメール移行を{when}に"
        "開始しました。",
    ),
    "notice.migration.started.cutoff": (
        "Mail that arrives there from now on is not part of this migration. Once it has"
        " completed, you can bring in newer mail within {days} days.",
        "これ以降に移行元サーバーへ届いたメールは、この移行の対象外です。移行の完了後"
        "{days}日以内であれば、「新着メールを取り込む」で取り込めます。",
    ),
    "notice.migration.started.follow": (
        "You will find a notice here as it progresses and when it ends; IMAP migration shows "
        "how far it is.",
        "進み具合と結果は、この受信箱にお知らせします。「IMAPメール移行」の画面でも進み具合を確"
        "認できます。",
    ),
    "notice.migration.progress.subject": (
        "Migration from {source}: {percent}% done",
        "IMAPメール移行: {percent}% 完了しました（{source}）",
    ),
    "notice.migration.progress.lead": (
        "{percent}% of the messages from {source} are done ({when}).",
        "{source}からのメールの{percent}%の移行が済みました（{when}）。",
    ),
    "notice.migration.completed.subject": (
        "Migration from {source} completed",
        "IMAPメール移行が完了しました（{source}）",
    ),
    "notice.migration.completed.lead": (
        "The migration from {source} is complete ({when}).",
        "{source}からのIMAPメール移行が完了しました（{when}）。",
    ),
    "notice.migration.rolled_back.subject": (
        "Migration from {source} was undone",
        "IMAPメール移行を取り消しました（{source}）",
    ),
    "notice.migration.rolled_back.lead": (
        "The migration from {source} stopped ({when}): {error}",
        "{source}からのIMAPメール移行を中止しました（{when}）。理由：{error}",
    ),
    "notice.migration.cancelled": (
        "cancelled",
        "中止されました。",
    ),
    "notice.migration.rolled_back.kept": (
        "Nothing from it was kept: everything it had imported was removed, and your mailbox"
        " is as it was before.",
        "取り込んだメールはすべて削除しました。メールボックスは移行前の状態に戻っており、"
        "この移行で取り込んだものは残っていません。",
    ),
    "notice.migration.rolled_back.kept_folders": (
        "{folders} folders it made were kept, because mail was put into them since.",
        "移行で作成したフォルダのうち{folders}個は、その後メールが入れられたため残しています。",
    ),
    "notice.migration.step_again": (
        "To start again: open IMAP migration, choose New migration, and check the sign-in "
        "details and the folders before you start it.",
        "もう一度移行するには、「IMAPメール移行」の画面で「新しい移行」を選び、"
        "サインイン情報と保存するフォルダを確認してから開始してください。",
    ),
    "notice.migration.rollback_failed.subject": (
        "Migration from {source} could not be undone",
        "IMAPメール移行の取り消しに失敗しました（{source}）",
    ),
    "notice.migration.rollback_failed.lead": (
        "The migration from {source} failed ({error}) and removing what it imported could"
        " not finish. Some imported mail may still be in your mailbox.",
        "{source}からのIMAPメール移行に失敗し（{error}）、取り込んだメールの削除も完了"
        "できませんでした。取り込まれたメールの一部がメールボックスに残っている可能性が"
        "あります。",
    ),
    "notice.migration.rollback_failed.step": (
        "Contact your admin before you start the migration again.",
        "もう一度移行を始める前に、管理者にご連絡ください。",
    ),
    "notice.migration.signin.subject": (
        "Migration from {source} is waiting for you to sign in to {service}",
        "IMAPメール移行: {service} にもう一度サインインしてください（{source}）",
    ),
    "notice.migration.signin.lead": (
        "{service} no longer accepts the sign-in for {source} (it was revoked or expired)."
        " The migration is paused, not cancelled: what it copied stays.",
        "{service} のサインインが無効になったため（取り消しまたは期限切れ）、{source}からの"
        "IMAPメール移行を一時停止しました。取り込み済みのメールはそのまま残ります。",
    ),
    "notice.migration.signin.step": (
        "Open IMAP migration and choose Sign in again; the migration carries on from where it "
        "stopped.",
        "「IMAPメール移行」の画面で「もう一度サインイン」を選んでください。"
        "中断したところから移行を再開します。",
    ),
    # Migration: the report and what follows
    "notice.migration.report_link": (
        "What was not imported, and why, is in the job's report:",
        "取り込めなかったメールとその理由は、移行のレポートで確認できます。",
    ),
    "notice.migration.report_where": (
        "What was not imported, and why, is in the job's report: IMAP migration > the job > "
        "Report.",
        "取り込めなかったメールとその理由は、「IMAPメール移行」＞該当する移行＞「レポート」で確"
        "認できます。",
    ),
    "notice.migration.report_open": ("Open the report", "レポートを開く"),
    "notice.migration.step_retry": (
        "Retry what failed: Retry failed messages, in the job's report, fetches those {count} "
        "messages again.",
        "取り込みに失敗した{count}件のメールは、レポートの「失敗したメールを再試行」でもう"
        "一度取り込めます。",
    ),
    "notice.migration.step_delta": (
        "Bring in the mail that arrived there since the migration started: Bring in newer mail,"
        " offered until {until}.",
        "移行の開始後に移行元サーバーへ届いたメールは、{until}まで「新着メールを取り込む」で"
        "取り込めます。",
    ),
    "notice.migration.step_none": (
        "Nothing else to do: your mail is in mailport.",
        "ほかに必要な操作はありません。メールは mailport に移行済みです。",
    ),
}
