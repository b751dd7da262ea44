"""IMAP migration jobs: what the user asked for, the plan, progress, pacing and the rules that
map another provider's folders onto the user's mailbox. Pure: no I/O.

By job, each module importing only those before it:

* ``source``: the server copied from, checked from the request (``parse_connection``);
* ``pacing``: a provider's limits (``Pace``, ``pace_for``, ``pace_wait``);
* ``folders``: where each source folder goes (``map_folders``);
* ``plan``: the per-folder plan, checkpoints and ``Counts``;
* ``report``: what a job did not import and why; retries and delta passes;
* ``job``: ``MigrationJob``, its states and milestones.
"""

from mailport.domain.fields import MAX_PORT
from mailport.domain.migration.folders import FolderMapping, map_folders
from mailport.domain.migration.job import (
    ACTIVE,
    HOLDS_SLOT,
    MILESTONES,
    TERMINAL,
    JobError,
    JobNotCancellable,
    JobNotRevertible,
    JobState,
    MigrationJob,
    PauseCause,
    PlanTotals,
    new_job_id,
    reached_milestones,
)
from mailport.domain.migration.pacing import (
    DAY_S,
    GENERIC,
    GMAIL,
    MB,
    MICROSOFT365,
    Pace,
    Window,
    pace_for,
    pace_wait,
)
from mailport.domain.migration.plan import (
    MAX_FOLDERS,
    Counts,
    FolderPlan,
    advance,
    decode_raw,
    encode_raw,
    restart_folder,
)
from mailport.domain.migration.report import (
    DELTA_DAYS,
    RETRYABLE,
    DeltaUnavailable,
    FollowUpActive,
    ItemReason,
    JobKind,
    NotRetryable,
    PasswordRequired,
    ReportItem,
    can_delta,
    can_retry,
    counts_for,
    delta_until,
)
from mailport.domain.migration.source import (
    ConnectionRequest,
    FollowUpRequest,
    ImapTemplate,
    MigrationRequest,
    PreviewRequest,
    SourceServer,
    TemplateRequest,
    UnsupportedConnection,
    parse_connection,
    parse_template,
    signin_service,
)

__all__ = [
    "ACTIVE",
    "DAY_S",
    "DELTA_DAYS",
    "GENERIC",
    "GMAIL",
    "HOLDS_SLOT",
    "MAX_FOLDERS",
    "MAX_PORT",
    "MB",
    "MICROSOFT365",
    "MILESTONES",
    "RETRYABLE",
    "TERMINAL",
    "ConnectionRequest",
    "Counts",
    "DeltaUnavailable",
    "FolderMapping",
    "FolderPlan",
    "FollowUpActive",
    "FollowUpRequest",
    "ImapTemplate",
    "ItemReason",
    "JobError",
    "JobKind",
    "JobNotCancellable",
    "JobNotRevertible",
    "JobState",
    "MigrationJob",
    "MigrationRequest",
    "NotRetryable",
    "Pace",
    "PasswordRequired",
    "PauseCause",
    "PlanTotals",
    "PreviewRequest",
    "ReportItem",
    "SourceServer",
    "TemplateRequest",
    "UnsupportedConnection",
    "Window",
    "advance",
    "can_delta",
    "can_retry",
    "counts_for",
    "decode_raw",
    "delta_until",
    "encode_raw",
    "map_folders",
    "new_job_id",
    "pace_for",
    "pace_wait",
    "parse_connection",
    "parse_template",
    "reached_milestones",
    "restart_folder",
    "signin_service",
]
