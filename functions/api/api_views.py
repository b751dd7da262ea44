"""The API's answers, shaped from the use-cases' domain objects: one function per shape of
``api_models`` (mypy checks each against it; tests/e2e check the bytes against openapi.json).

Everything here is typed through ``TYPE_CHECKING`` imports only: at run time this module
imports nothing (no pydantic, no ``domain.accounts``), so it costs the cold start nothing.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence

    from api_models import (
        Folder,
        ImapTemplate,
        ImapTemplateList,
        Me,
        Message,
        MessagePage,
        MessageSearch,
        Migration,
        MigrationCounts,
        MigrationList,
        MigrationPreview,
        MigrationReport,
        OAuthConnection,
        OAuthConnectionList,
        OrgMigration,
        OrgMigrationPage,
        ReportLine,
        SigninProviderList,
        Source,
        Upload,
        UploadFile,
        _MigrationFolder,
    )
    from api_models_import import (
        Account,
        AccountList,
        OrgAccount,
        OrgAccountPage,
        PresetList,
        _Preset,
    )
    from api_models_import import FetchRun as FetchRunShape

    from mailport.catalogue import Words
    from mailport.domain.accounts import FetchRun, OAuthProvider, PopAccount
    from mailport.domain.mailbox import Folder as DomainFolder
    from mailport.domain.mailbox import StoredMessage
    from mailport.domain.message import Address as DomainAddress
    from mailport.domain.migration import Counts, FolderPlan, ReportItem, SourceServer
    from mailport.domain.migration import ImapTemplate as DomainTemplate
    from mailport.domain.oauth import OAuthConnection as DomainConnection
    from mailport.domain.uploads import UploadBatch
    from mailport.domain.uploads import UploadFile as DomainUploadFile
    from mailport.usecases.admin import AccountPage, JobPage
    from mailport.usecases.mailbox import MessagePage as DomainPage
    from mailport.usecases.mailbox import SearchPage
    from mailport.usecases.me import MeView
    from mailport.usecases.migration import JobReport, Preview, ReportPage


def value(member: Enum | None) -> Any:
    """An enum's wire value (the shapes name the allowed values as Literals; the enums hold
    the same ones, which openapi.json's checks in tests/e2e hold to).
    """
    return None if member is None else member.value


def iso(moment: dt.datetime | None) -> str | None:
    """A time as the API writes it, or None."""
    return moment.isoformat() if moment else None


def me(view: MeView) -> Me:
    """``GET /v1/me``."""
    return {
        "user": {"id": view.user_id, "email": view.email, "display_name": view.display_name},
        "tenant": {"id": view.tenant_id, "name": view.tenant_name},
        "plan": value(view.plan),
        "admin": view.admin,
        "features": sorted(value(f) for f in view.features),
        "language": "ja" if view.language == "ja" else "en" if view.language == "en" else None,
    }


# ---------------------------------------------------------------- mailbox
def folder(f: DomainFolder) -> Folder:
    """A folder with its counts."""
    return {
        "id": f.folder_id,
        "name": f.name,
        "parent_id": f.parent_id,
        "system": value(f.system),
        "total": f.total,
        "unread": f.unread,
        "size": f.size,
    }


def addresses(found: tuple[DomainAddress, ...]) -> list[Any]:
    """Mailboxes of an address header, as ``Address`` shapes."""
    return [{"name": a.name, "email": a.email} for a in found]


def message(m: StoredMessage) -> Message:
    """A message in lists and views."""
    s = m.summary
    return {
        "id": m.message_id,
        "folder_id": m.folder_id,
        "subject": s.subject,
        "from": addresses(s.from_),
        "to": addresses(s.to),
        "cc": addresses(s.cc),
        "date": iso(s.date),
        "received_at": m.received_at.isoformat(),
        "size": s.size,
        "attachments": list(s.attachment_names),
        "has_attachments": s.has_attachments,
        "flags": {"seen": m.flags.seen, "flagged": m.flags.flagged, "answered": m.flags.answered},
        "icon": m.icon,
        "source": {"type": value(m.source.type), "id": m.source.id},
        "job_id": m.job_id,
        "message_id_header": m.header_message_id,
        "sha256": m.sha256,
    }


def message_page(page: DomainPage) -> MessagePage:
    """``GET /v1/folders/{id}/messages``."""
    return {
        "folder": folder(page.folder),
        "messages": [message(m) for m in page.messages],
        "next_cursor": page.cursor,
    }


def message_search(page: SearchPage) -> MessageSearch:
    """``GET /v1/messages``."""
    return {"messages": [message(m) for m in page.messages], "next_cursor": page.cursor}


# ---------------------------------------------------------------- uploads
def upload_file(f: DomainUploadFile) -> UploadFile:
    """A file's state in its batch."""
    return {
        "index": f.index,
        "name": f.name,
        "size": f.size,
        "status": value(f.status),
        "reason": f.reason or None,
        "message": _shown(f.message_words, f.message) or None,
        "message_id": f.message_id or None,
    }


