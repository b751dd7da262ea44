"""External POP3 accounts: presets, the accounts, fetching and the runs.

A body is checked against its model in ``api_inputs`` (``body(Model)``), imported inside the
view so that a cold start imports no pydantic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import api_views as views
from api_http import Routes, body, json_response, owner, query
from chalice.app import Response

from mailport.domain.identity import Feature
from mailport.wiring import container

if TYPE_CHECKING:
    from api_models_import import Account

    from mailport.domain.accounts import PopAccount

routes = Routes(__name__)


# ---------------------------------------------------------------- external accounts (POP3)
@routes.api("/v1/account-presets", methods=["GET"])
def account_presets() -> Response:
    """The providers the form knows (host, port, SSL, how each signs in) and manual entry."""
    owner(Feature.POP_IMPORT)
    # Each provider's sign-in once the stack's app registration for it is filled in.
    ready = {p for p, ok in container().oauth.available().items() if ok}
    return json_response(views.presets(ready))


def _account_json(account: PopAccount) -> Account:
    return views.account(account, container().accounts.now())


@routes.api("/v1/accounts", methods=["GET"])
def list_accounts() -> Response:
    """The user's external accounts (up to 10) with their fetch status."""
    accounts = container().accounts.list_accounts(owner(Feature.POP_IMPORT))
    return json_response(views.accounts(accounts, container().accounts.now()))


@routes.api("/v1/accounts", methods=["POST"])
def create_account() -> Response:
    """Register an account: the agreement, the login tried, the password sealed."""
    from api_inputs import AccountInput  # noqa: PLC0415 (lazily: see the module's docstring)

    account = container().accounts.create(owner(Feature.POP_IMPORT), body(AccountInput))
    return json_response(_account_json(account), 201)


@routes.api("/v1/accounts/{account_id}", methods=["GET"])
def get_account(account_id: str) -> Response:
    """One account."""
    return json_response(
        _account_json(container().accounts.get(owner(Feature.POP_IMPORT), account_id))
    )


@routes.api("/v1/accounts/{account_id}", methods=["PATCH"])
def update_account(account_id: str) -> Response:
    """Change settings (a new server or login needs the password again)."""
    from api_inputs import AccountInput  # noqa: PLC0415 (lazily: see the module's docstring)

    request = body(AccountInput)
    account = container().accounts.update(owner(Feature.POP_IMPORT), account_id, request)
    return json_response(_account_json(account))


@routes.api("/v1/accounts/{account_id}", methods=["DELETE"])
def delete_account(account_id: str) -> Response:
    """Delete the account (its imported mail stays)."""
    container().accounts.delete(owner(Feature.POP_IMPORT), account_id)
    return Response(body="", status_code=204)


@routes.api("/v1/accounts/{account_id}/fetch", methods=["POST"])
def fetch_account(account_id: str) -> Response:
    """Fetch now (asynchronous): the run to watch in the history."""
    run = container().accounts.fetch_now(owner(Feature.POP_IMPORT), account_id)
    return json_response(views.run(run), 202)


@routes.api("/v1/accounts/{account_id}/runs", methods=["GET"])
def account_runs(account_id: str) -> Response:
    """The account's runs, newest first (``?limit=``)."""
    runs = container().accounts.runs(owner(Feature.POP_IMPORT), account_id, query("limit"))
    return json_response({"runs": [views.run(r) for r in runs]})
