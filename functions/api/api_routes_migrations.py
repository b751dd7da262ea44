"""IMAP migration: the admins' server templates, the user's migrations, and the
organisation-wide views and switches of its admins.

A body (a template, a migration's connection) is checked against its model in ``api_inputs``
(``body(Model)``), imported inside the view so that a cold start imports no pydantic.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import quote

import api_views as views
from api_http import (
    Routes,
    admin,
    body,
    current_request,
    json_response,
    owner,
    principal,
    query,
)
from chalice.app import Response

from mailport.domain.identity import Feature

if TYPE_CHECKING:
    from api_inputs import FollowUpInput

    from mailport.domain.migration import PreviewRequest
from mailport.wiring import container

routes = Routes(__name__)


# ---------------------------------------------------------------- IMAP migration
@routes.api("/v1/imap-templates", methods=["GET"])
def imap_templates() -> Response:
    """The IMAP servers the tenant's admin set up."""
    templates = container().migrations.templates(owner(Feature.IMAP_MIGRATION))
    return json_response(views.imap_templates(templates))


@routes.api("/v1/admin/imap-templates", methods=["POST"])
def create_imap_template() -> Response:
    """Admin: a new IMAP server template (name, host, port, SSL) for the tenant's users."""
    from api_inputs import ImapTemplateInput  # noqa: PLC0415 (lazily: see the module's docstring)

    owner_ = admin(Feature.IMAP_MIGRATION)
    created = container().migrations.put_template(owner_, body(ImapTemplateInput))
    return json_response(views.imap_template(created), 201)


@routes.api("/v1/admin/imap-templates/{template_id}", methods=["PUT"])
def replace_imap_template(template_id: str) -> Response:
    """Admin: change a template (jobs already queued keep their server)."""
    from api_inputs import ImapTemplateInput  # noqa: PLC0415 (lazily: see the module's docstring)

    owner_ = admin(Feature.IMAP_MIGRATION)
    request = body(ImapTemplateInput)
    return json_response(
        views.imap_template(container().migrations.put_template(owner_, request, template_id))
    )


@routes.api("/v1/admin/imap-templates/{template_id}", methods=["DELETE"])
def delete_imap_template(template_id: str) -> Response:
    """Admin: remove a template."""
    container().migrations.delete_template(admin(Feature.IMAP_MIGRATION), template_id)
    return Response(body="", status_code=204)


@routes.api("/v1/migrations/preview", methods=["POST"])
def preview_migration() -> Response:
    """A dry run: folders, their targets, counts, sizes, oversize mail, an estimate."""
    from api_inputs import PreviewInput  # noqa: PLC0415 (lazily: see the module's docstring)

    owner_ = owner(Feature.IMAP_MIGRATION)
    given = body(PreviewInput)
    request: PreviewRequest = {"connection": given["connection"]}
    if "cursor" in given:
        request["cursor"] = given["cursor"]
    return json_response(views.preview(container().migrations.preview(owner_, request)))


@routes.api("/v1/migrations", methods=["POST"])
def create_migration() -> Response:
    """Queue a migration (agreement required; the login is tried first)."""
    from api_inputs import MigrationInput  # noqa: PLC0415 (lazily: see the module's docstring)

    request = body(MigrationInput)
    # The edge's ``Literal[True]`` is the use-case's ``bool`` (it checks the agreement too).
    job = container().migrations.create(
        owner(Feature.IMAP_MIGRATION),
        {"connection": request["connection"], "agreed": request["agreed"]},
    )
    return json_response(views.migration(job), 201)


@routes.api("/v1/migrations", methods=["GET"])
def list_migrations() -> Response:
    """The user's migrations, newest first."""
    return json_response(
        views.migrations(container().migrations.list(owner(Feature.IMAP_MIGRATION)))
    )


@routes.api("/v1/migrations/{job_id}", methods=["GET"])
def get_migration(job_id: str) -> Response:
    """State, queue position, progress per folder and in total, ETA, counts."""
    return json_response(
        views.migration(container().migrations.get(owner(Feature.IMAP_MIGRATION), job_id))
    )


@routes.api("/v1/migrations/{job_id}/cancel", methods=["POST"])
def cancel_migration(job_id: str) -> Response:
    """Cancel: a queued job leaves the queue; a running one is rolled back."""
    cancelled = container().migrations.cancel(owner(Feature.IMAP_MIGRATION), job_id)
    return json_response(views.migration(cancelled), 202)


