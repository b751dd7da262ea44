"""Everything wired in one place, each part on first use.

A handler uses a few of these parts; importing every adapter and use-case at cold start cost
each function ≈ 0.3 s more than ``import boto3`` (bench/importtime.py). So the container
imports and builds a part when a handler first asks for it, and keeps it for the warm
invocations that follow. (That is why the imports below sit inside the properties.) Its
boto3 clients come from one ``Clients``: each made when an adapter first calls.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cache, cached_property, wraps
from typing import TYPE_CHECKING, Any

from mailport.adapters.clients import Clients, ClientSource, Session
from mailport.settings import Settings

if TYPE_CHECKING:
    from mailport.adapters.metrics import MetricsBuffer
    from mailport.domain.mailbox import Owner
    from mailport.domain.oauth import OAuthProvider
    from mailport.ports import (
        AccountStore,
        Directory,
        IdentityProvider,
        ImapConnector,
        JobQueue,
        JobStore,
        RunLedger,
        SecretBox,
        Uploads,
    )
    from mailport.usecases.accounts import AccountService
    from mailport.usecases.admin import AdminService
    from mailport.usecases.dispatch import Dispatcher
    from mailport.usecases.downloads import Downloads
    from mailport.usecases.importing import Importer
    from mailport.usecases.mailbox import MailboxService
    from mailport.usecases.migration import MigrationConfig, MigrationService
    from mailport.usecases.migration_runner import MigrationRunner
    from mailport.usecases.oauth import OAuthService
    from mailport.usecases.pop_fetch import PopFetcher
    from mailport.usecases.uploads import UploadService


def migration_config(settings: Settings) -> MigrationConfig:
    """The migration limits from the settings."""
    from mailport.usecases.migration import MigrationConfig

    return MigrationConfig(
        max_running=settings.migration_max_running,
        max_per_tenant=settings.migration_max_per_tenant,
        max_copying=settings.migration_max_copying,
        chunk_messages=settings.migration_chunk_messages,
        chunks_per_execution=settings.migration_chunks_per_execution,
        max_bytes=settings.max_message_bytes,
        ca_file=settings.extra_ca_file,
        daily_bytes_override=settings.migration_daily_bytes,
        notice_sender=settings.notice_sender,
        console_url=settings.console_url,
        microsoft_host=settings.m365_imap_host,
        microsoft_port=settings.m365_imap_port,
        google_host=settings.google_imap_host,
        google_port=settings.google_imap_port,
    )


def identity_providers(
    settings: Settings, secretsmanager: ClientSource
) -> dict[OAuthProvider, IdentityProvider]:
    """Microsoft's identity platform and Google's, each with its app registration from
    Secrets Manager (read on first use; none where the stack names no secret).
    """
    from mailport.adapters.app_credentials import SecretsManagerAppCredentials
    from mailport.adapters.google_identity import GoogleIdentity
    from mailport.adapters.msal_identity import MsalMicrosoft
    from mailport.domain.oauth import OAuthProvider

    def app(secret_id: str | None, label: str) -> SecretsManagerAppCredentials | None:
        return (
            SecretsManagerAppCredentials(secret_id, client=secretsmanager, label=label)
            if secret_id
            else None
        )

    return {
        OAuthProvider.MICROSOFT: MsalMicrosoft(
            app(settings.m365_app_secret_id, "Microsoft 365"),
            authority=settings.m365_authority,
            ca_file=settings.oauth_ca_file,
            # Entra's instance discovery knows Microsoft's hosts only, not a local fake's.
            instance_discovery=not settings.is_local,
        ),
        OAuthProvider.GOOGLE: GoogleIdentity(
            app(settings.google_app_secret_id, "Google"),
            authorize_url=settings.google_authorize_url,
            token_url=settings.google_token_url,
            issuer=settings.google_issuer,
            ca_file=settings.oauth_ca_file,
        ),
    }


def part[T](build: Callable[[Container], T]) -> cached_property[T]:
    """A part of the container: built once, on first use, under the container's lock.

    ``cached_property`` alone does not lock (Python 3.12): threads that first ask at the
    same moment (the dispatcher's, the local stack's handlers) would each build one — two
    adapters, or two metric buffers of which only one is drained.
    """
    name = build.__name__

    @wraps(build)
    def locked(self: Container) -> T:
        with self._lock:
            if name not in self.__dict__:
                self.__dict__[name] = build(self)
            value: T = self.__dict__[name]
            return value

    return cached_property(locked)


class Container:
    """The adapters and use-cases a handler may use, built from one ``Settings`` (an
    explicit session beats the default one), each once, on first use.
    """

    def __init__(self, settings: Settings, session: Session | None = None) -> None:
        self.settings = settings
        self.clients = Clients(session)
        self._lock = threading.RLock()  # parts build parts: re-entrant

    # -- adapters shared by several use-cases --------------------------------------------

    @part
    def _store(self) -> Any:
        from mailport.adapters.dynamodb_mailbox import DynamoMailbox

        return DynamoMailbox(self.settings.table_name, client=self.clients.dynamodb)

    @part
    def _uploads(self) -> Uploads:
        from mailport.adapters.dynamodb_uploads import DynamoUploads

        return DynamoUploads(self.settings.table_name, client=self.clients.dynamodb)

    @part
    def _raw(self) -> Any:
        from mailport.adapters.s3 import S3RawStore

        return S3RawStore(self.settings.mail_bucket, client=self.clients.s3)

    @part
    def _accounts(self) -> AccountStore:
        from mailport.adapters.dynamodb_accounts import DynamoAccountStore

        return DynamoAccountStore(self.settings.table_name, client=self.clients.dynamodb)

    @part
    def _runs(self) -> RunLedger:
        from mailport.adapters.dynamodb_runs import DynamoRunLedger

        return DynamoRunLedger(self.settings.table_name, client=self.clients.dynamodb)

    @part
    def _jobs(self) -> JobStore:
        from mailport.adapters.dynamodb_jobs import DynamoJobStore

        return DynamoJobStore(self.settings.table_name, client=self.clients.dynamodb)

    @part
    def _job_queue(self) -> JobQueue:
        from mailport.adapters.dynamodb_job_queue import DynamoJobQueue

        return DynamoJobQueue(self.settings.table_name, client=self.clients.dynamodb)

    @part
    def _secrets(self) -> SecretBox:
        from mailport.adapters.dynamodb_sealing_keys import DynamoSealingKeys
        from mailport.adapters.kms import KmsSecretBox

        return KmsSecretBox(
            self.settings.credentials_key_id,
            client=self.clients.kms,
            keys=DynamoSealingKeys(self.settings.table_name, client=self.clients.dynamodb),
        )

    @part
    def _queue(self) -> Any:
        from mailport.adapters.sqs import SqsFetchQueue

        return SqsFetchQueue(
            self.settings.fetch_queue_url,
            client=self.clients.sqs,
            per_message=self.settings.fetch_per_message,
        )

    @part
    def _network(self) -> Any:
        from mailport.domain.network import LOCAL_TESTS, NetworkPolicy

        return LOCAL_TESTS if self.settings.allow_private_mail_hosts else NetworkPolicy()

    @part
    def _pop3(self) -> Any:
        from mailport.adapters.pop3 import Pop3Connector

        return Pop3Connector(network=self._network)

    @part
    def _imap(self) -> ImapConnector:
        from mailport.adapters.imap import ImapConnector

        return ImapConnector(network=self._network)

    @part
    def _executions(self) -> Any:
        from mailport.adapters.stepfunctions import SfnExecutions

        return SfnExecutions(
            self.settings.migration_state_machine_arn, client=self.clients.stepfunctions
        )

    # -- what handlers use ---------------------------------------------------------------

    @part
    def directory(self) -> Directory:
        """Tenants and users."""
        from mailport.adapters.dynamodb import DynamoDirectory

        return DynamoDirectory(self.settings.table_name, client=self.clients.dynamodb)

    @part
    def mailbox(self) -> MailboxService:
        """Folders, messages, rules."""
        from mailport.usecases.mailbox import MailboxService

        return MailboxService(self._store, self._raw, copies=self._download_links)

    @part
    def _download_links(self) -> Any:
        from mailport.adapters.s3_downloads import S3DownloadLinks

        return S3DownloadLinks(
            self.settings.mail_bucket, client=self.clients.s3, signer=self.clients.s3_presign
        )

    @part
    def downloads(self) -> Downloads:
        """Links for downloads too big for the API's answer."""
        from mailport.usecases.downloads import Downloads

        return Downloads(self.mailbox, self._download_links)

    @part
    def importer(self) -> Importer:
        """Stores imported messages (every import path)."""
        from mailport.adapters.dynamodb_message_index import DynamoMessageIndex
        from mailport.usecases.importing import Importer
        from mailport.usecases.index_group import GroupIndexer

        index = DynamoMessageIndex(self.settings.table_name, client=self.clients.dynamodb)
        return Importer(self._store, self._raw, group=GroupIndexer(index))

    @part
    def uploads(self) -> UploadService:
        """.eml upload batches and their ingest."""
        from mailport.adapters.s3 import S3UploadBucket
        from mailport.usecases.uploads import UploadService

        return UploadService(
            folders=self.mailbox,
            uploads=self._uploads,
            objects=S3UploadBucket(self.settings.upload_bucket, client=self.clients.s3_presign),
            importer=self.importer,
            max_bytes=self.settings.max_message_bytes,
        )

    @part
    def accounts(self) -> AccountService:
        """POP accounts: register, change, fetch now, runs."""
        from mailport.usecases.accounts import AccountsConfig, AccountService

        return AccountService(
            self._accounts,
            self.mailbox,
            runs=self._runs,
            connector=self._pop3,
            secrets=self._secrets,
            queue=self._queue,
            config=AccountsConfig(
                ca_file=self.settings.extra_ca_file,
                microsoft_pop=(self.settings.m365_pop_host, self.settings.m365_pop_port),
                google_pop=(self.settings.google_pop_host, self.settings.google_pop_port),
            ),
            tokens=self.oauth,
        )

    @part
    def fetcher(self) -> PopFetcher:
        """One POP account's fetch."""
        from mailport.adapters.dynamodb_receipts import DynamoReceipts
        from mailport.usecases.pop_fetch import FetchConfig, PopFetcher

        return PopFetcher(
            self._accounts,
            self._pop3,
            runs=self._runs,
            receipts=DynamoReceipts(self.settings.table_name, client=self.clients.dynamodb),
            secrets=self._secrets,
            importer=self.importer,
            queue=self._queue,
            config=FetchConfig(
                max_bytes=self.settings.max_message_bytes, ca_file=self.settings.extra_ca_file
            ),
            tokens=self.oauth,
            directory=self.directory,
            console_url=self.settings.console_url,
        )

    @part
    def dispatcher(self) -> Dispatcher:
        """The 10-minute POP schedule."""
        from mailport.adapters.dynamodb_accounts import DynamoSchedule
        from mailport.usecases.dispatch import Dispatcher

        return Dispatcher(
            DynamoSchedule(self.settings.table_name, client=self.clients.dynamodb),
            self._queue,
            window_s=self.settings.schedule_window_s,
            parallelism=self.settings.dispatch_parallelism,
        )

    @part
    def oauth(self) -> OAuthService:
        """Microsoft and Google sign-in and the access tokens migrations and POP accounts
        log in with.
        """
        from mailport.adapters.dynamodb_oauth import DynamoOAuth
        from mailport.usecases.oauth import OAuthService

        oauth = OAuthService(
            DynamoOAuth(self.settings.table_name, client=self.clients.dynamodb),
            identity_providers(self.settings, self.clients.secretsmanager),
            secrets=self._secrets,
        )
        # Set here, not in __init__: the migration service needs the tokens, and a sign-in
        # resumes the migrations waiting on it.
        oauth.on_signed_in = self._resume_signed_in
        oauth.in_use = self._uses_connection
        return oauth

    def _resume_signed_in(self, owner: Owner, connection_id: str) -> object:
        # A sign-in is a migration's or a POP account's; asking both costs one query more.
        self.accounts.resume_signed_in(owner, connection_id)
        return self.migrations.resume_signed_in(owner, connection_id)

    def _uses_connection(self, owner: Owner, connection_id: str) -> bool:
        return self.migrations.uses_connection(owner, connection_id) or (
            self.accounts.uses_connection(owner, connection_id)
        )

    @part
    def migrations(self) -> MigrationService:
        """IMAP migrations: templates, preview, queue, cancel, revert, retry, delta and
        reports; the scheduler.
        """
        from mailport.adapters.dynamodb_reports import DynamoJobReports
        from mailport.adapters.dynamodb_templates import DynamoImapTemplates
        from mailport.usecases.migration import MigrationService

        return MigrationService(
            self._jobs,
            self._imap,
            queue=self._job_queue,
            reports=DynamoJobReports(self.settings.table_name, client=self.clients.dynamodb),
            templates=DynamoImapTemplates(self.settings.table_name, client=self.clients.dynamodb),
            secrets=self._secrets,
            executions=self._executions,
            config=migration_config(self.settings),
            tokens=self.oauth,
        )

    @part
    def migration_metrics(self) -> MetricsBuffer:
        """The migration worker's figures, drained into EMF after each step."""
        from mailport.adapters.metrics import MetricsBuffer

        return MetricsBuffer()

    @part
    def migration_runner(self) -> MigrationRunner:
        """The state machine's steps."""
        from mailport.adapters.dynamodb_content_ledger import DynamoContentLedger
        from mailport.adapters.dynamodb_copy_slots import DynamoCopySlots
        from mailport.adapters.dynamodb_reports import DynamoJobReports
        from mailport.adapters.ses import SesMailer
        from mailport.usecases.migration_runner import MigrationRunner

        table, dynamodb = self.settings.table_name, self.clients.dynamodb
        return MigrationRunner(
            self._jobs,
            self._imap,
            queue=self._job_queue,
            copy_slots=DynamoCopySlots(table, client=dynamodb),
            ledger=DynamoContentLedger(table, client=dynamodb),
            reports=DynamoJobReports(table, client=dynamodb),
            mailbox=self._store,
            mailbox_service=self.mailbox,
            importer=self.importer,
            secrets=self._secrets,
            executions=self._executions,
            config=migration_config(self.settings),
            directory=self.directory,
            mailer=SesMailer(client=self.clients.ses) if self.settings.notice_sender else None,
            metrics=self.migration_metrics,
            tokens=self.oauth,
        )

    @part
    def admin(self) -> AdminService:
        """The organisation-wide views of the admin API."""
        from mailport.usecases.admin import AdminService

        return AdminService(
            self._jobs,
            self._accounts,
            migration_service=self.migrations,
            account_service=self.accounts,
        )


def build(settings: Settings, *, session: Session | None = None) -> Container:
    """A container for ``settings`` (an explicit session beats the default one)."""
    return Container(settings, session)


# Where a host that runs several functions in one interpreter (the local stack) gives each
# its own container, as Lambda gives each its own process: a callable that answers the
# running function's container, or None outside one. Set once, before functions load.
_SCOPES: list[Callable[[], Container | None]] = []


def scope_containers(scope: Callable[[], Container | None]) -> None:
    """Answer ``container()`` from ``scope`` first (the local stack; idempotent per scope)."""
    if scope not in _SCOPES:
        _SCOPES.append(scope)


@cache
def _process_container() -> Container:
    return build(Settings.from_env())


def container() -> Container:
    """The process-wide container, built from the environment on first use."""
    for scope in _SCOPES:
        scoped = scope()
        if scoped is not None:
            return scoped
    return _process_container()
