"""Starts queued migrations when a migration execution ends (EventBridge: Step Functions
Execution Status Change). Skeleton until the IMAP migration issue wires the queue.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point (template.yaml ``Handler: migration_scheduler.handler``)."""
    detail = event.get("detail") or {}
    logger.info("execution ended", extra={"status": detail.get("status")})
    return {"status": detail.get("status")}