def upload(batch: UploadBatch, posts: Mapping[int, Any] | None = None) -> Upload:
    """``GET /v1/uploads/{id}``; with ``posts`` (``POST /v1/uploads``), each file's
    presigned POST (None: refused up front).
    """
    statuses = [value(f.status) for f in batch.files]
    files = [upload_file(f) for f in batch.files]
    if posts is not None:
        for shown in files:
            shown["upload"] = posts.get(shown["index"])
    return {
        "id": batch.batch_id,
        "folder_id": batch.folder_id,
        "apply_rules": batch.apply_rules,
        "created_at": batch.created_at.isoformat(),
        "done": "pending" not in statuses,
        "counts": {
            "pending": statuses.count("pending"),
            "stored": statuses.count("stored"),
            "duplicate": statuses.count("duplicate"),
            "rejected": statuses.count("rejected"),
        },
        "files": files,
    }


# ---------------------------------------------------------------- POP accounts
def presets(oauth_ready: Collection[OAuthProvider]) -> PresetList:
    """``GET /v1/account-presets``: every provider the form knows, then manual entry, each
    with how it signs in; ``oauth_ready``: the providers this deployment has an app
    registration for (the others' sign-in can't be offered).
    """
    # Imported here, as the container imports the accounts use-case: domain.accounts is
    # ~20 ms of this function's cold start, and most requests never touch an account.
    from mailport.catalogue import say  # noqa: PLC0415
    from mailport.domain.accounts import MANUAL_SIGNIN, PRESETS  # noqa: PLC0415

    listed: list[_Preset] = [
        {
            "id": value(p.preset),
            "label": p.label,
            "host": p.host,
            "port": p.port,
            "ssl": p.ssl,
            "signin": [value(m) for m in p.signin],
            "oauth_provider": value(p.provider),
            "oauth_available": p.provider is not None and p.provider in oauth_ready,
            "help_url": p.help_url,
        }
        for p in PRESETS.values()
    ]
    listed.append(
        {
            "id": "manual",
            "label": _shown(say("account.preset_manual"), ""),
            "host": None,
            "port": None,
            "ssl": True,
            "signin": [value(m) for m in MANUAL_SIGNIN],
            "oauth_provider": None,
            "oauth_available": False,
            "help_url": None,
        }
    )
    return {"presets": listed}


def account(a: PopAccount, now: dt.datetime) -> Account:
    """An account with its fetch status (no password, ever)."""
    s = a.state
    running = s.running(now)
    return {
        "id": a.account_id,
        "preset": value(a.preset),
        "host": a.host,
        "port": a.port,
        "ssl": a.ssl,
        "username": a.username,
        "folder_id": a.folder_id,
        "icon": a.icon,  # type: ignore[typeddict-item]  # checked on input (ICONS)
        "keep_original": a.keep_original,
        "apply_rules": a.apply_rules,
        "auto_fetch": a.auto_fetch,
        "created_at": a.created_at.isoformat(),
        "status": {
            "state": "running" if running else ("idle" if a.auto_fetch else "off"),
            "failures_in_a_row": s.failures,
            "running_run_id": s.running_run_id if running else None,
            "last_run_id": s.last_run_id or None,
            "last_status": s.last_status or None,  # type: ignore[typeddict-item]  # a RunStatus
            "last_error": (
                {"code": s.last_error_code, "message": _shown(s.last_error_words, s.last_error)}
                if s.last_error_code
                else None
            ),
            "last_checked_at": iso(s.last_checked_at),
            "last_success_at": iso(s.last_success_at),
            "next_run_at": iso(a.next_run_at()),
            "disabled_reason": _shown(s.disabled_words, s.disabled_reason) or None,
            "paused_for": "signin" if s.paused_for else None,
        },
        "connection_id": a.connection_id or None,
    }


def accounts(listed: Sequence[PopAccount], now: dt.datetime) -> AccountList:
    """``GET /v1/accounts``."""
    return {"accounts": [account(a, now) for a in listed]}


