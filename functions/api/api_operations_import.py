"""The operations of the import routes: POP accounts, IMAP migrations, the organisation's
admin views and the Microsoft and Google sign-ins (``api_operations`` has the rest).
"""

from __future__ import annotations

from api_contract import ERRORS_4XX, SIGNED_IN, Answer, Operation, link
from api_inputs import (
    AccountInput,
    FollowUpInput,
    ImapTemplateInput,
    Limit50,
    Limit200,
    MigrationInput,
    PreviewInput,
    SigninStartInput,
)
from api_models import (
    Error,
    ImapTemplate,
    ImapTemplateList,
    Migration,
    MigrationList,
    MigrationPreview,
    MigrationReport,
    OAuthConnectionList,
    OrgMigration,
    OrgMigrationPage,
    SigninProviderList,
    SigninStarted,
)
from api_models_import import (
    Account,
    AccountList,
    FetchRun,
    OrgAccount,
    OrgAccountPage,
    PresetList,
    RunList,
)


def _signin_answers(too_many: str, unavailable: str) -> dict[int, Answer | str]:
    """What a sign-in's start answers (Microsoft's and Google's alike)."""
    return {
        200: Answer("Where to sign in", SigninStarted, headers={"Set-Cookie": str}),
        400: "BadRequest",
        409: Answer(too_many, Error),
        503: Answer(unavailable, Error),
        **SIGNED_IN,
    }


def _callback_answers(unavailable: str) -> dict[int, Answer | str]:
    """What a sign-in's callback page answers (HTML: it is the sign-in window's page)."""
    return {
        200: Answer("Ready to import", {"text/html": str}),
        400: Answer(
            "Not this browser's flow, expired or used (oauth_state_invalid), declined "
            "(oauth_denied), or signed in as another mailbox (oauth_wrong_mailbox)",
            {"text/html": str},
        ),
        503: Answer(unavailable, {"text/html": str}),
    }


def _follow_up(
    operation_id: str,
    summary: str,
    queued: str,
    progress: str,
    refused: str,
    *,
    description: str | None = None,
) -> Operation:
    """A retry's or delta pass's operation: the same body, answers and link, its own words."""
    return Operation(
        operation_id,
        summary,
        description=description,
        body=FollowUpInput,
        answers={
            201: Answer(
                queued,
                Migration,
                links={"GetMigration": link("getMigration", progress, job_id="$response.body#/id")},
            ),
            409: Answer(refused, Error),
            422: Answer("The mail server refused the login or could not be used", Error),
            **ERRORS_4XX,
        },
    )


