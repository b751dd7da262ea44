"""Opening TCP connections to user-named mail servers under a ``NetworkPolicy``."""

from __future__ import annotations

import socket
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
