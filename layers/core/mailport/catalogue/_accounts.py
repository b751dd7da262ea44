"""The catalogue's words for the accounts area (see ``mailport.catalogue``): external (POP)
accounts, their fetches, and the auto-sort rules (``rules.*``).
"""

from __future__ import annotations

ENTRIES: dict[str, tuple[str, str]] = {
    # -- the accounts -------------------------------------------------------------------
    "account.not_found": ("no such account", "指定された外部メールアカウントが見つかりません。"),
    "account.exists": (
        "this account exists already",
        "この外部メールアカウントはすでに登録されています。",
    ),
    "account.changed_meanwhile": (
        "the account was changed or deleted meanwhile; reload it",
        "外部メールアカウントがほかの操作で変更または削除されました。再読み込みしてください。",
    ),
    "account.too_many": (
        "you already have {limit} external accounts, the most allowed; delete one to add another",
        "外部メールアカウントはすでに上限の {limit} 件が登録されています。"
        "追加するには、いずれかを削除してください。",
    ),
    "account.signin_not_configured": (
        "signing in with the provider is not set up on this service",
        "このサービスでは、プロバイダーでのサインインが設定されていません。",
    ),
    "account.signin_needs_preset": (
        '"connection_id" needs a preset that signs in',
        "「connection_id」は、サインインに対応したプリセットでのみ指定できます。",
    ),
    "account.signin_not_yours": (
        '"connection_id" is not one of your {provider} sign-ins for POP accounts; sign in first',
        "「connection_id」に指定されたサインインは、外部メール用に保存されている {provider} "
        "のサインインではありません。先にサインインしてください。",
    ),
    "account.signin_in_use": (
        "another of your external accounts already fetches with this sign-in",
        "このサインインは、すでに別の外部メールアカウントで使われています。",
    ),
    "account.fetch_running": (
        "a fetch of this account is already running; its result will be in the history",
        "この外部メールアカウントの受信はすでに実行中です。結果は履歴に表示されます。",
    ),
    "account.preset_manual": ("Manual", "その他（サーバーを入力）"),
    "account.paused_until_signin": (
        "Automatic fetching is paused until you sign in again: {error}",
        "もう一度サインインするまで、自動取り込みを一時停止しています：{error}",
    ),
    "account.disabled_after_failures": (
        "Automatic fetching failed {failures} times in a row: {error}",
        "自動取り込みが{failures}回続けて失敗したため、オフにしました：{error}",
    ),
    "account.disabled_by_admin": (
        "switched off by your administrator ({admin})",
        "管理者（{admin}）が自動取り込みをオフにしました。",
    ),
    "account.fetch_not_started": (
        "the fetch could not be started; try again",
        "受信を開始できませんでした。もう一度お試しください。",
    ),
    "account.fetch_unfinished": (
        "mailport could not finish this fetch; the next one retries",
        "今回の受信を完了できませんでした。次回の受信で再試行します。",
    ),
    "account.folder_missing": (
        '"folder_id": folder {folder} does not exist',
        "「folder_id」：保存するフォルダ {folder} が存在しません。",
    ),
    "account.host_invalid": (
        '"host" must be a host name such as pop.example.com',
        "「host」には pop.example.com のようなホスト名を指定してください。",
    ),
    "account.host_required": (
        '"host" is required for manual entry',
        "手動で設定する場合は「host」を指定してください。",
    ),
    "account.agree_first": (
        "accept the agreement first: mail is copied from the other provider into mailport "
        '("agreed": true)',
        "ほかのメールサービスから mailport にメールをコピーすることへの同意が必要です（「agreed"
        "」に true を指定）。",
    ),
    "account.agreed_only_true": (
        '"agreed" can only be true',
        "「agreed」には true のみ指定できます。",
    ),
    "account.login_required": (
        '"username" and "password" are required',
        "「username」と「password」を指定してください。",
    ),
    "account.password_or_signin": (
        'give either "password" or "connection_id" (a sign-in), not both',
        "「password」と「connection_id」（サインイン）は、どちらか一方だけを指定してください。",
    ),
    "account.no_app_passwords": (
        "{label} takes no password from apps (since September 2024): "
        'sign in with the provider instead ("connection_id")',
        "{label} は 2024 年 9 月以降、アプリからのパスワードを受け付けていません。"
        "代わりにプロバイダーでサインインしてください（「connection_id」）。",
    ),
    "account.signin_presets_only": (
        "a sign-in can be used with the Hotmail (Outlook) and Gmail presets only; "
        "for this provider enter a password (or an app password)",
        "サインインを使えるのは Hotmail（Outlook）と Gmail のプリセットだけです。"
        "このプロバイダーではパスワード（またはアプリパスワード）を入力してください。",
    ),
    "account.password_again": (
        "enter the password again (or sign in again) to change the server or the login",
        "サーバーやログイン情報を変更するには、パスワードをもう一度入力してください"
        "（またはもう一度サインインしてください）。",
    ),
    # -- the fetches ----------------------------------------------------------------------
    "runs.limit_number": ("limit must be a number", "「limit」は数値で指定してください。"),
    "runs.limit_range": (
        "limit must be from 1 to {max}",
        "「limit」は 1 から {max} までの数値で指定してください。",
    ),
    "runs.request_not_object": (
        "a fetch request must be a JSON object",
        "受信の依頼は JSON オブジェクトである必要があります。",
    ),
    "runs.request_invalid": (
        "not a fetch request: {detail}",
        "受信の依頼として読み取れません：{detail}",
    ),
    "runs.message_size": (
        "a fetch message carries 1 to {max} requests",
        "受信のメッセージには 1 件から {max} 件の依頼を含めてください。",
    ),
    # -- auto-sort rules (自動振り分け) -----------------------------------------------------
    "rules.rule": ("rule {number}", "ルール {number}"),
    "rules.rule_named": ("rule {number} ({name})", "ルール {number}（{name}）"),
    "rules.condition": ("condition {number}", "条件 {number}"),
    "rules.action": (
        "action {number}",
        "動作 {number}",
    ),
    "rules.in_condition": ("condition: {problem}", "条件：{problem}"),
    "rules.in_action": (
        "action: {problem}",
        "動作：{problem}",
    ),
    "rules.conditions_count": (
        "a rule needs 1 to {max} conditions",
        "ルールには 1 個から {max} 個の条件が必要です。",
    ),
    "rules.actions_count": (
        "a rule needs 1 to {max} actions",
        "ルールには 1 個から {max} 個の動作が必要です。",
    ),
    "rules.op_fields": ('"{op}" works only on {fields}', "「{op}」は {fields} にのみ使えます。"),
    "rules.list_comma": ("{first}, {rest}", "{first}・{rest}"),
    "rules.list_or": ("{first} or {rest}", "{first}・{rest}"),
    "rules.value_bool": (
        '"value" must be true or false for "is"',
        "「is」の「value」には true か false を指定してください。",
    ),
    "rules.value_bytes": (
        '"value" must be a whole number of bytes (0 or more) for "{op}"',
        "「{op}」の「value」には 0 以上の整数（バイト数）を指定してください。",
    ),
    "rules.value_string": (
        '"value" must be a string for "{op}"',
        "「{op}」の「value」には文字列を指定してください。",
    ),
    "rules.value_empty": ('"value" must not be empty', "「value」を空にすることはできません。"),
    "rules.value_long": (
        '"value" must be at most {max} characters',
        "「value」は {max} 文字以内で指定してください。",
    ),
    "rules.value_domain": (
        '"value" must be a domain such as example.com',
        "「value」には example.com のようなドメインを指定してください。",
    ),
    "rules.move_needs_folder": (
        '"move_to_folder" needs "folder_id"',
        "「move_to_folder」には「folder_id」が必要です。",
    ),
    "rules.folder_only_for_move": (
        '"folder_id" is only for "move_to_folder"',
        "「folder_id」は「move_to_folder」にのみ指定できます。",
    ),
    "rules.action_twice": (
        '"{type}" appears more than once in this rule',
        "「{type}」が同じルールに 2 回以上含まれています。",
    ),
    "rules.folder_missing": (
        '"folder_id": folder {folder} does not exist',
        "「folder_id」：フォルダ {folder} が存在しません。",
    ),
    "rules.id_taken": (
        '{rule}: "id" {id} is already used by rule {other}',
        "{rule}：「id」{id} はすでにルール {other} で使われています。",
    ),
    # -- what was being done when storage failed (``{what}`` of ``site.storage_*``) --
    "account.doing_list": ("listing your accounts", "外部メールアカウントの一覧の取得"),
    "account.doing_list_tenant": (
        "listing the organisation's accounts",
        "組織の外部メールアカウントの一覧の取得",
    ),
    "account.doing_read_many": ("reading the accounts", "外部メールアカウントの読み込み"),
    "account.doing_read": ("reading the account", "外部メールアカウントの読み込み"),
    "account.doing_save": ("saving the account", "外部メールアカウントの保存"),
    "account.doing_reseal": ("resealing the password", "パスワードの再暗号化"),
    "account.doing_delete": ("deleting the account", "外部メールアカウントの削除"),
    "account.doing_forget": ("forgetting the account", "外部メールアカウントの受信記録の削除"),
    "account.doing_list_records": (
        "listing the account's records",
        "外部メールアカウントの受信記録の取得",
    ),
    "account.doing_read_due": (
        "reading the accounts due",
        "受信予定の外部メールアカウントの読み込み",
    ),
}
