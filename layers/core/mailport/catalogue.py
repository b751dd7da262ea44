"""Words the server writes for a person, in Japanese and English, keyed by a stable code
(the code is what programs read; only the words change with the language). The console has
its own labels (``console/i18n-*.json``); this is what the server itself says in an answer.

Started with the migration report's reasons; the rest of the server's words join it here.
"""

from __future__ import annotations

LANGUAGES = ("ja", "en")
DEFAULT = "en"

# Per code, per language; ``{limit}`` is the size limit in MB.
_REASONS: dict[str, dict[str, str]] = {
    "too_large": {
        "en": "Over the {limit} MB limit: left on the server, not downloaded.",
        "ja": "{limit} MB を超えているため、取り込まずにサーバーに残しました。",
    },
    "unreadable": {
        "en": "Not a mail message mailport can read.",
        "ja": "メールとして読み取れない形式のため、取り込めませんでした。",
    },
    "vanished": {
        "en": "Deleted on the server while the migration ran.",
        "ja": "移行中に移行元のサーバーで削除されました。",
    },
    "refused": {
        "en": "The server did not hand it over; retrying may bring it in.",
        "ja": "移行元のサーバーから受け取れませんでした。再試行すると取り込める場合があります。",
    },
    "folder_gone": {
        "en": "The folder was deleted on the server during the migration; "
        "its messages not yet copied were not imported.",
        "ja": "移行中に移行元のサーバーでフォルダが削除されたため、"
        "まだコピーしていなかったメールを取り込めませんでした。",
    },
}


def reason_codes() -> tuple[str, ...]:
    """Every reason the catalogue has words for."""
    return tuple(_REASONS)


def reason_words(code: str, language: str, limit: int | None = None) -> str:
    """The reason ``code`` in ``language`` (English for a language or code it lacks)."""
    words = _REASONS.get(code, {})
    text = words.get(language) or words.get(DEFAULT) or code
    mb = (limit or 0) // (1024 * 1024)
    return text.format(limit=mb)


def language_of(accept_language: str | None) -> str:
    """The first of ``LANGUAGES`` an ``Accept-Language`` header asks for (by its weights,
    RFC 9110 §12.5.4), else the default.
    """
    ranked: list[tuple[float, int, str]] = []
    for n, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        for p in params.split(";"):
            name, _, val = p.strip().partition("=")
            if name == "q":
                try:
                    weight = float(val)
                except ValueError:
                    weight = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and weight > 0:
            ranked.append((-weight, n, primary))
    return min(ranked)[2] if ranked else DEFAULT
