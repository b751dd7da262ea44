"""What a tenant's admins may do across their organisation: see every migration and POP
account with its state, switch an account's automatic fetching off, cancel a migration.

Every call is scoped to the admin's own tenant (the caller passes it from the verified
token, never from the request), so another organisation's ids are simply not found.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from mailport.domain.mailbox import Owner
from mailport.ports import AccountStore, JobStore
from mailport.usecases.accounts import AccountService
from mailport.usecases.mailbox import page_size
from mailport.usecases.migration import MigrationService

log = logging.getLogger(__name__)


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

    def migrations(
        self, tenant_id: str, limit: str | None, cursor: str | None
    ) -> dict[str, object]:
        """A page of the organisation's migrations, newest first, each with its user."""
        jobs, next_cursor = self._jobs.tenant_jobs(tenant_id, page_size(limit), cursor)
        now = self._account_service.now()
        # Without the per-folder plan: a page of 200 Gmail-sized jobs would pass Lambda's
        # 6 MB response limit (GET /v1/migrations/{id} has the folders).
        views = [{**j.to_json(now), "user_id": j.user_id, "folders": []} for j in jobs]
        return {"migrations": views, "next_cursor": next_cursor}

    def accounts(self, tenant_id: str, limit: str | None, cursor: str | None) -> dict[str, object]:
        """A page of the organisation's POP accounts, newest first, each with its user."""
        page, next_cursor = self._accounts.tenant_accounts(tenant_id, page_size(limit), cursor)
        now = self._account_service.now()
        return {
            "accounts": [{**a.to_json(now), "user_id": o.user_id} for o, a in page],
            "next_cursor": next_cursor,
        }

    def switch_off(
        self, tenant_id: str, user_id: str, account_id: str, admin_email: str
    ) -> dict[str, object]:
        """Turn an account's automatic fetching off, saying who did (the user sees why)."""
        owner = Owner(tenant_id, user_id)
        before = self._account_service.get(owner, account_id)
        after = replace(
            before,
            auto_fetch=False,
            state=replace(
                before.state, disabled_reason=f"switched off by your administrator ({admin_email})"
            ),
        )
        self._accounts.update_account(owner, before, after)
        log.info("automatic fetching switched off by an admin", extra={"account_id": account_id})
        return {**after.to_json(self._account_service.now()), "user_id": user_id}

    def cancel_migration(self, tenant_id: str, user_id: str, job_id: str) -> dict[str, object]:
        """Cancel a user's migration (rolled back, like the user's own cancel)."""
        log.info("migration cancelled by an admin", extra={"job_id": job_id})
        return {
            **self._migration_service.cancel(Owner(tenant_id, user_id), job_id),
            "user_id": user_id,
        }
