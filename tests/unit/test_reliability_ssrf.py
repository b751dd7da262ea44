"""Server-side request forgery through the real resolver, and the local-only settings.

``test_network_policy`` vets addresses a fake resolver hands back. Here the host names go
through ``socket.getaddrinfo`` itself, which turns the old numeric spellings of an IPv4
address (one integer, hex, octal, short forms) into the address they stand for: each is
refused before any connection, for both protocols. The rebinding check is repeated for IMAP.
Then: every setting that lets the local stack trust test servers is ignored outside it.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

from mailport.adapters.imap import ImapConnector
from mailport.adapters.pop3 import Pop3Connector
from mailport.domain.network import RemoteAddressRefused
from mailport.domain.remote import Credentials, ServerAddress
from mailport.settings import Settings

# Spellings getaddrinfo resolves without DNS (inet_aton's forms, IPv6 literals, /etc/hosts).
HOSTS = [
    "2130706433",  # 127.0.0.1 as one integer
    "0x7f000001",  # ... in hex
    "0177.0.0.1",  # ... in octal
    "127.1",  # ... short form
    "0",  # 0.0.0.0, which Linux connects to loopback
    "2852039166",  # 169.254.169.254 as one integer
    "0xa9.0xfe.0xa9.0xfe",  # ... in hex
    "0251.0376.0251.0376",  # ... in octal
    "::ffff:169.254.169.254",  # IPv4-mapped
    "0:0:0:0:0:ffff:7f00:1",  # IPv4-mapped, spelled out
    "localhost",
]


@pytest.fixture
def connected(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every TCP connection attempted; each is refused (no network in unit tests)."""
    attempts: list[tuple[str, int]] = []

    def create_connection(addr: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        attempts.append(addr)
        raise ConnectionRefusedError

    monkeypatch.setattr(socket, "create_connection", create_connection)
    return attempts


@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize(
    ("make", "port"),
    [(Pop3Connector, 995), (ImapConnector, 993)],
    ids=["pop3", "imap"],
)
def test_numeric_spellings_of_private_addresses_are_refused(
    connected: list[tuple[str, int]], make: Any, port: int, host: str
) -> None:
    with pytest.raises(RemoteAddressRefused) as refused:
        make().open(ServerAddress(host, port), Credentials("u", "p"))
    assert "public" in refused.value.message
    assert host not in refused.value.message  # the answer does not echo what it resolved
    assert connected == []  # not even a SYN


class Rebinding:
    """A DNS that answers a public address first and loopback afterwards."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        answer = "93.184.216.34" if self.calls == 0 else "127.0.0.1"
        self.calls += 1
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer, port))]


def test_the_imap_connector_connects_to_the_address_it_vetted(
    connected: list[tuple[str, int]],
) -> None:
    resolver = Rebinding()
    with pytest.raises(Exception, match="connect"):
        ImapConnector(resolve=resolver, connect_timeout=1).open(
            ServerAddress("imap.example.com", 993), Credentials("u", "p")
        )
    assert connected == [("93.184.216.34", 993)] and resolver.calls == 1


ENV = {
    "TABLE_NAME": "t",
    "MAIL_BUCKET": "m",
    "UPLOAD_BUCKET": "u",
    "FETCH_QUEUE_URL": "q",
    "CREDENTIALS_KEY_ID": "k",
}

TEST_ONLY = {
    "ALLOW_PRIVATE_MAIL_HOSTS": "1",
    "MAIL_EXTRA_CA_FILE": "/tmp/mail-ca.pem",
    "OAUTH_EXTRA_CA_FILE": "/tmp/idp-ca.pem",
    "M365_IMAP_HOST": "127.0.0.1",
    "M365_IMAP_PORT": "10993",
    "M365_POP_HOST": "127.0.0.1",
    "M365_POP_PORT": "10995",
    "MIGRATION_DAILY_BYTES": "1000",
    # Google's endpoints and servers: a fake's in the tests, Google's everywhere else.
    "GOOGLE_AUTHORIZE_URL": "https://127.0.0.1:1/google/o/oauth2/v2/auth",
    "GOOGLE_TOKEN_URL": "https://127.0.0.1:1/google/token",
    "GOOGLE_ISSUER": "https://127.0.0.1:1/google",
    "GOOGLE_IMAP_HOST": "127.0.0.1",
    "GOOGLE_IMAP_PORT": "11993",
    "GOOGLE_POP_HOST": "127.0.0.1",
    "GOOGLE_POP_PORT": "11995",
}
GOOGLE = (
    "https://accounts.google.com/o/oauth2/v2/auth",
    "https://oauth2.googleapis.com/token",
    "https://accounts.google.com",
)


@pytest.mark.parametrize("stage", ["prod", "dev", "staging", "LOCAL", "local ", None])
def test_test_server_settings_are_ignored_outside_the_local_stage(stage: str | None) -> None:
    env = {**ENV, **TEST_ONLY, **({"STAGE": stage} if stage is not None else {})}
    settings = Settings.from_env(env)
    assert not settings.is_local
    assert settings.allow_private_mail_hosts is False
    assert settings.extra_ca_file is None
    assert settings.oauth_ca_file is None
    assert (settings.m365_imap_host, settings.m365_imap_port) == ("outlook.office365.com", 993)
    assert (settings.m365_pop_host, settings.m365_pop_port) == ("outlook.office365.com", 995)
    assert settings.migration_daily_bytes is None
    google = (settings.google_authorize_url, settings.google_token_url, settings.google_issuer)
    assert google == GOOGLE
    assert (settings.google_imap_host, settings.google_imap_port) == ("imap.gmail.com", 993)
    assert (settings.google_pop_host, settings.google_pop_port) == ("pop.gmail.com", 995)


def test_the_local_stage_honours_them() -> None:
    settings = Settings.from_env({**ENV, **TEST_ONLY, "STAGE": "local"})
    assert settings.allow_private_mail_hosts
    assert settings.extra_ca_file == "/tmp/mail-ca.pem"
    assert settings.oauth_ca_file == "/tmp/idp-ca.pem"
    assert (settings.m365_imap_host, settings.m365_imap_port) == ("127.0.0.1", 10993)
    assert (settings.m365_pop_host, settings.m365_pop_port) == ("127.0.0.1", 10995)
    assert settings.migration_daily_bytes == 1000
    assert settings.google_token_url == "https://127.0.0.1:1/google/token"
    assert settings.google_issuer == "https://127.0.0.1:1/google"
    assert (settings.google_imap_host, settings.google_imap_port) == ("127.0.0.1", 11993)
    assert (settings.google_pop_host, settings.google_pop_port) == ("127.0.0.1", 11995)
