"""The contract between the migration state machine (infra/statemachines/migration.asl.json,
generated from infra/statemachines/migration_asl.py) and the code it invokes or starts: step
names, modes, notice outcomes, the cursor's fields and the error names, written once here.

tests/unit/test_workflow_contract.py reads the ASL and fails when either side drifts.
"""

# No ``from __future__ import annotations``: the TypedDicts' required and optional keys are
# read at run time (NotRequired is not seen in a string annotation).
from enum import StrEnum
from typing import Any, Final, NotRequired, TypedDict


class Step(StrEnum):
    """What a Task state asks the worker to do (its Payload's ``step``)."""

    PLAN = "plan"
    COPY_CHUNK = "copy_chunk"
    FINALIZE = "finalize"
    NOTIFY = "notify"
    ROLLBACK = "rollback"
    SUSPEND = "suspend"
    CONTINUE = "continue"


class Mode(StrEnum):
    """How an execution started by the code (not by the user's queueing) begins: the Route
    Choice's ``$.mode``, and the rollback step's ``mode``.
    """

    ROLLBACK = "rollback"  # remove what a failed or cancelled job copied
    REVERT = "revert"  # the user undoes a completed job
    GIVE_UP = "give_up"  # recovery gave up: only tell the user


class Outcome(StrEnum):
    """How a job ended, as the notify step's ``outcome`` (and the notice's kind)."""

    COMPLETED = "completed"
    ROLLED_BACK = "rolled_back"
    ROLLBACK_FAILED = "rollback_failed"


class ErrorName(StrEnum):
    """Error names the machine matches (``ErrorEquals``), raises (Fail states) or that the
    code hands it. An exception's class name is its error name, so a rename of
    ``TransientError``, ``SignInRequired`` or ``JobCancelled`` must change this too.
    """

    TRANSIENT = "TransientError"
    SIGN_IN_REQUIRED = "SignInRequired"
    JOB_CANCELLED = "JobCancelled"
    EXECUTION_ENDED = "ExecutionEnded"  # the scheduler's recovery after an early end
    LAMBDA_THROTTLED = "Lambda.TooManyRequestsException"
    LAMBDA_SERVICE = "Lambda.ServiceException"
    LAMBDA_AWS = "Lambda.AWSLambdaException"
    LAMBDA_SDK_CLIENT = "Lambda.SdkClientException"
    ALL = "States.ALL"
    TIMEOUT = "States.Timeout"
    SUSPEND_FAILED = "SuspendFailed"
    MIGRATION_FAILED = "MigrationFailed"
    ROLLBACK_FAILED = "RollbackFailed"


class Cursor(TypedDict):
    """What the plan and copy steps return; the machine keeps it at ``CURSOR_PATH`` and
    branches on it (continue as new, pause, copy more, finalize).
    """

    done: bool
    wait_s: int
    continue_as_new: bool
    chunks: int


CURSOR_PATH: Final = "$.progress.cursor"
CURSOR_FIELDS: Final = frozenset(Cursor.__required_keys__)


def cursor_path(field: str) -> str:
    """The JSONPath of one cursor field in the execution's state."""
    if field not in CURSOR_FIELDS:
        raise KeyError(f"the cursor has no field {field!r}")
    return f"{CURSOR_PATH}.{field}"


def cursor(done: bool, chunks: int, wait_s: int = 0, continue_as_new: bool = False) -> Cursor:
    """A cursor for the machine's MoreToCopy choice."""
    return {"done": done, "wait_s": wait_s, "continue_as_new": continue_as_new, "chunks": chunks}


class RollbackResult(TypedDict):
    """What the rollback step returns; the machine calls it again until ``done``."""

    done: bool
    removed: NotRequired[int]
    state: NotRequired[str]


ROLLBACK_DONE: Final = "done"  # the field the machine's loop reads (in its ResultSelector's)


class JobRef(TypedDict):
    """What an execution knows of its job (no secret)."""

    job_id: str
    tenant_id: str
    user_id: str
    resumes: int


class StepEvent(TypedDict):
    """A Task state's Payload: the worker's event."""

    step: str
    job: JobRef
    cursor: NotRequired[Cursor]
    error: NotRequired[dict[str, Any]]  # Step Functions' {"Error", "Cause"} of a catch
    mode: NotRequired[str]
    outcome: NotRequired[str]


class ExecutionInput(TypedDict):
    """An execution's input: a fresh job has only ``job``; the code adds the rest."""

    job: JobRef
    mode: NotRequired[str]
    error: NotRequired[dict[str, str]]
    progress: NotRequired[dict[str, Cursor]]  # a continued job: {"cursor": ...}
