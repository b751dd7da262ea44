"""The 10-minute POP schedule: EventBridge → this dispatcher → per-account work on SQS.

Foundation skeleton: logs the tick; reading the accounts due now and queueing them is the POP3
import issue.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_source(data_class=EventBridgeEvent)
def handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point (template.yaml ``Handler: pop_dispatch.handler``)."""
    logger.info("schedule tick", extra={"tick": event.time})
    return {"tick": event.time, "queued": 0}
