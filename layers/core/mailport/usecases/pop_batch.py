"""What the runs of one fetch invocation share: the batch's accounts, read in one request
before the runs start, and the idle polls' check times, saved in one write after they end.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Sequence

from mailport.domain.accounts import FetchRequest, PopAccount, RunTrigger
from mailport.domain.mailbox import Owner
from mailport.errors import MailportError
from mailport.ports import AccountStore, RunLedger

log = logging.getLogger(__name__)


class FetchBatch:
    """The batch state of a fetch worker (its runs are threads: every access is locked)."""

    def __init__(self, accounts: AccountStore, runs: RunLedger) -> None:
        self._accounts = accounts
        self._runs = runs
        self._lock = threading.Lock()
        self._checks: list[tuple[Owner, str, dt.datetime]] = []
        self._prefetched: dict[tuple[Owner, str], PopAccount | None] = {}

    def prefetch(self, requests: Sequence[FetchRequest]) -> None:
        """Read the batch's accounts in one request (ten GetItems were most of an idle
        poll's reads); each run takes its own once. If it fails, each run reads its own.
        """
        wanted = [
            (Owner(r.tenant_id, r.user_id), r.account_id)
            for r in requests
            if r.trigger is not RunTrigger.FORGET
        ]
        try:
            found = self._accounts.get_accounts(wanted) if wanted else {}
        except MailportError:
            log.warning("could not read the batch's accounts at once", exc_info=True)
            return
        with self._lock:
            # Asked for and gone: None, so the run does not read it again.
            self._prefetched = {key: found.get(key) for key in wanted}

    def account(self, owner: Owner, account_id: str) -> PopAccount | None:
        """The account as prefetched for this batch (given once), else read now."""
        with self._lock:
            if (owner, account_id) in self._prefetched:
                return self._prefetched.pop((owner, account_id))
        return self._accounts.get_account(owner, account_id)

    def checked(self, owner: Owner, account_id: str, at: dt.datetime) -> None:
        """An idle poll checked the account at ``at`` (saved by ``flush``)."""
        with self._lock:
            self._checks.append((owner, account_id, at))

    def flush(self) -> int:
        """Save the batch's check times in one write, and forget what it did not take (it
        would be stale for the next batch); how many were saved. A failure only leaves
        "last checked" older.
        """
        with self._lock:
            checks, self._checks = self._checks, []
            self._prefetched = {}
        try:
            self._runs.record_checks(checks)
        except MailportError:
            log.exception("could not note when the accounts were checked")
            return 0
        return len(checks)
