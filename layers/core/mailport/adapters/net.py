"""Opening TCP connections to user-named mail servers under a ``NetworkPolicy``."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from typing import Any

from mailport.domain.network import NetworkPolicy

Resolve = Callable[..., list[tuple[Any, ...]]]  # socket.getaddrinfo's shape


def connect_vetted(
    host: str,
    port: int,
    timeout: float | None,
    policy: NetworkPolicy,
    resolve: Resolve = socket.getaddrinfo,
) -> socket.socket:
    """Resolve once, vet every address, connect to a vetted one.

    There is no second lookup that could answer differently (DNS rebinding); TLS, done by the
    caller, still checks the certificate against ``host``.
    """
    policy.check_port(port)
    infos = resolve(host, port, type=socket.SOCK_STREAM)
    addresses = policy.vet([str(info[4][0]) for info in infos])
    error: OSError = OSError("no address to connect to")
    for address in dict.fromkeys(addresses):
        try:
            return socket.create_connection((address, port), timeout)
        except OSError as e:
            error = e
    raise error


class Watchdog:
    """Cuts a connection when its time is up.

    Per-read timeouts don't bound a whole RETR or FETCH: a server that trickles a byte every
    few seconds never lets one expire, and would hold the worker until Lambda kills it (then
    nothing is saved or said). Shutting the socket down from a timer thread makes the
    blocked read return at once, so the session fails as a clear transient error in time for
    the step to checkpoint and report.
    """

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._timer: threading.Timer | None = None
        self.expired = False

    def arm(self, seconds: float) -> None:
        """Cut the connection ``seconds`` from now (replacing an earlier time)."""
        self.disarm()
        self._timer = threading.Timer(max(0.0, seconds), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def disarm(self) -> None:
        """Not any more (the session ended)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        self.expired = True
        with contextlib.suppress(OSError, AttributeError):
            self._sock.shutdown(socket.SHUT_RDWR)
