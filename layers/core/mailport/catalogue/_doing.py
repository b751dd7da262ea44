"""The catalogue's words for what the service was doing when a store failed (the
``{what}`` of a storage or busy error): a noun phrase in each language.
"""

from __future__ import annotations

ENTRIES: dict[str, tuple[str, str]] = {
    "doing.user_language_save": ("saving the user's language", "表示言語の保存"),
    "doing.migration_messages_list": (
        "listing the migration's messages",
        "移行したメールの一覧の取得",
    ),
    "doing.copy_slot_wait": ("waiting for a copy slot", "コピー枠の待機"),
    "doing.copy_slots_read": ("reading the copy slots", "コピー枠の読み込み"),
    "doing.copy_slot_take": ("taking a copy slot", "コピー枠の確保"),
    "doing.copy_slot_free": ("freeing a copy slot", "コピー枠の解放"),
    "doing.migration_queue_read": ("reading the migration queue", "移行の順番待ちの読み込み"),
    "doing.migration_queue": ("queueing the migration", "移行の順番待ちへの登録"),
    "doing.migration_start": ("starting the migration", "移行の開始"),
    "doing.folders_list": ("listing folders", "フォルダの一覧の取得"),
    "doing.messages_read": ("reading messages", "メールの読み込み"),
    "doing.messages_list": ("listing messages", "メールの一覧の取得"),
    "doing.rules_save": ("saving the rules", "自動振り分けルールの保存"),
    "doing.folder_create": ("creating the folder", "フォルダの作成"),
    "doing.folder_change": ("changing the folder", "フォルダの変更"),
    "doing.folder_delete": ("deleting the folder", "フォルダの削除"),
    "doing.message_store": ("storing the message", "メールの保存"),
    "doing.message_change": ("changing the message", "メールの変更"),
    "doing.message_delete": ("deleting the message", "メールの削除"),
    "doing.message_read": ("reading the message", "メールの読み込み"),
    "doing.signin_start": ("starting the sign-in", "サインインの開始"),
    "doing.signin_finish": ("finishing the sign-in", "サインインの完了処理"),
    "doing.signins_list": ("listing the sign-ins", "サインインの一覧の取得"),
    "doing.signin_remove": ("removing the sign-in", "サインインの削除"),
    "doing.signin_save": ("saving the sign-in", "サインインの保存"),
    "doing.receipts_read": ("reading what was imported", "取り込み済みのメールの記録の読み込み"),
    "doing.receipts_save": (
        "remembering what was imported",
        "取り込み済みのメールの記録の保存",
    ),
    "doing.receipts_forget": (
        "forgetting messages the server no longer has",
        "サーバーから消えたメールの記録の削除",
    ),
    "doing.accounts_checked": (
        "noting when the accounts were checked",
        "外部メールアカウントの確認日時の記録",
    ),
    "doing.fetches_list": ("listing the account's fetches", "受信履歴の取得"),
    "doing.fetch_pick_up": ("picking up the fetch", "受信の開始準備"),
    "doing.fetch_save": ("saving the fetch's result", "受信結果の保存"),
    "doing.fetch_close": ("closing an interrupted fetch", "中断された受信の後処理"),
    "doing.fetch_start": ("starting the fetch", "受信の開始"),
    "doing.sealing_key_save": ("saving the sealing key", "暗号鍵の保存"),
    "doing.templates_list": ("listing IMAP templates", "IMAP テンプレートの一覧の取得"),
    "doing.template_save": ("saving the IMAP template", "IMAP テンプレートの保存"),
    "doing.template_delete": ("deleting the IMAP template", "IMAP テンプレートの削除"),
    "doing.upload_record": ("recording the upload", "アップロードの記録"),
    "doing.upload_read": ("reading the upload", "アップロードの読み込み"),
    "doing.upload_file_record": ("recording the file's result", "ファイルの結果の記録"),
    "doing.notice_send": ("sending the notice by email", "お知らせメールの送信"),
    "doing.upload_prepare": ("preparing the upload", "アップロードの準備"),
    "doing.upload_clean_up": ("cleaning up the upload", "アップロードの後片付け"),
}
