"""What a POP account's runs need on both sides: the fetch worker (``pop_fetch``) and the
accounts API (``accounts``) import these from here, never from each other.
"""

from __future__ import annotations

import datetime as dt
import logging

from mailport.domain.accounts import PopAccount
from mailport.domain.mailbox import Owner
from mailport.errors import MailportError
from mailport.ports import AccountStore, RunLedger, SecretBox

log = logging.getLogger(__name__)

# Longer than the fetch worker's timeout (template.yaml), so a live run never loses its lease;
# a dead worker's lease runs out and the next run takes over.
LEASE_S = 960


def secret_context(owner: Owner, account_id: str) -> dict[str, str]:
    """KMS encryption context: a password sealed for one account opens for no other."""
    return {"tenant": owner.tenant_id, "user": owner.user_id, "account": account_id}


def close_stale_run(runs: RunLedger, owner: Owner, account: PopAccount, now: dt.datetime) -> None:
    """A run that held an expired lease died with its worker: say so in its record."""
    stale = account.state.running_run_id
    if stale and not account.state.running(now):
        runs.fail_stale_run(
            owner, account.account_id, stale, "the fetch was interrupted; the next one continues"
        )


def open_password(
    secrets: SecretBox, accounts: AccountStore, owner: Owner, account: PopAccount
) -> str:
    """The account's password; one sealed in an older format (a KMS call per opening) is
    sealed anew and saved, once, so later polls open it with the held data key.
    """
    context = secret_context(owner, account.account_id)
    password = secrets.open(account.sealed_password, context)
    if secrets.needs_resealing(account.sealed_password):
        try:
            accounts.reseal_password(
                owner,
                account.account_id,
                account.sealed_password,
                secrets.seal(password, context),
            )
        except MailportError as e:
            # The poll goes on with the password at hand; the next one tries again.
            log.warning(
                "resealing the password failed",
                extra={"account_id": account.account_id, "code": e.code},
            )
    return password
