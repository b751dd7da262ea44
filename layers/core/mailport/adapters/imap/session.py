r"""One logged-in IMAP mailbox (the ``ImapMailbox`` port), used read-only: LIST, EXAMINE,
RFC822.SIZE and chunked ``BODY.PEEK[]`` FETCHes, never setting ``\Seen``.

Every command runs through ``_call``: its errors become ``Remote*``, its untagged responses
and literal bytes are bounded, and a session left mid-literal is closed.
"""

from __future__ import annotations

import functools
import imaplib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from mailport.adapters.imap.parser import (
    by_uid,
    examined,
    headers_of,
    is_gone,
    parse_list,
    parse_message,
    plan_chunks,
    search_uids,
    sizes_of,
    text,
    uid_set,
)
from mailport.adapters.imap.wire import CappedIMAP4, LiteralTooLarge, close, guarded
from mailport.adapters.net import Watchdog
from mailport.catalogue import say
from mailport.domain.remote import (
    ImapFolder,
    ImapMessage,
    RemoteError,
    RemoteFolderGone,
    RemoteProtocolError,
    RemoteTransient,
)
from mailport.errors import MailportError

__all__ = ["DEFAULT_CHUNK_BYTES", "DEFAULT_CHUNK_MESSAGES", "HEADER_QUERY_UIDS", "ImapSession"]

MiB = 1024 * 1024
DEFAULT_CHUNK_MESSAGES = 50
DEFAULT_CHUNK_BYTES = 20 * MiB
HEADER_QUERY_UIDS = 1000  # UIDs per header query inside headers()
_MESSAGE_ITEMS = "(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])"
_HEADER_ITEMS = "(UID BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])"