IMPORT_OPERATIONS: dict[str, Operation] = {
    "account_presets": Operation(
        "listAccountPresets",
        "Providers the form knows, and manual entry",
        answers={200: Answer("OK", PresetList), 400: "BadRequest", **SIGNED_IN},
    ),
    "list_accounts": Operation(
        "listAccounts",
        "The user's external POP accounts with their status",
        answers={
            200: Answer(
                "OK",
                AccountList,
                links={
                    "GetAccount": link(
                        "getAccount",
                        "The first account listed.",
                        account_id="$response.body#/accounts/0/id",
                    )
                },
            ),
            400: "BadRequest",
            **SIGNED_IN,
        },
    ),
    "create_account": Operation(
        "createAccount",
        "Register an account (agreement required; the login is tried first)",
        body=AccountInput,
        answers={
            201: Answer(
                "Created",
                Account,
                links={
                    "GetAccount": link(
                        "getAccount", "The new account.", account_id="$response.body#/id"
                    ),
                    "UpdateAccount": link(
                        "updateAccount",
                        "Change the new account's settings.",
                        account_id="$response.body#/id",
                    ),
                    "FetchAccount": link(
                        "fetchAccount",
                        "Fetch the new account's mail now.",
                        account_id="$response.body#/id",
                    ),
                    "ListRuns": link(
                        "listAccountRuns",
                        "The new account's runs.",
                        account_id="$response.body#/id",
                    ),
                    "DeleteAccount": link(
                        "deleteAccount", "Delete the new account.", account_id="$response.body#/id"
                    ),
                    "ListOrganisationAccounts": link(
                        "adminAccounts",
                        "An administrator of the organisation sees the new account in the "
                        "organisation's list.",
                    ),
                },
            ),
            400: "BadRequest",
            409: Answer("A limit or a concurrent change", Error),
            422: Answer("The mail server refused the login or could not be used", Error),
            **SIGNED_IN,
        },
    ),
    "get_account": Operation(
        "getAccount", "One account", answers={200: Answer("OK", Account), **ERRORS_4XX}
    ),
    "update_account": Operation(
        "updateAccount",
        "Change settings (the password again to change server or login)",
        body=AccountInput,
        answers={
            200: Answer(
                "OK",
                Account,
                links={
                    "GetAccount": link(
                        "getAccount", "The account as it is now.", account_id="$response.body#/id"
                    ),
                    "DeleteAccount": link(
                        "deleteAccount", "Delete the account.", account_id="$response.body#/id"
                    ),
                },
            ),
            409: Answer("A limit or a concurrent change", Error),
            422: Answer("The mail server refused the login or could not be used", Error),
            **ERRORS_4XX,
        },
    ),
    "delete_account": Operation(
        "deleteAccount",
        "Delete the account; its imported mail stays",
        answers={204: Answer("Deleted"), **ERRORS_4XX},
    ),
    "fetch_account": Operation(
        "fetchAccount",
        "Fetch now (asynchronous)",
        answers={
            202: Answer(
                "Accepted",
                FetchRun,
                links={
                    "ListRuns": link(
                        "listAccountRuns",
                        "The run, among the account's runs.",
                        account_id="$response.body#/account_id",
                    )
                },
            ),
            409: Answer("A limit or a concurrent change", Error),
            **ERRORS_4XX,
        },
    ),
    "account_runs": Operation(
        "listAccountRuns",
        "Runs, newest first",
        query={"limit": Limit50},
        answers={200: Answer("OK", RunList), **ERRORS_4XX},
    ),
    "imap_templates": Operation(
        "listImapTemplates",
        "The IMAP servers the tenant's admin set up",
        answers={200: Answer("OK", ImapTemplateList), 400: "BadRequest", **SIGNED_IN},
    ),
    "preview_migration": Operation(
        "previewMigration",
        "Dry run: source folders, targets, counts, sizes, estimate",
        body=PreviewInput,
        answers={
            200: Answer(
                "OK",
                MigrationPreview,
                links={
                    "CreateMigration": link(
                        "createMigration",
                        "Queue the migration just previewed.",
                        body={"connection": "$request.body#/connection", "agreed": True},
                    )
                },
            ),
            400: "BadRequest",
            422: Answer("The mail server refused the login or could not be used", Error),
            409: Answer(
                "The Microsoft 365 or Google sign-in must be renewed (signin_required)", Error
            ),
            **SIGNED_IN,
        },
    ),
    "list_migrations": Operation(
        "listMigrations",
        "The user's migrations, newest first",
        answers={
            200: Answer(
                "OK",
                MigrationList,
                links={
                    "GetMigration": link(
                        "getMigration",
                        "The newest migration.",
                        job_id="$response.body#/migrations/0/id",
                    )
                },
            ),
            400: "BadRequest",
            **SIGNED_IN,
        },
    ),
    "create_migration": Operation(
        "createMigration",
        "Queue a migration (agreement required; the login is tried first)",
        body=MigrationInput,
        answers={
            201: Answer(
                "Queued",
                Migration,
                links={
                    "GetMigration": link(
                        "getMigration",
                        "The new migration's state and progress.",
                        job_id="$response.body#/id",
                    ),
                    "CancelMigration": link(
                        "cancelMigration", "Cancel the new migration.", job_id="$response.body#/id"
                    ),
                    "RevertMigration": link(
                        "revertMigration",
                        "Undo the migration once it completed.",
                        job_id="$response.body#/id",
                    ),
                    "ListOrganisationMigrations": link(
                        "adminMigrations",
                        "An administrator of the organisation sees the new migration in the "
                        "organisation's list.",
                    ),
                },
            ),
            400: "BadRequest",
            422: Answer("The mail server refused the login or could not be used", Error),
            409: Answer(
                "The Microsoft 365 or Google sign-in must be renewed (signin_required)", Error
            ),
            **SIGNED_IN,
        },
    ),
    "get_migration": Operation(
        "getMigration",
        "State, queue position, progress, ETA, counts",
        answers={
            200: Answer(
                "OK",
                Migration,
                links={
                    "CancelMigration": link(
                        "cancelMigration", "Cancel the migration.", job_id="$response.body#/id"
                    ),
                    "RevertMigration": link(
                        "revertMigration",
                        "Undo the migration once it completed.",
                        job_id="$response.body#/id",
                    ),
                },
            ),
            **ERRORS_4XX,
        },
    ),
    "cancel_migration": Operation(
        "cancelMigration",
        "Cancel (a running job is rolled back)",
        answers={
            202: Answer("Accepted", Migration),
            409: Answer("Not possible in the job's current state", Error),
            **ERRORS_4XX,
        },
    ),
    "revert_migration": Operation(
        "revertMigration",
        "Undo a completed migration",
        answers={
            202: Answer("Accepted", Migration),
            409: Answer("Not possible in the job's current state", Error),
            **ERRORS_4XX,
        },
    ),
    "migration_report": Operation(
        "migrationReport",
        "What the job did not import, and why: a page (JSON), or CSV with Accept: text/csv",
        description=(
            "Every message the job did not import, in folder and UID order. The counts and "
            "the list agree: not_imported is skipped_oversize + failed. As CSV the first page "
            "has the header row and a Link header names the next page; reason_text follows "
            "Accept-Language (ja or en)."
        ),
        query={"limit": Limit200, "cursor": str},
        answers={
            200: Answer(
                "OK",
                {"application/json": MigrationReport, "text/csv": str},
                headers={"Link": str},
            ),
            **ERRORS_4XX,
        },
    ),
    "retry_migration": _follow_up(
        "retryMigration",
        "Queue a retry of only what a completed job could not import (oversized mail excluded)",
        "Queued: a job of its own (kind retry), with its own report",
        "The retry's progress.",
        "Nothing to retry, or the job has not completed (not_retryable)",
    ),
    "delta_migration": _follow_up(
        "deltaMigration",
        "Queue a delta pass: only the mail that arrived since a completed job's snapshot",
        "Queued: a job of its own (kind delta), revertable on its own",
        "The delta pass's progress.",
        "Not completed, or completed too long ago (delta_unavailable)",
        description=(
            "Offered for 30 days after the job completed (delta_until). Messages new in each "
            "source folder since the job's snapshot (same UIDVALIDITY, UIDs from its UIDNEXT) "
            "and folders new since; never one already imported."
        ),
    ),
    "create_imap_template": Operation(
        "createImapTemplate",
        "Admin: a new IMAP server template",
        body=ImapTemplateInput,
        answers={
            201: Answer(
                "Created",
                ImapTemplate,
                links={
                    "ReplaceImapTemplate": link(
                        "replaceImapTemplate",
                        "Change the new template.",
                        template_id="$response.body#/id",
                    ),
                    "DeleteImapTemplate": link(
                        "deleteImapTemplate",
                        "Remove the new template.",
                        template_id="$response.body#/id",
                    ),
                },
            ),
            400: "BadRequest",
            **SIGNED_IN,
        },
    ),
    "replace_imap_template": Operation(
        "replaceImapTemplate",
        "Admin: change a template",
        body=ImapTemplateInput,
        answers={
            200: Answer(
                "OK",
                ImapTemplate,
                links={
                    "DeleteImapTemplate": link(
                        "deleteImapTemplate",
                        "Remove the template.",
                        template_id="$response.body#/id",
                    )
                },
            ),
            **ERRORS_4XX,
        },
    ),
    "delete_imap_template": Operation(
        "deleteImapTemplate",
        "Admin: remove a template",
        answers={204: Answer("Deleted"), **ERRORS_4XX},
    ),
    "start_microsoft_signin": Operation(
        "startMicrosoftSignin",
        "Begin a Microsoft 365 sign-in (open authorize_url in a new window)",
        description=(
            "Sets an HttpOnly, SameSite=Lax cookie that binds the sign-in to this browser; the "
            "callback refuses a flow without it. One connection per mailbox address: signing in "
            "again updates it and resumes migrations waiting on it."
        ),
        body=SigninStartInput,
        answers=_signin_answers(
            "Too many sign-ins (10 per user, purpose and provider)",
            "Microsoft 365 sign-in is not set up on this deployment (oauth_not_configured) or"
            " the identity provider is unreachable",
        ),
    ),
    "microsoft_callback": Operation(
        "microsoftCallback",
        "Where Microsoft sends the browser back (an HTML page for the sign-in window)",
        description=(
            "Public: identified by the flow's state and the cookie set by "
            "/v1/oauth/microsoft/start. The page posts {type: 'mailport-oauth', status: "
            "'ready'|'error', code, message, connection} to its opener (same origin) and closes."
        ),
        query={"state": str, "code": str, "error": str},
        answers=_callback_answers("Not set up, or the identity provider is unreachable"),
    ),
    "start_google_signin": Operation(
        "startGoogleSignin",
        "Begin a Google sign-in for Gmail or Google Workspace (open authorize_url in a new window)",
        description=(
            "As startMicrosoftSignin: an HttpOnly, SameSite=Lax cookie binds the sign-in to this "
            "browser. The consent asks for https://mail.google.com/ (IMAP and POP) and openid "
            "email (to check the mailbox signed in to) only."
        ),
        body=SigninStartInput,
        answers=_signin_answers(
            "Too many sign-ins (10 per user, purpose and provider)",
            "Google sign-in is not set up on this deployment (oauth_not_configured) or"
            " Google is unreachable",
        ),
    ),
    "google_callback": Operation(
        "googleCallback",
        "Where Google sends the browser back (an HTML page for the sign-in window)",
        description=(
            "Public: identified by the flow's state and the cookie set by "
            "/v1/oauth/google/start; the page does what microsoftCallback's does."
        ),
        query={"state": str, "code": str, "error": str, "scope": str},
        answers=_callback_answers("Not set up, or Google is unreachable"),
    ),
    "oauth_providers": Operation(
        "listSigninProviders",
        "Whose sign-ins this service offers (Microsoft, Google)",
        description=(
            "A provider whose app registration this deployment lacks is not available: the "
            "console hides its sign-ins and says why; its /start answers 503."
        ),
        answers={200: Answer("Providers", SigninProviderList), **SIGNED_IN},
    ),
    "oauth_connections": Operation(
        "listOAuthConnections",
        "The user's sign-ins (Microsoft and Google)",
        answers={
            200: Answer(
                "Connections",
                OAuthConnectionList,
                links={
                    "DeleteConnection": link(
                        "deleteOAuthConnection",
                        "Forget the first sign-in listed.",
                        connection_id="$response.body#/connections/0/id",
                    )
                },
            ),
            **SIGNED_IN,
        },
    ),
    "delete_oauth_connection": Operation(
        "deleteOAuthConnection",
        "Forget a sign-in (refused while a migration uses it)",
        answers={
            204: Answer("Removed"),
            404: "NotFound",
            409: Answer("A migration still uses it (connection_in_use)", Error),
            **SIGNED_IN,
        },
    ),
    "admin_migrations": Operation(
        "adminMigrations",
        "Admin: every migration of the organisation, newest first",
        query={"limit": Limit200, "cursor": str},
        answers={
            200: Answer(
                "A page",
                OrgMigrationPage,
                links={
                    "Cancel": link(
                        "adminCancelMigration",
                        "Cancel the first listed migration.",
                        user_id="$response.body#/migrations/0/user_id",
                        job_id="$response.body#/migrations/0/id",
                    )
                },
            ),
            400: "BadRequest",
            **SIGNED_IN,
        },
    ),
    "admin_accounts": Operation(
        "adminAccounts",
        "Admin: every POP account of the organisation, newest first",
        query={"limit": Limit200, "cursor": str},
        answers={
            200: Answer(
                "A page",
                OrgAccountPage,
                links={
                    "SwitchOff": link(
                        "adminSwitchOffAccount",
                        "Switch the first listed account's automatic fetching off.",
                        user_id="$response.body#/accounts/0/user_id",
                        account_id="$response.body#/accounts/0/id",
                    )
                },
            ),
            400: "BadRequest",
            **SIGNED_IN,
        },
    ),
    "admin_switch_off": Operation(
        "adminSwitchOffAccount",
        "Admin: switch a user's account's automatic fetching off",
        answers={
            200: Answer(
                "The account, automatic fetching off, with the reason the user sees", OrgAccount
            ),
            409: "Conflict",
            **ERRORS_4XX,
        },
    ),
    "admin_cancel_migration": Operation(
        "adminCancelMigration",
        "Admin: cancel a user's migration (it is rolled back)",
        answers={202: Answer("Accepted", OrgMigration), 409: "Conflict", **ERRORS_4XX},
    ),
}
