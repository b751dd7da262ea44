"""Ingest uploaded .eml files: S3 ObjectCreated → SQS → this function (partial batch failures).

Foundation skeleton: parses and acknowledges the S3 notifications; storing the messages into the
mailbox is the Mailbox/.eml upload issue.
"""

from __future__ import annotations

import json
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
    """One SQS record: an S3 notification (or S3's one-off ``s3:TestEvent``)."""
    for s3_record in record.decoded_nested_s3_event.records:
        logger.info(
            "upload received",
            extra={"bucket": s3_record.s3.bucket.name, "key": s3_record.s3.get_object.key},
        )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Lambda entry point (template.yaml ``Handler: eml_ingest.handler``)."""
    if _is_test_event(event):
        return {"batchItemFailures": []}
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )


def _is_test_event(event: dict[str, Any]) -> bool:
    # S3 sends one s3:TestEvent when the notification is configured; it has no Records.
    records = event.get("Records") or []
    return bool(records) and all(
        json.loads(r.get("body") or "{}").get("Event") == "s3:TestEvent" for r in records
    )
