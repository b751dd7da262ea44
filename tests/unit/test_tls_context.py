"""One verifying TLS context per process and CA file (adapters/net.py): building one loads the
whole system trust store, which cost more CPU than the rest of an idle POP poll.
"""

from __future__ import annotations

import os
import socket
import ssl
import threading
from pathlib import Path

import pytest
import trustme

from mailport.adapters import net
from mailport.adapters.imap.connector import tls_context as imap_context
from mailport.adapters.pop3 import connector as pop3_connector
from mailport.domain.remote import RemoteTlsError, ServerAddress


@pytest.fixture
def ca_file(tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    made: list[str | None] = []
    real = ssl.create_default_context

    def counting(*args: object, cafile: str | None = None, **kwargs: object) -> ssl.SSLContext:
        made.append(cafile)
        return real(cafile=cafile)

    monkeypatch.setattr(net, "_CONTEXTS", {})
    monkeypatch.setattr(ssl, "create_default_context", counting)
    return made


def test_one_context_per_ca_file_whoever_asks(ca_file: Path, builds: list[str | None]) -> None:
    server = ServerAddress("mail.example.com", 995, True, str(ca_file))
    first = net.tls_context(str(ca_file))
    assert imap_context(server) is first
    assert net.tls_context(str(ca_file)) is first
    system = net.tls_context(None)
    assert system is not first and net.tls_context() is system
    assert builds == [str(ca_file), None]
    # Still a verifying context: chain and host name.
    assert first.verify_mode is ssl.CERT_REQUIRED and first.check_hostname


def test_a_replaced_ca_file_is_read_again(ca_file: Path, builds: list[str | None]) -> None:
    first = net.tls_context(str(ca_file))
    trustme.CA().cert_pem.write_to_path(str(ca_file))
    stat = ca_file.stat()
    os.utime(ca_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert net.tls_context(str(ca_file)) is not first
    assert len(builds) == 2


def test_threads_asking_at_once_get_one_context(ca_file: Path, builds: list[str | None]) -> None:
    start = threading.Barrier(8, timeout=10)
    got: list[ssl.SSLContext] = []

    def ask() -> None:
        start.wait()
        got.append(net.tls_context(str(ca_file)))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(got) == 8 and len({id(c) for c in got}) == 1
    assert builds == [str(ca_file)]


def test_an_unreadable_ca_file_is_still_a_tls_error_for_pop3(tmp_path: Path) -> None:
    missing = ServerAddress("mail.example.com", 995, True, str(tmp_path / "nope.pem"))
    with pytest.raises(OSError):
        net.tls_context(missing.ca_file)
    # Never connected: the CA file is read before the socket is used.
    with socket.socket() as sock, pytest.raises(RemoteTlsError, match="cannot load the CA file"):
        pop3_connector._default_wrap(sock, missing)
