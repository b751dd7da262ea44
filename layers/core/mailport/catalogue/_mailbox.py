"""The catalogue's words for the user's own mailbox: folders, messages, pages."""

from __future__ import annotations

ENTRIES: dict[str, tuple[str, str]] = {
    "mailbox.no_folder": ("no such folder", "指定されたフォルダが見つかりません。"),
    "mailbox.no_message": ("no such message", "指定されたメールが見つかりません。"),
    "mailbox.no_part": (
        "the message has no such part",
        "指定された添付ファイル (パート) はこのメールにありません。",
    ),
    "mailbox.charset_choice": (
        "charset must be one of: {choices}",
        "「charset」には次のいずれかを指定してください: {choices}",
    ),
    "mailbox.remote_choice": (
        "remote must be allow or block",
        "「remote」には allow か block を指定してください。",
    ),
    "mailbox.part_too_large": (
        "the part is larger than {mb} MB: ask for its download link (this address, then /link)",
        "このパートは {mb} MB を超えているため、ここからはダウンロードできません。"
        "ダウンロード用のリンク（このアドレスの末尾に /link）を取得してください。",
    ),
    "mailbox.message_too_large": (
        "the message is larger than {mb} MB: ask for its download link (this address, then /link)",
        "このメールは {mb} MB を超えているため、ここからはダウンロードできません。"
        "ダウンロード用のリンク（このアドレスの末尾に /link）を取得してください。",
    ),
    "mailbox.system_folder_fixed": (
        "{name} is a system folder: it can't be renamed or moved",
        "「{name}」はシステムフォルダのため、名前の変更や移動はできません。",
    ),
    "mailbox.system_folder_kept": (
        "{name} is a system folder: it can't be deleted",
        "「{name}」はシステムフォルダのため、削除できません。",
    ),
    "mailbox.has_subfolders": (
        "the folder has subfolders: delete or move them first",
        "このフォルダにはサブフォルダがあります。先にサブフォルダを削除または移動してください。",
    ),
    "mailbox.holds_messages": (
        "the folder holds {count} message(s): move or delete them first",
        "このフォルダには {count} 件のメールがあります。先にメールを移動または削除してください。",
    ),
    "mailbox.no_parent": (
        "the parent folder does not exist",
        "親フォルダが見つかりません。",
    ),
    "mailbox.no_new_parent": (
        "the new parent folder does not exist",
        "移動先の親フォルダが見つかりません。",
    ),
    "mailbox.into_itself": (
        "a folder can't be moved into itself or its own subfolder",
        "フォルダをそのフォルダ自身やそのサブフォルダの中には移動できません。",
    ),
    "mailbox.too_deep": (
        "folders nest at most {depth} levels deep",
        "フォルダは {depth} 階層までしか作成できません。",
    ),
    "mailbox.limit_number": (
        "limit must be a whole number",
        "「limit」には整数を指定してください。",
    ),
    "mailbox.limit_range": (
        "limit must be between 1 and {max}",
        "「limit」には 1 から {max} までの数を指定してください。",
    ),
    "mailbox.name_text": ("name must be a string", "「name」には文字列を指定してください。"),
    "mailbox.name_needed": ("a folder needs a name", "フォルダ名を入力してください。"),
    "mailbox.name_long": (
        "folder names are at most {max} characters",
        "フォルダ名は {max} 文字以内で入力してください。",
    ),
    "mailbox.name_control": (
        "folder names cannot contain control characters",
        "フォルダ名に制御文字は使えません。",
    ),
    "mailbox.folder_exists": ("that folder already exists", "そのフォルダはすでにあります。"),
    "mailbox.name_taken": (
        "a folder named {name!r} is already there",
        "「{name}」という名前のフォルダがすでにあります。",
    ),
    "mailbox.changed": (
        "the mailbox changed at the same time; try again",
        "同時にメールボックスが変更されました。もう一度お試しください。",
    ),
    "mailbox.folder_changed": (
        "the folder changed at the same time; reload and try again",
        "同時にフォルダが変更されました。画面を再読み込みしてからもう一度お試しください。",
    ),
    "mailbox.not_empty": (
        "the folder is not empty or changed meanwhile: "
        "move or delete its messages and subfolders first",
        "フォルダが空でないか、処理中に変更されました。"
        "先にメールとサブフォルダを移動または削除してください。",
    ),
    "mailbox.folder_gone": (
        "the folder does not exist any more",
        "フォルダはすでに削除されています。",
    ),
    "mailbox.message_changed": (
        "the message changed at the same time; reload and try again",
        "同時にメールが変更されました。画面を再読み込みしてからもう一度お試しください。",
    ),
    "mailbox.already_there": (
        "the same message is already in that folder",
        "同じメールがすでにそのフォルダにあります。",
    ),
    "mailbox.no_target": (
        "the target folder does not exist",
        "移動先のフォルダが見つかりません。",
    ),
    "mailbox.search_long": (
        "a search is at most {max} characters",
        "検索する語句は {max} 文字以内で入力してください。",
    ),
    "mailbox.search_terms": (
        "a search has at most {max} words",
        "検索する語句は {max} 個までにしてください。",
    ),
    "mailbox.search_date": (
        "{name} must be a date (YYYY-MM-DD)",
        "「{name}」には日付（YYYY-MM-DD）を指定してください。",
    ),
    "mailbox.search_dates": (
        "since must be earlier than before",
        "「since」には「before」より前の日付を指定してください。",
    ),
}
