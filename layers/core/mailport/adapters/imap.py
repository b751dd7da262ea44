"""IMAP source adapter on imapclient: verified TLS, read-only access (EXAMINE, BODY.PEEK),
bounded memory (chunked FETCH, capped literals), library errors translated to ``Remote*``.

Why the literal cap: Python 3.11/3.12 imaplib allocates whatever literal size a server
announces (python/cpython#119511), so an untrusted server could exhaust memory with one
``{99999999999}``. ``_CappedIMAP4.read`` refuses literals above ``max_bytes`` and, during a
FETCH, more literal bytes in total than the chunk was planned for (plus one ``max_bytes``).
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import datetime as dt
import functools
import imaplib
import io
import re
import socket
import ssl
from collections.abc import Callable, Container, Iterator, Sequence
from typing import Any

from imapclient import IMAPClient, SocketTimeout  # type: ignore[import-untyped]
from imapclient.exceptions import LoginError  # type: ignore[import-untyped]
from imapclient.imap_utf7 import decode as decode_utf7  # type: ignore[import-untyped]
from imapclient.response_parser import (  # type: ignore[import-untyped]
    parse_fetch_response,
    parse_response,
)

from mailport.adapters.net import Resolve, Watchdog, connect_vetted
from mailport.domain.network import NetworkPolicy
from mailport.domain.remote import (
    Credentials,
    ImapFolder,
    ImapMessage,
    RemoteAuthFailed,
    RemoteError,
    RemoteProtocolError,
    RemoteTlsError,
    RemoteTransient,
    RemoteUnreachable,
    ServerAddress,
    server_text,
)
from mailport.errors import MailportError

MiB = 1024 * 1024
DEFAULT_MAX_BYTES = 50 * MiB + MiB  # the 50 MiB message limit plus slack for encoding
DEFAULT_CHUNK_MESSAGES = 50
DEFAULT_CHUNK_BYTES = 20 * MiB
SIZE_QUERY_UIDS = 1000  # UIDs per RFC822.SIZE query inside fetch()
MAX_TEXT = 200  # server text kept in error messages

SPECIAL_USE = frozenset(
    {"\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Important", "\\Junk", "\\Sent", "\\Trash"}
)
_SPECIAL_BY_UPPER = {flag.upper(): flag for flag in SPECIAL_USE}
_UNSELECTABLE = frozenset({"\\NOSELECT", "\\NONEXISTENT"})
_TRANSIENT_MARKERS = (
    "[UNAVAILABLE]",
    "[INUSE]",
    "[LIMIT]",
    "TOO MANY",
    "MAXIMUM NUMBER OF CONNECTIONS",
    "TRY AGAIN",
    "THROTTLED",  # Microsoft 365
)
_BACKOFF = re.compile(r"backoff time:\s*(\d+)\s*milliseconds", re.IGNORECASE)

type Phase = str  # "connect" | "tls" | "login" | "session"


# One command's untagged responses: a FETCH of a batch (100 messages) gives ~100, a LIST of
# MAX_FOLDERS (1,000) folders ~1,000; these bounds are far above any honest answer.
MAX_UNTAGGED = 100_000
MAX_UNTAGGED_BYTES = 128 * 2**20  # lines and literals (FETCH bodies: ≤ 32 MB a batch)


class StartTlsRefused(imaplib.IMAP4.error):
    """STARTTLS did not lead to a clean handshake: the server said NO, or sent more after its
    OK (STARTTLS injection), which an attacker on the path could have put there.
    """


class LiteralTooLarge(Exception):
    """The server announced a literal over the cap (not an imaplib error, so imaplib
    cannot rewrap it into a generic one).
    """


# -- pure helpers ---------------------------------------------------------------------


def uid_set(uids: Sequence[int]) -> str:
    """A compact IMAP UID set: ``[1, 2, 3, 7, 9, 10]`` → ``"1:3,7,9:10"``."""
    ordered = sorted(set(uids))
    if not ordered:
        raise ValueError("empty UID set")
    parts: list[str] = []
    start = prev = ordered[0]
    for uid in [*ordered[1:], None]:
        if uid is not None and uid == prev + 1:
            prev = uid
            continue
        parts.append(str(start) if start == prev else f"{start}:{prev}")
        if uid is not None:
            start = prev = uid
    return ",".join(parts)


def plan_chunks(
    sized: Sequence[tuple[int, int]], max_messages: int, max_bytes: int
) -> list[list[tuple[int, int]]]:
    """Group ``(uid, size)`` pairs, in order, into FETCH commands of at most
    ``max_messages`` messages and (unless one message alone is bigger) ``max_bytes``.
    """
    chunks: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    total = 0
    for uid, size in sized:
        if current and (len(current) >= max_messages or total + size > max_bytes):
            chunks.append(current)
            current, total = [], 0
        current.append((uid, size))
        total += size
    if current:
        chunks.append(current)
    return chunks


def special_use(flags: Sequence[str]) -> frozenset[str]:
    """The RFC 6154 special-use attributes among LIST flags, in canonical spelling."""
    return frozenset(_SPECIAL_BY_UPPER[f.upper()] for f in flags if f.upper() in _SPECIAL_BY_UPPER)


def decode_name(raw: bytes) -> str:
    """A mailbox name from modified UTF-7 (RFC 3501 5.1.3); UTF-8 if it is not valid mUTF-7."""
    try:
        return str(decode_utf7(raw))
    except (UnicodeDecodeError, ValueError):
        return raw.decode("utf-8", errors="replace")


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def folder_from_list(flags: Sequence[Any], delimiter: Any, name: Any) -> ImapFolder:
    """One ``ImapFolder`` from a parsed LIST line (flags, delimiter, raw name)."""
    raw = name if isinstance(name, bytes) else str(name).encode("utf-8")
    texts = [_text(f) for f in flags]
    return ImapFolder(
        name=decode_name(raw),
        raw_name=raw,
        delimiter=None if delimiter is None else _text(delimiter),
        special_use=special_use(texts),
        selectable=not any(f.upper() in _UNSELECTABLE for f in texts),
    )


def scrub(text: str, secrets: Sequence[str]) -> str:
    """Server text safe for an error message: no secrets, one line, at most MAX_TEXT chars."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return server_text(text, MAX_TEXT)


