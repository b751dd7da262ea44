"""Opening TCP connections to user-named mail servers under a ``NetworkPolicy``, and the
TLS context they are verified with.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
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


_CONTEXTS: dict[tuple[str | None, int, int], ssl.SSLContext] = {}
_CONTEXTS_LOCK = threading.Lock()


def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """A verifying client context (certificate chain and host name checked) that trusts the
    system's CAs and ``ca_file`` too; one per process for each CA file as it is on disk.

    Made once and shared because ``ssl.create_default_context`` loads the whole system trust
    store each time: 18-23 ms of CPU with OpenSSL 3, more than the rest of an idle POP poll.
    A context is safe to share between threads for ``wrap_socket`` (each connection gets its
    own ``SSLSocket``); nothing here changes it after it is made. Keyed by the CA file's
    modification time and size too, so a replaced file is read again. Raises ``OSError``
    when ``ca_file`` can't be read.
    """
    stamp = os.stat(ca_file) if ca_file else None
    key = (ca_file, stamp.st_mtime_ns if stamp else 0, stamp.st_size if stamp else 0)
    with _CONTEXTS_LOCK:
        context = _CONTEXTS.get(key)
        if context is None:
            context = _CONTEXTS[key] = ssl.create_default_context(cafile=ca_file)
        return context


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
        # A second descriptor of a plain socket: a TLS wrap detaches the plain socket object
        # (its shutdown then fails), during the handshake (which a stalling server can hold
        # for a whole read timeout) and after it; shutting the connection down through this
        # one ends a TLS read as well.
        self._spare: socket.socket | None = None

    def arm(self, seconds: float) -> None:
        """Cut the connection ``seconds`` from now (replacing an earlier time)."""
        self._cancel()
        plain = isinstance(self._sock, socket.socket) and not isinstance(self._sock, ssl.SSLSocket)
        if self._spare is None and plain:
            with contextlib.suppress(OSError):
                self._spare = self._sock.dup()
        self._timer = threading.Timer(max(0.0, seconds), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def disarm(self) -> None:
        """Not any more (the session ended)."""
        self._cancel()
        if self._spare is not None:
            self._spare.close()
            self._spare = None

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        self.expired = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except (OSError, AttributeError):
            # Detached by a TLS wrap: the spare descriptor reaches the same connection.
            with contextlib.suppress(OSError, AttributeError):
                if self._spare is not None:
                    self._spare.shutdown(socket.SHUT_RDWR)
