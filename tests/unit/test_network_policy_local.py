"""The local stack reaches mail servers on this machine only: loopback, never the metadata
service or a LAN's hosts. A deployed stage reaches public addresses only."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from mailport.domain.network import (
    LOCAL_TESTS,
    LOOPBACK,
    NetworkPolicy,
    RemoteAddressRefused,
)
from mailport.settings import Settings
from mailport.wiring import Container

ENV = {
    "TABLE_NAME": "t",
    "MAIL_BUCKET": "m",
    "UPLOAD_BUCKET": "u",
    "FETCH_QUEUE_URL": "q",
    "CREDENTIALS_KEY_ID": "k",
}
# What the local stack gives every function (mailport_local.stack).
LOCAL = {**ENV, "STAGE": "local", "ALLOW_PRIVATE_MAIL_HOSTS": "1"}
# A deployed stack that somehow had the variable: it must not matter.
DEPLOYED = {**ENV, "STAGE": "prod", "ALLOW_PRIVATE_MAIL_HOSTS": "1"}


def policy(env: dict[str, str]) -> Any:
    """The policy the functions' wiring picks for these variables."""
    return Container(Settings.from_env(env))._network


REFUSED_LOCALLY = [
    "169.254.169.254",  # the instance metadata service
    "169.254.170.2",  # the ECS task metadata endpoint
    "10.0.0.5",
    "10.255.255.254",
    "172.16.3.4",
    "192.168.1.1",
    "192.168.0.10",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "fe80::1",
    "fd00:ec2::254",  # the metadata service over IPv6
    "fc00::1",
    "::ffff:169.254.169.254",
    "::ffff:10.1.2.3",
    "64:ff9b::a9fe:a9fe",
]


@pytest.mark.parametrize("address", REFUSED_LOCALLY)
def test_the_local_stack_refuses_private_addresses_off_this_machine(address: str) -> None:
    local = policy(LOCAL)
    with pytest.raises(RemoteAddressRefused) as refused:
        local.vet([address])
    # As vague as the deployed refusal: nothing tells a private address from a closed port.
    assert "public" in refused.value.message and address not in refused.value.message
    with pytest.raises(RemoteAddressRefused):
        local.vet(["127.0.0.1", address])  # one bad answer refuses the name


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.1.1", "127.255.255.254", "::1"])
def test_the_local_stack_reaches_loopback_on_any_port(address: str) -> None:
    local = policy(LOCAL)
    local.check_port(40123)  # a private Dovecot's high port
    assert local.vet([address]) == [str(ipaddress.ip_address(address))]
    assert local is LOCAL_TESTS and local.allow_networks == LOOPBACK


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.0.0.5", "169.254.169.254"])
def test_a_deployed_stage_refuses_every_private_address(address: str) -> None:
    deployed = policy(DEPLOYED)
    assert deployed == NetworkPolicy()
    with pytest.raises(RemoteAddressRefused):
        deployed.vet([address])
    with pytest.raises(RemoteAddressRefused, match="ports"):
        deployed.check_port(40123)


@pytest.mark.parametrize("address", ["8.8.8.8", "203.0.114.1", "2001:4860:4860::8888"])
def test_public_addresses_pass_deployed_and_locally(address: str) -> None:
    assert policy(DEPLOYED).vet([address]) == [str(ipaddress.ip_address(address))]
    assert policy(LOCAL).vet([address]) == [str(ipaddress.ip_address(address))]


def test_embedded_spellings_of_loopback_stay_refused() -> None:
    # Only the native spellings are this machine's: a mapped or translated form is refused
    # like any other private address (the local stack's servers listen on 127.0.0.1).
    for address in ("::ffff:127.0.0.1", "2002:7f00:0001::1", "::7f00:1"):
        with pytest.raises(RemoteAddressRefused):
            LOCAL_TESTS.vet([address])


def test_any_private_address_only_when_asked_for() -> None:
    assert NetworkPolicy(allow_private=True).vet(["10.0.0.5"]) == ["10.0.0.5"]
    assert not NetworkPolicy().allowed(ipaddress.ip_address("127.0.0.1"))
