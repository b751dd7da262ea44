"""Finding the target folder by id, else by name (case-insensitively, Japanese included)."""

from __future__ import annotations

import unicodedata

from .api import Api, CliError, Json


def _key(name: str) -> str:
    """A name as compared: NFKC (full-width ASCII, half-width kana) and case-folded."""
    return unicodedata.normalize("NFKC", name).casefold()


def resolve_folder(api: Api, wanted: str) -> Json:
    """The folder whose id is ``wanted``, else the one so named; ``CliError`` otherwise."""
    folders = [f for f in api.get("/v1/folders").get("folders", []) if isinstance(f, dict)]
    for folder in folders:
        if folder.get("id") == wanted:
            return folder
    matches = [f for f in folders if _key(str(f.get("name", ""))) == _key(wanted)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        ids = ", ".join(str(f.get("id")) for f in matches)
        raise CliError(f"more than one folder is named {wanted!r}; pass one of these ids: {ids}")
    names = ", ".join(str(f.get("name")) for f in folders) or "(none)"
    raise CliError(f"no folder named {wanted!r}; available folders: {names}")
