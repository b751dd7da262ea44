"""Server-side request forgery: user-named hosts reach only public mail servers."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

from mailport.adapters.imap import ImapConnector
from mailport.adapters.pop3 import Pop3Connector
from mailport.domain.network import (
    LOCAL_TESTS,
    NetworkPolicy,
    RemoteAddressRefused,
    embedded_ipv4,
    is_public,
)
from mailport.domain.remote import Credentials, ServerAddress
from mailport.http import status_for

STRICT = NetworkPolicy()


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.8.8",
        "10.0.0.5",
        "172.16.3.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "198.18.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "::ffff:10.1.2.3",
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2002:7f00:0001::1",  # 6to4 of 127.0.0.1
        "fe80::1%eth0",
        "::7f00:1",  # IPv4-compatible (deprecated) form of 127.0.0.1
        "::a9fe:a9fe",  # ... of 169.254.169.254
        "fec0::1",  # site-local (deprecated, still private)
        "64:ff9b:1::a9fe:a9fe",  # local-use NAT64 (RFC 8215) of 169.254.169.254
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo whose client is 127.0.0.1
        "64:ff9b:1:a00:1:0:808:808",  # local-use NAT64, /48 layout: 10.0.0.1 inside
        "::ffff:0:7f00:1",  # IPv4-translated (SIIT) 127.0.0.1
    ],
)
def test_private_and_special_addresses_are_refused(address: str) -> None:
    with pytest.raises(RemoteAddressRefused) as refused:
        STRICT.vet([address])
    assert (
        "public" in refused.value.message
        and address.split("%", maxsplit=1)[0] not in refused.value.message
    )


@pytest.mark.parametrize("address", ["8.8.8.8", "203.0.114.1", "2001:4860:4860::8888"])
def test_public_addresses_pass(address: str) -> None:
    assert STRICT.vet([address]) == [str(ipaddress.ip_address(address))]


def test_one_bad_answer_among_good_ones_refuses_the_name() -> None:
    with pytest.raises(RemoteAddressRefused):
        STRICT.vet(["8.8.8.8", "10.0.0.1"])
    with pytest.raises(RemoteAddressRefused):
        STRICT.vet([])


def test_embedded_ipv4_forms() -> None:
    assert str(embedded_ipv4(ipaddress.ip_address("::ffff:1.2.3.4"))) == "1.2.3.4"
    assert str(embedded_ipv4(ipaddress.ip_address("64:ff9b::102:304"))) == "1.2.3.4"
    assert embedded_ipv4(ipaddress.ip_address("1.2.3.4")) is None
    assert is_public(ipaddress.ip_address("::ffff:8.8.8.8"))


def test_only_mail_ports_and_local_tests_allow_anything() -> None:
    for port in (110, 995, 143, 993):
        STRICT.check_port(port)
    for port in (22, 80, 443, 6379, 8080):
        with pytest.raises(RemoteAddressRefused, match="ports"):
            STRICT.check_port(port)
    LOCAL_TESTS.check_port(40123)
    assert LOCAL_TESTS.vet(["127.0.0.1"]) == ["127.0.0.1"]
    assert status_for(RemoteAddressRefused("x")) == 422


class Resolver:
    """A DNS that answers differently the second time (rebinding)."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.calls = 0

    def __call__(self, host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        answer = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer, port))]


@pytest.fixture
def connected(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every TCP connection attempted; each is refused (no network in unit tests)."""
    attempts: list[tuple[str, int]] = []

    def create_connection(addr: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        attempts.append(addr)
        raise ConnectionRefusedError

    monkeypatch.setattr(socket, "create_connection", create_connection)
    return attempts


@pytest.mark.parametrize(
    ("make", "port", "bad_port"),
    [
        (lambda resolve: Pop3Connector(resolve=resolve), 995, 22),
        (lambda resolve: ImapConnector(resolve=resolve), 993, 8080),
    ],
    ids=["pop3", "imap"],
)
def test_the_connectors_refuse_before_connecting(
    connected: list[tuple[str, int]], make: Any, port: int, bad_port: int
) -> None:
    connector = make(Resolver("169.254.169.254"))
    with pytest.raises(RemoteAddressRefused):
        connector.open(ServerAddress("metadata.example", port), Credentials("u", "p"))
    with pytest.raises(RemoteAddressRefused):
        connector.open(ServerAddress("mail.example.com", bad_port), Credentials("u", "p"))
    assert connected == []  # not even a SYN: no port scanning through "test the login"


def test_the_connector_connects_to_the_address_it_vetted(
    connected: list[tuple[str, int]],
) -> None:
    resolver = Resolver("93.184.216.34", "127.0.0.1")  # a second lookup would say loopback
    connector = Pop3Connector(resolve=resolver)
    with pytest.raises(Exception, match="connect"):
        connector.open(ServerAddress("pop.example.com", 995), Credentials("u", "p"))
    assert connected == [("93.184.216.34", 995)] and resolver.calls == 1


@pytest.mark.parametrize(("deadline", "waited"), [(None, 30.0), (2.0, 2.0), (45.0, 30.0)])
def test_a_session_s_deadline_bounds_its_connect_too(
    monkeypatch: pytest.MonkeyPatch, deadline: float | None, waited: float
) -> None:
    # A host that drops the SYN holds a connect for its whole timeout: a scheduled look's
    # deadline (shorter) must bound it, or one such host holds the invocation's polls.
    timeouts: list[float] = []

    def create_connection(addr: tuple[str, int], timeout: float, *args: Any) -> socket.socket:
        timeouts.append(timeout)
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket, "create_connection", create_connection)
    connector = Pop3Connector(resolve=Resolver("93.184.216.34"), connect_timeout=30.0)
    with pytest.raises(Exception, match="connect"):
        connector.open(
            ServerAddress("pop.example.com", 995), Credentials("u", "p"), deadline_s=deadline
        )
    assert timeouts == [waited]
