"""The catalogue's words for who is calling: plans, features, tokens, the user's settings."""

from __future__ import annotations

ENTRIES: dict[str, tuple[str, str]] = {
    "identity.plan_required": (
        "{feature} needs the advanced plan; this organisation is on the {plan} plan. "
        "Ask your administrator to upgrade.",
        "{feature}はアドバンストプランの機能です。この組織は{plan}プランをご利用中です。"
        "プランの変更は管理者にご相談ください。",
    ),
    "identity.token_incomplete": (
        "the token has no user or tenant",
        "サインイン情報にユーザーまたは組織が含まれていません。もう一度サインインしてください。",
    ),
    "identity.language_unknown": (
        '"language" must be one of {languages}',
        "「language」には {languages} のいずれかを指定してください。",
    ),
    # A feature and a plan as a person names them (the codes are the values programs read).
    "feature.pop_import": ("pop_import", "外部メールの取り込み（POP3）"),
    "feature.imap_migration": ("imap_migration", "IMAPメール移行"),
    "feature.eml_upload": ("eml_upload", "EMLファイルのアップロード"),
    "feature.mailbox": ("mailbox", "メールボックス"),
    "plan.basic": ("basic", "ベーシック"),
    "plan.advanced": ("advanced", "アドバンスト"),
}

# Where mailport may connect (``domain.network``) and the sign-ins it keeps: in this module
# rather than ``_remote``/``_oauth`` only because they were written at another time.
ENTRIES.update(
    {
        "network.ports_only": (
            "mail servers are reached on ports {allowed} only",
            "メールサーバーにはポート {allowed} でのみ接続できます。",
        ),
        "network.no_address": (
            "the server's name has no address",
            "サーバー名に対応するアドレスが見つかりません。",
        ),
        "network.not_public": (
            "this server's address is not on the public internet; mailport connects only "
            "to public mail servers",
            "このサーバーのアドレスはインターネット上に公開されていません。"
            "mailport はインターネット上のメールサーバーにのみ接続します。",
        ),
        "oauth.connection_changed": (
            "the connection changed meanwhile",
            "処理中にサインイン情報が変更されました。もう一度お試しください。",
        ),
    }
)
