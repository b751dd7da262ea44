"""An IMAP server that answers as a busy provider does: a TLS relay to the test Dovecot
(presenting Dovecot's own certificate, so clients that trust its CA trust the relay) that
answers chosen commands itself, with the words Microsoft 365 or Gmail use to say "slow
down", and passes everything else through.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import threading
from dataclasses import dataclass

from tests.support.dovecot import Dovecot


@dataclass
class Answer:
    """Answer the ``nth`` (1-based) command whose verb is ``verb`` with ``line``.

    ``line`` starting with ``*`` is untagged (``* BYE …``: the relay then hangs up, as
    servers do); otherwise it is sent as the command's tagged answer (``NO …``).
    """

    verb: bytes  # b"LOGIN", b"FETCH" (UID FETCH too), b"EXAMINE", …
    line: bytes
    nth: int = 1
    every: bool = False  # the nth and every one after it (a provider that never relents)
    seen: int = 0


class ImapRelay:
    """Relays every connection to ``dovecot``'s IMAPS port, answering per ``answers``."""

    def __init__(self, dovecot: Dovecot, answers: list[Answer]) -> None:
        self._dovecot = dovecot
        self.answers = answers
        self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._tls.load_cert_chain(str(dovecot._cert_pem), str(dovecot._key_pem))
        self._lock = threading.Lock()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._sock.getsockname()[1])
        self.answered: list[bytes] = []  # the lines the relay sent in Dovecot's place
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self._sock.accept()
                threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        dv = self._dovecot
        with contextlib.suppress(OSError, ssl.SSLError):
            up = socket.create_connection((dv.host, dv.imaps_port), 10)
            with (
                self._tls.wrap_socket(conn, server_side=True) as client,
                dv.ssl_context().wrap_socket(up, server_hostname=dv.host) as server,
            ):
                self._relay(client, server)

    def _relay(self, client: ssl.SSLSocket, server: ssl.SSLSocket) -> None:
        """Both directions from this one thread. An SSL object must never be read in one
        thread while it is written in another (OpenSSL does not support it: a rare hang
        was seen that way), so each socket is used by this thread alone.
        """
        pending = b""  # the client's bytes up to its next line end
        while True:
            ready = [s for s in (client, server) if s.pending()]
            if not ready:
                ready, _, _ = select.select([client, server], [], [], 30)
                if not ready:
                    continue
            for sock in ready:
                data = sock.recv(65536)
                if not data:
                    return
                if sock is server:
                    client.sendall(data)
                    continue
                pending += data
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if not self._to_server(line + b"\n", client, server):
                        return

    def _answer_for(self, line: bytes) -> Answer | None:
        words = line.split(b" ", 3)
        verb = b" ".join(words[1:3]).upper() if len(words) > 2 else b""
        with self._lock:
            for a in self.answers:
                if verb.startswith(a.verb) or verb.startswith(b"UID " + a.verb):
                    a.seen += 1
                    if a.seen == a.nth or (a.every and a.seen > a.nth):
                        return a
        return None

    def _to_server(self, line: bytes, client: ssl.SSLSocket, server: ssl.SSLSocket) -> bool:
        """Pass one line of the client's on, or answer it; False once the relay hung up."""
        answer = self._answer_for(line)
        if answer is None:
            server.sendall(line)
            return True
        tag = line.split(b" ", 1)[0]
        out = answer.line if answer.line.startswith(b"*") else tag + b" " + answer.line
        with self._lock:
            self.answered.append(out)
        client.sendall(out + b"\r\n")
        if answer.line.startswith(b"* BYE"):
            # The server hangs up after its BYE: its side first (the client reads EOF
            # after the BYE), then, once the client closes too, the rest. Closing at
            # once, with the client's bytes unread, would reset the line and could lose
            # the BYE before the client read it.
            client.settimeout(5)
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_WR)
                while client.recv(65536):
                    pass
            return False
        return True

    def close(self) -> None:
        """Stop accepting (connections in hand end with their clients)."""
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() in hand (Linux)
        self._sock.close()
        self._thread.join(10)
