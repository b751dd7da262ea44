"""The catalogue's words for the validation area (see ``mailport.catalogue``): a request
body refused at the API's edge (``functions/api/api_validation``), one sentence naming the
field. ``{subject}`` is the field (``validation.field``), the item or the body.
"""

from __future__ import annotations

ENTRIES: dict[str, tuple[str, str]] = {
    # -- where: a path of items, then the field ---------------------------------------------
    "validation.at": (
        "{where}: {problem}",
        "{where}：{problem}",
    ),
    "validation.field": ('"{field}"', "項目「{field}」"),
    "validation.body": ("the request body", "リクエストの本文"),
    "validation.file": ("file {number}", "ファイル {number}"),
    # -- the body as a whole ----------------------------------------------------------------
    "validation.not_object": ("send a JSON object", "JSON オブジェクトを送信してください。"),
    "validation.at_least_one": (
        "send at least one of: {keys}",
        "次の項目のうち少なくとも 1 つを指定してください：{keys}",
    ),
    # -- what is wrong with a field (pydantic's error types) --------------------------------
    "validation.missing": ("{subject} is required", "{subject}を指定してください。"),
    "validation.extra_forbidden": ("{subject} is not a known field", "{subject}は不明な項目です。"),
    "validation.string_type": (
        "{subject} must be a string",
        "{subject}には文字列を指定してください。",
    ),
    "validation.bool_type": (
        "{subject} must be true or false",
        "{subject}には true か false を指定してください。",
    ),
    "validation.int_type": (
        "{subject} must be a whole number",
        "{subject}には整数を指定してください。",
    ),
    "validation.list_type": (
        "{subject} must be a list",
        "{subject}にはリスト（配列）を指定してください。",
    ),
    "validation.dict_type": (
        "{subject} must be an object",
        "{subject}にはオブジェクトを指定してください。",
    ),
    "validation.literal_error": (
        "{subject} must be {expected}",
        "{subject}には {expected} を指定してください。",
    ),
    "validation.too_short": (
        "{subject} must hold at least {min_length} item(s)",
        "{subject}には {min_length} 個以上の項目が必要です。",
    ),
    "validation.too_long": (
        "{subject} may hold at most {max_length} items, not {actual_length}",
        "{subject}の項目は {max_length} 個までです（{actual_length} 個あります）。",
    ),
    "validation.string_too_short": (
        "{subject} must not be empty",
        "{subject}を空にすることはできません。",
    ),
    "validation.string_too_long": (
        "{subject} must be at most {max_length} characters",
        "{subject}は {max_length} 文字以内で指定してください。",
    ),
    "validation.greater_than_equal": (
        "{subject} must be at least {ge}",
        "{subject}には {ge} 以上の値を指定してください。",
    ),
    "validation.less_than_equal": (
        "{subject} must be at most {le}",
        "{subject}には {le} 以下の値を指定してください。",
    ),
    "validation.invalid": ("{subject} is not valid", "{subject}の値が正しくありません。"),
    # -- a pattern's own words --------------------------------------------------------------
    "validation.not_blank": (
        "{subject} must not be blank",
        "{subject}を空白だけにすることはできません。",
    ),
    "validation.no_control": (
        "{subject} cannot contain control characters",
        "{subject}に制御文字は使えません。",
    ),
    "validation.host_name": (
        "{subject} must be a host name or an IP address",
        "{subject}にはホスト名か IP アドレスを指定してください。",
    ),
    "validation.one_line": (
        "{subject} must be one line (no line break or NUL)",
        "{subject}は 1 行で指定してください（改行や NUL 文字は使えません）。",
    ),
    "validation.rule_id": (
        '{subject} may contain only letters, digits, "-" and "_" (1 to 64 characters)',
        "{subject}に使えるのは英字、数字、「-」と「_」だけです（1〜64 文字）。",
    ),
    # -- sentences the API has always answered for a field ----------------------------------
    "validation.size_bytes": (
        "size must be a number of bytes, at most {max}",
        "「size」には {max} 以下のバイト数を指定してください。",
    ),
    "validation.port": (
        '"port" must be a number from 1 to {max}',
        "「port」には 1 から {max} までの数値を指定してください。",
    ),
    "validation.connection_port": (
        '"connection.port" must be a number from 1 to {max}',
        "「connection.port」には 1 から {max} までの数値を指定してください。",
    ),
    "validation.files_item": ("send {shape}", "{shape} の形式で送信してください。"),
    "validation.files_min": (
        "files must list at least one {shape}",
        "「files」には {shape} を 1 つ以上指定してください。",
    ),
    "validation.files_max": (
        "at most {max_length} files per upload; split the rest into another",
        "1 回にアップロードできるファイルは {max_length} 個までです。"
        "残りは別のアップロードに分けてください。",
    ),
}
