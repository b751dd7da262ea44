"""The catalogue's words for the migration area (see ``mailport.catalogue``): IMAP mail
migration (IMAPメール移行), its templates, jobs and reports.
"""

from __future__ import annotations

ENTRIES: dict[str, tuple[str, str]] = {
    # -- a job's state and kind, as a message names them (``migration_shared.state_words``)
    "migration.state_queued": ("queued", "待機中"),
    "migration.state_running": (
        "running",
        "コピー中",
    ),
    "migration.state_paused": ("paused", "一時停止中"),
    "migration.state_rolling_back": (
        "rolling_back",
        "取り消し中",
    ),
    "migration.state_rolled_back": (
        "rolled_back",
        "取り消し済み",
    ),
    "migration.state_completed": ("completed", "完了"),
    "migration.state_failed": ("failed", "失敗"),
    "migration.state_reverting": ("reverting", "元に戻しています"),
    "migration.state_reverted": ("reverted", "元に戻し済み"),
    "migration.state_needs_signin": (
        "needs_signin",
        "再サインイン待ち",
    ),
    "migration.kind_full": ("full", "移行"),
    "migration.kind_retry": ("retry", "再試行"),
    "migration.kind_delta": (
        "delta",
        "新着メールの取り込み",
    ),
    # -- the request -----------------------------------------------------------------------
    "migration.agree_first": (
        "you must accept the agreement (agreed: true)",
        "移行を開始するには、同意が必要です（「agreed」に true を指定）。",
    ),
    "migration.field_required": (
        "connection.{name} is required",
        "「connection.{name}」を指定してください。",
    ),
    "migration.template_name_unsafe": (
        "name may not contain control characters or direction overrides",
        "「name」には制御文字や文字の向きを変える文字は使えません。",
    ),
    "migration.signin_not_set_up": (
        "{service} sign-in is not set up on this service",
        "このサービスでは {service} のサインインが設定されていません。",
    ),
    "migration.signin_not_yours": (
        "connection.connection_id must be one of your {service} sign-ins",
        "「connection.connection_id」には、ご自身が保存した {service} "
        "のサインインを指定してください。",
    ),
    "migration.template_unknown": (
        "connection.template_id is not a server your admin set up",
        "「connection.template_id」は、管理者が設定した移行元サーバーではありません。",
    ),
    "migration.signin_not_configured": (
        "sign-in with the provider is not set up on this service",
        "このサービスでは、プロバイダーでのサインインが設定されていません。",
    ),
    "migration.template_not_found": (
        "no such IMAP template",
        "指定された IMAP サーバーが見つかりません。",
    ),
    "migration.cursor_past_end": (
        "the cursor is past the last folder; start again",
        "カーソルが最後のフォルダを過ぎています。最初からやり直してください。",
    ),
    "migration.too_many_folders": (
        "the mailbox has more than {max} folders",
        "移行元のメールボックスのフォルダが {max} 個を超えています。",
    ),
    # -- the job ---------------------------------------------------------------------------
    "migration.not_found": ("no such migration", "指定された移行が見つかりません。"),
    "migration.job_missing": (
        "migration {job_id} does not exist",
        "移行 {job_id} は存在しません。",
    ),
    "migration.not_retryable": (
        "only a completed migration with messages to retry can be retried",
        "再試行できるのは、完了していて再試行するメールが残っている移行だけです。",
    ),
    "migration.delta_unavailable": (
        "only a migration completed in the last 30 days can bring in newer mail",
        "新しいメールを取り込めるのは、30 日以内に完了した移行だけです。",
    ),
    "migration.password_required": (
        "enter the password of the account you migrated from",
        "移行元のアカウントのパスワードを入力してください。",
    ),
    "migration.follow_up_active": (
        "a {kind} of this migration is {state}; wait until it ends",
        "この移行の{kind}が「{state}」です。終わるまでお待ちください。",
    ),
    "migration.not_cancellable": (
        "a {state} migration can't be cancelled",
        "状態が「{state}」の移行は中止できません。",
    ),
    "migration.cancel_raced": (
        "the migration changed while cancelling; try again",
        "中止する間に移行の状態が変わりました。もう一度お試しください。",
    ),
    "migration.not_revertible": (
        "only a completed migration can be reverted, not a {state} one",
        "元に戻せるのは完了した移行だけです（この移行は「{state}」です）。",
    ),
    "migration.not_active": ("the migration is {state}", "この移行は「{state}」です。"),
    "migration.cancelled_by_user": ("cancelled by the user", "ユーザーが移行を中止しました。"),
    "migration.failed": ("the migration failed", "移行に失敗しました。"),
    "migration.not_started": (
        "the migration could not start: {problem}",
        "移行を開始できませんでした：{problem}",
    ),
    "migration.cancelled_before_start": (
        "cancelled before it started",
        "移行は開始前に中止されました。",
    ),
    "migration.origin_state": (
        "the migration it follows is {state} now",
        "もとの移行は現在「{state}」です。",
    ),
    "migration.changed_retrying": (
        "the migration changed meanwhile; retrying",
        "移行の状態がほかの処理で変わったため、再試行します。",
    ),
    "migration.changed_meanwhile": (
        "the migration changed meanwhile",
        "移行の状態がほかの処理で変わりました。",
    ),
    "migration.credentials_gone": (
        "the job's credentials are gone (the job has ended)",
        "移行が終了したため、ログイン情報はすでに削除されています。",
    ),
    "migration.ref_lacks": (
        "the job reference lacks {field}",
        "移行の参照に {field} がありません。",
    ),
    # -- what was being done when storage failed (``{what}`` of ``site.storage_*``) --
    "migration.doing_save": ("saving the migration", "移行の保存"),
    "migration.doing_list_tenant": (
        "listing the organisation's migrations",
        "組織の移行の一覧の取得",
    ),
    "migration.doing_read": ("reading the migration", "移行の読み込み"),
    "migration.doing_list": ("listing migrations", "移行の一覧の取得"),
    "migration.doing_cancel": ("cancelling the migration", "移行の中止"),
    "migration.doing_read_report": ("reading the migration's report", "移行レポートの読み込み"),
    "migration.doing_save_report": ("saving the migration's report", "移行レポートの保存"),
}