# -- error translation ----------------------------------------------------------------


def _is_transient_text(text: str) -> bool:
    upper = text.upper()
    return any(marker in upper for marker in _TRANSIENT_MARKERS)


def _translate_imap(
    e: imaplib.IMAP4.error, text: str, phase: Phase
) -> RemoteError | RemoteTransient:
    if isinstance(e, imaplib.IMAP4.abort) or _is_transient_text(text):
        hint = _BACKOFF.search(text)
        retry_after = int(hint.group(1)) / 1000 if hint else None
        return RemoteTransient(f"IMAP server unavailable: {text}", retry_after)
    if isinstance(e, LoginError) or phase == "login":
        return RemoteAuthFailed(f"IMAP login refused: {text}")
    return RemoteProtocolError(f"IMAP error: {text}")


def _said(e: Exception) -> str:
    """The error's text. imaplib raises with the server's line as bytes, and imapclient's
    LoginError with ``str()`` of that: either would show the user ``b'…'`` (and escapes)
    instead of what the server said.
    """
    said = e.args[0] if len(e.args) == 1 else None
    if isinstance(said, str) and said[:2] in ("b'", 'b"') and said.endswith(said[1]):
        with contextlib.suppress(ValueError, SyntaxError):
            said = ast.literal_eval(said)  # a bytes literal, or it raises: nothing runs
    if isinstance(said, bytes):
        return said.decode("utf-8", "replace")
    return str(e) or type(e).__name__


