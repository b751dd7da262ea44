"""Folder mapping: where each folder of the source server goes in the user's mailbox.

The rules are the README's ("IMAP migration"); ``map_folders`` says them in full.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from mailport.domain.mailbox import SystemFolder
from mailport.domain.remote import ImapFolder

_SPECIAL_TARGETS = {
    "\\Sent": SystemFolder.SENT,
    "\\Trash": SystemFolder.TRASH,
    "\\Junk": SystemFolder.JUNK,
    "\\Drafts": SystemFolder.DRAFTS,
}
# Servers without SPECIAL-USE: the usual top-level names (case-insensitive).
_NAMED_TARGETS = {
    "sent": SystemFolder.SENT,
    "sent items": SystemFolder.SENT,
    "sent messages": SystemFolder.SENT,
    "sent mail": SystemFolder.SENT,
    "送信済み": SystemFolder.SENT,
    "送信済みアイテム": SystemFolder.SENT,
    "trash": SystemFolder.TRASH,
    "deleted items": SystemFolder.TRASH,
    "deleted messages": SystemFolder.TRASH,
    "ゴミ箱": SystemFolder.TRASH,
    "削除済みアイテム": SystemFolder.TRASH,
    "junk": SystemFolder.JUNK,
    "spam": SystemFolder.JUNK,
    "junk e-mail": SystemFolder.JUNK,
    "junk email": SystemFolder.JUNK,
    "迷惑メール": SystemFolder.JUNK,
    "drafts": SystemFolder.DRAFTS,
    "下書き": SystemFolder.DRAFTS,
}
# Virtual views of mail that lives in other folders too: copying them would duplicate it.
_VIEWS = frozenset({"\\Flagged", "\\Important"})


@dataclass(frozen=True, slots=True)
class FolderMapping:
    """Where one source folder goes: a system folder or a path of user folders."""

    source: ImapFolder
    system: SystemFolder | None
    path: tuple[str, ...]  # user folder names from the top (empty for a system folder)
    skip_reason: str | None = None  # views and unselectable folders are not copied
    dedup_across: bool = False  # Gmail-style: the same mail under several labels goes once

    @property
    def target_label(self) -> str:
        """The target as people read it."""
        if self.system is not None:
            return self.system.value.capitalize()
        return "/".join(self.path)


def _path(folder: ImapFolder) -> tuple[str, ...]:
    parts = folder.name.split(folder.delimiter) if folder.delimiter else [folder.name]
    cleaned = tuple(" ".join(p.split()) or "_" for p in parts)
    return cleaned[:10]  # the mailbox nests at most 10 levels


def _system_target(folder: ImapFolder) -> SystemFolder | None:
    if folder.name.upper() == "INBOX":
        return SystemFolder.INBOX
    for flag, target in _SPECIAL_TARGETS.items():
        if flag in folder.special_use:
            return target
    top_level = not folder.delimiter or folder.delimiter not in folder.name
    if top_level and not folder.special_use:
        return _NAMED_TARGETS.get(folder.name.casefold())
    return None


def _gmail_path(path: tuple[str, ...], folder: ImapFolder) -> tuple[str, ...]:
    # "[Gmail]/All Mail" → "All Mail": the bracketed parent is Gmail's, not the user's.
    if len(path) > 1 and path[0] in ("[Gmail]", "[Google Mail]"):
        return path[1:]
    return path


def _unprefixed(folder: ImapFolder, prefix: str) -> ImapFolder:
    """The folder as if listed without the personal namespace's prefix (RFC 2342).

    On servers whose personal namespace is "INBOX." (Courier-IMAP, Cyrus in its classic
    namespace, many shared hosts) every folder is listed under INBOX: "INBOX.Sent" is the
    user's Sent, "INBOX.日本語" a top-level folder. INBOX itself is INBOX. The prefix is
    matched without case for its INBOX part (RFC 3501: INBOX is case-insensitive).
    """
    if not prefix or folder.name.upper() == "INBOX":
        return folder
    head, rest = folder.name[: len(prefix)], folder.name[len(prefix) :]
    if prefix.upper().startswith("INBOX"):
        head, prefix = head.upper(), prefix.upper()
    return replace(folder, name=rest) if rest and head == prefix else folder


def map_folders(folders: Sequence[ImapFolder], prefix: str = "") -> list[FolderMapping]:
    r"""Every source folder with its target, in the order they are copied.

    Rules (README, "IMAP migration"): INBOX and the special-use folders (\Sent, \Trash,
    \Junk, \Drafts; or their usual names on servers without SPECIAL-USE) go to the system
    folders; everything else keeps its path, the server's separator becoming nesting.
    Views (\Flagged, \Important) are skipped. When the server has an \All folder (Gmail), the
    same message under several labels is copied once: into the first folder it is met in,
    with INBOX first, then the system folders, then labels by name, and \All last, which so
    brings in only archived mail that carries no label. ``prefix`` is the server's personal
    namespace: folder names are read without it.
    """
    gmail = any("\\All" in f.special_use for f in folders)
    out: list[FolderMapping] = []
    seen_systems: set[SystemFolder] = set()
    for source in folders:
        folder = _unprefixed(source, prefix)
        system = _system_target(folder)
        path: tuple[str, ...] = () if system else _gmail_path(_path(folder), folder)
        skip = None
        if not folder.selectable:
            skip = "not a mailbox (a folder of folders)"
        elif folder.special_use & _VIEWS:
            skip = "a view of mail kept in other folders"
        if system is not None and skip is None:
            if system in seen_systems and system is not SystemFolder.INBOX:
                # Two "Sent" folders: the second keeps its own name rather than merge.
                system, path = None, _path(folder)
            else:
                seen_systems.add(system)
        out.append(FolderMapping(source, system, path, skip, dedup_across=gmail))
    rank = {SystemFolder.INBOX: 0}

    def order(m: FolderMapping) -> tuple[int, str]:
        if "\\All" in m.source.special_use:
            return (3, "")
        if m.system is not None:
            return (rank.get(m.system, 1), m.system.value)
        return (2, "/".join(m.path).casefold())

    return sorted(out, key=order)
