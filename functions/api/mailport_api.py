"""The mailport REST API's Lambda entry point: the Chalice app with every area's routes
(``api_routes_*``, one blueprint each) registered in the order the API Gateway definition
and openapi.json list them. Each route parses its input, calls one use-case and shapes the
result (``api_views``); errors become HTTP statuses in ``mailport.http``.
"""

from __future__ import annotations

from typing import Any

import api_routes_accounts
import api_routes_mailbox
import api_routes_migrations
import api_routes_oauth
import api_routes_site
from api_http import serve
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from chalice.app import Chalice

from mailport.tracing import TRACED

__all__ = ["app", "handler"]

# The same service's Logger as api_http's (Powertools reuses it): one log, one context.
logger = Logger()
tracer = Tracer(patch_modules=TRACED)
app = Chalice(app_name="mailport")
app.log.disabled = True  # Powertools' Logger is the one log; Chalice's would duplicate lines.
# Only raw messages and message parts (always application/octet-stream, whatever the part's
# type) are bytes (Chalice's defaults name types no route answers). The API
# Gateway definition in template.yaml is generated from these routes (`make api`), this list
# and which routes are public included.
app.api.binary_types[:] = ["message/rfc822", "application/octet-stream"]
app.register_middleware(serve, "http")
for area in (
    api_routes_site,
    api_routes_mailbox,
    api_routes_accounts,
    api_routes_migrations,
    api_routes_oauth,
):
    app.register_blueprint(area.routes)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point (template.yaml ``Handler: mailport_api.handler``)."""
    result: dict[str, Any] = app(event, context)
    return result
