"""The catalogue's words for the uploads area (see ``mailport.catalogue``): uploaded files
and what mailport says when one is not an email message (``domain.mime.sniff``).
"""

from __future__ import annotations

ENTRIES: dict[str, tuple[str, str]] = {
    "uploads.not_found": ("no such upload", "指定されたアップロードが見つかりません。"),
    "uploads.folder_gone": (
        "the folder does not exist any more",
        "保存するフォルダがもう存在しません。",
    ),
    # -- a file's result (``UploadFile.message``) ------------------------------------------
    "uploads.file_empty": ("The file is empty.", "ファイルが空です。"),
    "uploads.file_too_large": (
        "The file is {size} MB; messages of {limit} MB or more can't be imported.",
        "ファイルのサイズは {size} MB です。{limit} MB 以上のメールは取り込めません。",
    ),
    "uploads.file_over_limit": (
        "The file is too large ({limit} MB or more).",
        "ファイルが大きすぎます（{limit} MB 以上）。",
    ),
    "uploads.choose_another_folder": (
        "{problem}; choose another folder.",
        "{problem}別のフォルダを選んでください。",
    ),
    "uploads.duplicate": (
        "Already in this folder; not stored again.",
        "このフォルダにすでにあるため、保存しませんでした。",
    ),
    "uploads.missing": (
        "The upload did not arrive; please upload it again.",
        "アップロードが届きませんでした。もう一度アップロードしてください。",
    ),
    "uploads.size_changed": (
        "The file changed size while uploading; please upload it again.",
        "アップロード中にファイルのサイズが変わりました。もう一度アップロードしてください。",
    ),
    # -- not one email message -------------------------------------------------------------
    "uploads.empty": (
        "The file is empty (or only blank lines), not an email message.",
        "ファイルが空（または空行だけ）のため、メールではありません。",
    ),
    "uploads.too_large": (
        "The message is too large ({size} bytes; the limit is {limit} bytes).",
        "メールが大きすぎます（{size} バイト。上限は {limit} バイトです）。",
    ),
    "uploads.utf16": (
        "The file is UTF-16 text, not a message; save it as .eml (plain bytes).",
        "ファイルが UTF-16 のテキストのため、メールではありません。"
        ".eml 形式（バイト列のまま）で保存してください。",
    ),
    "uploads.looks_like": (
        "This looks like {what}, not an email message.",
        "このファイルは{what}のようです。メールではありません。",
    ),
    "uploads.binary_headers": (
        "The file holds binary data where mail headers should be; not an email.",
        "メールのヘッダーがあるべき位置にバイナリデータがあるため、メールではありません。",
    ),
    "uploads.mbox": (
        "This is an mbox file holding {count} messages; export them as separate .eml files.",
        "{count} 通のメールを含む mbox ファイルです。"
        "1 通ずつ .eml ファイルとして書き出してください。",
    ),
    "uploads.mbox_at_least": (
        "This is an mbox file holding at least {count} messages; "
        "export them as separate .eml files.",
        "少なくとも {count} 通のメールを含む mbox ファイルです。"
        "1 通ずつ .eml ファイルとして書き出してください。",
    ),
    "uploads.no_headers": (
        "The file does not start with mail headers (lines such as 'From: ...'); "
        "it is not an email message.",
        "ファイルがメールのヘッダー（「From: ...」のような行）で始まっていないため、"
        "メールではありません。",
    ),
    "uploads.no_key_headers": (
        "The file has header lines but none of From, To, Subject, Date, Message-ID or "
        "Received; it is not an email message.",
        "ヘッダーの行はありますが、From、To、Subject、Date、Message-ID、Received の"
        "いずれもないため、メールではありません。",
    ),
    # -- what a file looks like instead (``uploads.looks_like``) ------------------------------
    "uploads.kind_png": ("a PNG image", "PNG 画像"),
    "uploads.kind_jpeg": ("a JPEG image", "JPEG 画像"),
    "uploads.kind_gif": ("a GIF image", "GIF 画像"),
    "uploads.kind_tiff": ("a TIFF image", "TIFF 画像"),
    "uploads.kind_video": ("a video or an iPhone (HEIC) photo", "動画または iPhone の写真（HEIC）"),
    "uploads.kind_pdf": ("a PDF document", "PDF 文書"),
    "uploads.kind_rtf": ("an RTF document", "RTF 文書"),
    "uploads.kind_zip": (
        "a ZIP archive (or a .docx/.xlsx document)",
        "ZIP ファイル（または .docx/.xlsx 文書）",
    ),
    "uploads.kind_empty_zip": ("an empty ZIP archive", "空の ZIP ファイル"),
    "uploads.kind_gzip": ("a gzip-compressed file", "gzip で圧縮されたファイル"),
    "uploads.kind_7z": ("a 7-Zip archive", "7-Zip ファイル"),
    "uploads.kind_rar": ("a RAR archive", "RAR ファイル"),
    "uploads.kind_xz": ("an xz-compressed file", "xz で圧縮されたファイル"),
    "uploads.kind_program": ("a program", "プログラム"),
    "uploads.kind_msg": (
        "an Outlook .msg file (or an old Office document)",
        "Outlook の .msg ファイル（または古い Office 文書）",
    ),
    # -- what was being done when storage failed (``{what}`` of ``site.storage_*``) --
    "uploads.doing_store": ("storing the messages", "メールの保存"),
    "uploads.doing_read_duplicates": ("reading the duplicates", "重複したメールの読み込み"),
    "uploads.doing_read": ("reading the messages", "メールの読み込み"),
}
