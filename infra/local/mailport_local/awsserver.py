"""moto's AWS endpoint served by waitress, which keeps connections alive.

moto's own ``ThreadedMotoServer`` runs on werkzeug's development server, which closes the
connection after every response: each AWS call paid a TCP connect and a thread start, and the
S3 emulator — the ceiling of the local stack — spent most of its time on that. waitress speaks
HTTP/1.1 keep-alive with a bounded thread pool. One difference a caller can see: waitress
capitalises response header names, so boto3 reports S3 user-metadata names as ``Batch`` where
S3 says ``batch`` (names are case-insensitive; mailport's code lowercases any it reads).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

import waitress
from moto.core.request import PRESERVED_HEADER_NAMES_ENVIRON_KEY
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

_META = "HTTP_X_AMZ_META_"


def _lowercase_metadata(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """S3 stores user-metadata names in lowercase; tell moto the names as S3 would keep them.

    (moto's own request handler passes the spelling the client sent; WSGI environs only keep
    an upper-cased form, which moto would otherwise turn into ``Title-Case``.)
    """

    def wrapped(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        names = {
            key: "x-amz-meta-" + key[len(_META) :].lower().replace("_", "-")
            for key in environ
            if key.startswith(_META)
        }
        if names:
            environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = names
        return app(environ, start_response)

    return wrapped


class AwsServer:
    """The moto endpoint on ``host:port`` (port 0 picks a free one)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, threads: int = 16) -> None:
        app = _lowercase_metadata(DomainDispatcherApplication(create_backend_app))
        self._server = waitress.create_server(
            app,
            host=host,
            port=port,
            threads=threads,
            ident="moto",
            channel_timeout=120,
            # waitress refuses connections past 100 by default; a fetch worker polling
            # hundreds of accounts keeps up to 100 pooled connections per client (AWS takes
            # them all).
            connection_limit=1000,
        )
        self.port = int(self._server.effective_port)
        self._thread = threading.Thread(target=self._server.run, name="moto", daemon=True)

    def start(self) -> None:
        """Serve in a daemon thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving."""
        self._server.close()
        self._thread.join(timeout=10)
        # Closing the server also closes waitress's wake-up pipe; its asyncore loop may still
        # poke it once while exiting, which is harmless.
