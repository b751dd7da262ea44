"""The IMAP transport: imaplib's connection with bounded reads and strict STARTTLS, imapclient
on top of it, and the translation of library and socket errors into ``Remote*`` that the
session and the connector share.

Why the literal cap: Python 3.11/3.12 imaplib allocates whatever literal size a server
announces (python/cpython#119511), so an untrusted server could exhaust memory with one
``{99999999999}``. ``CappedIMAP4.read`` refuses literals above ``max_literal`` and, during a
FETCH, more literal bytes in total than the chunk was planned for (its ``budget``).
"""

from __future__ import annotations

import ast
import contextlib
import imaplib
import io
import socket
import ssl
from collections.abc import Callable, Sequence
from typing import Any

from imapclient import IMAPClient  # type: ignore[import-untyped]
from imapclient.exceptions import LoginError  # type: ignore[import-untyped]

from mailport.adapters.imap.parser import is_transient, quote_name, scrub, text, throttle_s
from mailport.catalogue import Words, say
from mailport.domain.remote import (
    RemoteAuthFailed,
    RemoteError,
    RemoteProtocolError,
    RemoteTlsError,
    RemoteTransient,
    RemoteUnreachable,
    ServerAddress,
)

__all__ = [
    "CAUGHT",
    "DEFAULT_MAX_BYTES",
    "MAX_UNTAGGED",
    "MAX_UNTAGGED_BYTES",
    "CappedIMAP4",
    "Client",
    "Dial",
    "LiteralTooLarge",
    "Phase",
    "StartTlsRefused",
    "close",
    "guarded",
    "said_by",
    "translate",
]

MiB = 1024 * 1024
DEFAULT_MAX_BYTES = 50 * MiB + MiB  # the 50 MiB message limit plus slack for encoding

# One command's untagged responses: a FETCH of a batch (100 messages) gives ~100, a LIST of
# MAX_FOLDERS (5,000) folders ~5,000; these bounds are far above any honest answer.
MAX_UNTAGGED = 100_000
MAX_UNTAGGED_BYTES = 128 * 2**20  # lines and literals (FETCH bodies: ≤ 32 MB a batch)

type Phase = str  # "connect" | "tls" | "login" | "session"
type Dial = Callable[[str, int, float | None], socket.socket]


class StartTlsRefused(imaplib.IMAP4.error):
    """STARTTLS did not lead to a clean handshake: the server said NO, or sent more after its
    OK (STARTTLS injection), which an attacker on the path could have put there.
    """

    def __init__(self, words: Words | str) -> None:
        super().__init__(str(words))
        self.words = words


class LiteralTooLarge(Exception):
    """The server announced a literal over the cap (not an imaplib error, so imaplib
    cannot rewrap it into a generic one).
    """

    def __init__(self, words: Words | str) -> None:
        super().__init__(str(words))
        self.words = words


# -- error translation ----------------------------------------------------------------


def _translate_imap(
    e: imaplib.IMAP4.error, said: str, phase: Phase
) -> RemoteError | RemoteTransient:
    if isinstance(e, imaplib.IMAP4.abort) or is_transient(said):
        return RemoteTransient(say("remote.imap_unavailable", said=said), throttle_s(said))
    if isinstance(e, LoginError) or phase == "login":
        return RemoteAuthFailed(say("remote.imap_login_refused", said=said))
    return RemoteProtocolError(say("remote.imap_error", said=said))


def said_by(e: Exception) -> str:
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
    said = scrub(said_by(e), secrets)
    if isinstance(e, LiteralTooLarge):  # our own words: nothing secret in them
        return RemoteProtocolError(say("remote.imap_too_large", detail=e.words))
    if isinstance(e, ssl.SSLError | StartTlsRefused) and phase in ("connect", "tls"):
        # STARTTLS comes before any credential: its words hold none.
        detail: Words | str = e.words if isinstance(e, StartTlsRefused) else said
        return RemoteTlsError(say("remote.imap_tls_failed", detail=detail))
    if isinstance(e, OSError):
        if phase == "connect":
            return RemoteUnreachable(say("remote.imap_unreachable", detail=said))
        return RemoteTransient(say("remote.imap_connection_lost", detail=said))
    if isinstance(e, imaplib.IMAP4.error):
        return _translate_imap(e, said, phase)
    return RemoteProtocolError(say("remote.imap_unexpected", said=said))


CAUGHT = (OSError, imaplib.IMAP4.error, LiteralTooLarge, ValueError, EOFError)


def guarded[T](phase: Phase, secrets: Sequence[str], call: Callable[[], T]) -> T:
    """``call()``, its library and socket errors raised as ``translate`` says."""
    try:
        return call()
    except CAUGHT as e:
        raise translate(e, phase, secrets) from e


def close(client: Any) -> None:
    """Drop a connection we abandon, ignoring whatever goes wrong (best effort)."""
    with contextlib.suppress(Exception):
        client.shutdown()


# -- the connection ---------------------------------------------------------------------


class CappedIMAP4(imaplib.IMAP4):
    """imaplib's connection with optional implicit TLS and bounded literal reads."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        timeout: float | None,
        tls: ssl.SSLContext | None,
        max_literal: int,
        dial: Dial,
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
            said = said_by(e)
            raise StartTlsRefused(say("remote.imap_starttls_refused", said=said)) from e
        if typ != "OK":
            said = text(dat[0]) if dat else ""
            raise StartTlsRefused(say("remote.imap_starttls_refused", said=said))
        if self._sent_more():
            raise StartTlsRefused(say("remote.data_before_tls"))
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
                say(
                    "remote.imap_too_many_responses",
                    count=MAX_UNTAGGED,
                    mb=MAX_UNTAGGED_BYTES // 2**20,
                )
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
            raise LiteralTooLarge(say("remote.imap_line_too_long", detail=said_by(e))) from e
        return line

    def read(self, size: int) -> bytes:
        """A literal of ``size`` bytes, refused before allocation when over the cap."""
        if size > self.max_literal:
            raise LiteralTooLarge(
                say("remote.imap_literal_too_large", size=size, limit=self.max_literal)
            )
        if self.budget is not None:
            if size > self.budget:
                raise LiteralTooLarge(say("remote.imap_fetch_over_plan", size=size))
            self.budget -= size
        return super().read(size)


class Client(IMAPClient):  # type: ignore[misc]
    """IMAPClient on a ``CappedIMAP4``."""

    def __init__(self, server: ServerAddress, context: ssl.SSLContext, **kw: Any) -> None:
        self._max_literal: int = kw.pop("max_literal")
        self._dial: Dial = kw.pop("dial")
        super().__init__(server.host, server.port, ssl=server.ssl, ssl_context=context, **kw)
        self.folder_encode = False  # we keep raw names for commands and decode them ourselves
        self.normalise_times = False  # timezone-aware INTERNALDATE
        self._imap.debug = 0  # imapclient turns on imaplib's line logging (message bytes)

    def _normalise_folder(self, folder_name: Any) -> Any:
        """A listed name (bytes) goes back exactly as listed: imapclient's own would decode
        it as ASCII, and fail on the 8-bit names of UTF-8 servers.
        """
        if isinstance(folder_name, bytes):
            return quote_name(folder_name)
        return super()._normalise_folder(folder_name)

    def _create_IMAP4(self) -> CappedIMAP4:  # noqa: N802 - imapclient's name
        return CappedIMAP4(
            self.host,
            self.port,
            timeout=self._timeout.connect,
            tls=self.ssl_context if self.ssl else None,
            max_literal=self._max_literal,
            dial=self._dial,
        )
