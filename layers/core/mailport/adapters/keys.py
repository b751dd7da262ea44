"""The single table's key format: every partition and sort key, and the index keys, built and
parsed here and nowhere else (a test fails if a key prefix is written anywhere else).

Items (``PK`` / ``SK``; ``<t>`` tenant, ``<u>`` user):

* ``TENANT#<t>`` / ``TENANT`` — the tenant; ``TENANT#<t>`` / ``USER#<u>`` — its users;
  ``TENANT#<t>`` / ``IMAPTPL#<id>`` — its IMAP server templates.
* ``USER#<t>#<u>`` — everything a user owns:

  * ``FOLDER#<id>`` (counters), ``FNAME#<parent or ->#<casefolded name>`` (sibling names are
    unique), ``FP#<folder>#<fingerprint>`` (the same content once per folder), ``MSG#<id>``
    (the index; ``GSI1PK = FOLDER#<t>#<u>#<folder>``, ``GSI1SK = <date>#<id>``, newest first;
    a migration's messages also ``GSI2PK = JOBMSG#<t>#<u>#<job>``, ``GSI2SK = <id>``),
    ``RULES``;
  * ``UPLOAD#<batch>`` and ``UPLOAD#<batch>#F#<nnnn>`` — an upload batch and its files;
  * ``ACCOUNT#<id>`` — a POP account; fetched automatically it carries ``GSI2PK = DUE#<minute>``,
    ``GSI2SK = <second of window>#<t>#<u>#<id>`` (the dispatcher's sparse index);
    ``ACCOUNT#<id>#CHECKED`` — when an idle poll last checked it (TTL 90 days);
    ``ACCOUNTS`` — how many accounts the user has; ``RUN#<account>#<run>`` — run history;
  * ``JOB#<id>`` — a migration job; queued it carries ``GSI1PK = MIGQ``, from its start until
    its execution's first save ``GSI1PK = MIGSTART``, with ``GSI1SK = <created>#<t>#<u>#<id>``;
  * ``OAUTH#<id>`` — a Microsoft 365 connection.
* ``POPSEEN#<t>#<u>#<account>`` / ``U#<uidl>`` or ``F#<fingerprint>`` — what a POP account has
  dealt with.
* ``JOBFP#<t>#<u>#<job>`` / ``<fingerprint>`` — contents a Gmail-style job imported.
* ``JOBPLAN#<t>#<u>#<job>`` / ``<folder index, 5 digits>`` — one folder of a job's plan, with
  its checkpoint (the job item holds only their totals); ``… / CREATED`` — the folders the job
  made (what a rollback removes).
* ``JOBREPORT#<t>#<u>#<job>`` / ``<folder index, 5 digits>#<UID, 10 digits>`` — a message the
  job did not import, and why (its per-item report).
* ``MIGRUN`` / ``COUNT`` and ``MIGRUN#<t>`` / ``COUNT`` — running jobs, overall and per tenant.
* ``MIGCOPY`` / ``SLOT#<n>`` — copy slots; ``MIGCOPY`` / ``WAIT#<job>`` — jobs waiting for one.
* ``OAUTHFLOW#<state>`` / ``FLOW`` — a sign-in in progress.
* ``SEALKEY`` / ``CURRENT`` — the data key secrets are sealed with now (KMS-encrypted; each
  tenant's key is derived from it).
* Jobs and accounts carry ``GSI3PK = TENANT#<t>#JOBS`` or ``TENANT#<t>#ACCOUNTS``,
  ``GSI3SK = <created>#<u>#<id>``: a tenant's lists for its admins (GSI3 projects keys only).
"""

from __future__ import annotations

from mailport.domain.accounts import schedule_slot
from mailport.domain.mailbox import Owner

# The indexes: GSI1 is overloaded (a folder's messages; the migration queue), GSI2 is sparse
# (a job's messages; the POP schedule), GSI3 lists a tenant's jobs and accounts.
GSI1, GSI2, GSI3 = "GSI1", "GSI2", "GSI3"

# -- tenants and users (the directory) ------------------------------------------------------
TENANT = "TENANT"


def tenant_pk(tenant_id: str) -> str:
    """Partition of everything a tenant owns at tenant level."""
    return f"TENANT#{tenant_id}"


def member_sk(user_id: str) -> str:
    """A user's item in the tenant's partition."""
    return f"USER#{user_id}"


def template_sk(template_id: str) -> str:
    """An IMAP server template in the tenant's partition."""
    return f"IMAPTPL#{template_id}"


TEMPLATE_PREFIX = template_sk("")

# -- a user's partition -------------------------------------------------------------------


def user_pk(owner: Owner) -> str:
    """Partition of everything one user owns."""
    return f"USER#{owner.tenant_id}#{owner.user_id}"


def user_prefix(tenant_id: str) -> str:
    """How every user partition of the tenant starts."""
    return user_pk(Owner(tenant_id, ""))


