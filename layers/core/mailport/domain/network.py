"""Which addresses and ports mailport may connect to for a user (server-side request forgery).

A user names a mail server; mailport connects from inside AWS. Without a check, "test the
login" would reach the instance metadata service (169.254.169.254), a VPC's private hosts or
loopback, and its error messages would map them. So a host is resolved once, every address
it resolves to is vetted, and the connection goes to a vetted address (a second lookup could
answer differently: DNS rebinding). Only mail ports are allowed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from mailport.catalogue import say
from mailport.domain.remote import RemoteError

MAIL_PORTS = frozenset({110, 995, 143, 993})  # POP3, POP3S, IMAP, IMAPS

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 prefixes that carry an IPv4 address inside; the inner address is what is reached.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# RFC 8215's local-use NAT64 prefix: its IPv4 may sit at other offsets (RFC 6052), so the
# whole prefix is refused rather than decoded one way.
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_SIIT = ipaddress.IPv6Network("::ffff:0:0:0/96")  # IPv4-translated (RFC 2765): refused too
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated ::a.b.c.d (RFC 4291 2.5.5.1)
# Not global, though Python's is_global (3.12.1) says so: deprecated site-local (RFC 3879).
_SITE_LOCAL = ipaddress.IPv6Network("fec0::/10")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# This machine only: the local stack's mail servers (a private Dovecot) listen here. Written
# natively; an IPv4-mapped or other embedded spelling of loopback is still refused.
LOOPBACK: tuple[IPNetwork, ...] = (
    ipaddress.IPv4Network("127.0.0.0/8"),
    ipaddress.IPv6Network("::1/128"),
)


class RemoteAddressRefused(RemoteError):
    """The server's address or port is not one mailport connects to."""

    code = "remote_address_refused"


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """Where connections may go: public addresses, plus ``allow_networks`` (the local stack:
    LOOPBACK) or, with ``allow_private``, any address (a few integration tests only).
    """

    allow_private: bool = False
    ports: frozenset[int] | None = MAIL_PORTS  # None: any port
    allow_networks: tuple[IPNetwork, ...] = ()

    def check_port(self, port: int) -> None:
        """Refuse a port that is not a mail port (before any lookup)."""
        if self.ports is not None and port not in self.ports:
            allowed = ", ".join(str(p) for p in sorted(self.ports))
            raise RemoteAddressRefused(say("network.ports_only", allowed=allowed))

    def vet(self, addresses: Iterable[str]) -> list[str]:
        """Every address the host resolved to, checked; all must be public (one bad answer
        means the name points somewhere it shouldn't).
        """
        vetted = [str(ipaddress.ip_address(a.split("%", 1)[0])) for a in addresses]
        if not vetted:
            raise RemoteAddressRefused(say("network.no_address"))
        if not all(self.allowed(ipaddress.ip_address(a)) for a in vetted):
            # Deliberately vague: the answer must not tell a private address from a closed port.
            raise RemoteAddressRefused(say("network.not_public"))
        return vetted

    def allowed(self, address: IPAddress) -> bool:
        """True when ``address`` may be connected to under this policy."""
        if self.allow_private or is_public(address):
            return True
        return any(address in net for net in self.allow_networks)


# The local stack (STAGE local with ALLOW_PRIVATE_MAIL_HOSTS, see settings.py) and tests:
# servers on this machine on any port, and still never the metadata service, a VPC's or a
# LAN's hosts (169.254.0.0/16, 10/8, 172.16/12, 192.168/16, fc00::/7, ...).
LOCAL_TESTS = NetworkPolicy(ports=None, allow_networks=LOOPBACK)


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, compatible, NAT64, 6to4,
    Teredo), if any.
    """
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    forms = (
        address.ipv4_mapped,
        low32 if address in _NAT64 else None,
        # ::a.b.c.d; not :: or ::1, which mean something else.
        low32 if address in _IPV4_COMPATIBLE and int(address) > 1 else None,
        address.sixtofour,
        address.teredo[1] if address.teredo else None,
    )
    return next((inner for inner in forms if inner is not None), None)


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast, also when written in an IPv6 form that embeds IPv4."""
    inner = embedded_ipv4(address)
    if inner is not None:
        return is_public(inner)
    if isinstance(address, ipaddress.IPv6Address) and any(
        address in net for net in (_SITE_LOCAL, _NAT64_LOCAL, _SIIT)
    ):
        return False
    return address.is_global and not address.is_multicast