def org_account(a: PopAccount, user_id: str, now: dt.datetime) -> OrgAccount:
    """An account as the organisation's admins see it: with its user."""
    return {**account(a, now), "user_id": user_id}


def org_accounts(page: AccountPage, now: dt.datetime) -> OrgAccountPage:
    """``GET /v1/admin/accounts``."""
    return {
        "accounts": [org_account(a, o.user_id, now) for o, a in page.accounts],
        "next_cursor": page.next_cursor,
    }


def run(r: FetchRun) -> FetchRunShape:
    """One fetch of an account."""
    c = r.counts
    return {
        "id": r.run_id,
        "account_id": r.account_id,
        "trigger": value(r.trigger),
        "status": value(r.status),
        "started_at": r.started_at.isoformat(),
        "finished_at": iso(r.finished_at),
        "fetched": c.fetched,
        "already_present": c.already_present,
        "skipped_oversize": c.skipped_oversize,
        "rejected": c.rejected,
        "deleted": c.deleted,
        "more": r.more,
        "error": (
            {"code": r.error_code, "message": _shown(r.error_words, r.error)}
            if r.error_code
            else None
        ),
    }


# ---------------------------------------------------------------- IMAP and Microsoft 365
def imap_template(t: DomainTemplate) -> ImapTemplate:
    """An admin's IMAP server template."""
    return {"id": t.template_id, "name": t.name, "host": t.host, "port": t.port, "ssl": t.ssl}


def imap_templates(listed: Sequence[DomainTemplate]) -> ImapTemplateList:
    """``GET /v1/imap-templates``."""
    return {"templates": [imap_template(t) for t in listed]}


def source(s: SourceServer) -> Source:
    """The mailbox a migration copies from (no secret)."""
    return {
        "type": s.kind,  # type: ignore[typeddict-item]  # parse_connection makes only these
        "host": s.host,
        "port": s.port,
        "ssl": s.ssl,
        "username": s.username,
        "template_id": s.template_id,
        "connection_id": s.connection_id,
    }


def preview(p: Preview) -> MigrationPreview:
    """``POST /v1/migrations/preview``: the dry run."""
    return {
        "source": source(p.server),
        "folders": [
            {
                "name": s.mapping.source.name,
                "target": s.mapping.target_label,
                "skipped": s.mapping.skip_reason,
                "messages": s.folder.messages,
                "bytes": s.bytes,
                "oversize": s.oversize,
            }
            for s in p.folders
        ],
        "total_messages": p.total_messages,
        "total_bytes": p.total_bytes,
        "oversize": p.oversize,
        "estimated_seconds": p.estimated_seconds,
        "folders_total": p.folders_total,
        "next_cursor": p.next_cursor,
        "pace": {
            "profile": p.pace.name,  # type: ignore[typeddict-item]  # pace_for's profiles
            "daily_bytes": p.pace.daily_bytes,
            "max_connections": p.pace.max_connections,
        },
    }


def migration_counts(c: Counts) -> MigrationCounts:
    """A job's or a folder's outcome counts."""
    return {
        "imported": c.imported,
        "already_present": c.already_present,
        "skipped_oversize": c.skipped_oversize,
        "failed": c.failed,
    }


def _plan_folder(f: FolderPlan) -> _MigrationFolder:
    return {
        "name": f.name,
        "target": f.target_label,
        "target_id": f.target_id,
        "skipped": f.skip_reason,
        "messages": f.messages,
        "bytes": f.bytes,
        "oversize": f.oversize,
        "done": f.done,
        "progress": {"messages": f.counts.handled, "bytes": f.counts.bytes},
        "counts": migration_counts(f.counts),
        "renumbered": f.restarts,
    }


def migration(report: JobReport, *, folders: bool = True) -> Migration:
    """A job: state, queue position, progress per folder and in total, ETA, counts."""
    job, counts = report.job, report.job.counts
    return {
        "id": job.job_id,
        "state": value(job.state),
        "source": source(job.server),
        "created_at": job.created_at.isoformat(),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "paused_until": iso(job.paused_until),
        # Whose pause it is, while the job is paused (a cause left over from before is not).
        "paused_by": value(job.paused_by)
        if job.paused_by and value(job.state) == "paused"
        else None,
        "queue_position": report.queue_position,
        "progress": {
            "percent": job.percent(),
            "messages": counts.handled,
            "total_messages": job.total_messages,
            "bytes": counts.bytes,
            "total_bytes": job.total_bytes,
            "eta_seconds": report.eta_seconds,
        },
        "counts": migration_counts(counts),
        "folders": [_plan_folder(f) for f in job.plan] if folders else [],
        "pace": job.pace_name,  # type: ignore[typeddict-item]  # a Pace's profile
        "cancel_requested": job.cancel_requested,
        "error": (
            {"code": job.error.code, "message": _shown(job.error.words, job.error.message)}
            if job.error
            else None
        ),
        "rollback_incomplete": job.rollback_incomplete,
        "removed": job.removed,
        "kept_folders": job.kept_folders,
        "kind": value(job.kind),
        "origin_id": job.origin_id,
        "retry_available": report.retry_available,
        "delta_until": iso(report.delta_until),
    }


