"""What a tenant's admins may do across their organisation: see every migration and POP
account with its state, switch an account's automatic fetching off, cancel a migration.

Every call is scoped to the admin's own tenant (the caller passes it from the verified
token, never from the request), so another organisation's ids are simply not found.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

from mailport.catalogue import say
from mailport.domain.accounts import PopAccount
from mailport.domain.mailbox import Owner
from mailport.ports import AccountStore, JobStore
from mailport.usecases.accounts import AccountService
from mailport.usecases.mailbox import page_size
from mailport.usecases.migration import JobReport, MigrationService

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class JobPage:
    """A page of the organisation's migrations (no queue positions: that is the user's)."""

    jobs: Sequence[JobReport]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class AccountPage:
    """A page of the organisation's accounts, each with its owner."""

    accounts: Sequence[tuple[Owner, PopAccount]]
    next_cursor: str | None


class AdminService:
    """The organisation-wide views and switches of the admin API."""

    def __init__(
        self,
        jobs: JobStore,
        accounts: AccountStore,
        *,
        migration_service: MigrationService,
        account_service: AccountService,
    ) -> None:
        self._jobs = jobs
        self._accounts = accounts
        self._migration_service = migration_service
        self._account_service = account_service

    def migrations(self, tenant_id: str, limit: str | None, cursor: str | None) -> JobPage:
        """A page of the organisation's migrations, newest first (each job has its user)."""
        jobs, next_cursor = self._jobs.tenant_jobs(tenant_id, page_size(limit), cursor)
        now = self._account_service.now()
        return JobPage([JobReport(j, None, j.eta_seconds(now)) for j in jobs], next_cursor)

    def accounts(self, tenant_id: str, limit: str | None, cursor: str | None) -> AccountPage:
        """A page of the organisation's POP accounts, newest first, each with its owner."""
        page, next_cursor = self._accounts.tenant_accounts(tenant_id, page_size(limit), cursor)
        return AccountPage(page, next_cursor)

    def now(self) -> dt.datetime:
        """The time the accounts' states are read at."""
        return self._account_service.now()

    def switch_off(
        self, tenant_id: str, user_id: str, account_id: str, admin_email: str
    ) -> PopAccount:
        """Turn an account's automatic fetching off, saying who did (the user sees why)."""
        owner = Owner(tenant_id, user_id)
        before = self._account_service.get(owner, account_id)
        reason = say("account.disabled_by_admin", admin=admin_email)
        after = replace(
            before,
            auto_fetch=False,
            state=replace(before.state, disabled_reason=str(reason), disabled_words=reason),
        )
        self._accounts.update_account(owner, before, after)
        log.info("automatic fetching switched off by an admin", extra={"account_id": account_id})
        return after

    def cancel_migration(self, tenant_id: str, user_id: str, job_id: str) -> JobReport:
        """Cancel a user's migration (rolled back, like the user's own cancel)."""
        log.info("migration cancelled by an admin", extra={"job_id": job_id})
        return self._migration_service.cancel(Owner(tenant_id, user_id), job_id)
