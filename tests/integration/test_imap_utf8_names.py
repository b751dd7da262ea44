"""A folder whose name the server sends as raw UTF-8 (RFC 6855, Exchange, some Gmail labels):
listed under its UTF-8 name, then EXAMINEd and FETCHed with the very bytes it was listed with.

Dovecot 2.3 cannot send such a name itself: it has no UTF8=ACCEPT, lists even a Maildir
directory named in raw UTF-8 as modified UTF-7 (``Caf&AOk-s``, which it then cannot open) and
refuses 8-bit names from clients ("Mailbox name is not valid mUTF-7"). So a small TLS relay
in front of it plays the UTF-8 server: it sends the folder's LIST name as UTF-8 and passes a
command naming it in UTF-8 on to Dovecot in mUTF-7, keeping what the client sent.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest
import trustme

from mailport.adapters.imap import ImapConnector
from mailport.domain.network import LOCAL_TESTS
from mailport.domain.remote import Credentials, ServerAddress
from tests.support.dovecot import Dovecot

pytestmark = pytest.mark.dovecot

NAME = "Cafés"
UTF8 = NAME.encode()  # b"Caf\xc3\xa9s"
UTF7 = b"Caf&AOk-s"  # how Dovecot stores and lists it


class Utf8Relay:
    """One TLS connection relayed to Dovecot, ``NAME`` in UTF-8 on the client's side."""

    def __init__(self, upstream: ServerAddress, upstream_tls: ssl.SSLContext, ca: trustme.CA):
        self._upstream, self._upstream_tls = upstream, upstream_tls
        self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(self._tls)
        self.commands: list[bytes] = []  # the client's lines, as it sent them
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._sock.getsockname()[1])
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            conn, _ = self._sock.accept()
            up = socket.create_connection((self._upstream.host, self._upstream.port), 10)
            with (
                self._tls.wrap_socket(conn, server_side=True) as client,
                self._upstream_tls.wrap_socket(up, server_hostname=self._upstream.host) as server,
            ):
                back = threading.Thread(target=self._to_client, args=(server, client), daemon=True)
                back.start()
                self._to_server(client, server)
                back.join(10)

    def _to_server(self, client: ssl.SSLSocket, server: ssl.SSLSocket) -> None:
        reader: BinaryIO = client.makefile("rb")
        for line in iter(reader.readline, b""):
            self.commands.append(line)
            server.sendall(line.replace(b'"' + UTF8 + b'"', UTF7))

    @staticmethod
    def _to_client(server: ssl.SSLSocket, client: ssl.SSLSocket) -> None:
        reader: BinaryIO = server.makefile("rb")
        with contextlib.suppress(OSError):
            for line in iter(reader.readline, b""):
                listed = line.startswith(b"* LIST ") and line.endswith(b" " + UTF7 + b"\r\n")
                out = line[: -len(UTF7) - 2] + b'"' + UTF8 + b'"\r\n' if listed else line
                client.sendall(out)

    def close(self) -> None:
        self._sock.close()
        self._thread.join(10)


@pytest.fixture
def relay(dovecot: Dovecot) -> Iterator[tuple[Utf8Relay, trustme.CA]]:
    ca = trustme.CA()
    upstream = ServerAddress(dovecot.host, dovecot.imaps_port, ssl=True)
    r = Utf8Relay(upstream, dovecot.ssl_context(), ca)
    yield r, ca
    r.close()


def test_a_utf8_named_folder_is_listed_examined_and_fetched(
    dovecot: Dovecot, relay: tuple[Utf8Relay, trustme.CA], tmp_path: Path
) -> None:
    user, password = f"utf8-{uuid.uuid4().hex[:10]}", f"pw-{uuid.uuid4().hex}"
    dovecot.add_user(user, password)
    raws = [f"Subject: {NAME} #{n}\r\n\r\nbody {n}\r\n".encode() for n in range(3)]
    dovecot.seed_maildir(
        user, NAME, [(r, {"\\Seen"}, 1_700_000_000.0 + n) for n, r in enumerate(raws)]
    )
    r, ca = relay
    ca_file = tmp_path / "relay-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    address = ServerAddress("127.0.0.1", r.port, ssl=True, ca_file=str(ca_file))
    session = ImapConnector(network=LOCAL_TESTS).open(address, Credentials(user, password))
    try:
        [folder] = [f for f in session.folders() if f.raw_name == UTF8]
        assert folder.name == NAME  # not "CafÃ©s"
        info = session.examine(folder)
        assert (info.name, info.messages, info.uidnext) == (NAME, 3, 4)
        messages = list(session.fetch(session.sizes(1, info.uidnext)))
        assert [m.raw for m in messages] == raws
    finally:
        session.logout()
    assert any(c.endswith(b' EXAMINE "' + UTF8 + b'"\r\n') for c in r.commands)
