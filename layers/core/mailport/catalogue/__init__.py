"""Words the server writes for a person, in Japanese and English, keyed by a stable code
(the code is what programs read; only the words change with the language). The console has
its own labels (``console/i18n-*.json``); this is what the server itself says: API error
messages, run and job reasons, a report's reasons, notices.

An entry is ``"area.name": (english, japanese)`` in one of the area modules below; ``{name}``
is a parameter, filled from the ``Words`` that carries the code. ``tests/unit/test_catalogue``
renders every entry in both languages and checks every ``say(...)`` in the code against it.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field

from mailport.catalogue import (
    _accounts,
    _doing,
    _identity,
    _mailbox,
    _migration,
    _notices,
    _oauth,
    _reasons,
    _remote,
    _site,
    _uploads,
    _validation,
)

LANGUAGES = ("ja", "en")
DEFAULT = "en"

Entry = tuple[str, str]  # (en, ja)


def _merged(*areas: Mapping[str, Entry]) -> dict[str, Entry]:
    merged: dict[str, Entry] = {}
    for area in areas:
        clash = merged.keys() & area.keys()
        if clash:  # one code, one meaning: a clash is a bug, found at import
            raise ValueError(f"catalogue codes defined twice: {sorted(clash)}")
        merged.update(area)
    return merged


_ENTRIES: dict[str, Entry] = _merged(
    _accounts.ENTRIES,
    _doing.ENTRIES,
    _identity.ENTRIES,
    _mailbox.ENTRIES,
    _migration.ENTRIES,
    _notices.ENTRIES,
    _oauth.ENTRIES,
    _reasons.ENTRIES,
    _remote.ENTRIES,
    _site.ENTRIES,
    _uploads.ENTRIES,
    _validation.ENTRIES,
)


def entries() -> Mapping[str, Entry]:
    """Every code and its words (en, ja)."""
    return _ENTRIES


def placeholders(text: str) -> frozenset[str]:
    """The ``{name}`` parameters ``text`` uses."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name)


class _Params(dict[str, object]):
    def __missing__(self, key: str) -> str:  # a missing parameter shows, never raises
        return "{" + key + "}"


@dataclass(frozen=True, slots=True)
class Words:
    """A code and its parameters: what to say, in whichever language it is read.
    ``str()`` is the English words (for logs and for callers that have no language).
    A parameter that is itself ``Words`` is said in the same language.
    """

    key: str
    params: tuple[tuple[str, object], ...] = field(default=())

    def render(self, language: str = DEFAULT) -> str:
        """The words in ``language`` (English for a language the catalogue lacks; the code
        itself for a code it lacks, which the catalogue's test makes impossible in ours).
        """
        entry = _ENTRIES.get(self.key)
        if entry is None:
            return self.key
        text = entry[1] if language == "ja" else entry[0]
        values = _Params(
            (k, v.render(language) if isinstance(v, Words) else v) for k, v in self.params
        )
        return string.Formatter().vformat(text, (), values)

    def as_dict(self) -> dict[str, object]:
        """A form to store (a run's or a job's reason), read back with ``words_of``."""
        return {
            "key": self.key,
            "params": {
                k: (v.as_dict() if isinstance(v, Words) else _plain(v)) for k, v in self.params
            },
        }

    def __str__(self) -> str:
        return self.render(DEFAULT)


def _plain(value: object) -> object:
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def say(key: str, /, **params: object) -> Words:
    """The words of ``key`` with ``params``; ``str()`` of it is the English."""
    return Words(key, tuple(sorted(params.items())))


def words_of(stored: object) -> Words | None:
    """``Words`` from ``Words.as_dict()``'s form (None for anything else)."""
    if not isinstance(stored, Mapping) or not isinstance(stored.get("key"), str):
        return None
    raw = stored.get("params")
    params = raw if isinstance(raw, Mapping) else {}
    return say(str(stored["key"]), **{str(k): words_of(v) or v for k, v in params.items()})


def stored(words: Words | None) -> dict[str, object]:
    """What to store for words that may be missing (``{}``: none; ``words_of`` reads it)."""
    return words.as_dict() if words is not None else {}


def shown(words: Words | None, english: str, language: str) -> str:
    """Stored words in ``language``; the stored English where no words were kept (an item
    written before the server kept them).
    """
    return words.render(language) if words is not None else english


def reason_codes() -> tuple[str, ...]:
    """Every reason of a migration report the catalogue has words for."""
    return tuple(key.removeprefix("reason.") for key in _reasons.ENTRIES)


def reason_words(code: str, language: str, limit: int | None = None) -> str:
    """The report reason ``code`` in ``language``; ``limit`` is the size limit in bytes."""
    if f"reason.{code}" not in _ENTRIES:  # a code from a newer release: show the code itself
        return code
    mb = (limit or 0) // (1024 * 1024)
    return say(f"reason.{code}", limit=mb).render(language)


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