def owner_of(pk: str) -> Owner:
    """The owner of a user partition."""
    _, tenant_id, user_id = pk.split("#", 2)
    return Owner(tenant_id, user_id)


def folder_sk(folder_id: str) -> str:
    """A folder (with its counters)."""
    return f"FOLDER#{folder_id}"


FOLDER_PREFIX = folder_sk("")


def folder_id_of(sk: str) -> str:
    """The folder id of a folder's sort key."""
    return sk.removeprefix(FOLDER_PREFIX)


def name_lock_sk(parent_id: str | None, name: str) -> str:
    """The lock that keeps sibling folder names unique, regardless of case (as most mail
    clients do).
    """
    return f"FNAME#{parent_id or '-'}#{name.casefold()}"


def fingerprint_sk(folder_id: str, fingerprint: str) -> str:
    """The item that makes one content land once per folder."""
    return f"FP#{folder_id}#{fingerprint}"


def message_sk(message_id: str) -> str:
    """A message's index item."""
    return f"MSG#{message_id}"


def message_id_of(sk: str) -> str:
    """The message id of a message's sort key."""
    return sk.removeprefix(message_sk(""))


RULES = "RULES"


def folder_partition(owner: Owner, folder_id: str) -> str:
    """GSI1 partition of a folder's messages."""
    return f"FOLDER#{owner.tenant_id}#{owner.user_id}#{folder_id}"


def folder_order(when: str, message_id: str) -> str:
    """GSI1 sort key of a message in its folder (``when``: UTC, seconds)."""
    return f"{when}#{message_id}"


def job_partition(owner: Owner, job_id: str) -> str:
    """GSI2 partition of the messages a migration job stored."""
    return f"JOBMSG#{owner.tenant_id}#{owner.user_id}#{job_id}"


# -- uploads --------------------------------------------------------------------------------


def batch_sk(batch_id: str) -> str:
    """An upload batch; its files' sort keys start with it too."""
    return f"UPLOAD#{batch_id}"


def file_sk(batch_id: str, index: int) -> str:
    """One file of an upload batch."""
    return f"{files_prefix(batch_id)}{index:04d}"


def files_prefix(batch_id: str) -> str:
    """How the sort keys of a batch's files start."""
    return f"{batch_sk(batch_id)}#F#"


def file_index_of(sk: str) -> int:
    """The file's index of a file's sort key."""
    return int(sk.rsplit("#", 1)[1])


# -- POP accounts, runs, receipts, schedule -------------------------------------------------
ACCOUNTS = "ACCOUNTS"  # the user's account count; also the GSI3 kind


def account_sk(account_id: str) -> str:
    """A POP account."""
    return f"ACCOUNT#{account_id}"


ACCOUNT_PREFIX = account_sk("")


def checked_sk(account_id: str) -> str:
    """When an idle poll last checked the account (a small item of its own: a poll that finds
    nothing writes this, in a batch, instead of the account item). It sorts right after the
    account, so listing the accounts reads it in the same query.
    """
    return f"{account_sk(account_id)}#CHECKED"


def account_range(account_id: str) -> tuple[str, str]:
    """The sort keys of an account and its own small items (``checked_sk``), for a BETWEEN:
    account ids are letters and digits, which sort after ``#``, so no other account is in it.
    """
    return account_sk(account_id), f"{account_sk(account_id)}#~"


def runs_prefix(account_id: str) -> str:
    """How the sort keys of an account's runs start."""
    return f"RUN#{account_id}#"


def run_sk(account_id: str, run_id: str) -> str:
    """A recorded run (run ids sort by time)."""
    return f"{runs_prefix(account_id)}{run_id}"


def run_id_of(sk: str) -> str:
    """The run id of a run's sort key."""
    return sk.rsplit("#", 1)[1]


def seen_pk(owner: Owner, account_id: str) -> str:
    """Partition of an account's receipts."""
    return f"POPSEEN#{owner.tenant_id}#{owner.user_id}#{account_id}"


def uidl_sk(uidl: str) -> str:
    """A receipt of a message by its UIDL."""
    return f"U#{uidl}"


def content_sk(fingerprint: str) -> str:
    """A receipt of a content (servers without UIDL)."""
    return f"F#{fingerprint}"


def receipt_of(sk: str) -> tuple[bool, str]:
    """(whether it is a UIDL receipt, the UIDL or fingerprint) of a receipt's sort key."""
    kind, key = sk.split("#", 1)
    return kind == "U", key


def due_partition(minute: int) -> str:
    """GSI2 partition of the accounts whose slot falls in ``minute`` of the window."""
    return f"DUE#{minute}"


