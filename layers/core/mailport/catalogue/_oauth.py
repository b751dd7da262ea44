"""The catalogue's words for signing in with Microsoft or Google and the connections a sign-in
leaves (``mailport.domain.oauth``, ``mailport.usecases.oauth``, the identity adapters).

``{provider}`` is the provider's name as a person reads it ("Google", "Microsoft",
"Microsoft 365"); ``{error}`` the provider's error code (``invalid_grant``), as it came.
"""

from __future__ import annotations

ENTRIES: dict[str, tuple[str, str]] = {
    # -- the page the sign-in window shows when the provider sends the browser back ------
    "oauth.page_ready": ("Ready to import your mail", "メールを取り込む準備ができました"),
    "oauth.page_failed": ("The sign-in could not be completed", "サインインを完了できませんでした"),
    "oauth.page_close": (
        "You can close this window and go back to mailport.",
        "このウィンドウを閉じて mailport に戻ってください。",
    ),
    # -- requests ------------------------------------------------------------------------
    "oauth.provider_invalid": (
        'the sign-in provider must be "microsoft" or "google"',
        'サインインの提供元には "microsoft" または "google" を指定してください。',
    ),
    "oauth.email_invalid": (
        "email must be a mailbox address like name@example.com",
        "「email」には name@example.com のようなメールアドレスを指定してください。",
    ),
    "oauth.purpose_invalid": (
        '"purpose" must be "imap" or "pop"',
        '「purpose」には "imap" または "pop" を指定してください。',
    ),
    # -- the app registration --------------------------------------------------------------
    "oauth.not_set_up": (
        "{provider} sign-in is not set up on this service",
        "このサービスでは {provider} のサインインが設定されていません。",
    ),
    "oauth.not_set_up_yet": (
        "{provider} sign-in is not set up on this service yet",
        "このサービスでは {provider} のサインインがまだ設定されていません。",
    ),
    "oauth.app_secret_malformed": (
        "the {provider} app secret must hold client_id and client_secret",
        "{provider} のアプリ登録のシークレットには client_id と client_secret が必要です。",
    ),
    "oauth.doing_read_registration": (
        "reading the {provider} app registration",
        "{provider} のアプリ登録の読み込み",
    ),
    "oauth.app_registration_refused": (
        "{provider} refused mailport's app registration ({error}): your administrator must "
        "renew it",
        "{provider} が mailport のアプリ登録を拒否しました（{error}）。"
        "管理者がアプリ登録を更新する必要があります。",
    ),
    "oauth.google_app_blocked": (
        "Google refused mailport's app ({error}): the Google Workspace administrator must allow it",
        "Google が mailport のアプリを拒否しました（{error}）。"
        "Google Workspace の管理者が許可する必要があります。",
    ),
    "oauth.google_admin_policy": (
        "the Google Workspace administrator does not allow mailport to reach this account "
        "(admin_policy_enforced); ask them to allow it, then sign in again",
        "Google Workspace の管理者が、このアカウントへの mailport のアクセスを許可していません"
        "（admin_policy_enforced）。管理者に許可を依頼してから、もう一度サインインしてください。",
    ),
    "oauth.google_org_internal": (
        "mailport's Google app is limited to its own organization (org_internal)",
        "mailport の Google アプリは、提供元の組織内でのみ使えるよう制限されています"
        "（org_internal）。",
    ),
    # -- the sign-in (the callback) --------------------------------------------------------
    "oauth.signin_cancelled": (
        "{provider} sign-in was cancelled or refused ({error})",
        "{provider} のサインインがキャンセルされたか、拒否されました（{error}）。",
    ),
    "oauth.provider_refused_signin": (
        "{provider} refused the sign-in ({error}); start again",
        "{provider} がサインインを拒否しました（{error}）。最初からやり直してください。",
    ),
    "oauth.unreachable_later": (
        "{provider} sign-in is unreachable; try again later",
        "{provider} のサインインに接続できません。しばらくしてからもう一度お試しください。",
    ),
    "oauth.unreachable_retrying": (
        "{provider} sign-in is unreachable; trying again",
        "{provider} のサインインに接続できません。自動で再試行します。",
    ),
    "oauth.flow_mismatch": (
        "this sign-in does not match the one you started",
        "このサインインは、開始したサインインと一致しません。",
    ),
    "oauth.flow_expired": (
        "this sign-in has expired or was already used; start again from mailport",
        "このサインインは期限が切れているか、すでに使われています。"
        "mailport からもう一度やり直してください。",
    ),
    "oauth.flow_wrong_place": (
        "this sign-in came back to the wrong place; start again from mailport",
        "このサインインの戻り先が正しくありません。mailport からもう一度やり直してください。",
    ),
    "oauth.flow_other_browser": (
        "this sign-in was started in another browser or by another user; start again from mailport",
        "このサインインは別のブラウザーまたは別のユーザーが開始したものです。"
        "mailport からもう一度やり直してください。",
    ),
    "oauth.no_state": (
        "the identity provider gave no state",
        "サインインの提供元から state が返されませんでした。",
    ),
    "oauth.google_no_code": (
        "Google sent no authorization code back; start again",
        "Google から認証コードが返されませんでした。最初からやり直してください。",
    ),
    "oauth.google_check_failed": (
        "Google's sign-in answer failed a check ({claim}); start again",
        "Google からのサインインの応答が検証に通りませんでした（{claim}）。"
        "最初からやり直してください。",
    ),
    "oauth.google_no_id_token": (
        "Google's sign-in answer had no readable ID token; start again",
        "Google からのサインインの応答に、読み取れる ID トークンがありませんでした。"
        "最初からやり直してください。",
    ),
    "oauth.google_scope_missing": (
        "Google did not grant access to the mailbox: sign in again and allow mailport "
        "to read your Gmail",
        "Google でメールボックスへのアクセスが許可されませんでした。"
        "もう一度サインインし、mailport による Gmail の読み取りを許可してください。",
    ),
    "oauth.google_no_refresh_token": (
        "Google gave no lasting access (no refresh token); sign in again and consent",
        "Google から継続して使えるアクセス権（リフレッシュトークン）が得られませんでした。"
        "もう一度サインインして同意してください。",
    ),
    "oauth.microsoft_no_account": (
        "Microsoft returned no account for this sign-in; start again",
        "Microsoft からこのサインインのアカウントが返されませんでした。"
        "最初からやり直してください。",
    ),
    "oauth.wrong_mailbox_unnamed": (
        "you signed in as another account, but the mailbox to import is {email}: sign in as "
        "{email}, or enter another account as the address",
        "別のアカウントでサインインしましたが、取り込むメールボックスは {email} です。{email} "
        "としてサインインし直すか、アドレスにサインインしたアカウントを入力してください。",
    ),
    "oauth.wrong_mailbox": (
        "you signed in as {who}, but the mailbox to import is {email}: "
        "sign in as {email}, or enter {who} as the address",
        "{who} としてサインインしましたが、取り込むメールボックスは {email} です。"
        "{email} としてサインインし直すか、アドレスに {who} を入力してください。",
    ),
    # -- the saved sign-in ---------------------------------------------------------------
    "oauth.saved_unreadable": (
        "the saved {provider} sign-in is unreadable; sign in again",
        "保存されている {provider} のサインイン情報を読み取れません。"
        "もう一度サインインしてください。",
    ),
    "oauth.saved_incomplete": (
        "the saved {provider} sign-in is incomplete; sign in again",
        "保存されている {provider} のサインイン情報が不完全です。もう一度サインインしてください。",
    ),
    "oauth.microsoft_no_refresh_token": (
        "the saved Microsoft sign-in has no refresh token; sign in again",
        "保存されている Microsoft のサインイン情報にリフレッシュトークンがありません。"
        "もう一度サインインしてください。",
    ),
    "oauth.google_signin_revoked": (
        "Google no longer accepts the saved sign-in (it was revoked, expired, or the password "
        "changed); sign in again to continue",
        "保存されている Google のサインインが使えなくなりました（取り消された、期限が切れた、"
        "またはパスワードが変更されました）。続けるには、もう一度サインインしてください。",
    ),
    "oauth.microsoft_signin_revoked": (
        "Microsoft no longer accepts the saved sign-in (it was revoked or expired); "
        "sign in again to continue",
        "保存されている Microsoft のサインインが使えなくなりました（取り消されたか、期限が"
        "切れました）。続けるには、もう一度サインインしてください。",
    ),
    "oauth.then_sign_in_again": (
        "{problem}; then sign in again to continue",
        "{problem}その後、もう一度サインインすると続けられます。",
    ),
    "oauth.refresh_failed": (
        "{provider} could not refresh the sign-in ({error})",
        "{provider} のサインインを更新できませんでした（{error}）。",
    ),
    "oauth.google_no_access_token": (
        "Google's refresh answer had no access token; trying again",
        "Google からの更新の応答にアクセストークンがありませんでした。自動で再試行します。",
    ),
    "oauth.sign_in_once_set_up": (
        "{problem}; sign in again once it is",
        "{problem}設定が済んだら、もう一度サインインしてください。",
    ),
    # -- connections ---------------------------------------------------------------------
    "oauth.wrong_use_pop": (
        "this sign-in is not a {provider} sign-in for POP accounts; sign in again",
        "このサインインは外部メール用の {provider} のサインインではありません。"
        "もう一度サインインしてください。",
    ),
    "oauth.wrong_use_migration": (
        "this sign-in is not a {provider} sign-in for migrations; sign in again",
        "このサインインは IMAPメール移行用の {provider} のサインインではありません。"
        "もう一度サインインしてください。",
    ),
    "oauth.limit_pop": (
        "you can keep at most {max} {provider} sign-ins for POP accounts",
        "外部メール用に保存できる {provider} のサインインは {max} 件までです。",
    ),
    "oauth.limit_migration": (
        "you can keep at most {max} {provider} sign-ins for migrations",
        "IMAPメール移行用に保存できる {provider} のサインインは {max} 件までです。",
    ),
    "oauth.save_conflict": (
        "the sign-in could not be saved; try again",
        "サインインを保存できませんでした。もう一度お試しください。",
    ),
    "oauth.not_found": ("no such sign-in", "指定されたサインインが見つかりません。"),
    "oauth.in_use": (
        "a migration or a POP account still uses this sign-in: cancel or delete it first",
        "このサインインは、IMAPメール移行または外部メールアカウントでまだ使われています。"
        "先に移行を中止するか、外部メールアカウントを削除してください。",
    ),
    "oauth.sign_in_again_first": (
        "sign in to {provider} again as {email} first",
        "先に {email} として {provider} にもう一度サインインしてください。",
    ),
    "oauth.sign_in_again_to_continue": (
        "sign in to {provider} again as {email} to continue",
        "続けるには、{email} として {provider} にもう一度サインインしてください。",
    ),
    "oauth.removed": (
        "the sign-in was removed; sign in again",
        "サインインが削除されています。もう一度サインインしてください。",
    ),
}