def translate(
    e: Exception, phase: Phase, secrets: Sequence[str] = ()
) -> RemoteError | RemoteTransient:
    """The domain error for a library/socket error raised during ``phase``."""
    text = scrub(_said(e), secrets)
    if isinstance(e, LiteralTooLarge):
        return RemoteProtocolError(f"IMAP server response too large: {text}")
    if isinstance(e, ssl.SSLError | StartTlsRefused) and phase in ("connect", "tls"):
        return RemoteTlsError(f"TLS with the IMAP server failed: {text}")
    if isinstance(e, OSError):
        if phase == "connect":
            return RemoteUnreachable(f"cannot connect to the IMAP server: {text}")
        return RemoteTransient(f"connection to the IMAP server lost: {text}")
    if isinstance(e, imaplib.IMAP4.error):
        return _translate_imap(e, text, phase)
    return RemoteProtocolError(f"unexpected IMAP response: {text}")


_CAUGHT = (OSError, imaplib.IMAP4.error, LiteralTooLarge, ValueError, EOFError)


def _guarded[T](phase: Phase, secrets: Sequence[str], call: Callable[[], T]) -> T:
    try:
        return call()
    except _CAUGHT as e:
        raise translate(e, phase, secrets) from e


# -- the connection ---------------------------------------------------------------------


