"""Why a migration did not import a message (``domain.migration.report.ItemReason``)."""

from __future__ import annotations

# ``{limit}`` is the size limit in MB.
ENTRIES: dict[str, tuple[str, str]] = {
    "reason.too_large": (
        "Over the {limit} MB limit: left on the server, not downloaded.",
        "{limit} MB を超えているため、取り込まずにサーバーに残しました。",
    ),
    "reason.unreadable": (
        "Not a mail message mailport can read.",
        "メールとして読み取れない形式のため、取り込めませんでした。",
    ),
    "reason.vanished": (
        "Deleted on the server while the migration ran.",
        "移行中に移行元のサーバーで削除されました。",
    ),
    "reason.refused": (
        "The server did not hand it over; retrying may bring it in.",
        "移行元のサーバーから受け取れませんでした。再試行すると取り込める場合があります。",
    ),
    "reason.folder_gone": (
        "The folder was deleted on the server during the migration; "
        "its messages not yet copied were not imported.",
        "移行中に移行元のサーバーでフォルダが削除されたため、"
        "まだコピーしていなかったメールを取り込めませんでした。",
    ),
}
