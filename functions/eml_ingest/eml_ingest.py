"""Ingest uploaded .eml files: S3 ObjectCreated → SQS → this function.

Each SQS record is one S3 notification; each object is dealt with once (the file's state is
written conditionally), so repeated and out-of-order deliveries are harmless. A record whose
processing fails transiently is reported in ``batchItemFailures`` and comes back later.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from mailport.domain.uploads import FileStatus, UploadFile
from mailport.errors import MailportError
from mailport.figures import Figures, emit
from mailport.tracing import TRACED
from mailport.wiring import container

logger = Logger()
tracer = Tracer(patch_modules=TRACED)
# The same metric names as the other paths; mailport/figures.py says why Ephemeral.
metrics = EphemeralMetrics()
metrics.set_default_dimensions(path="upload")
figures = Figures()
processor = BatchProcessor(event_type=EventType.SQS)


def measure(result: UploadFile | None) -> None:
    """One uploaded file's outcome as CloudWatch metrics (EMF), dimensioned path=upload."""
    stored = result is not None and result.status is FileStatus.STORED
    rejected = result is not None and result.status is FileStatus.REJECTED
    figures.add("UploadsProcessed")
    figures.add("MessagesImported", int(stored))
    figures.add("BytesImported", result.size if stored and result else 0, "Bytes")
    figures.add(
        "MessagesDuplicate", int(result is not None and result.status is FileStatus.DUPLICATE)
    )
    figures.add("UploadsRejected", int(rejected))
    # An object no batch knows (not put there through the API): ignored, but visible.
    figures.add("UploadsOrphaned", int(result is None))
    figures.add("MessagesSkippedOversize", int(result is not None and result.reason == "too_large"))


# Keys dealt with in this invocation, removed with one request at the end of it.
_done_keys: list[str] = []


def record_handler(record: SQSRecord) -> None:
    """One SQS record: an S3 notification (S3's one-off ``s3:TestEvent`` is skipped)."""
    body = json.loads(record.body or "{}")
    if body.get("Event") == "s3:TestEvent":
        return
    uploads = container().uploads
    expected_bucket = container().settings.upload_bucket
    for s3_record in record.decoded_nested_s3_event.records:
        bucket = s3_record.s3.bucket.name
        if bucket != expected_bucket:
            logger.warning("event for another bucket ignored", extra={"bucket": bucket})
            continue
        # S3 URL-encodes keys in notifications (spaces as "+").
        key = unquote_plus(s3_record.s3.get_object.key)
        done = uploads.ingest(key, s3_record.s3.get_object.size)
        _done_keys.append(done.key)
        result = done.result
        if not done.repeated:  # counted when it ended, not again for each redelivery
            measure(result)
        logger.info(
            "upload processed",
            extra={
                "upload_key": key,
                "status": result.status.value if result else "orphan",
                "reason": result.reason if result else "",
                "repeated": done.repeated,
            },
        )


def _cleanup() -> None:
    # The results are recorded either way; the bucket's lifecycle rule removes what is left.
    keys = list(_done_keys)
    try:
        left = len(container().uploads.cleanup(keys))
    except MailportError:
        left = len(set(keys))
    if left:
        logger.warning("could not remove processed uploads", extra={"count": left})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Lambda entry point (template.yaml ``Handler: eml_ingest.handler``)."""
    _done_keys.clear()
    try:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    finally:
        emit(metrics, figures)
        _cleanup()