class _CappedIMAP4(imaplib.IMAP4):
    """imaplib's connection with optional implicit TLS and bounded literal reads."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        timeout: float | None,
        tls: ssl.SSLContext | None,
        max_literal: int,
        dial: Callable[[str, int, float | None], socket.socket],
    ) -> None:
        self.max_literal = max_literal
        self._dial = dial
        self.budget: int | None = None  # total literal bytes still allowed (None: no total)
        self.untagged_count = 0  # untagged responses of the current command (see below)
        self.untagged_bytes = 0
        self._tls = tls
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        sock = self._dial(self.host, self.port, timeout)
        if self._tls is None:
            return sock
        try:
            return self._tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise

    def _simple_command(self, name: str, *args: Any) -> tuple[str, list[Any]]:
        """As imaplib's, but STARTTLS must be answered OK and nothing more: imaplib would
        drop bytes pipelined after the OK with its read buffer; they are refused instead,
        as the POP3 adapter does (``pop3.wire.Wire.upgrade``).
        """
        if name != "STARTTLS":
            return super()._simple_command(name, *args)  # type: ignore[misc,no-any-return]
        try:
            typ, dat = super()._simple_command(name, *args)  # type: ignore[misc]
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error as e:  # BAD
            raise StartTlsRefused(f"the server refused STARTTLS: {e}") from e
        if typ != "OK":
            said = _text(dat[0]) if dat else ""
            raise StartTlsRefused(f"the server refused STARTTLS: {said}")
        if self._sent_more():
            raise StartTlsRefused("the server sent data before the TLS handshake")
        return typ, dat

    def _sent_more(self) -> bool:
        """Whether anything is buffered or already arrived, without waiting for more."""
        timeout = self.sock.gettimeout()
        self.sock.settimeout(0)  # the socket file's read returns None instead of blocking
        try:
            if isinstance(self.file, io.BufferedReader):  # imaplib's read buffer (<= 3.13)
                return bool(self.file.peek(1))
            return bool(self.sock.recv(1, socket.MSG_PEEK))
        except BlockingIOError:
            return False
        finally:
            self.sock.settimeout(timeout)

    def _append_untagged(self, typ: str, dat: Any) -> None:
        """Count untagged responses: imaplib keeps every one until the command ends, so a
        server that answers one command with endless lines (or lines of ~1 MB each, imaplib's
        line cap) can't grow memory until the worker dies.
        """
        self.untagged_count += 1
        # A response with a literal comes as (line, literal): count both.
        parts = dat if isinstance(dat, tuple) else (dat,)
        self.untagged_bytes += sum(len(p) for p in parts if isinstance(p, bytes | bytearray))
        if self.untagged_count > MAX_UNTAGGED or self.untagged_bytes > MAX_UNTAGGED_BYTES:
            raise LiteralTooLarge(
                f"the server sent over {MAX_UNTAGGED} responses or "
                f"{MAX_UNTAGGED_BYTES // 2**20} MB of responses for one command"
            )
        super()._append_untagged(typ, dat)  # type: ignore[misc]

    def readline(self) -> bytes:
        """A line; one over imaplib's 1,000,000-byte cap is ``LiteralTooLarge`` (imaplib's
        own error would leave the session open mid-line, and the next command would read
        the rest of the line as its answer).
        """
        try:
            line: bytes = super().readline()
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error as e:  # the only error imaplib's readline raises: the cap
            raise LiteralTooLarge(f"a response line over 1,000,000 bytes ({e})") from e
        return line

    def read(self, size: int) -> bytes:
        """A literal of ``size`` bytes, refused before allocation when over the cap."""
        if size > self.max_literal:
            raise LiteralTooLarge(f"literal of {size} bytes (limit {self.max_literal})")
        if self.budget is not None:
            if size > self.budget:
                raise LiteralTooLarge(f"FETCH returned more than planned ({size} more bytes)")
            self.budget -= size
        return super().read(size)


class _Client(IMAPClient):  # type: ignore[misc]
    """IMAPClient on a ``_CappedIMAP4``."""

    def __init__(self, server: ServerAddress, context: ssl.SSLContext, **kw: Any) -> None:
        self._max_literal: int = kw.pop("max_literal")
        self._dial: Callable[[str, int, float | None], socket.socket] = kw.pop("dial")
        super().__init__(server.host, server.port, ssl=server.ssl, ssl_context=context, **kw)
        self.folder_encode = False  # we keep raw names for commands and decode them ourselves
        self.normalise_times = False  # timezone-aware INTERNALDATE
        self._imap.debug = 0  # imapclient turns on imaplib's line logging (message bytes)

    def _create_IMAP4(self) -> _CappedIMAP4:  # noqa: N802 - imapclient's name
        return _CappedIMAP4(
            self.host,
            self.port,
            timeout=self._timeout.connect,
            tls=self.ssl_context if self.ssl else None,
            max_literal=self._max_literal,
            dial=self._dial,
        )


def tls_context(server: ServerAddress) -> ssl.SSLContext:
    """A verifying context (hostname checked), trusting ``server.ca_file`` too when given."""
    return ssl.create_default_context(cafile=server.ca_file)


# -- connector ------------------------------------------------------------------------


def _starttls(client: Any, context: ssl.SSLContext) -> None:
    if client._imap.state != "NONAUTH":
        raise RemoteTlsError("IMAP server pre-authenticated a plain connection; refusing")
    if not client.has_capability("STARTTLS"):
        raise RemoteTlsError("IMAP server does not offer STARTTLS; refusing to log in")
    client.starttls(context)


def _login(client: Any, credentials: Credentials) -> None:
    if credentials.oauth2_token:
        client.oauth2_login(credentials.username, credentials.oauth2_token)
        return
    password = credentials.password
    ascii_ok = credentials.username.isascii() and password.isascii()
    if ascii_ok and not client.has_capability("LOGINDISABLED"):
        client.login(credentials.username, password)
    else:  # SASL PLAIN carries UTF-8
        client.plain_login(credentials.username, password)


def _close(client: Any) -> None:
    with contextlib.suppress(Exception):  # best effort on a connection we abandon
        client.shutdown()


class ImapConnector:
    """``ImapConnector``: opens verified, authenticated, read-only sessions."""

    def __init__(
        self,
        *,
        connect_timeout: float = 20.0,
        read_timeout: float = 120.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        chunk_messages: int = DEFAULT_CHUNK_MESSAGES,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        network: NetworkPolicy | None = None,
        resolve: Resolve = socket.getaddrinfo,
    ) -> None:
        self._timeout = SocketTimeout(connect=connect_timeout, read=read_timeout)
        self._network = network or NetworkPolicy()
        self._resolve = resolve
        self._max_bytes = max_bytes
        self._chunk_messages = chunk_messages
        self._chunk_bytes = chunk_bytes

    def open(self, server: ServerAddress, credentials: Credentials) -> ImapSession:
        """Connect (IMAPS, or STARTTLS required), authenticate, return the session."""
        secrets = (credentials.password, credentials.oauth2_token)
        context = tls_context(server)
        client = _guarded("connect", secrets, lambda: self._connect(server, context))
        try:
            if not server.ssl:
                _guarded("tls", secrets, lambda: _starttls(client, context))
            _guarded("login", secrets, lambda: _login(client, credentials))
        except BaseException:
            _close(client)
            raise
        return ImapSession(
            client,
            chunk_messages=self._chunk_messages,
            chunk_bytes=self._chunk_bytes,
            secrets=secrets,
        )

    def _connect(self, server: ServerAddress, context: ssl.SSLContext) -> Any:
        # An admin's template may name any port; the address is vetted all the same.
        network = (
            dataclasses.replace(self._network, ports=None) if server.any_port else self._network
        )

        def dial(host: str, port: int, timeout: float | None) -> socket.socket:
            return connect_vetted(host, port, timeout, network, self._resolve)

        return _Client(
            server, context, timeout=self._timeout, max_literal=self._max_bytes, dial=dial
        )


# -- session --------------------------------------------------------------------------


def _flags(values: Sequence[Any]) -> frozenset[str]:
    return frozenset(_text(v) for v in values)


def _by_uid(data: list[Any], wanted: Container[int]) -> dict[int, dict[bytes, Any]]:
    """FETCH responses keyed by UID, only those asked for (unsolicited ones dropped).
    Keyed by sequence number first so that an unsolicited FETCH without UID merges into
    the same message's entry instead of landing on a UID equal to its number.
    """
    out: dict[int, dict[bytes, Any]] = {}
    for item in parse_fetch_response(data, False, False).values():
        uid = item.get(b"UID")
        if isinstance(uid, int) and uid in wanted:
            out[uid] = item
    return out


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
        self._conn: _CappedIMAP4 = client._imap
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
            return _guarded("session", self._secrets, call)
        except RemoteProtocolError as e:
            if isinstance(e.__cause__, LiteralTooLarge):
                _close(self._client)  # the stream is mid-literal: unusable
            raise
        except MailportError as e:
            if self._watchdog is not None and self._watchdog.expired:
                raise RemoteTransient(
                    "the IMAP server sent too slowly: the step stopped at its time limit"
                ) from e
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
            raise imaplib.IMAP4.error(f"LIST failed: {_text(dat[0] if dat else '')}")
        _, dat = imap._untagged_response(typ, dat, "LIST")
        lines = [d for d in dat if d not in (b"", None)]
        parsed = parse_response(lines) if lines else []
        return [
            folder_from_list(parsed[i], parsed[i + 1], parsed[i + 2])
            for i in range(0, len(parsed) - 2, 3)
        ]

    def examine(self, folder: ImapFolder) -> ImapFolder:
        """EXAMINE (read-only select): UIDVALIDITY, UIDNEXT and EXISTS."""
        return self._call(lambda: self._examine(folder))

    def _examine(self, folder: ImapFolder) -> ImapFolder:
        resp = self._client.select_folder(folder.raw_name, readonly=True)
        uidnext = resp.get(b"UIDNEXT")
        if uidnext is None:  # optional in old servers: ask STATUS
            status = self._client.folder_status(folder.raw_name, [b"UIDNEXT"])
            uidnext = status.get(b"UIDNEXT", 0)
        return dataclasses.replace(
            folder,
            uidvalidity=int(resp.get(b"UIDVALIDITY", 0)),
            uidnext=int(uidnext),
            messages=int(resp.get(b"EXISTS", 0)),
        )

    # messages ---------------------------------------------------------------------

    def _uid_fetch(self, uids: str, items: str) -> list[Any]:
        typ, dat = self._conn.uid("FETCH", uids, items)
        if typ != "OK":
            raise imaplib.IMAP4.error(f"FETCH failed: {_text(dat[0] if dat else '')}")
        return list(dat)

    def sizes(self, first_uid: int, last_uid: int) -> dict[int, int]:
        """RFC822.SIZE of each message with first_uid <= UID <= last_uid."""
        if last_uid < first_uid:
            return {}
        data = self._call(lambda: self._uid_fetch(f"{first_uid}:{last_uid}", "(RFC822.SIZE)"))
        wanted = range(first_uid, last_uid + 1)
        return self._call(lambda: _sizes_of(data, wanted))

    def _sizes_for(self, uids: Sequence[int]) -> dict[int, int]:
        out: dict[int, int] = {}
        for start in range(0, len(uids), SIZE_QUERY_UIDS):
            part = uids[start : start + SIZE_QUERY_UIDS]
            data = self._call(functools.partial(self._uid_fetch, uid_set(part), "(RFC822.SIZE)"))
            out.update(self._call(functools.partial(_sizes_of, data, set(part))))
        return out

    def fetch(self, uids: Sequence[int]) -> Iterator[ImapMessage]:
        r"""The messages (exact bytes, flags, internal date), in chunks, never setting \Seen.
        UIDs no longer on the server are skipped. A message over ``max_bytes`` raises
        ``RemoteProtocolError`` (callers filter by ``sizes()`` first).
        """
        ordered = sorted(set(uids))
        if not ordered:
            return
        known = self._sizes_for(ordered)
        sized = [(uid, known[uid]) for uid in ordered if uid in known]
        for chunk in plan_chunks(sized, self._chunk_messages, self._chunk_bytes):
            yield from self._fetch_chunk(chunk)

    def _fetch_chunk(self, chunk: list[tuple[int, int]]) -> Iterator[ImapMessage]:
        too_big = [uid for uid, size in chunk if size > self._conn.max_literal]
        if too_big:
            raise RemoteProtocolError(
                f"IMAP message UID {too_big[0]} is over the {self._conn.max_literal}-byte limit"
            )
        uids = [uid for uid, _ in chunk]
        budget = sum(size for _, size in chunk) + self._conn.max_literal
        items = "(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])"
        data = self._call(lambda: self._uid_fetch(uid_set(uids), items), budget=budget)
        found = self._call(lambda: _by_uid(data, set(uids)))
        for uid in uids:
            item = found.pop(uid, None)
            if item is not None:
                yield self._call(functools.partial(_message, uid, item))

    def logout(self) -> None:
        """LOGOUT; the connection is closed even if the server does not answer."""
        if self._watchdog is not None:
            self._watchdog.disarm()
        try:
            self._call(self._client.logout)
        except (RemoteError, RemoteTransient):
            _close(self._client)


def _sizes_of(data: list[Any], wanted: Container[int]) -> dict[int, int]:
    return {
        uid: int(item[b"RFC822.SIZE"])
        for uid, item in _by_uid(data, wanted).items()
        if b"RFC822.SIZE" in item
    }


def _message(uid: int, item: dict[bytes, Any]) -> ImapMessage:
    raw = item.get(b"BODY[]")
    if not isinstance(raw, bytes):
        raise ValueError(f"no message body for UID {uid}")
    when = item.get(b"INTERNALDATE")
    return ImapMessage(
        uid=uid,
        flags=_flags(item.get(b"FLAGS", ())),
        internal_date=when if isinstance(when, dt.datetime) else None,
        size=int(item.get(b"RFC822.SIZE", len(raw))),
        raw=raw,
    )