class ImapSession:
    """``ImapMailbox``: one authenticated connection, used read-only."""

    def __init__(
        self,
        client: Any,
        *,
        chunk_messages: int = DEFAULT_CHUNK_MESSAGES,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        secrets: Sequence[str] = (),
    ) -> None:
        self._client = client
        self._conn: CappedIMAP4 = client._imap
        self._chunk_messages = chunk_messages
        self._chunk_bytes = chunk_bytes
        self._secrets = tuple(secrets)
        self._watchdog: Watchdog | None = None

    def stop_after(self, seconds: float) -> None:
        """Cut the session after ``seconds`` even mid-FETCH (a server that trickles)."""
        if self._watchdog is None:
            self._watchdog = Watchdog(self._conn.sock)
        self._watchdog.arm(seconds)

    def _call[T](self, call: Callable[[], T], budget: int | None = None) -> T:
        self._conn.budget = budget
        self._conn.untagged_count = self._conn.untagged_bytes = 0
        # imaplib keeps untagged responses nobody asked for (it clears only a few kinds):
        # what earlier commands left is not needed, and would pile up over a folder.
        self._conn.untagged_responses.clear()
        try:
            return guarded("session", self._secrets, call)
        except RemoteProtocolError as e:
            if isinstance(e.__cause__, LiteralTooLarge):
                close(self._client)  # the stream is mid-literal: unusable
            raise
        except MailportError as e:
            if self._watchdog is not None and self._watchdog.expired:
                raise RemoteTransient(say("remote.imap_too_slow")) from e
            raise
        finally:
            self._conn.budget = None

    # folders ----------------------------------------------------------------------

    def folders(self) -> list[ImapFolder]:
        """Every folder (LIST, with RETURN (SPECIAL-USE) when the server supports it)."""
        return self._call(self._list)

    def _list(self) -> list[ImapFolder]:
        imap = self._conn
        if self._client.has_capability("SPECIAL-USE"):
            typ, dat = imap._simple_command("LIST", '""', '"*"', "RETURN", "(SPECIAL-USE)")
        else:
            typ, dat = imap._simple_command("LIST", '""', '"*"')
        if typ != "OK":
            raise imaplib.IMAP4.error(f"LIST failed: {text(dat[0] if dat else '')}")
        _, dat = imap._untagged_response(typ, dat, "LIST")
        return parse_list(dat)

    def personal_prefix(self) -> str:
        """The prefix of the personal namespace (RFC 2342): "" without NAMESPACE or one."""
        return self._call(self._personal_prefix)

    def _personal_prefix(self) -> str:
        if not self._client.has_capability("NAMESPACE"):
            return ""
        personal = self._client.namespace().personal  # ((prefix, separator), ...) or None
        if not personal:
            return ""
        prefix = personal[0][0]
        return prefix.decode("utf-8", "replace") if isinstance(prefix, bytes) else str(prefix)

    def examine(self, folder: ImapFolder) -> ImapFolder:
        """EXAMINE (read-only select): UIDVALIDITY, UIDNEXT and EXISTS; ``RemoteFolderGone``
        if the server has no such folder (deleted since it was listed).
        """
        try:
            return self._call(lambda: self._examine(folder))
        except RemoteProtocolError as e:
            if is_gone(e.message):
                problem = e.words or e.message
                raise RemoteFolderGone(
                    say("remote.folder_gone", folder=folder.name, problem=problem)
                ) from e
            raise

    def _examine(self, folder: ImapFolder) -> ImapFolder:
        resp = self._client.select_folder(folder.raw_name, readonly=True)
        uidnext = resp.get(b"UIDNEXT")
        if uidnext is None:  # optional in old servers: ask STATUS
            status = self._client.folder_status(folder.raw_name, [b"UIDNEXT"])
            uidnext = status.get(b"UIDNEXT", 0)
        return examined(folder, resp, uidnext)

    # messages ---------------------------------------------------------------------

    def _uid_fetch(self, uids: str, items: str) -> list[Any]:
        typ, dat = self._conn.uid("FETCH", uids, items)
        if typ != "OK":
            raise imaplib.IMAP4.error(f"FETCH failed: {text(dat[0] if dat else '')}")
        return list(dat)

    def sizes(self, first_uid: int, last_uid: int) -> dict[int, int]:
        """RFC822.SIZE of each message with first_uid <= UID <= last_uid."""
        if last_uid < first_uid:
            return {}
        data = self._call(lambda: self._uid_fetch(f"{first_uid}:{last_uid}", "(RFC822.SIZE)"))
        wanted = range(first_uid, last_uid + 1)
        return self._call(lambda: sizes_of(data, wanted))

    def uids(self, first_uid: int, last_uid: int) -> list[int]:
        """The UIDs that exist with first_uid <= UID <= last_uid (UID SEARCH), ascending."""
        if last_uid < first_uid:
            return []
        return self._call(lambda: self._uid_search(first_uid, last_uid))

    def _uid_search(self, first_uid: int, last_uid: int) -> list[int]:
        typ, dat = self._conn.uid("SEARCH", "UID", f"{first_uid}:{last_uid}")
        if typ != "OK":
            raise imaplib.IMAP4.error(f"SEARCH failed: {text(dat[0] if dat else '')}")
        return [u for u in search_uids(dat) if first_uid <= u <= last_uid]

    def fetch(self, sized: Mapping[int, int]) -> Iterator[ImapMessage]:
        r"""The messages (exact bytes, flags, internal date), in chunks, never setting \Seen.
        ``sized`` maps each UID to its RFC822.SIZE as ``sizes()`` gave it: the caller has
        them already, so they are not asked again; they plan the FETCH commands and bound
        what each may send. UIDs no longer on the server are skipped. A message over
        ``max_bytes`` raises ``RemoteProtocolError`` (callers filter by ``sizes()`` first).
        """
        ordered = sorted(sized.items())
        for chunk in plan_chunks(ordered, self._chunk_messages, self._chunk_bytes):
            yield from self._fetch_chunk(chunk)

    def _fetch_chunk(self, chunk: list[tuple[int, int]]) -> Iterator[ImapMessage]:
        too_big = [uid for uid, size in chunk if size > self._conn.max_literal]
        if too_big:
            raise RemoteProtocolError(
                say("remote.imap_message_too_large", uid=too_big[0], limit=self._conn.max_literal)
            )
        uids = [uid for uid, _ in chunk]
        # What RFC822.SIZE announced, plus one literal's cap of slack (see wire.CappedIMAP4).
        budget = sum(size for _, size in chunk) + self._conn.max_literal
        data = self._call(lambda: self._uid_fetch(uid_set(uids), _MESSAGE_ITEMS), budget=budget)
        found = self._call(lambda: by_uid(data, set(uids)))
        for uid in uids:
            item = found.pop(uid, None)
            if item is not None:
                yield self._call(functools.partial(parse_message, uid, item))

    def headers(self, uids: Sequence[int]) -> dict[int, bytes]:
        r"""From, Subject and Date of each message still there (BODY.PEEK: \\Seen untouched),
        a few hundred bytes each, for mail that is not downloaded.
        """
        out: dict[int, bytes] = {}
        ordered = sorted(set(uids))
        for start in range(0, len(ordered), HEADER_QUERY_UIDS):
            part = ordered[start : start + HEADER_QUERY_UIDS]
            data = self._call(functools.partial(self._uid_fetch, uid_set(part), _HEADER_ITEMS))
            out.update(self._call(functools.partial(headers_of, data, set(part))))
        return out

    def logout(self) -> None:
        """LOGOUT; the connection is closed even if the server does not answer."""
        if self._watchdog is not None:
            self._watchdog.disarm()
        try:
            self._call(self._client.logout)
        except (RemoteError, RemoteTransient):
            close(self._client)
