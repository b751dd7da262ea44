"""Fixtures for integration tests that need a real IMAP/POP3 server."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.dovecot import Dovecot, dovecot_available


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """One private Dovecot for the whole session; each test module adds its own users."""
    if not dovecot_available():
        pytest.skip(
            "dovecot is not installed (apt-get install dovecot-imapd dovecot-pop3d; "
            "`make test` installs it)"
        )
    if os.geteuid() != 0:
        pytest.skip("the Dovecot fixture runs as root (it chowns mail to uid 5000)")
    # Short BASE under /tmp: Dovecot's unix sockets live below it and
    # sun_path is limited to 108 bytes.
    base = Path(tempfile.mkdtemp(prefix="dv", dir="/tmp"))
    try:
        with Dovecot(base) as dv:
            yield dv
    finally:
        shutil.rmtree(base, ignore_errors=True)