def due_keys(owner: Owner, account_id: str) -> dict[str, str]:
    """The sparse GSI2 keys of an account fetched automatically."""
    slot = schedule_slot(account_id)
    return {
        "GSI2PK": due_partition(slot // 60),
        "GSI2SK": f"{slot:03d}#{owner.tenant_id}#{owner.user_id}#{account_id}",
    }


def due_of(gsi2sk: str) -> tuple[Owner, str, int]:
    """(owner, account id, second of the window) of a schedule entry's sort key."""
    second, tenant_id, user_id, account_id = gsi2sk.split("#", 3)
    return Owner(tenant_id, user_id), account_id, int(second)


# -- migrations -----------------------------------------------------------------------------
QUEUE = "MIGQ"
STARTING = "MIGSTART"
RUNNING = "MIGRUN"
COPYING = "MIGCOPY"
COUNT = "COUNT"
JOBS = "JOBS"  # the GSI3 kind


def job_sk(job_id: str) -> str:
    """A migration job."""
    return f"JOB#{job_id}"


JOB_PREFIX = job_sk("")


def queue_order(created: str, owner: Owner, job_id: str) -> str:
    """GSI1 sort key of a job in the queue or the starting list (registration order)."""
    return f"{created}#{owner.tenant_id}#{owner.user_id}#{job_id}"


def queued_of(gsi1sk: str) -> tuple[Owner, str]:
    """(owner, job id) of a queue entry's sort key."""
    _, tenant_id, user_id, job_id = gsi1sk.rsplit("#", 3)
    return Owner(tenant_id, user_id), job_id


def running_pk(tenant_id: str | None = None) -> str:
    """Partition of the running-jobs counter: overall, or the tenant's."""
    return f"{RUNNING}#{tenant_id}" if tenant_id is not None else RUNNING


SLOT_PREFIX = "SLOT#"


def slot_sk(n: int) -> str:
    """Copy slot ``n``."""
    return f"{SLOT_PREFIX}{n}"


def slot_of(sk: str) -> int | None:
    """The slot number of a copy slot's sort key; None for a waiter's."""
    return int(sk.removeprefix(SLOT_PREFIX)) if sk.startswith(SLOT_PREFIX) else None


def waiter_sk(holder: str) -> str:
    """A job waiting in line for a copy slot."""
    return f"WAIT#{holder}"


def contents_pk(owner: Owner, job_id: str) -> str:
    """Partition of the contents a job imported (sort key: the fingerprint)."""
    return f"JOBFP#{owner.tenant_id}#{owner.user_id}#{job_id}"


def plan_pk(owner: Owner, job_id: str) -> str:
    """Partition of a job's plan: one item per source folder."""
    return f"JOBPLAN#{owner.tenant_id}#{owner.user_id}#{job_id}"


def plan_sk(folder_index: int) -> str:
    """A folder of the plan, in the plan's order."""
    return f"{folder_index:05d}"


CREATED = "CREATED"  # in a job's plan partition: the folders the job made (after the folders)


def report_pk(owner: Owner, job_id: str) -> str:
    """Partition of a job's per-item report."""
    return f"JOBREPORT#{owner.tenant_id}#{owner.user_id}#{job_id}"


def report_sk(folder_index: int, uid: int) -> str:
    """A report item: folder, then UID order (UIDs are at most 2^32 - 1: ten digits)."""
    return f"{folder_index:05d}#{uid:010d}"


def report_folder_prefix(folder_index: int) -> str:
    """How the sort keys of one folder's report items start."""
    return f"{folder_index:05d}#"


def is_report_sk(text: str) -> bool:
    """Whether ``text`` has a report item's sort key format (a page's cursor is one)."""
    folder, _, uid = text.partition("#")
    return len(folder) == 5 and len(uid) == 10 and folder.isdigit() and uid.isdigit()  # noqa: PLR2004


# -- OAuth ----------------------------------------------------------------------------------


def flow_key(state: str) -> tuple[str, str]:
    """(PK, SK) of a sign-in in progress."""
    return f"OAUTHFLOW#{state}", "FLOW"


def connection_sk(connection_id: str) -> str:
    """A Microsoft 365 connection."""
    return f"OAUTH#{connection_id}"


CONNECTION_PREFIX = connection_sk("")

# -- sealing secrets ------------------------------------------------------------------------
SEALING_KEY = ("SEALKEY", "CURRENT")  # (PK, SK) of the current sealing key

# -- a tenant's lists (GSI3) ----------------------------------------------------------------


def tenant_partition(kind: str, tenant_id: str) -> str:
    """GSI3 partition of a tenant's jobs or accounts (``JOBS``, ``ACCOUNTS``)."""
    return f"{tenant_pk(tenant_id)}#{kind}"


def tenant_keys(
    kind: str, tenant_id: str, created: str, user_id: str, item_id: str
) -> dict[str, str]:
    """The sparse GSI3 keys that list a tenant's jobs or accounts for its admins, newest
    first (written once, at creation; GSI3 projects keys only).
    """
    return {"GSI3PK": tenant_partition(kind, tenant_id), "GSI3SK": f"{created}#{user_id}#{item_id}"}
