"""One logged-in POP3 mailbox (the ``PopMailbox`` port): LIST/UIDL, pipelined RETR, DELE, QUIT.

Any failure closes the session, so it is never left half-read; an abandoned ``retrieve`` is
drained before the next command.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from mailport.adapters.pop3.parser import parse_list, parse_uidl
from mailport.adapters.pop3.wire import Negative, Wire, boundary
from mailport.catalogue import say
from mailport.domain.remote import PopEntry, RemoteProtocolError, RemoteTransient

__all__ = ["DEFAULT_MAX_BYTES", "PIPELINE_WINDOW", "Pop3Session"]

DEFAULT_MAX_BYTES = 50 << 20  # one message at most 50 MiB
PIPELINE_WINDOW = 50  # commands in flight when the server offers PIPELINING
_LISTING_CAP = 64 << 20  # a LIST/UIDL answer (≈ 20 bytes a message)


class Pop3Session:
    """An authenticated POP3 session (``PopMailbox``)."""

    def __init__(
        self,
        wire: Wire,
        capabilities: frozenset[str],
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        window: int = PIPELINE_WINDOW,
        pipelining: bool = True,
    ) -> None:
        self._wire = wire
        self.capabilities = capabilities
        self._max_bytes = max_bytes
        self._step = max(1, window) if pipelining and "PIPELINING" in capabilities else 1
        self._unread = 0  # RETR answers sent for but not read yet
        self._epoch = 0  # bumped when another command drains them

    @property
    def pipelined(self) -> bool:
        """Whether commands go out in windows."""
        return self._step > 1

    @contextlib.contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        """Translate errors; any failure leaves the session closed (never half-read)."""
        if self._wire.closed:
            raise RemoteTransient(say("remote.pop3_session_closed"))
        try:
            with boundary(say("remote.pop3_doing_command", command=what)):
                yield
        except BaseException:
            self._wire.close()
            raise

    def _ok(self, what: str) -> str:
        try:
            return self._wire.status()
        except Negative as e:
            raise RemoteProtocolError(say("remote.pop3_refused", command=what, said=e.text)) from e

    def _drain(self) -> None:
        """Read and drop RETR answers nobody will consume (an abandoned ``retrieve``)."""
        if not self._unread or self._wire.closed:
            return
        self._epoch += 1
        with self._guard("RETR"):
            while self._unread:
                with contextlib.suppress(Negative):
                    self._wire.status()
                    self._wire.body(self._max_bytes)
                self._unread -= 1

    def _listing(self, command: bytes) -> list[bytes] | None:
        """A multi-line answer, or None when the server answers -ERR."""
        with self._guard(command.decode()):
            self._drain()
            self._wire.send([command])
            try:
                self._wire.status()
            except Negative:
                return None
            return self._wire.listing(_LISTING_CAP)

    def entries(self) -> list[PopEntry]:
        """Every message: number, UIDL (None without UIDL support) and size as LIST says."""
        listed = self._listing(b"LIST")
        if listed is None:
            raise RemoteProtocolError(say("remote.pop3_list_refused"))
        sizes = parse_list(listed)
        uidl_lines = self._listing(b"UIDL")
        uidls = parse_uidl(uidl_lines) if uidl_lines is not None else {}
        return [PopEntry(n, uidls.get(n), sizes[n]) for n in sorted(sizes)]

    def retrieve(self, numbers: Sequence[int]) -> Iterator[tuple[int, bytes]]:
        """``(number, raw bytes)`` in the order asked; RETRs pipelined when offered."""
        wanted = list(numbers)
        for start in range(0, len(wanted), self._step):
            yield from self._retrieve_window(wanted[start : start + self._step])

    def _retrieve_window(self, window: list[int]) -> Iterator[tuple[int, bytes]]:
        with self._guard("RETR"):
            self._drain()
            self._wire.send([b"RETR %d" % n for n in window])
        self._unread = len(window)
        epoch = self._epoch
        try:
            for number in window:
                if self._epoch != epoch:
                    raise RuntimeError("another POP3 command interrupted this retrieve")
                yield number, self._read_message(number)
        finally:
            self._drain()

    def _read_message(self, number: int) -> bytes:
        with self._guard(f"RETR {number}"):
            self._ok(f"RETR {number}")
            raw = self._wire.body(self._max_bytes)
        self._unread -= 1
        return raw

    def delete(self, numbers: Sequence[int]) -> None:
        """Mark messages deleted (DELE); ``quit`` commits."""
        wanted = list(numbers)
        with self._guard("DELE"):
            self._drain()
            for start in range(0, len(wanted), self._step):
                window = wanted[start : start + self._step]
                self._wire.send([b"DELE %d" % n for n in window])
                for number in window:
                    self._ok(f"DELE {number}")

    def quit(self) -> None:
        """QUIT: the server removes the deleted messages, then the connection closes."""
        with self._guard("QUIT"):
            self._drain()
            self._wire.send([b"QUIT"])
            self._ok("QUIT")
        self._wire.close()

    def close(self) -> None:
        """Drop the connection without QUIT: nothing is deleted."""
        self._wire.close()

    def stop_after(self, seconds: float) -> None:
        """Cut the session after ``seconds`` even mid-RETR (a server that trickles)."""
        self._wire.stop_after(seconds)
