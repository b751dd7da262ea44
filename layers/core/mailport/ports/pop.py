"""The POP side's ports: the POP3 session, the accounts, their runs, receipts and schedule,
and the fetch queue.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import datetime as dt

    from mailport.domain.accounts import (
        FetchRequest,
        FetchRun,
        FetchState,
        PopAccount,
        Receipt,
        Seen,
    )
    from mailport.domain.mailbox import Owner
    from mailport.domain.remote import Credentials, PopEntry, ServerAddress


class PopMailbox(Protocol):
    """An open, authenticated POP3 session (RFC 1939)."""

    def entries(self) -> list[PopEntry]:
        """Every message: number, UIDL (None if the server has no UIDL) and size."""
        ...

    def retrieve(self, numbers: Sequence[int]) -> Iterator[tuple[int, bytes]]:
        """The raw messages, in order (pipelined where the server offers PIPELINING)."""
        ...

    def delete(self, numbers: Sequence[int]) -> None:
        """Mark messages deleted; the server removes them at ``quit``."""
        ...

    def quit(self) -> None:
        """End the session, committing deletions."""
        ...

    def close(self) -> None:
        """Drop the connection without committing deletions."""
        ...

    def stop_after(self, seconds: float) -> None:
        """Cut the connection after ``seconds``, even in the middle of a RETR."""
        ...


class PopConnector(Protocol):
    """Opens POP3 sessions."""

    def open(
        self, server: ServerAddress, credentials: Credentials, *, deadline_s: float | None = None
    ) -> PopMailbox:
        """Connect (verified TLS), authenticate, return the session; ``deadline_s``: cut it
        that long after connecting whatever it is doing, until ``stop_after`` says otherwise.
        """
        ...


class AccountStore(Protocol):
    """External POP accounts: settings, the per-user limit, and clearing what a deleted one
    leaves behind.
    """

    def list_accounts(self, owner: Owner) -> list[PopAccount]:
        """Every account of the user, oldest first."""
        ...

    def get_accounts(
        self, wanted: Sequence[tuple[Owner, str]]
    ) -> dict[tuple[Owner, str], PopAccount]:
        """Several accounts in one read (a fetch batch's), without their check times; the
        ones that are gone are left out.
        """
        ...

    def get_account(self, owner: Owner, account_id: str) -> PopAccount | None:
        """One account, or None."""
        ...

    def tenant_accounts(
        self, tenant_id: str, limit: int, cursor: str | None
    ) -> tuple[list[tuple[Owner, PopAccount]], str | None]:
        """A page of the tenant's accounts with their owners, newest first; next cursor."""
        ...

    def create_account(self, owner: Owner, account: PopAccount, limit: int) -> None:
        """Save a new account; ``LimitExceeded`` if the user already has ``limit``."""
        ...

    def update_account(self, owner: Owner, before: PopAccount, after: PopAccount) -> None:
        """Save changed settings; ``Conflict`` if the account changed meanwhile."""
        ...

    def reseal_password(self, owner: Owner, account_id: str, before: bytes, after: bytes) -> bool:
        """Replace the sealed password ``before`` by ``after`` (the same password sealed
        anew) unless it changed meanwhile; whether it was replaced.
        """
        ...

    def delete_account(self, owner: Owner, account: PopAccount) -> None:
        """Remove the account (``NotFound`` if it is gone already)."""
        ...

    def forget(self, owner: Owner, account_id: str, limit: int) -> bool:
        """Delete up to ``limit`` runs and receipts of a deleted account; True if more remain."""
        ...


class RunLedger(Protocol):
    """An account's run lease, the fetch state each run leaves, and the runs' records."""

    def begin_run(
        self, owner: Owner, account_id: str, run: FetchRun, lease_s: int, tick: str | None
    ) -> bool:
        """Take the account's run lease; False if a run holds it or ``tick`` already ran.

        A manual run's record is written in the same step, so it is listed at once.
        """
        ...

    def claim_run(self, owner: Owner, account_id: str, run_id: str) -> bool:
        """Mark a recorded run as picked up by a worker; False if it was already."""
        ...

    def finish_run(
        self,
        owner: Owner,
        account: PopAccount,
        run: FetchRun,
        state: FetchState,
        *,
        disable: bool,
        record: bool,
    ) -> None:
        """Release the lease, save the new state (``disable``: automatic fetching off) and,
        if ``record``, the run's record.
        """
        ...

    def fail_stale_run(self, owner: Owner, account_id: str, run_id: str, message: str) -> None:
        """Mark a recorded run that never finished (its worker died) as failed."""
        ...

    def record_checks(self, checks: Sequence[tuple[Owner, str, dt.datetime]]) -> None:
        """When idle polls checked these accounts (owner, account id, time): the polls
        that found nothing new write only this, for a whole batch at once.
        """
        ...

    def list_runs(self, owner: Owner, account_id: str, limit: int) -> list[FetchRun]:
        """Recorded runs, newest first."""
        ...


class Receipts(Protocol):
    """What each account has dealt with: UIDLs and message contents."""

    def imported(self, owner: Owner, account_id: str) -> Seen:
        """Every UIDL and content the account has dealt with (one read for the run)."""
        ...

    def record(self, owner: Owner, account_id: str, receipts: Sequence[Receipt]) -> None:
        """Remember UIDLs and contents dealt with (idempotent)."""
        ...

    def drop_receipts(self, owner: Owner, account_id: str, uidls: Sequence[str]) -> None:
        """Drop the receipts of these UIDLs (idempotent: absent ones are fine)."""
        ...


class Schedule(Protocol):
    """Which accounts the automatic fetch is due for."""

    def due(self, minute: int) -> Iterator[tuple[Owner, str, int]]:
        """Accounts with automatic fetching on whose slot is in ``minute`` of the window:
        (owner, account id, second of the window).
        """
        ...


class FetchQueue(Protocol):
    """Work for the fetch workers."""

    def send(self, requests: Sequence[FetchRequest]) -> None:
        """Queue fetches (each with its own delay)."""
        ...
