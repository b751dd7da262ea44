"""One frozen settings object, read once at cold start."""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from mailport.domain.message import MAX_BYTES


class SettingsError(RuntimeError):
    """A required setting is missing or malformed."""


# Microsoft's identity platform (msal's well-known authority hosts): the only authorities a
# deployed stack may sign in with. A stand-in (the tests' fake, `make run --demo-microsoft`'s
# demo identity provider) is honoured only where STAGE is local, which template.yaml's Stage
# parameter cannot be: M365_AUTHORITY (the Microsoft365Authority parameter) can't point a
# deployed stack's sign-ins, and the tokens they bring, anywhere else.
MICROSOFT_AUTHORITY_HOSTS = frozenset(
    {
        "login.microsoftonline.com",
        "login.microsoft.com",
        "login.windows.net",
        "sts.windows.net",
        "login.microsoftonline.us",
        "login-us.microsoftonline.com",
        "login.chinacloudapi.cn",
    }
)


def is_microsoft_authority(url: str) -> bool:
    """True for https://<a Microsoft login host>/<tenant>[/...], with no port or user."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme == "https"
        and (parts.hostname or "") in MICROSOFT_AUTHORITY_HOSTS
        and port is None
        and "@" not in parts.netloc
        and bool(parts.path.strip("/"))
        and not parts.query
        and not parts.fragment
    )


def authority_pattern() -> str:
    """The Microsoft365Authority parameter's AllowedPattern in template.yaml (CloudFormation
    refuses any other value at deploy time, before the function's own check): an https URL on
    one of ``MICROSOFT_AUTHORITY_HOSTS`` with a tenant path. tests/unit/test_template_contract
    keeps the two equal.
    """
    hosts = "|".join(re.escape(h) for h in sorted(MICROSOFT_AUTHORITY_HOSTS))
    return f"^https://({hosts})/[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*/?$"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a function needs to know about its environment.

    Built from the environment variables that template.yaml sets (``from_env``); tests and
    the local runtime may build one explicitly, which beats any variable.
    """

    table_name: str
    mail_bucket: str
    upload_bucket: str
    fetch_queue_url: str
    credentials_key_id: str
    stage: str = "prod"
    migration_state_machine_arn: str = ""
    max_message_bytes: int = MAX_BYTES
    schedule_window_s: int = 600  # the POP schedule's period; accounts spread over it
    extra_ca_file: str | None = None  # local stack only: the test mail server's CA
    dispatch_parallelism: int = 10  # schedule partitions (minutes) the dispatcher reads at once
    # Fetch requests the POP worker runs side by side, one thread each: its SQS batch size
    # (template.yaml FetchBatchSize). Only the fetch worker is given it; unset, one at a time.
    fetch_batch_size: int = 1
    # POP sessions the worker holds at once, over all its batch's messages (each message
    # carries up to fetch_per_message accounts): template.yaml FetchSessions.
    fetch_sessions: int = 1
    # Accounts a fetch message carries (the dispatcher packs those due at the same second):
    # template.yaml FetchAccountsPerMessage.
    fetch_per_message: int = 1
    # Local stack only: mail servers on this machine's loopback (127.0.0.0/8, ::1), the demo
    # and test Dovecots; other private addresses stay refused (network.LOCAL_TESTS).
    allow_private_mail_hosts: bool = False
    migration_max_running: int = 50  # IMAP migrations running at once, overall
    migration_max_per_tenant: int = 10  # and per tenant
    migration_max_copying: int = 50  # of those, copying at once (the rest wait their turn)
    migration_chunk_messages: int = 2000  # messages per CopyChunk step
    migration_chunks_per_execution: int = 1000  # then the job continues in a new execution
    migration_daily_bytes: int | None = None  # local stack only: a pace cap to try pacing
    notice_sender: str | None = None  # an SES identity; notices are also emailed when set
    # Microsoft 365 sign-in: a Secrets Manager secret {"client_id", "client_secret"} of the
    # Entra app registration; without it the Microsoft 365 connection type is refused.
    m365_app_secret_id: str | None = None
    # /common: work and school accounts and personal ones (Outlook.com, Hotmail, Live, MSN).
    m365_authority: str = "https://login.microsoftonline.com/common"
    m365_imap_host: str = "outlook.office365.com"
    m365_imap_port: int = 993
    # POP3 with a Microsoft sign-in: the same host for Outlook.com and Microsoft 365
    # (Microsoft Support, "POP, IMAP, and SMTP settings for Outlook.com").
    m365_pop_host: str = "outlook.office365.com"
    m365_pop_port: int = 995
    oauth_redirect_uri: str | None = None  # else derived from the request (API's own URL)
    # Google sign-in (Gmail, Google Workspace): a Secrets Manager secret {"client_id",
    # "client_secret"} of a Google Cloud OAuth client ("Web application"); without it the
    # Google sign-ins are hidden. The endpoints are Google's except in the local stack.
    google_app_secret_id: str | None = None
    google_redirect_uri: str | None = None  # else derived from the request
    google_authorize_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    google_token_url: str = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL)
    google_issuer: str = "https://accounts.google.com"
    # Gmail's servers (Google, "Read Gmail messages on other email clients using POP").
    google_pop_host: str = "pop.gmail.com"
    google_pop_port: int = 995
    google_imap_host: str = "imap.gmail.com"
    google_imap_port: int = 993
    oauth_ca_file: str | None = None  # local stack only: the fake identity provider's CA
    # The console's hosted sign-in (Cognito): the user pool domain's origin, the app client,
    # the pool's issuer and the console's address (the client's callback and logout URL).
    # Without the domain, the client and the console URL there is no hosted sign-in.
    auth_domain: str | None = None
    auth_client_id: str | None = None
    auth_issuer: str | None = None
    console_url: str | None = None

    def __post_init__(self) -> None:
        if not self.is_local and not is_microsoft_authority(self.m365_authority):
            # Only the local stack signs in at a stand-in (see MICROSOFT_AUTHORITY_HOSTS).
            raise SettingsError(
                f"M365_AUTHORITY must be Microsoft's (https://login.microsoftonline.com/"
                f"<tenant>) outside the local stack: {self.m365_authority!r}"
            )

    @property
    def is_local(self) -> bool:
        """True only in the emulated local stack (never in a deployed one)."""
        return self.stage == "local"

    @property
    def hosted_signin(self) -> bool:
        """True when the console can sign in through the hosted UI (GET /v1/auth/config)."""
        return bool(self.auth_domain and self.auth_client_id and self.console_url)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``env`` (default: ``os.environ``)."""
        source = os.environ if env is None else env

        def need(name: str) -> str:
            value = source.get(name, "")
            if not value:
                raise SettingsError(f"environment variable {name} is not set")
            return value

        return cls(
            table_name=need("TABLE_NAME"),
            mail_bucket=need("MAIL_BUCKET"),
            upload_bucket=need("UPLOAD_BUCKET"),
            fetch_queue_url=need("FETCH_QUEUE_URL"),
            credentials_key_id=need("CREDENTIALS_KEY_ID"),
            stage=source.get("STAGE", "prod"),
            migration_state_machine_arn=source.get("MIGRATION_STATE_MACHINE_ARN", ""),
            schedule_window_s=_positive(source.get("SCHEDULE_WINDOW_SECONDS", "600")),
            dispatch_parallelism=_positive(source.get("DISPATCH_PARALLELISM", "10")),
            fetch_batch_size=_positive(source.get("FETCH_BATCH_SIZE", "1")),
            fetch_sessions=_positive(source.get("FETCH_SESSIONS", "1")),
            fetch_per_message=_positive(source.get("FETCH_PER_MESSAGE", "1")),
            # A deployed stage never honours it: a user-named host must be a public one there.
            allow_private_mail_hosts=(
                source.get("STAGE") == "local" and source.get("ALLOW_PRIVATE_MAIL_HOSTS") == "1"
            ),
            migration_max_running=_positive(source.get("MIGRATION_MAX_RUNNING", "50")),
            migration_max_per_tenant=_positive(source.get("MIGRATION_MAX_PER_TENANT", "10")),
            migration_max_copying=_positive(source.get("MIGRATION_MAX_COPYING", "50")),
            migration_chunk_messages=_positive(source.get("MIGRATION_CHUNK_MESSAGES", "2000")),
            migration_chunks_per_execution=_positive(
                source.get("MIGRATION_CHUNKS_PER_EXECUTION", "1000")
            ),
            migration_daily_bytes=(
                _positive(source["MIGRATION_DAILY_BYTES"])
                if source.get("STAGE") == "local" and source.get("MIGRATION_DAILY_BYTES")
                else None
            ),
            notice_sender=source.get("NOTICE_SENDER") or None,
            m365_app_secret_id=source.get("M365_APP_SECRET_ARN") or None,
            m365_authority=source.get("M365_AUTHORITY")
            or "https://login.microsoftonline.com/common",
            # Where Microsoft mail is read: Exchange Online (Outlook.com too), except in the
            # local stack, whose tests point it at their own IMAP and POP3 server.
            m365_imap_host=_local(source, "M365_IMAP_HOST", "outlook.office365.com"),
            m365_imap_port=_positive(_local(source, "M365_IMAP_PORT", "993")),
            m365_pop_host=_local(source, "M365_POP_HOST", "outlook.office365.com"),
            m365_pop_port=_positive(_local(source, "M365_POP_PORT", "995")),
            oauth_redirect_uri=source.get("OAUTH_REDIRECT_URI") or None,
            google_app_secret_id=source.get("GOOGLE_APP_SECRET_ARN") or None,
            google_redirect_uri=source.get("GOOGLE_REDIRECT_URI") or None,
            # A deployed stage talks to Google only; the tests' fake stands in locally.
            google_authorize_url=_local(
                source, "GOOGLE_AUTHORIZE_URL", "https://accounts.google.com/o/oauth2/v2/auth"
            ),
            google_token_url=_local(
                source, "GOOGLE_TOKEN_URL", "https://oauth2.googleapis.com/token"
            ),
            google_issuer=_local(source, "GOOGLE_ISSUER", "https://accounts.google.com"),
            google_pop_host=_local(source, "GOOGLE_POP_HOST", "pop.gmail.com"),
            google_pop_port=_positive(_local(source, "GOOGLE_POP_PORT", "995")),
            google_imap_host=_local(source, "GOOGLE_IMAP_HOST", "imap.gmail.com"),
            google_imap_port=_positive(_local(source, "GOOGLE_IMAP_PORT", "993")),
            auth_domain=(source.get("AUTH_DOMAIN") or "").rstrip("/") or None,
            auth_client_id=source.get("AUTH_CLIENT_ID") or None,
            auth_issuer=source.get("AUTH_ISSUER") or None,
            console_url=source.get("CONSOLE_URL") or None,
            oauth_ca_file=(
                source.get("OAUTH_EXTRA_CA_FILE") or None
                if source.get("STAGE") == "local"
                else None
            ),
            # Trusting an extra CA is a test convenience; a deployed stage never honours it.
            extra_ca_file=(
                source.get("MAIL_EXTRA_CA_FILE") or None if source.get("STAGE") == "local" else None
            ),
        )


def _local(source: Mapping[str, str], name: str, default: str) -> str:
    """A setting only the local stack may change (its tests' own servers); elsewhere the
    default, whatever the environment says.
    """
    return source.get(name, default) if source.get("STAGE") == "local" else default


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError as e:
        raise SettingsError(f"not a number: {value!r}") from e
    if number <= 0:
        raise SettingsError(f"must be positive: {value!r}")
    return number
