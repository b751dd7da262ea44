"""What one POP run came to, and saving it: the run's tally, the account's fetch state (the
failure count that switches automatic fetching off), the run record and the user's notices.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from mailport.catalogue import Words, say
from mailport.domain.accounts import (
    DISABLE_AFTER_FAILURES,
    WARN_AFTER_FAILURES,
    FetchRun,
    FetchState,
    PopAccount,
    Receipt,
    RunCounts,
    RunStatus,
    RunTrigger,
)
from mailport.domain.mailbox import Owner, message_id_for
from mailport.domain.notices import fetch_disabled, fetch_paused, fetch_warning
from mailport.errors import MailportError
from mailport.ports import RunLedger
from mailport.usecases.importing import Importer

__all__ = ["PAUSED_FOR_SIGNIN", "RunBook", "Tally"]

log = logging.getLogger(__name__)

PAUSED_FOR_SIGNIN = "signin"  # ``FetchState.paused_for``: the account's sign-in must be renewed
# Refusals whose next step is known (an app password; the provider's sign-in): the warning
# goes out at the first such failure, not the third — retrying cannot fix them.
_SAY_AT_ONCE = frozenset({"remote_app_password_required", "remote_signin_required"})


@dataclass(slots=True)
class Tally:
    """A run's counts so far, its receipts not yet saved, and how it ended."""

    fetched: int = 0
    already_present: int = 0
    skipped_oversize: int = 0
    rejected: int = 0
    deleted: int = 0
    more: bool = False  # out of time: a continuation run takes the rest
    digest: str = ""  # the listing dealt with (``server_digest``), when the run saw it all
    receipts: list[Receipt] = dataclasses.field(default_factory=list)

    def counts(self) -> RunCounts:
        """The counts as the run record keeps them."""
        return RunCounts(
            self.fetched, self.already_present, self.skipped_oversize, self.rejected, self.deleted
        )


class RunBook:
    """Saves how runs ended: the account's fetch state, the run record, notices."""

    def __init__(
        self,
        runs: RunLedger,
        importer: Importer,
        clock: Callable[[], dt.datetime],
        *,
        language: Callable[[Owner], str] | None = None,
        console_url: str | None = None,
    ) -> None:
        """``language``: the language a user's notices are written in ("ja"/"en"; e.g.
        ``me.language_of_user``), English without it; ``console_url``: the console's
        address, for a link in the notices.
        """
        self._runs = runs
        self._importer = importer
        self._clock = clock
        # language: the caller (pop_fetch) is to pass the user's language setting here.
        self._language = language
        self._console_url = console_url

    def finish(
        self,
        owner: Owner,
        account: PopAccount,
        run: FetchRun,
        tally: Tally,
        counted: bool,
        *,
        pause: str = "",
    ) -> bool:
        """Save the run's outcome; True if it switched automatic fetching off.

        ``pause``: the run failed in a way only the user can mend and that is not the other
        server's fault (the account's sign-in was revoked or expired): automatic fetching
        waits, not counted as a failure, until the user signs in again.
        """
        before = account.state
        now = run.finished_at or self._clock()
        failures = 0 if run.status is RunStatus.SUCCEEDED else before.failures + int(counted)
        paused = bool(pause) and account.auto_fetch and not before.paused_for
        disable = paused or (counted and failures >= DISABLE_AFTER_FAILURES and account.auto_fetch)
        error = run.error_words or run.error
        words: Words | None
        if paused:
            words = say("account.paused_until_signin", error=error)
        elif disable:
            words = say("account.disabled_after_failures", failures=failures, error=error)
        else:
            words = before.disabled_words
        reason = str(words) if words is not None else before.disabled_reason
        state = FetchState(
            failures=failures,
            last_run_id=run.run_id,
            last_status=run.status.value,
            last_error_code=run.error_code,
            last_error=run.error,
            last_error_words=run.error_words,
            last_checked_at=now,
            last_success_at=now if run.status is RunStatus.SUCCEEDED else before.last_success_at,
            disabled_reason=reason,
            disabled_words=words,
            # Only a complete, successful run proves the listing is fully dealt with.
            server_digest=tally.digest if run.status is RunStatus.SUCCEEDED else "",
            paused_for=pause if paused else before.paused_for,
        )
        if paused:
            self._notify(owner, account, run, failures, "paused")
        elif counted and (
            failures in (WARN_AFTER_FAILURES, DISABLE_AFTER_FAILURES)
            or (failures == 1 and run.error_code in _SAY_AT_ONCE)
        ):
            self._notify(owner, account, run, failures, "disabled" if disable else "warning")
        # Runs that found nothing new are not kept (144 a day per account); the account's
        # last_checked_at says they happened.
        record = (
            run.trigger is RunTrigger.MANUAL
            or run.status is RunStatus.FAILED
            or any(dataclasses.astuple(run.counts))
        )
        self._runs.finish_run(owner, account, run, state, disable=disable, record=record)
        return disable

    def _notify(
        self, owner: Owner, account: PopAccount, run: FetchRun, failures: int, kind: str
    ) -> None:
        """Tell the user in their Inbox; the id is derived from the run, so a retry of the
        same run cannot add a second notice.
        """
        now = self._clock()
        message_id = message_id_for("notice", account.account_id, kind, run.run_id)
        language = self._language(owner) if self._language is not None else "en"
        url = self._console_url
        if kind == "disabled":
            raw = fetch_disabled(
                account, run.error, now, message_id, language=language, console_url=url
            )
        elif kind == "paused":
            raw = fetch_paused(
                account, run.error, now, message_id, language=language, console_url=url
            )
        else:
            raw = fetch_warning(
                account, failures, run.error, now, message_id, language=language, console_url=url
            )
        try:
            self._importer.store_notice(
                owner, raw, message_id, account.account_id, flagged=kind != "warning"
            )
        except MailportError:
            log.exception("could not deliver the notice", extra={"account_id": account.account_id})
