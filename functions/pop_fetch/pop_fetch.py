"""Fetch one POP account's new mail: SQS (from the dispatcher or "fetch now") → this worker."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from mailport.batch import ConcurrentBatchProcessor
from mailport.domain.accounts import FetchRequest, FetchRun, RunStatus
from mailport.errors import ValidationFailed
from mailport.figures import Figures, emit
from mailport.tracing import TRACED
from mailport.wiring import container

logger = Logger()
tracer = Tracer(patch_modules=TRACED)
# Namespace from POWERTOOLS_METRICS_NAMESPACE (template.yaml); mailport/figures.py says why
# Ephemeral, and why the batch's threads add to ``figures`` instead.
metrics = EphemeralMetrics()
metrics.set_default_dimensions(path="pop")
figures = Figures()


def measure(run: FetchRun) -> None:
    """One run's figures, as CloudWatch metrics (EMF) dimensioned by import path."""
    figures.add("FetchRuns")
    figures.add("MessagesImported", run.counts.fetched)
    figures.add("MessagesSkippedOversize", run.counts.skipped_oversize)
    figures.add("FetchFailures", int(run.status is RunStatus.FAILED))
    figures.add("AccountsAutoDisabled", int(run.auto_disabled))


def record_handler(record: SQSRecord) -> None:
    """One fetch request. A malformed one is logged and dropped (retrying cannot fix it);
    anything else that escapes the run is retried by SQS (the lease keeps runs single).
    """
    try:
        request = FetchRequest.from_json(json.loads(record.body))
    except (ValueError, ValidationFailed):
        logger.error("not a fetch request; dropped", extra={"message_id": record.message_id})
        figures.add("FetchRequestsDropped")
        return
    # Every request counts (duplicates and skips too), so a batch always has a metric.
    figures.add("FetchRequests")
    # This record's thread only (ConcurrentBatchProcessor gives each record a context).
    logger.thread_safe_append_keys(account_id=request.account_id, trigger=request.trigger.value)
    run = container().fetcher.handle(request)
    if run is None:
        logger.info("nothing to do: a duplicate, a busy account or one switched off")
        return
    measure(run)


def _requests(event: dict[str, Any]) -> list[FetchRequest]:
    """The batch's well-formed fetch requests (a malformed one is the record's to drop)."""
    found = []
    for record in event.get("Records") or []:
        try:
            found.append(FetchRequest.from_json(json.loads(record["body"])))
        except (ValueError, ValidationFailed, KeyError, TypeError):
            continue
    return found


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Lambda entry point (template.yaml ``Handler: pop_fetch.handler``)."""
    # The container and its fetcher (one byte budget, one client each) made here, once,
    # before the batch's threads all ask for them.
    wired = container()
    _ = wired.fetcher
    # A thread for each record of a full batch (template.yaml FetchBatchSize): more would
    # idle, fewer would leave polls waiting for a thread. Made per invocation: it is cheap,
    # and its settings are only read once the function runs.
    processor = ConcurrentBatchProcessor(EventType.SQS, workers=wired.settings.fetch_batch_size)
    # The batch's accounts in one read before its threads start (each takes its own).
    wired.fetcher.prefetch(_requests(event))
    try:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    finally:
        # The batch's idle polls wrote nothing each: their check times go in one write.
        wired.fetcher.flush_checks()
        emit(metrics, figures)
