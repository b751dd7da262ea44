"""The catalogue's words for other people's mail servers: POP3 and IMAP, TLS, logins and app
passwords (``mailport.domain.remote``, ``mailport.adapters.pop3``, ``mailport.adapters.imap``).

``{said}`` is what the server said (already capped and scrubbed of secrets) and ``{detail}``
a technical detail (a TLS or socket error): both stay as they came, in any language.
``{where}`` is ``host:port``; ``{command}`` a protocol command (``RETR 5``).
"""

from __future__ import annotations

ENTRIES: dict[str, tuple[str, str]] = {
    # -- a refused login and what to do next (``domain.remote.login_refused``) -------------
    "remote.with_next_step": (
        "{message} (next step: {step})",
        "{message}（次の手順：{step}）",
    ),
    "remote.with_reason": ("{message} ({reason})", "{message}（理由：{reason}）"),
    "remote.step_app_password": (
        "create an app password in the provider's account security settings "
        "(2-Step Verification must be on) and enter it instead of the account password",
        "メールサービスのアカウントのセキュリティ設定でアプリパスワードを作成し、"
        "アカウントのパスワードの代わりに入力してください。"
        "アプリパスワードの作成には 2 段階認証プロセスを有効にする必要があります",
    ),
    "remote.step_sign_in_again": (
        "sign in with the provider again (the sign-in expired or was refused, or the account "
        "takes no password from an app)",
        "メールサービスのアカウントでもう一度サインインしてください。"
        "サインインの期限切れや拒否、またはこのアカウントがアプリからのパスワードでのログインを"
        "受け付けていないことが考えられます",
    ),
    # -- what was being done when the connection failed (``{what}`` below) -----------------
    "remote.pop3_doing_connect": (
        "cannot connect to POP3 server {where}",
        "POP3 サーバー {where} への接続",
    ),
    "remote.pop3_doing_greeting": ("POP3 server {where}", "POP3 サーバー {where} との接続"),
    "remote.pop3_doing_session": (
        "POP3 session with {where}",
        "POP3 サーバー {where} との通信",
    ),
    "remote.pop3_doing_command": ("{command}", "POP3 の {command} コマンド"),
    "remote.connection_closed_during": (
        "{what}: the server closed the connection",
        "{what}の途中で、サーバーが接続を切断しました。",
    ),
    "remote.tls_failed_during": (
        "{what}: {detail}",
        "{what}で、TLS（暗号化通信）を確立できませんでした：{detail}",
    ),
    "remote.unreachable_during": (
        "{what}: {detail}",
        "{what}に失敗しました：{detail}",
    ),
    "remote.network_failed_during": (
        "{what}: {detail}",
        "{what}の途中で、通信に失敗しました：{detail}",
    ),
    # -- the names of login fields (``{field}`` below; never their values) -----------------
    "remote.field_user_name": ("user name", "ユーザー名"),
    "remote.field_password": ("password", "パスワード"),
    "remote.field_token": ("token", "トークン"),
    "remote.field_line_break": (
        "the {field} contains a line break or NUL",
        "{field}に改行または NUL 文字が含まれています。",
    ),
    "remote.field_control_character": (
        "the {field} contains a control character",
        "{field}に制御文字が含まれています。",
    ),
    # -- TLS -----------------------------------------------------------------------------
    "remote.data_before_tls": (
        "the server sent data before the TLS handshake",
        "TLS（暗号化通信）の開始前にサーバーがデータを送信したため、接続を中止しました。",
    ),
    "remote.ca_file_unreadable": (
        "cannot load the CA file: {detail}",
        "CA ファイルを読み込めません：{detail}",
    ),
    # -- POP3 ----------------------------------------------------------------------------
    "remote.pop3_closed": (
        "the POP3 server closed the connection",
        "POP3 サーバーが接続を切断しました。",
    ),
    "remote.pop3_too_slow": (
        "the POP3 server sent too slowly: the run stopped at its time limit",
        "POP3 サーバーからの受信が遅すぎるため、制限時間で処理を打ち切りました。",
    ),
    "remote.pop3_line_too_long": (
        "POP3 line longer than {limit} bytes",
        "POP3 サーバーから {limit} バイトを超える長さの行が送られてきました。",
    ),
    "remote.pop3_unexpected_reply": (
        "unexpected POP3 reply: {said}",
        "POP3 サーバーから想定外の応答がありました：{said}",
    ),
    "remote.pop3_listing_too_large": (
        "POP3 listing larger than {limit} bytes",
        "POP3 サーバーの一覧の応答が {limit} バイトを超えています。",
    ),
    "remote.message_too_large": (
        "message larger than {limit} bytes",
        "メールが {limit} バイトを超えています。",
    ),
    "remote.pop3_malformed_line": (
        "malformed {command} line: {said}",
        "POP3 サーバーの {command} の応答に正しくない行があります：{said}",
    ),
    "remote.pop3_duplicate": (
        "duplicate message {number} in {command}: {said}",
        "POP3 サーバーの {command} の応答で、メール番号 {number} が重複しています：{said}",
    ),
    "remote.pop3_session_closed": (
        "the POP3 session is closed",
        "POP3 サーバーとの接続はすでに閉じています。",
    ),
    "remote.pop3_refused": (
        "{command} refused: {said}",
        "POP3 サーバーが {command} を拒否しました：{said}",
    ),
    "remote.pop3_list_refused": (
        "LIST refused",
        "POP3 サーバーがメールの一覧（LIST）を返しませんでした。",
    ),
    "remote.pop3_tls_handshake_closed": (
        "POP3 server {where} closed the connection during the TLS handshake; "
        "check the port and the SSL setting",
        "POP3 サーバー {where} が TLS（暗号化通信）の開始中に接続を切断しました。"
        "ポート番号と SSL の設定を確認してください。",
    ),
    "remote.pop3_login_later": (
        "the POP3 server refused the login for now: {said}",
        "POP3 サーバーが一時的にログインを受け付けていません：{said}",
    ),
    "remote.pop3_login_failed": (
        "POP3 login failed for {user!r}: {said}",
        "POP3 サーバーへのログインに失敗しました（ユーザー名：{user}）：{said}",
    ),
    "remote.pop3_xoauth2_unavailable": (
        "POP3 login failed for {user!r}: XOAUTH2 is not available: {said}",
        "POP3 サーバーへのログインに失敗しました（ユーザー名：{user}）。"
        "このサーバーではサインイン（XOAUTH2）でのログインが使えません：{said}",
    ),
    "remote.pop3_session_refused": (
        "POP3 server {where} refused the session: {said}",
        "POP3 サーバー {where} が接続を拒否しました：{said}",
    ),
    "remote.pop3_answer_too_slow": (
        "POP3 server {where} answered too slowly: the session was cut at its time limit",
        "POP3 サーバー {where} の応答が遅すぎるため、制限時間で接続を打ち切りました。",
    ),
    "remote.pop3_no_stls": (
        "POP3 server {where} does not offer STLS; not logging in",
        "POP3 サーバー {where} は STLS（暗号化通信）に対応していないため、ログインしませんでした。",
    ),
    "remote.pop3_stls_refused": (
        "POP3 server {where} refused STLS: {said}",
        "POP3 サーバー {where} が STLS（暗号化通信）を拒否しました：{said}",
    ),
    # -- IMAP ----------------------------------------------------------------------------
    "remote.imap_unavailable": (
        "IMAP server unavailable: {said}",
        "IMAP サーバーが一時的に利用できません：{said}",
    ),
    "remote.imap_login_refused": (
        "IMAP login refused: {said}",
        "IMAP サーバーがログインを拒否しました：{said}",
    ),
    "remote.imap_error": (
        "IMAP error: {said}",
        "IMAP サーバーがエラーを返しました：{said}",
    ),
    "remote.imap_too_large": (
        "IMAP server response too large: {detail}",
        "IMAP サーバーの応答が大きすぎます：{detail}",
    ),
    "remote.imap_tls_failed": (
        "TLS with the IMAP server failed: {detail}",
        "IMAP サーバーとの TLS（暗号化通信）に失敗しました：{detail}",
    ),
    "remote.imap_unreachable": (
        "cannot connect to the IMAP server: {detail}",
        "IMAP サーバーに接続できません：{detail}",
    ),
    "remote.imap_connection_lost": (
        "connection to the IMAP server lost: {detail}",
        "IMAP サーバーとの接続が切れました：{detail}",
    ),
    "remote.imap_unexpected": (
        "unexpected IMAP response: {said}",
        "IMAP サーバーから想定外の応答がありました：{said}",
    ),
    "remote.imap_starttls_refused": (
        "the server refused STARTTLS: {said}",
        "サーバーが STARTTLS（暗号化通信）を拒否しました：{said}",
    ),
    "remote.imap_too_many_responses": (
        "the server sent over {count} responses or {mb} MB of responses for one command",
        "サーバーが 1 つのコマンドに対して {count} 件または {mb} MB を超える応答を送信しました。",
    ),
    "remote.imap_line_too_long": (
        "a response line over 1,000,000 bytes ({detail})",
        "1,000,000 バイトを超える長さの応答の行がありました（{detail}）。",
    ),
    "remote.imap_literal_too_large": (
        "literal of {size} bytes (limit {limit})",
        "{size} バイトのデータが送られてきました（上限 {limit} バイト）。",
    ),
    "remote.imap_fetch_over_plan": (
        "FETCH returned more than planned ({size} more bytes)",
        "FETCH の応答が予定より {size} バイト多く届きました。",
    ),
    "remote.imap_too_slow": (
        "the IMAP server sent too slowly: the step stopped at its time limit",
        "IMAP サーバーからの受信が遅すぎるため、制限時間で処理を打ち切りました。",
    ),
    "remote.folder_gone": (
        "the folder {folder} is gone: {problem}",
        "フォルダ「{folder}」が移行元サーバーにありません（削除されたか名前が変更された可能性が"
        "あります）：{problem}",
    ),
    "remote.imap_message_too_large": (
        "IMAP message UID {uid} is over the {limit}-byte limit",
        "IMAP のメール（UID {uid}）が上限の {limit} バイトを超えています。",
    ),
    "remote.imap_preauth_plain": (
        "IMAP server pre-authenticated a plain connection; refusing",
        "IMAP サーバーが暗号化されていない接続をログイン済み（PREAUTH）として扱ったため、"
        "接続を中止しました。",
    ),
    "remote.imap_no_starttls": (
        "IMAP server does not offer STARTTLS; refusing to log in",
        "IMAP サーバーは STARTTLS（暗号化通信）に対応していないため、ログインしませんでした。",
    ),
}
