"""The small interfaces the domain needs from the outside world, one job each, in modules by
area. Adapters implement them; the domain never imports an adapter. Every port is
re-exported here: ``from mailport.ports import X`` is how code names one.

Each module imports the domain's types for annotations only: importing every domain module at
run time, for names no code here evaluates, cost each handler that imports a port ~30 ms of
cold start.
"""

from mailport.ports.identity import AccessTokens, Directory, IdentityProvider, OAuthStore
from mailport.ports.infrastructure import Mailer, SecretBox
from mailport.ports.mailbox import Mailbox, MessageIndex, RawStore, UploadObjects, Uploads
from mailport.ports.migration import (
    ContentLedger,
    CopySlots,
    Executions,
    ImapConnector,
    ImapMailbox,
    ImapTemplates,
    JobQueue,
    JobReports,
    JobStore,
    MigrationMetrics,
)
from mailport.ports.pop import (
    AccountStore,
    FetchQueue,
    PopConnector,
    PopMailbox,
    Receipts,
    RunLedger,
    Schedule,
)

__all__ = [
    "AccessTokens",
    "AccountStore",
    "ContentLedger",
    "CopySlots",
    "Directory",
    "Executions",
    "FetchQueue",
    "IdentityProvider",
    "ImapConnector",
    "ImapMailbox",
    "ImapTemplates",
    "JobQueue",
    "JobReports",
    "JobStore",
    "Mailbox",
    "Mailer",
    "MessageIndex",
    "MigrationMetrics",
    "OAuthStore",
    "PopConnector",
    "PopMailbox",
    "RawStore",
    "Receipts",
    "RunLedger",
    "Schedule",
    "SecretBox",
    "UploadObjects",
    "Uploads",
]