def report_line(item: ReportItem, language: str) -> ReportLine:
    """One message a job did not import, and why (in the caller's language)."""
    return {
        "folder": item.folder,
        "uid": item.uid,
        "reason": value(item.reason),
        "reason_text": _reason_words(value(item.reason), language, item.limit),
        "messages": item.messages,
        "size": item.size,
        "limit": item.limit,
        "subject": item.subject,
        "sender": item.sender,
        "date": iso(item.date),
        "retryable": item.retryable,
    }


def _reason_words(code: str, language: str, limit: int | None) -> str:
    from mailport.catalogue import reason_words  # noqa: PLC0415 (see the module's docstring)

    return reason_words(code, language, limit)


def migration_report(page: ReportPage, language: str) -> MigrationReport:
    """``GET /v1/migrations/{job_id}/report``: a page of the per-item report."""
    counts = page.job.counts
    return {
        "job_id": page.job.job_id,
        "counts": migration_counts(counts),
        "not_imported": counts.skipped_oversize + counts.failed,
        "items": [report_line(i, language) for i in page.items],
        "next_cursor": page.next_cursor,
    }


CSV_COLUMNS = (
    "folder",
    "uid",
    "reason",
    "reason_text",
    "messages",
    "size",
    "limit",
    "subject",
    "sender",
    "date",
    "retryable",
)


def report_csv(page: ReportPage, language: str, *, header: bool) -> str:
    """The same page as CSV (RFC 4180): a cell a spreadsheet would run as a formula (=, +, -,
    @, tab, CR at its start) is prefixed with a quote, as OWASP advises for CSV exports.
    """
    import csv  # noqa: PLC0415 (only this answer needs it)
    import io  # noqa: PLC0415

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow(CSV_COLUMNS)
    for item in page.items:
        line = report_line(item, language)
        writer.writerow([_cell(line[c]) for c in CSV_COLUMNS])  # type: ignore[literal-required]
    return out.getvalue()


def _cell(v: object) -> str:
    text = "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def migrations(reports: Sequence[JobReport]) -> MigrationList:
    """``GET /v1/migrations``."""
    return {"migrations": [migration(r) for r in reports]}


def org_migration(report: JobReport, *, folders: bool = True) -> OrgMigration:
    """A job as the organisation's admins see it: with its user."""
    return {**migration(report, folders=folders), "user_id": report.job.user_id}


def org_migrations(page: JobPage) -> OrgMigrationPage:
    """``GET /v1/admin/migrations``: without the per-folder plan (a page of 200 Gmail-sized
    jobs would pass Lambda's 6 MB response limit; ``GET /v1/migrations/{id}`` has them).
    """
    return {
        "migrations": [org_migration(r, folders=False) for r in page.jobs],
        "next_cursor": page.next_cursor,
    }


def oauth_connection(c: DomainConnection) -> OAuthConnection:
    """A Microsoft or Google sign-in, a migration's or a POP account's (no token)."""
    return {
        "id": c.connection_id,
        "provider": value(c.provider),
        "purpose": value(c.purpose),
        "email": c.email,
        "status": value(c.status),
        "created_at": c.created_at.isoformat(),
        "updated_at": c.updated_at.isoformat(),
    }


def signin_providers(available: Mapping[OAuthProvider, bool]) -> SigninProviderList:
    """``GET /v1/oauth/providers``."""
    return {"providers": [{"id": value(p), "available": ok} for p, ok in available.items()]}


def oauth_connections(listed: Sequence[DomainConnection]) -> OAuthConnectionList:
    """``GET /v1/oauth/connections``."""
    return {"connections": [oauth_connection(c) for c in listed]}


def _shown(words: Words | None, english: str) -> str:
    """Stored words in the caller's language (the stored English where none were kept)."""
    if words is None:
        return english
    from api_http import language  # noqa: PLC0415 (lazily: see the module's docstring)

    return words.render(language())
