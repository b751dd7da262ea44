"""Fetch one POP account's new mail: SQS (from the dispatcher or "fetch now") → this worker.

Foundation skeleton: acknowledges the work items; fetching is the POP3 import issue.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
tracer = Tracer()
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    """One fetch request."""
    logger.info("fetch requested", extra={"message_id": record.message_id})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Lambda entry point (template.yaml ``Handler: pop_fetch.handler``)."""
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
