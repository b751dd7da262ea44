"""The Lambda tasks of the migration state machine, one ``step`` each (thin: the work is in
``mailport.usecases.migration.MigrationRunner``).

Error contract with infra/statemachines/migration.asl.json: an exception's class name becomes
the state's error name, and only ``TransientError`` (and Lambda's own errors) are retried. So
every transient failure, whatever its class here (a dropped IMAP connection, a throttled
table), leaves as exactly ``TransientError``; everything else is caught by the machine and
rolled back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from mailport.errors import TransientError
from mailport.tracing import TRACED
from mailport.wiring import container

if TYPE_CHECKING:  # the runner's module is imported when the container first builds it
    from mailport.usecases.migration_runner import MigrationRunner

logger = Logger()
tracer = Tracer(patch_modules=TRACED)
# Its own buffer and dimensions (adapters/metrics.py says why); the runner's figures are
# drained into it at the end of each step.
metrics = EphemeralMetrics()
metrics.set_default_dimensions(path="imap")


class UnknownStep(ValueError):
    """The state machine asked for a step this worker does not have (a deploy mismatch)."""


def run_step(runner: MigrationRunner, event: dict[str, Any]) -> dict[str, Any]:
    """Dispatch one step of the machine to the runner."""
    step = str(event.get("step", ""))
    job = event.get("job") or {}
    steps: dict[str, Callable[[], dict[str, Any]]] = {
        "plan": lambda: runner.plan(job),
        "copy_chunk": lambda: runner.copy_chunk(job, event.get("cursor") or {}),
        "finalize": lambda: runner.finalize(job),
        "notify": lambda: runner.notify(job, str(event.get("outcome", ""))),
        "rollback": lambda: runner.rollback(
            job, event.get("error"), str(event.get("mode", "rollback"))
        ),
        "suspend": lambda: runner.suspend(job, event.get("error")),
        "continue": lambda: runner.continue_as_new(job),
    }
    if step not in steps:
        raise UnknownStep(f"unknown migration step {step!r}")
    return steps[step]()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point (template.yaml ``Handler: migration_worker.handler``)."""
    logger.append_keys(job_id=(event.get("job") or {}).get("job_id"), step=event.get("step"))
    metrics.add_metric(name="MigrationSteps", unit=MetricUnit.Count, value=1)
    wired = container()
    try:
        return run_step(wired.migration_runner, event)
    except TransientError as e:
        if type(e) is TransientError:
            raise
        raise TransientError(e.message) from e
    finally:
        for name, unit, value in wired.migration_metrics.drain():
            metrics.add_metric(name=name, unit=MetricUnit(unit), value=value)
