"""The Lambda tasks of the migration state machine, one ``step`` each.

Foundation skeleton: the steps pass the job through so the machine's shape (plan → chunk loop →
finalize → notify; catch → rollback → notify → fail) runs end to end. The IMAP work itself is the
IMAP migration issue.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
tracer = Tracer()


class UnknownStep(ValueError):
    """The state machine asked for a step this worker does not have (a deploy mismatch)."""


def _plan(event: dict[str, Any]) -> dict[str, Any]:
    return {"job_id": event["job"]["job_id"], "chunk": 0, "done": True}


def _copy_chunk(event: dict[str, Any]) -> dict[str, Any]:
    cursor = dict(event["cursor"])
    cursor["chunk"] = int(cursor["chunk"]) + 1
    cursor["done"] = True
    return cursor


def _finalize(event: dict[str, Any]) -> dict[str, Any]:
    return {"job_id": event["job"]["job_id"], "state": "completed"}


def _rollback(event: dict[str, Any]) -> dict[str, Any]:
    return {"job_id": event["job"]["job_id"], "state": "rolled_back"}


def _notify(event: dict[str, Any]) -> dict[str, Any]:
    return {"job_id": event["job"]["job_id"], "notified": event.get("outcome", "")}


_STEPS = {
    "plan": _plan,
    "copy_chunk": _copy_chunk,
    "finalize": _finalize,
    "rollback": _rollback,
    "notify": _notify,
}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point (template.yaml ``Handler: migration_worker.handler``)."""
    step = str(event.get("step", ""))
    logger.append_keys(job_id=(event.get("job") or {}).get("job_id"), step=step)
    try:
        run = _STEPS[step]
    except KeyError as e:
        raise UnknownStep(f"unknown migration step {step!r}") from e
    return run(event)