@routes.api("/v1/migrations/{job_id}/revert", methods=["POST"])
def revert_migration(job_id: str) -> Response:
    """Undo a completed migration: remove what it imported."""
    reverted = container().migrations.revert(owner(Feature.IMAP_MIGRATION), job_id)
    return json_response(views.migration(reverted), 202)


@routes.api("/v1/migrations/{job_id}/report", methods=["GET"])
def migration_report(job_id: str) -> Response:
    """A page of what the job did not import, and why (``?limit=&cursor=``); CSV with
    ``Accept: text/csv`` (the next page's cursor in the ``Link`` header).
    """
    from mailport.catalogue import language_of  # noqa: PLC0415 (lazily: see the docstring)
    from mailport.usecases.mailbox import page_size  # noqa: PLC0415

    request = current_request()
    headers: Mapping[str, str] = (request.headers if request is not None else None) or {}
    language = language_of(headers.get("accept-language"))
    wants_csv = "text/csv" in str(headers.get("accept", ""))
    cursor = query("cursor")
    page = container().migrations.report(
        owner(Feature.IMAP_MIGRATION), job_id, page_size(query("limit")), cursor
    )
    if not wants_csv:
        return json_response(views.migration_report(page, language))
    out: dict[str, str | list[str]] = {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="migration-{job_id}-report.csv"',
        "Vary": "Accept, Accept-Language",
    }
    if page.next_cursor:
        out["Link"] = f'<?cursor={quote(page.next_cursor, safe="")}>; rel="next"'
    # The header row once, on the first page: pages joined make one CSV file.
    csv = views.report_csv(page, language, header=cursor is None)
    return Response(body=csv, status_code=200, headers=out)


@routes.api("/v1/migrations/{job_id}/retry", methods=["POST"])
def retry_migration(job_id: str) -> Response:
    """Queue a retry of only what a completed job's report lists as worth trying again."""
    from api_inputs import FollowUpInput  # noqa: PLC0415 (lazily: see the module's docstring)

    return _follow_up(job_id, "retry", body(FollowUpInput))


@routes.api("/v1/migrations/{job_id}/delta", methods=["POST"])
def delta_migration(job_id: str) -> Response:
    """Queue a delta pass: only the mail that arrived since a completed job's snapshot."""
    from api_inputs import FollowUpInput  # noqa: PLC0415 (lazily: see the module's docstring)

    return _follow_up(job_id, "delta", body(FollowUpInput))


def _follow_up(job_id: str, kind: str, given: FollowUpInput) -> Response:
    from mailport.domain.migration import FollowUpRequest, JobKind  # noqa: PLC0415

    request: FollowUpRequest = {"agreed": given["agreed"]}
    if "password" in given:
        request["password"] = given["password"]
    job = container().migrations.follow_up(
        owner(Feature.IMAP_MIGRATION), job_id, JobKind(kind), request
    )
    return json_response(views.migration(job), 201)


# ---------------------------------------------------------------- admin: the organisation
@routes.api("/v1/admin/migrations", methods=["GET"])
def admin_migrations() -> Response:
    """Admin: every migration of the organisation, newest first (``?limit=&cursor=``)."""
    caller = admin(Feature.IMAP_MIGRATION)
    page = container().admin.migrations(caller.tenant_id, query("limit"), query("cursor"))
    return json_response(views.org_migrations(page))


@routes.api("/v1/admin/accounts", methods=["GET"])
def admin_accounts() -> Response:
    """Admin: every POP account of the organisation, newest first (``?limit=&cursor=``)."""
    caller = admin(Feature.POP_IMPORT)
    service = container().admin
    page = service.accounts(caller.tenant_id, query("limit"), query("cursor"))
    return json_response(views.org_accounts(page, service.now()))


@routes.api("/v1/admin/users/{user_id}/accounts/{account_id}/switch-off", methods=["POST"])
def admin_switch_off(user_id: str, account_id: str) -> Response:
    """Admin: switch a user's account's automatic fetching off (the user sees who did)."""
    caller = admin(Feature.POP_IMPORT)
    email = principal().email
    service = container().admin
    account = service.switch_off(caller.tenant_id, user_id, account_id, email)
    return json_response(views.org_account(account, user_id, service.now()))


@routes.api("/v1/admin/users/{user_id}/migrations/{job_id}/cancel", methods=["POST"])
def admin_cancel_migration(user_id: str, job_id: str) -> Response:
    """Admin: cancel a user's migration (it is rolled back)."""
    caller = admin(Feature.IMAP_MIGRATION)
    cancelled = container().admin.cancel_migration(caller.tenant_id, user_id, job_id)
    return json_response(views.org_migration(cancelled), 202)
