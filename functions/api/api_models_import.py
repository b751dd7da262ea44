# ruff: noqa: D101 (a shape's docstring is its description in openapi.json: most have none)
"""The answers of the POP import routes (accounts, their runs, presets), as ``api_models``
shapes the rest: what ``api_views`` returns and openapi.json documents.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypedDict

from api_models import EXACT, DateTime
from pydantic import Field, with_config


@with_config(EXACT)
class Account(TypedDict):
    id: str
    preset: Literal["line_works", "yahoo", "gmail", "outlook", "manual"]
    host: str
    port: int
    ssl: bool
    username: str
    folder_id: str
    icon: Literal["none", "red", "orange", "yellow", "green", "blue", "purple", "gray"]
    keep_original: bool
    apply_rules: bool
    auto_fetch: bool
    created_at: DateTime
    status: AccountStatus
    connection_id: Annotated[
        str | None,
        Field(description="The sign-in it fetches with (XOAUTH2); null: it holds a password"),
    ]


@with_config(EXACT)
class _RunError(TypedDict):
    code: str
    message: str


@with_config(EXACT)
class FetchRun(TypedDict):
    id: str
    account_id: str
    trigger: Literal["manual", "schedule", "continuation"]
    status: Literal["running", "succeeded", "failed"]
    started_at: DateTime
    finished_at: DateTime | None
    fetched: int
    already_present: int
    skipped_oversize: int
    rejected: int
    deleted: int
    more: bool
    error: _RunError | None


@with_config(EXACT)
class _LastError(TypedDict):
    code: str
    message: str


@with_config(EXACT)
class AccountStatus(TypedDict):
    state: Literal["running", "idle", "off"]
    failures_in_a_row: int
    running_run_id: str | None
    last_run_id: str | None
    last_status: Literal["running", "succeeded", "failed"] | None
    last_error: _LastError | None
    last_checked_at: DateTime | None
    last_success_at: DateTime | None
    next_run_at: DateTime | None
    disabled_reason: str | None
    paused_for: Annotated[
        Literal["signin"] | None,
        Field(
            description="signin: automatic fetching waits until the user signs in again "
            "(not a failure; signing in again resumes it)"
        ),
    ]


@with_config(EXACT)
class OrgAccount(Account):
    """An account as the organisation's admins see it: an Account and its user."""

    user_id: str


@with_config(EXACT)
class _Preset(TypedDict):
    id: Literal["line_works", "yahoo", "gmail", "outlook", "manual"]
    label: str
    host: str | None
    port: int | None
    ssl: bool
    signin: Annotated[
        list[Literal["password", "app_password", "oauth"]],
        Field(description="How the provider lets an app sign in, the preferred first"),
    ]
    oauth_provider: Annotated[
        Literal["microsoft", "google"] | None,
        Field(description="Whose sign-in `oauth` goes through (null: no `oauth`)"),
    ]
    oauth_available: Annotated[
        bool,
        Field(description="This service has that provider's app registration"),
    ]
    help_url: Annotated[
        str | None,
        Field(description="The provider's page on making an app password or turning POP on"),
    ]


@with_config(EXACT)
class PresetList(TypedDict):
    presets: list[_Preset]


@with_config(EXACT)
class AccountList(TypedDict):
    accounts: list[Account]


@with_config(EXACT)
class RunList(TypedDict):
    runs: list[FetchRun]


@with_config(EXACT)
class OrgAccountPage(TypedDict):
    accounts: list[OrgAccount]
    next_cursor: str | None
