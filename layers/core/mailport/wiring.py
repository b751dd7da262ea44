"""Everything wired once, at cold start, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import boto3

from mailport.adapters.dynamodb import DynamoDirectory
from mailport.adapters.dynamodb_accounts import DynamoAccounts
from mailport.adapters.dynamodb_mailbox import DynamoMailbox
from mailport.adapters.dynamodb_migrations import DynamoMigrations
from mailport.adapters.dynamodb_oauth import DynamoOAuth
from mailport.adapters.imap import ImapConnector
from mailport.adapters.kms import KmsSecretBox
from mailport.adapters.metrics import MetricsBuffer
from mailport.adapters.msal_identity import MsalMicrosoft, SecretsManagerAppCredentials
from mailport.adapters.pop3 import Pop3Connector
from mailport.adapters.s3 import S3RawStore, S3UploadBucket
from mailport.adapters.ses import SesMailer
from mailport.adapters.sqs import SqsFetchQueue
from mailport.adapters.stepfunctions import SfnExecutions
from mailport.domain.network import LOCAL_TESTS, NetworkPolicy
from mailport.ports import Directory
from mailport.settings import Settings
from mailport.usecases.accounts import AccountsConfig, AccountService
from mailport.usecases.admin import AdminService
from mailport.usecases.dispatch import Dispatcher
from mailport.usecases.importing import Importer
from mailport.usecases.mailbox import MailboxService
from mailport.usecases.migration import MigrationConfig, MigrationService
from mailport.usecases.migration_runner import MigrationRunner
from mailport.usecases.oauth import OAuthService
from mailport.usecases.pop_fetch import FetchConfig, PopFetcher
from mailport.usecases.uploads import UploadService


@dataclass(frozen=True, slots=True)
class Container:
    """The adapters and use-cases a handler may use, built from one ``Settings``."""

    settings: Settings
    directory: Directory
    mailbox: MailboxService
    importer: Importer
    uploads: UploadService
    accounts: AccountService
    fetcher: PopFetcher
    dispatcher: Dispatcher
    migrations: MigrationService
    migration_runner: MigrationRunner
    migration_metrics: MetricsBuffer
    oauth: OAuthService
    admin: AdminService


def migration_config(settings: Settings) -> MigrationConfig:
    """The migration limits from the settings."""
    return MigrationConfig(
        max_running=settings.migration_max_running,
        max_per_tenant=settings.migration_max_per_tenant,
        chunk_messages=settings.migration_chunk_messages,
        chunks_per_execution=settings.migration_chunks_per_execution,
        max_bytes=settings.max_message_bytes,
        ca_file=settings.extra_ca_file,
        daily_bytes_override=settings.migration_daily_bytes,
        notice_sender=settings.notice_sender,
        microsoft_host=settings.m365_imap_host,
        microsoft_port=settings.m365_imap_port,
    )


def identity_provider(
    settings: Settings, session: boto3.session.Session | None = None
) -> MsalMicrosoft:
    """Microsoft's identity platform, with the app registration from Secrets Manager."""
    credentials = (
        SecretsManagerAppCredentials(settings.m365_app_secret_id, session=session)
        if settings.m365_app_secret_id
        else None
    )
    return MsalMicrosoft(
        credentials,
        authority=settings.m365_authority,
        ca_file=settings.oauth_ca_file,
        # Entra's instance discovery knows Microsoft's hosts only, not a local fake's.
        instance_discovery=not settings.is_local,
    )


def build(settings: Settings, *, session: boto3.session.Session | None = None) -> Container:
    """Wire the adapters for ``settings`` (an explicit session beats the default one)."""
    session = session or boto3.session.Session()
    dynamodb = session.client("dynamodb")  # one client for every adapter on the table
    store = DynamoMailbox(settings.table_name, client=dynamodb)
    raw = S3RawStore(settings.mail_bucket, session=session)
    mailbox = MailboxService(store, raw)
    importer = Importer(store, raw)
    accounts = DynamoAccounts(settings.table_name, client=dynamodb)
    secrets = KmsSecretBox(settings.credentials_key_id, session=session)
    queue = SqsFetchQueue(settings.fetch_queue_url, session=session)
    network = LOCAL_TESTS if settings.allow_private_mail_hosts else NetworkPolicy()
    connector = Pop3Connector(network=network)
    imap = ImapConnector(network=network)
    migrations = DynamoMigrations(settings.table_name, client=dynamodb)
    executions = SfnExecutions(settings.migration_state_machine_arn, session=session)
    config = migration_config(settings)
    migration_metrics = MetricsBuffer()
    directory = DynamoDirectory(settings.table_name, session=session)
    oauth = OAuthService(
        DynamoOAuth(settings.table_name, client=dynamodb),
        identity_provider(settings, session),
        secrets=secrets,
    )
    migration_service = MigrationService(
        migrations, imap, secrets=secrets, executions=executions, config=config, tokens=oauth
    )
    oauth.on_signed_in = migration_service.resume_signed_in
    oauth.in_use = migration_service.uses_connection
    account_service = AccountService(
        accounts,
        mailbox,
        connector=connector,
        secrets=secrets,
        queue=queue,
        config=AccountsConfig(ca_file=settings.extra_ca_file),
    )
    return Container(
        settings=settings,
        directory=directory,
        mailbox=mailbox,
        importer=importer,
        uploads=UploadService(
            folders=mailbox,
            uploads=store,
            objects=S3UploadBucket(settings.upload_bucket, session=session),
            importer=importer,
            max_bytes=settings.max_message_bytes,
        ),
        accounts=account_service,
        fetcher=PopFetcher(
            accounts,
            connector,
            secrets=secrets,
            importer=importer,
            queue=queue,
            config=FetchConfig(
                max_bytes=settings.max_message_bytes, ca_file=settings.extra_ca_file
            ),
        ),
        dispatcher=Dispatcher(
            accounts,
            queue,
            window_s=settings.schedule_window_s,
            parallelism=settings.dispatch_parallelism,
        ),
        migrations=migration_service,
        migration_runner=MigrationRunner(
            migrations,
            imap,
            mailbox=store,
            mailbox_service=mailbox,
            importer=importer,
            secrets=secrets,
            executions=executions,
            config=config,
            directory=directory,
            mailer=SesMailer(session=session) if settings.notice_sender else None,
            metrics=migration_metrics,
            tokens=oauth,
        ),
        migration_metrics=migration_metrics,
        oauth=oauth,
        admin=AdminService(
            migrations,
            accounts,
            migration_service=migration_service,
            account_service=account_service,
        ),
    )


@cache
def container() -> Container:
    """The process-wide container, built from the environment on first use."""
    return build(Settings.from_env())
