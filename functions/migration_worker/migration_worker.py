"""The Lambda tasks of the migration state machine, one ``step`` each (thin: the work is in
``mailport.usecases.migration_runner.MigrationRunner``; the steps and the event's shape are
``mailport.workflow``'s).

Error contract with infra/statemachines/migration.asl.json: an exception's class name becomes
the state's error name, and only ``TransientError`` (and Lambda's own errors) are retried. So
every transient failure, whatever its class here (a dropped IMAP connection, a throttled
table), leaves as exactly ``TransientError``; everything else is caught by the machine and
rolled back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from mailport.errors import MailportError, TransientError, carried
from mailport.figures import Drainable, Figures, emit
from mailport.tracing import TRACED
from mailport.wiring import container
from mailport.workflow import Mode, Step

if TYPE_CHECKING:  # the runner's module is imported when the container first builds it
    from mailport.usecases.migration_runner import MigrationRunner

logger = Logger()
tracer = Tracer(patch_modules=TRACED)
# Its own dimensions (mailport/figures.py says why). The step's own figures and the
# runner's (in the container's buffer) are emitted into it at the end of each step.
metrics = EphemeralMetrics()
metrics.set_default_dimensions(path="imap")
figures = Figures()


class UnknownStep(ValueError):
    """The state machine asked for a step this worker does not have (a deploy mismatch)."""


def steps(
    runner: MigrationRunner, event: Mapping[str, Any]
) -> dict[Step, Callable[[], Mapping[str, Any]]]:
    """Each step of the machine, bound to the runner and the event (``workflow.StepEvent``)."""
    job = event.get("job") or {}
    return {
        Step.PLAN: lambda: runner.plan(job),
        Step.COPY_CHUNK: lambda: runner.copy_chunk(job, event.get("cursor") or {}),
        Step.FINALIZE: lambda: runner.finalize(job),
        Step.NOTIFY: lambda: runner.notify(job, str(event.get("outcome", ""))),
        Step.ROLLBACK: lambda: runner.rollback(
            job, event.get("error"), str(event.get("mode", Mode.ROLLBACK))
        ),
        Step.SUSPEND: lambda: runner.suspend(job, event.get("error")),
        Step.CONTINUE: lambda: runner.continue_as_new(job),
    }


def run_step(runner: MigrationRunner, event: Mapping[str, Any]) -> Mapping[str, Any]:
    """Dispatch one step of the machine to the runner."""
    step = str(event.get("step", ""))
    bound = steps(runner, event)
    if step not in bound:
        raise UnknownStep(f"unknown migration step {step!r}")
    return bound[Step(step)]()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> Mapping[str, Any]:
    """Lambda entry point (template.yaml ``Handler: migration_worker.handler``)."""
    logger.append_keys(job_id=(event.get("job") or {}).get("job_id"), step=event.get("step"))
    figures.add("MigrationSteps")
    sources: list[Drainable] = [figures]
    try:
        wired = container()
        sources.append(wired.migration_metrics)
        return run_step(wired.migration_runner, event)
    except MailportError as e:
        out = leaving(e)
        if out is e:
            raise
        raise out from e
    finally:
        emit(metrics, *sources)


def leaving(error: MailportError) -> MailportError:
    """``error`` as it leaves for the machine. Its text (Lambda's ``errorMessage``, the
    ``Cause`` in Step Functions) is ``carried``, so its words cross with it; a subclass of
    ``TransientError`` leaves as the plain class, since the machine's ``Retry`` names only
    that class by its exact name.
    """
    out = error
    if isinstance(error, TransientError) and type(error) is not TransientError:
        out = TransientError(error.words or error.message)
    out.args = (carried(error),)
    return out
