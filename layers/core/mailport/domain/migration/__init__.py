"""IMAP migration jobs: what the user asked for, the plan, progress, pacing and the rules that
map another provider's folders onto the user's mailbox. Pure: no I/O.

By job, each module importing only those before it:

* ``source``: the server copied from, checked from the request (``parse_connection``);
* ``pacing``: a provider's limits (``Pace``, ``pace_for``, ``pace_wait``);
* ``folders``: where each source folder goes (``map_folders``);
* ``plan``: the per-folder plan, checkpoints and ``Counts``;
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
from mailport.domain.migration.source import (
    ConnectionRequest,
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
    "GENERIC",
    "GMAIL",
    "HOLDS_SLOT",
    "MAX_FOLDERS",
    "MAX_PORT",
    "MB",
    "MICROSOFT365",
    "MILESTONES",
    "TERMINAL",
    "ConnectionRequest",
    "Counts",
    "FolderMapping",
    "FolderPlan",
    "ImapTemplate",
    "JobError",
    "JobNotCancellable",
    "JobNotRevertible",
    "JobState",
    "MigrationJob",
    "MigrationRequest",
    "Pace",
    "PauseCause",
    "PreviewRequest",
    "SourceServer",
    "TemplateRequest",
    "UnsupportedConnection",
    "Window",
    "advance",
    "decode_raw",
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
