"""IMAP migration: the admins' server templates, the user's migrations, and the
organisation-wide views and switches of its admins.

A body (a template, a migration's connection) is checked against its model in ``api_inputs``
(``body(Model)``), imported inside the view so that a cold start imports no pydantic.
"""

from __future__ import annotations

import api_views as views
from api_http import Routes, admin, body, json_response, owner, principal, query
from chalice.app import Response

from mailport.domain.identity import Feature
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
    return json_response(views.preview(container().migrations.preview(owner_, body(PreviewInput))))


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
