"""Starts queued migrations: when a migration execution ends (EventBridge rule on the state
machine's "Step Functions Execution Status Change"), so the next job starts without waiting,
and on a slow sweep (every 5 minutes) in case an event or a start was lost.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from mailport.tracing import TRACED
from mailport.wiring import container

logger = Logger()
tracer = Tracer(patch_modules=TRACED)

STATUS_CHANGE = "Step Functions Execution Status Change"


def execution_detail(detail: Any) -> tuple[str, str, dict[str, Any]]:
    """The execution's name, status and input from a status change; ``ValueError`` if the
    event lacks them (the invocation fails loudly and EventBridge retries it).

    Powertools' event data class, not its pydantic parser: pydantic alone cost this
    function 120-180 ms of cold-start import for three fields (bench/importtime.py).
    """
    if not isinstance(detail, dict):
        raise ValueError("a status change without a detail")
    name, status, raw = detail.get("name"), detail.get("status"), detail.get("input")
    if not isinstance(name, str) or not isinstance(status, str):
        raise ValueError("a status change without the execution's name and status")
    try:
        payload = json.loads(raw) if isinstance(raw, str) else {}
    except ValueError:
        payload = {}
    return name, status, payload if isinstance(payload, dict) else {}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_source(data_class=EventBridgeEvent)
def handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point (template.yaml ``Handler: migration_scheduler.handler``)."""
    scheduler = container().migrations.scheduler
    if event.detail_type != STATUS_CHANGE:  # the sweep
        started = scheduler.sweep()
        logger.info("sweep", extra={"started": len(started)})
        return {"started": started}
    name, status, payload = execution_detail(event.detail)
    logger.info("execution ended", extra={"execution": name, "status": status})
    scheduler.execution_ended(name, status, payload)
    return {"status": status}
