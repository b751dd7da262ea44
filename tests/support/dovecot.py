"""The tests' private Dovecot: the class lives in the local stack (mailport_local.dovecot),
which also runs one as `make run`'s demo mail server. Re-exported here for the tests."""

from __future__ import annotations

from mailport_local.dovecot import *  # noqa: F403 - this module is that one, re-exported
from mailport_local.dovecot import (
    MAIL_GID,
    MAIL_UID,
    Dovecot,
    DovecotError,
    dovecot_available,
    imap_utf7_encode,
)

__all__ = [
    "MAIL_GID",
    "MAIL_UID",
    "Dovecot",
    "DovecotError",
    "dovecot_available",
    "imap_utf7_encode",
]
