"""Starts queued migrations: when a migration execution ends (EventBridge rule on the state
machine's "Step Functions Execution Status Change"), so the next job starts without waiting,
and on a slow sweep (every 5 minutes) in case an event or a start was lost.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from mailport.tracing import TRACED
from mailport.wiring import container

logger = Logger()
tracer = Tracer(patch_modules=TRACED)

STATUS_CHANGE = "Step Functions Execution Status Change"


class ExecutionDetail(BaseModel):
    """The fields of a "Step Functions Execution Status Change" this function reads."""

    name: str
    status: str
    execution_arn: str = Field(alias="executionArn")
    input: str | None = None


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=EventBridgeModel)
def handler(event: EventBridgeModel, context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point (template.yaml ``Handler: migration_scheduler.handler``)."""
    scheduler = container().migrations.scheduler
    if event.detail_type != STATUS_CHANGE:  # the sweep
        started = scheduler.sweep()
        logger.info("sweep", extra={"started": len(started)})
        return {"started": started}
    detail = ExecutionDetail.model_validate(event.detail)
    try:
        payload = json.loads(detail.input or "{}")
    except ValueError:
        payload = {}
    logger.info("execution ended", extra={"execution": detail.name, "status": detail.status})
    scheduler.execution_ended(detail.name, detail.status, payload)
    return {"status": detail.status}
