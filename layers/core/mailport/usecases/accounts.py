"""External POP accounts: register (login tried first), change, delete, fetch now, history."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from mailport.catalogue import say
from mailport.domain.accounts import (
    MAX_ACCOUNTS,
    AccountRequest,
    FetchRequest,
    FetchRun,
    PopAccount,
    RunStatus,
    RunTrigger,
    account_input,
    changed_account,
    new_account,
    new_run_id,
    too_many_accounts,
)
from mailport.domain.mailbox import Owner, SystemFolder
from mailport.domain.oauth import OAuthNotConfigured, OAuthProvider, Purpose
from mailport.domain.remote import Credentials, ServerAddress
from mailport.errors import Conflict, MailportError, NotFound, ValidationFailed
from mailport.ports import (
    AccessTokens,
    AccountStore,
    FetchQueue,
    PopConnector,
    RunLedger,
    SecretBox,
)
from mailport.usecases.mailbox import MailboxService
from mailport.usecases.pop_runs import LEASE_S, close_stale_run, secret_context

log = logging.getLogger(__name__)

MAX_RUNS_LISTED = 50


@dataclass(frozen=True, slots=True)
class AccountsConfig:
    """Limits and the extra CA a local stack trusts (a deployed stack has none)."""

    max_accounts: int = MAX_ACCOUNTS
    ca_file: str | None = None
    # Where an account that signs in fetches from: its token is for the provider's own
    # server only, never one the request names.
    microsoft_pop: tuple[str, int] = ("outlook.office365.com", 995)
    google_pop: tuple[str, int] = ("pop.gmail.com", 995)


class AccountService:
    """The ``/v1/accounts`` use-cases."""

    def __init__(
        self,
        accounts: AccountStore,
        mailbox: MailboxService,
        *,
        runs: RunLedger,
        connector: PopConnector,
        secrets: SecretBox,
        queue: FetchQueue,
        config: AccountsConfig | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        tokens: AccessTokens | None = None,
    ) -> None:
        self._tokens = tokens
        self._accounts = accounts
        self._runs = runs
        self._mailbox = mailbox
        self._connector = connector
        self._secrets = secrets
        self._queue = queue
        self._config = config or AccountsConfig()
        self._clock = clock

    def now(self) -> dt.datetime:
        """The service's clock (for shaping responses)."""
        return self._clock()

    def list_accounts(self, owner: Owner) -> list[PopAccount]:
        """Every account of the user."""
        return self._accounts.list_accounts(owner)

    def get(self, owner: Owner, account_id: str) -> PopAccount:
        """One account; ``NotFound`` if it is not the caller's."""
        account = self._accounts.get_account(owner, account_id)
        if account is None:
            raise NotFound(say("account.not_found"))
        return account

    def create(self, owner: Owner, request: AccountRequest) -> PopAccount:
        """Register an account: checked, logged in once, password sealed, then saved."""
        data = account_input(request)
        account = new_account(
            data, "a" + uuid.uuid4().hex[:20], self._clock(), SystemFolder.INBOX.value
        )
        listed = self._accounts.list_accounts(owner)
        if len(listed) >= self._config.max_accounts:
            # Checked again atomically on save; this spares a login to a server for nothing.
            raise too_many_accounts(self._config.max_accounts)
        self._check_folder(owner, account.folder_id)
        if account.signs_in:
            account = self._signed_in(owner, account, listed)
        else:
            assert data.password is not None  # new_account requires it
            self._try_login(account, Credentials(account.username, data.password))
            sealed = self._secrets.seal(data.password, secret_context(owner, account.account_id))
            account = replace(account, sealed_password=sealed)
        self._accounts.create_account(owner, account, self._config.max_accounts)
        log.info("account registered", extra={"account_id": account.account_id})
        return account

    def update(self, owner: Owner, account_id: str, request: AccountRequest) -> PopAccount:
        """Change settings; a new server or login is tried (with the password given again)."""
        before = self.get(owner, account_id)
        data = account_input(request)
        after = changed_account(before, data)
        if data.folder_id is not None:
            self._check_folder(owner, after.folder_id)
        if data.connection_id is not None:
            others = [a for a in self._accounts.list_accounts(owner) if a.account_id != account_id]
            after = self._signed_in(owner, after, others)
        elif data.password is not None:
            self._try_login(after, Credentials(after.username, data.password))
            after = replace(
                after,
                sealed_password=self._secrets.seal(
                    data.password, secret_context(owner, account_id)
                ),
            )
        self._accounts.update_account(owner, before, after)
        return replace(after, version=before.version + 1)

    def _signed_in(self, owner: Owner, account: PopAccount, others: list[PopAccount]) -> PopAccount:
        """The account set to fetch with the user's sign-in: from the provider's own server,
        as the signed-in mailbox, its first login tried with a token.
        """
        cid = account.connection_id
        if self._tokens is None:
            raise OAuthNotConfigured(say("account.signin_not_configured"))
        provider = account.signin_provider
        if provider is None:  # the domain allows a sign-in only for a preset that has one
            raise ValidationFailed(say("account.signin_needs_preset"))
        email = self._tokens.connection_email(
            owner.tenant_id, owner.user_id, cid, Purpose.POP, provider
        )
        if email is None:
            raise ValidationFailed(say("account.signin_not_yours", provider=provider.label))
        if any(a.connection_id == cid for a in others):
            # Two accounts on one mailbox would import every message twice.
            raise SigninInUse(say("account.signin_in_use"))
        host, port = (
            self._config.google_pop
            if provider is OAuthProvider.GOOGLE
            else self._config.microsoft_pop
        )
        account = replace(account, host=host, port=port, ssl=True, username=email)
        credentials = self._tokens.mailbox_token(
            owner.tenant_id, owner.user_id, cid, expect=(provider, Purpose.POP)
        )
        self._try_login(account, credentials)
        return account

    def resume_signed_in(self, owner: Owner, connection_id: str) -> int:
        """The user signed in again: accounts paused for this sign-in fetch automatically
        again, with a fresh failure count. How many were resumed.
        """
        resumed = 0
        for account in self._accounts.list_accounts(owner):
            if account.connection_id != connection_id or not account.state.paused_for:
                continue
            state = replace(account.state, failures=0, disabled_reason="", paused_for="")
            try:
                self._accounts.update_account(
                    owner, account, replace(account, auto_fetch=True, state=state)
                )
            except Conflict:
                # Changed meanwhile (the user edited it): their settings win; a sign-in
                # again or switching fetching back on resumes it.
                log.warning(
                    "account changed while resuming", extra={"account_id": account.account_id}
                )
                continue
            resumed += 1
        return resumed

    def uses_connection(self, owner: Owner, connection_id: str) -> bool:
        """Whether one of the user's accounts fetches with this sign-in."""
        return any(a.connection_id == connection_id for a in self._accounts.list_accounts(owner))

    def delete(self, owner: Owner, account_id: str) -> None:
        """Remove the account (mail already imported stays in the mailbox).

        Its runs and receipts (one per message ever seen: 100,000 for a big mailbox) are
        cleared by the fetch worker, not in this request.
        """
        self._accounts.delete_account(owner, self.get(owner, account_id))
        forget = FetchRequest(owner.tenant_id, owner.user_id, account_id, RunTrigger.FORGET)
        try:
            self._queue.send([forget])
        except MailportError:
            # The account is gone either way; what is left is unreachable (random ids).
            log.warning("could not queue clearing the account", extra={"account_id": account_id})

    def fetch_now(self, owner: Owner, account_id: str) -> FetchRun:
        """Start a manual run (asynchronous); ``Conflict`` if one is running."""
        account = self.get(owner, account_id)
        now = self._clock()
        run = FetchRun(
            run_id=new_run_id(now, uuid.uuid4().hex),
            account_id=account_id,
            trigger=RunTrigger.MANUAL,
            status=RunStatus.RUNNING,
            started_at=now,
        )
        if not self._runs.begin_run(owner, account_id, run, LEASE_S, None):
            raise FetchInProgress(say("account.fetch_running"))
        close_stale_run(self._runs, owner, account, now)
        request = FetchRequest(
            owner.tenant_id, owner.user_id, account_id, RunTrigger.MANUAL, run_id=run.run_id
        )
        try:
            self._queue.send([request])
        except MailportError as e:
            # Give the lease back at once, or "fetch now" would be refused until it expires.
            not_started = say("account.fetch_not_started")
            failed = replace(
                run,
                status=RunStatus.FAILED,
                finished_at=self._clock(),
                error_code=e.code,
                error=str(not_started),
                error_words=not_started,
            )
            state = replace(
                account.state,
                running_run_id="",
                last_run_id=run.run_id,
                last_status=failed.status.value,
                last_error_code=e.code,
                last_error=failed.error,
                last_error_words=not_started,
            )
            self._runs.finish_run(owner, account, failed, state, disable=False, record=True)
            raise
        return run

    def runs(self, owner: Owner, account_id: str, limit: str | None) -> list[FetchRun]:
        """Run history, newest first; a scheduled run in progress is shown first."""
        account = self.get(owner, account_id)
        try:
            count = int(limit) if limit is not None else 20
        except ValueError as e:
            raise ValidationFailed(say("runs.limit_number")) from e
        if not 1 <= count <= MAX_RUNS_LISTED:
            raise ValidationFailed(say("runs.limit_range", max=MAX_RUNS_LISTED))
        runs = self._runs.list_runs(owner, account_id, count)
        state, now = account.state, self._clock()
        if state.running(now) and all(r.run_id != state.running_run_id for r in runs):
            live = FetchRun(
                run_id=state.running_run_id,
                account_id=account_id,
                trigger=RunTrigger(state.running_trigger or RunTrigger.SCHEDULE.value),
                status=RunStatus.RUNNING,
                started_at=state.running_since or now,
            )
            runs = [live, *runs][:count]
        return runs

    def _check_folder(self, owner: Owner, folder_id: str) -> None:
        try:
            self._mailbox.folder(owner, folder_id)
        except NotFound as e:
            raise ValidationFailed(say("account.folder_missing", folder=repr(folder_id))) from e

    def _try_login(self, account: PopAccount, credentials: Credentials) -> None:
        """Log in once before saving, so a typo is reported now, not in 10 minutes."""
        server = ServerAddress(account.host, account.port, account.ssl, self._config.ca_file)
        session = self._connector.open(server, credentials)
        session.quit()


class FetchInProgress(Conflict):
    """A run of the account holds its lease."""

    code = "fetch_in_progress"


class SigninInUse(Conflict):
    """Another of the user's accounts fetches with this sign-in (it would import twice)."""

    code = "signin_in_use"
