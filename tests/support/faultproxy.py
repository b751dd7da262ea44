"""A TCP proxy that can cut a connection after N bytes from the server, or from then on
trickle them one byte at a time, or stop passing them (TLS passes through untouched, so
certificates still verify). Used to drop a POP3 session in the middle of a RETR, to play a
server that sends too slowly for any one read to time out, and to hold a worker at a known
point (mid-RETR; after DELE was answered, before QUIT reaches the server) while a test
kills its process.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType

_RESET = b"\x01\x00\x00\x00\x00\x00\x00\x00"  # struct linger {on, 0 s}


def _reset(*sockets: socket.socket) -> None:
    """End both directions at once, as a reset (errors ignored: the peer may be gone)."""
    for s in sockets:
        with contextlib.suppress(OSError):
            # SO_LINGER 0: a reset, as when a NAT box or the provider drops the line.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
        with contextlib.suppress(OSError):
            # The other direction's thread may be blocked in recv() on this socket, and
            # close() alone waits for it; shutdown() ends both directions now.
            s.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            s.close()


class _Link:
    """What both directions of one connection know, in stall and hold mode."""

    def __init__(self, stall_after: int | None, hold_after: int | None) -> None:
        self.stall_after = stall_after
        self.hold_after = hold_after
        self.server_sent = 0
        self.phase = 0  # hold mode: 1 once a command passed the mark, 2 once it was answered
        self.lock = threading.Lock()
        self.closed = threading.Event()

    def server_says(self, data: bytes) -> tuple[bytes, bool]:
        """What of the server's ``data`` passes, and whether the stall begins."""
        with self.lock:
            stall = self.stall_after is not None and (
                self.server_sent + len(data) >= self.stall_after
            )
            if stall and self.stall_after is not None:
                data = data[: max(0, self.stall_after - self.server_sent)]
            self.server_sent += len(data)
            if self.phase == 1:
                self.phase = 2  # the answer to the command after the mark
            return data, stall

    def client_may_say(self) -> bool:
        """Whether the client's next data passes (hold mode holds it after the answer)."""
        with self.lock:
            if self.phase == 2:
                return False
            if self.hold_after is not None and self.server_sent >= self.hold_after:
                self.phase = 1
            return True


class FaultProxy:
    """Forwards 127.0.0.1:<port> to ``target``; ``drop_after`` server bytes, then resets."""

    def __init__(
        self,
        target: tuple[str, int],
        *,
        drop_after: int | None = None,
        trickle_after: int | None = None,
        trickle_every: float = 0.5,
        stall_after: int | None = None,
        hold_after: int | None = None,
        delay: float = 0.0,
    ) -> None:
        self.target = target
        # Seconds each chunk from the server waits before it passes: a distant server's
        # round trip (a POP poll is a dozen of them, TLS included).
        self.delay = delay
        self.drop_after = drop_after
        self.trickle_after = trickle_after  # server bytes passed at full speed, then 1 byte
        self.trickle_every = trickle_every  # ... per this many seconds
        # Server bytes passed, then no more (the connection stays open): ``stalled`` is set.
        self.stall_after = stall_after
        # Once the server has sent this many bytes, the client's next command passes, and so
        # does the server's answer; anything the client sends after that answer is dropped
        # (``held`` is set). Through TLS, where commands can't be read: after the last RETR,
        # this passes DELE and its +OKs and holds QUIT.
        self.hold_after = hold_after
        self.stalled = threading.Event()
        self.held = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self.connections = 0

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes accept(); close() alone does not
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()  # the target is down: so is the proxied connection
                continue
            if self.stall_after is not None or self.hold_after is not None:
                link = _Link(self.stall_after, self.hold_after)
                for args in ((server, client, link, True), (client, server, link, False)):
                    threading.Thread(target=self._watched, args=args, daemon=True).start()
                continue
            threading.Thread(target=self._pipe, args=(client, server, None), daemon=True).start()
            if self.trickle_after is not None:
                threading.Thread(target=self._trickle, args=(server, client), daemon=True).start()
                continue
            threading.Thread(
                target=self._pipe, args=(server, client, self.drop_after, self.delay), daemon=True
            ).start()

    def _trickle(self, src: socket.socket, dst: socket.socket) -> None:
        sent = 0
        with contextlib.suppress(OSError):
            while not self._stop.is_set():
                data = src.recv(65536)
                if not data:
                    break
                for i in range(len(data)):
                    if self.trickle_after is not None and sent >= self.trickle_after:
                        time.sleep(self.trickle_every)
                    dst.sendall(data[i : i + 1])
                    sent += 1
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.close()

    def _watched(
        self, src: socket.socket, dst: socket.socket, link: _Link, from_server: bool
    ) -> None:
        """One direction of a connection in stall or hold mode (see ``__init__``)."""
        try:
            while data := src.recv(65536):
                if from_server:
                    data, stall = link.server_says(data)
                else:
                    stall = False
                    if not link.client_may_say():
                        self.held.set()
                        continue  # held: the server never sees it
                if data:
                    dst.sendall(data)
                if stall:
                    self.stalled.set()
                    link.closed.wait()  # until the client side goes (killed, say)
                    break
        except OSError:
            pass
        finally:
            link.closed.set()
            _reset(src, dst)

    @staticmethod
    def _pipe(
        src: socket.socket, dst: socket.socket, limit: int | None, delay: float = 0.0
    ) -> None:
        sent = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if delay:
                    time.sleep(delay)
                if limit is not None and sent + len(data) >= limit:
                    dst.sendall(data[: max(0, limit - sent)])
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            _reset(src, dst)
