"""Fetch POP accounts' new mail: SQS (from the dispatcher or "fetch now") → this worker.

A message carries up to FETCH_PER_MESSAGE accounts and an invocation up to FetchBatchSize
messages; their polls share one pool of FETCH_SESSIONS threads (a poll mostly waits on
another company's server, so hundreds fit in one invocation).
"""

from __future__ import annotations

import contextvars
import functools
import json
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from mailport.batch import ConcurrentBatchProcessor
from mailport.domain.accounts import FetchRequest, FetchRun, RunStatus, fetch_requests
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


def run_one(request: FetchRequest) -> None:
    """One account's poll, in a thread of the sessions pool (its own log keys)."""
    # Every request counts (duplicates and skips too), so a batch always has a metric.
    figures.add("FetchRequests")
    logger.thread_safe_append_keys(account_id=request.account_id, trigger=request.trigger.value)
    run = container().fetcher.handle(request)
    if run is None:
        logger.info("nothing to do: a duplicate, a busy account or one switched off")
        return
    measure(run)


def record_handler(record: SQSRecord, sessions: Executor | None = None) -> None:
    """One message's requests, side by side in ``sessions`` (None: one after another, in this
    thread: a lone request, or FETCH_SESSIONS 1). A malformed message is logged
    and dropped (retrying cannot fix it). If a run escapes (its own failures are recorded
    as the run's, so this is the table or S3 failing), the record fails and SQS delivers it
    again: the runs of it that went through are dropped then by their tick or lease (or
    look once more at an unchanged listing), so nothing is fetched twice.
    """
    try:
        requests = fetch_requests(json.loads(record.body))
    except (ValueError, ValidationFailed):
        logger.error("not a fetch request; dropped", extra={"message_id": record.message_id})
        figures.add("FetchRequestsDropped")
        return
    failed = [(r, e) for r, e in zip(requests, _run_all(requests, sessions), strict=True) if e]
    for request, error in failed:
        logger.error(
            "the run failed; the message is retried",
            extra={"account_id": request.account_id, "error": type(error).__name__},
        )
    if failed:
        raise failed[0][1]


def _run_all(requests: list[FetchRequest], sessions: Executor | None) -> list[BaseException | None]:
    """What each request's run raised (None: it went through), each in its own context."""
    if sessions is None:
        return [_outcome(contextvars.copy_context().run, run_one, r) for r in requests]
    futures = [sessions.submit(contextvars.copy_context().run, run_one, r) for r in requests]
    return [f.exception() for f in futures]


def _outcome(call: Callable[..., None], *args: Any) -> BaseException | None:
    try:
        call(*args)
    except Exception as e:  # as a future would hold it
        return e
    return None


def _requests(event: dict[str, Any]) -> list[FetchRequest]:
    """The batch's well-formed fetch requests (a malformed message is its record's to drop)."""
    found = []
    for record in event.get("Records") or []:
        try:
            found.extend(fetch_requests(json.loads(record["body"])))
        except (ValueError, ValidationFailed, KeyError, TypeError):
            continue
    return found


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Lambda entry point (template.yaml ``Handler: pop_fetch.handler``)."""
    # The container and its fetcher (one byte budget, one client each) made here, once,
    # before the batch's threads all ask for them.
    wired = container()
    _ = wired.fetcher
    requests = _requests(event)
    # The batch's accounts in one read before its threads start (each takes its own).
    wired.fetcher.prefetch(requests)
    settings = wired.settings
    # A thread for each message (they only wait on their polls), and the polls of all of
    # them in one pool of FETCH_SESSIONS: more would idle, fewer would leave polls waiting.
    # Made per invocation: threads start as needed, and none is left over while frozen.
    processor = ConcurrentBatchProcessor(EventType.SQS, workers=settings.fetch_batch_size)
    width = min(settings.fetch_sessions, len(requests))
    sessions = ThreadPoolExecutor(max_workers=width) if width > 1 else None
    try:
        return process_partial_response(
            event=event,
            record_handler=functools.partial(record_handler, sessions=sessions),
            processor=processor,
            context=context,
        )
    finally:
        if sessions is not None:
            sessions.shutdown(wait=True)
        # The batch's idle polls wrote nothing each: their check times go in one write.
        wired.fetcher.flush_checks()
        emit(metrics, figures)
