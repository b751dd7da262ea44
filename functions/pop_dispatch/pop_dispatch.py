"""The 10-minute POP schedule: EventBridge → this dispatcher → per-account work on SQS."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from mailport.tracing import TRACED
from mailport.wiring import container

logger = Logger()
tracer = Tracer(patch_modules=TRACED)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_source(data_class=EventBridgeEvent)
def handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point (template.yaml ``Handler: pop_dispatch.handler``).

    The event's time names the tick: EventBridge may deliver one tick twice, and the workers
    drop the second by it.
    """
    result = container().dispatcher.dispatch(event.time)
    logger.info(
        "schedule tick",
        extra={"tick": result.tick, "queued": result.queued, "per_minute": list(result.per_minute)},
    )
    return {"tick": result.tick, "queued": result.queued}
