"""The catalogue's words for the API as a whole: sign-in, plans, what Chalice answers."""

from __future__ import annotations

ENTRIES: dict[str, tuple[str, str]] = {
    "site.internal": (
        "Something went wrong on our side.",
        "サーバーで問題が発生しました。しばらくしてからもう一度お試しください。",
    ),
    "site.bad_request": (
        "The request could not be read.",
        "リクエストを読み取れませんでした。",
    ),
    "site.not_acceptable": (
        "The request asks for a format this address does not answer in (its Accept header).",
        "このアドレスが返せない形式が要求されました（Accept ヘッダー）。",
    ),
    "site.method_not_allowed": (
        "This address does not take that method.",
        "このアドレスではその操作（メソッド）は使えません。",
    ),
    "site.unsupported_media_type": (
        "Send the request body as JSON (Content-Type: application/json).",
        "リクエストの本文は JSON で送信してください（Content-Type: application/json）。",
    ),
    "site.no_such_route": ("There is nothing at this address.", "このアドレスには何もありません。"),
    "site.forbidden": ("You may not do this.", "この操作は許可されていません。"),
    "site.unauthenticated": ("Sign in first.", "先にサインインしてください。"),
    "site.timeout": (
        "The request took too long; try again.",
        "処理に時間がかかりすぎました。もう一度お試しください。",
    ),
    "site.too_many_requests": (
        "Too many requests; wait a moment and try again.",
        "リクエストが多すぎます。少し待ってからもう一度お試しください。",
    ),
    "site.sign_in_first": ("sign in first", "先にサインインしてください。"),
    # -- what the local stack's gateway says (API Gateway's part, on one machine) -------------
    "site.no_such_resource": ("no such resource: {path}", "このアドレスには何もありません：{path}"),
    "site.method_not_here": (
        "{method} is not allowed here",
        "このアドレスでは {method} は使えません。",
    ),
    "site.token_missing": (
        "sign in first: the token is missing, invalid or expired",
        "先にサインインしてください（トークンがないか、無効か、期限切れです）。",
    ),
    "site.metrics_admins_only": (
        "only administrators see the metrics",
        "メトリクスは管理者のみ表示できます。",
    ),
    "site.no_demo_mail": (
        "this stack has no demo mail server",
        "この環境にはデモ用メールサーバーがありません。",
    ),
    "site.send_json": ("send application/json", "application/json で送信してください。"),
    "site.demo_drop_object": (
        "send a JSON object with the demo user and how many messages (user, count)",
        "デモユーザーと通数（user, count）を JSON のオブジェクトで送信してください。",
    ),
    "site.demo_drop_count": ("count must be a number", "count には数値を指定してください。"),
    "site.demo_mail_unavailable": (
        "the demo mail server could not take it",
        "デモ用メールサーバーがメールを受け付けませんでした。",
    ),
    "site.tenant_unknown": (
        "your organisation is not registered with mailport",
        "ご利用の組織は mailport に登録されていません。",
    ),
    "site.admins_only": (
        "only your organisation's administrators may do this",
        "この操作は組織の管理者のみ行えます。",
    ),
    "site.body_not_json": (
        "the request body is not valid JSON",
        "リクエストの本文が正しい JSON ではありません。",
    ),
    "site.cursor_invalid": (
        "the cursor is not valid; start from the first page",
        "カーソルが正しくありません。最初のページからやり直してください。",
    ),
    "site.console_file_missing": (
        "no such console file: {file}",
        "コンソールのファイル {file} はありません。",
    ),
    # -- storage and queues: ``{what}`` says what was being done ("saving the account") ---
    "site.storage_busy": (
        "{what}: the storage service is busy ({code}); try again",
        "データの保存先が混み合っています。しばらくしてからもう一度お試しください"
        "（{what}：{code}）。",
    ),
    "site.storage_failed_as": (
        "{what} failed ({detail})",
        "データの保存または読み込みに失敗しました（{what}：{detail}）。",
    ),
    "site.storage_failed": (
        "{what} failed",
        "データの保存または読み込みに失敗しました（{what}）。",
    ),
    "site.storage_silent": (
        "{what}: the storage service did not answer; try again",
        "データの保存先から応答がありませんでした。もう一度お試しください（{what}）。",
    ),
    "site.mailbox_busy": (
        "{what}: the mailbox is busy; try again",
        "メールボックスが混み合っています。もう一度お試しください（{what}）。",
    ),
    "site.table_busy": (
        "{what}: the table is busy; try again",
        "データベースが混み合っています。もう一度お試しください（{what}）。",
    ),
    "site.fetch_queue_busy": (
        "queueing the fetch: the queue is busy; try again",
        "受信を開始できませんでした（キューが混み合っています）。もう一度お試しください。",
    ),
    "site.secret_unreadable": (
        "the saved credentials can't be read; enter them again",
        "保存されているログイン情報を読み取れません。もう一度入力してください。",
    ),
    # -- what was being done when storage failed (``{what}`` of ``site.storage_*``) --
    "site.doing_seal": ("protecting the secret", "ログイン情報の暗号化"),
    "site.doing_unseal": ("reading the secret", "ログイン情報の復号"),
    "site.doing_queue_fetch": ("queueing the fetch", "受信の依頼の登録"),
}
