"""External POP3 accounts (外部メールインポート): presets, settings, fetch state and runs.

Pure domain code: the meaning of what a user sends (its shape is checked at the API's
edge), the schedule slot of an account, and the failure policy of automatic fetching.
By job, each module importing only those before it:

* ``presets``: the providers the form knows and how each lets an app sign in;
* ``runs``: fetch requests, runs and the automatic-fetch state with its failure policy;
* ``receipts``: which messages of the server an account has dealt with;
* ``account``: ``PopAccount``, its schedule slot and a create or change request.
"""

from mailport.domain.accounts.account import (
    ICONS,
    MAX_ACCOUNTS,
    MAX_FOLDER_ID,
    MAX_HOST,
    MAX_PASSWORD,
    MAX_USERNAME,
    SCHEDULE_WINDOW_S,
    AccountInput,
    AccountRequest,
    Icon,
    PopAccount,
    PresetName,
    account_input,
    changed_account,
    clean_host,
    new_account,
    schedule_slot,
    too_many_accounts,
)
from mailport.domain.accounts.presets import (
    MANUAL_SIGNIN,
    PRESETS,
    Preset,
    PresetServer,
    SignInMethod,
)
from mailport.domain.accounts.receipts import Receipt, ReceiptOutcome, Seen
from mailport.domain.accounts.runs import (
    DISABLE_AFTER_FAILURES,
    MAX_PER_MESSAGE,
    WARN_AFTER_FAILURES,
    FetchRequest,
    FetchRun,
    FetchState,
    RunCounts,
    RunStatus,
    RunTrigger,
    fetch_message,
    fetch_requests,
    new_run_id,
    server_digest,
)
from mailport.domain.fields import MAX_PORT
from mailport.domain.oauth import OAuthProvider

__all__ = [
    "DISABLE_AFTER_FAILURES",
    "ICONS",
    "MANUAL_SIGNIN",
    "MAX_ACCOUNTS",
    "MAX_FOLDER_ID",
    "MAX_HOST",
    "MAX_PASSWORD",
    "MAX_PER_MESSAGE",
    "MAX_PORT",
    "MAX_USERNAME",
    "PRESETS",
    "SCHEDULE_WINDOW_S",
    "WARN_AFTER_FAILURES",
    "AccountInput",
    "AccountRequest",
    "FetchRequest",
    "FetchRun",
    "FetchState",
    "Icon",
    "OAuthProvider",
    "PopAccount",
    "Preset",
    "PresetName",
    "PresetServer",
    "Receipt",
    "ReceiptOutcome",
    "RunCounts",
    "RunStatus",
    "RunTrigger",
    "Seen",
    "SignInMethod",
    "account_input",
    "changed_account",
    "clean_host",
    "fetch_message",
    "fetch_requests",
    "new_account",
    "new_run_id",
    "schedule_slot",
    "server_digest",
    "too_many_accounts",
]
