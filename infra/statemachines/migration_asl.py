"""Writes migration.asl.json, the migration state machine that template.yaml deploys, from
the Python contract in mailport/workflow.py: each Retry policy, step, mode, outcome, cursor
path and error name is written once, here or there.

Run ``.venv/bin/python infra/statemachines/migration_asl.py`` (``make asl``) after changing
either; ``--check`` exits 1 if the file is not what this writes
(tests/unit/test_workflow_contract.py runs the same comparison, so a hand edit of the JSON
fails the tests).

Why generated JSON and not YAML with anchors: the deployed file stays plain JSON, which
asl-validator, the local stack (moto) and Step Functions read as they always did; whether
Step Functions' loader of a ``DefinitionUri`` file honours YAML aliases is not documented
(CloudFormation's own YAML does not support them).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

# Run as a file (``make asl``), the repository's root, which holds infra/, is not on the path.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from infra import generated  # noqa: E402
from mailport.workflow import (  # noqa: E402
    CURSOR_PATH,
    ROLLBACK_DONE,
    ErrorName,
    Mode,
    Outcome,
    Step,
    cursor_path,
)

ASL_FILE = Path(__file__).with_name("migration.asl.json")
WORKER = "${MigrationWorkerFunctionArn}"  # template.yaml's DefinitionSubstitutions

State = dict[str, Any]


def _retrier(errors: list[ErrorName], attempts: int, max_delay: int, jitter: bool) -> State:
    retrier: State = {
        "ErrorEquals": [str(e) for e in errors],
        "IntervalSeconds": 2,
        "MaxAttempts": attempts,
        "BackoffRate": 2.0,
        "MaxDelaySeconds": max_delay,
    }
    if jitter:
        retrier["JitterStrategy"] = "FULL"
    return retrier


# Lambda throttling is waited out (hours: never a rollback of a job days in).
THROTTLED = _retrier([ErrorName.LAMBDA_THROTTLED], 30, 600, jitter=True)
# Named transient errors: about 45 minutes; anything else goes to the Catch at once.
TRANSIENT = _retrier(
    [
        ErrorName.TRANSIENT,
        ErrorName.LAMBDA_SERVICE,
        ErrorName.LAMBDA_AWS,
        ErrorName.LAMBDA_SDK_CLIENT,
    ],
    12,
    600,
    jitter=True,
)
STEP_RETRY = [THROTTLED, TRANSIENT]
# A rollback is idempotent and must finish: it retries any error, briefly.
ROLLBACK_RETRY = [THROTTLED, _retrier([ErrorName.ALL], 6, 120, jitter=False)]

COMMENT = (
    "mailport IMAP migration (saga): plan, copy in chunks with a checkpoint after each, pause"
    " under the provider's pace, continue as new before the history limit, finalize, notify."
    " Named transient errors are retried with backoff; everything else is caught and sent to"
    " an idempotent, retried, resumable rollback. The input names the job only: credentials"
    " never enter the history. Lambda throttling is waited out (30 attempts, up to 10 minutes"
    " apart: hours, not a rollback of a job days in); other transient errors get 12 attempts"
    " (up to about 45 minutes)."
)


def _catch(error: ErrorName, result_path: str, next_state: str) -> State:
    return {"ErrorEquals": [str(error)], "ResultPath": result_path, "Next": next_state}


def _task(
    step: Step,
    result: tuple[str, str],
    catch: list[State],
    next_state: str,
    *,
    payload: State | None = None,
    retry: list[State] | None = None,
    comment: str | None = None,
) -> State:
    """A Lambda task of the worker; ``result``: (key in the selector, ResultPath)."""
    state: State = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke"}
    if comment:
        state["Comment"] = comment
    state["Parameters"] = {
        "FunctionName": WORKER,
        "Payload": {"step": str(step), "job.$": "$.job", **(payload or {})},
    }
    key, path = result
    state["ResultSelector"] = {f"{key}.$": "$.Payload"}
    state["ResultPath"] = path
    state["Retry"] = retry or STEP_RETRY
    state["Catch"] = catch
    state["Next"] = next_state
    return state


def _mode_is(mode: Mode, next_state: str) -> State:
    return {
        "And": [
            {"Variable": "$.mode", "IsPresent": True},
            {"Variable": "$.mode", "StringEquals": str(mode)},
        ],
        "Next": next_state,
    }


def _notify(outcome: Outcome, then: str) -> State:
    """Tell the user; the notice must never change how the job ended (its Catch goes on)."""
    return _task(
        Step.NOTIFY,
        ("result", "$.notice"),
        [_catch(ErrorName.ALL, "$.notice_error", then)],
        then,
        payload={"outcome": str(outcome)},
    )


def _copy_states() -> dict[str, State]:
    failed = [
        _catch(ErrorName.SIGN_IN_REQUIRED, "$.error", "Suspend"),
        _catch(ErrorName.ALL, "$.error", "Rollback"),
    ]
    return {
        "Route": {
            "Type": "Choice",
            "Comment": "A fresh job plans; a continued one resumes copying; the scheduler may"
            " start a rollback or a revert.",
            "Choices": [
                _mode_is(Mode.GIVE_UP, "NotifyRollbackFailed"),
                _mode_is(Mode.REVERT, "Revert"),
                _mode_is(Mode.ROLLBACK, "Rollback"),
                {"Variable": "$.progress", "IsPresent": True, "Next": "MoreToCopy"},
            ],
            "Default": "Plan",
        },
        "Plan": _task(Step.PLAN, ("cursor", "$.progress"), failed, "MoreToCopy"),
        "MoreToCopy": {
            "Type": "Choice",
            "Choices": [
                {
                    "Variable": cursor_path("continue_as_new"),
                    "BooleanEquals": True,
                    "Next": "ContinueAsNew",
                },
                {"Variable": cursor_path("wait_s"), "NumericGreaterThan": 0, "Next": "Pause"},
                {"Variable": cursor_path("done"), "BooleanEquals": False, "Next": "CopyChunk"},
            ],
            "Default": "Finalize",
        },
        "Pause": {
            "Type": "Wait",
            "Comment": "Under the provider's pace (e.g. Gmail's daily download cap); the job"
            " shows paused.",
            "SecondsPath": cursor_path("wait_s"),
            "Next": "CopyChunk",
        },
        "CopyChunk": _task(
            Step.COPY_CHUNK,
            ("cursor", "$.progress"),
            failed,
            "MoreToCopy",
            payload={"cursor.$": CURSOR_PATH},
        ),
    }


def _suspend_states() -> dict[str, State]:
    return {
        "Suspend": _task(
            Step.SUSPEND,
            ("result", "$.suspended"),
            [_catch(ErrorName.ALL, "$.suspend_error", "SuspendFailed")],
            "WaitingForSignIn",
            payload={"error.$": "$.error"},
            comment="The Microsoft 365 sign-in stopped working: park the job (mail kept, slot"
            " freed) until the user signs in again; it is then queued and a new execution"
            " carries on.",
        ),
        "WaitingForSignIn": {
            "Type": "Succeed",
            "Comment": "Ends the execution; the job's state says it waits for a sign-in.",
        },
        "SuspendFailed": {
            "Type": "Fail",
            "Error": str(ErrorName.SUSPEND_FAILED),
            "Cause": "Parking the job for a new sign-in failed. Never a rollback here: the job"
            " may be parked already, with its mail kept. The scheduler sees the failed"
            " execution: a job still running is rolled back from there; a parked one waits"
            " for its sign-in.",
        },
    }


def _end_states() -> dict[str, State]:
    to_rollback = [_catch(ErrorName.ALL, "$.error", "Rollback")]
    return {
        "ContinueAsNew": _task(
            Step.CONTINUE, ("result", "$.continued"), to_rollback, "ContinuedAsNew"
        ),
        "ContinuedAsNew": {
            "Type": "Succeed",
            "Comment": "The job carries on in the execution just started.",
        },
        "Finalize": _task(Step.FINALIZE, ("result", "$.final"), to_rollback, "NotifyCompleted"),
        "NotifyCompleted": _notify(Outcome.COMPLETED, "Completed"),
        "Completed": {"Type": "Succeed"},
    }


def _undo(name: str, mode: Mode, result_path: str, payload: State, then: str) -> dict[str, State]:
    """A rollback (or revert) task and its loop: it removes a piece per call until done."""
    more = f"{name}More"
    task = _task(
        Step.ROLLBACK,
        ("result", result_path),
        [_catch(ErrorName.ALL, "$.rollback_error", "NotifyRollbackFailed")],
        more,
        payload={**payload, "mode": str(mode)},
        retry=ROLLBACK_RETRY,
    )
    loop = {
        "Type": "Choice",
        "Choices": [
            {
                "Variable": f"{result_path}.result.{ROLLBACK_DONE}",
                "BooleanEquals": False,
                "Next": name,
            }
        ],
        "Default": then,
    }
    return {name: task, more: loop}


def _rollback_states() -> dict[str, State]:
    return {
        **_undo(
            "Rollback", Mode.ROLLBACK, "$.rollback", {"error.$": "$.error"}, "NotifyRolledBack"
        ),
        "NotifyRolledBack": _notify(Outcome.ROLLED_BACK, "MigrationFailed"),
        "MigrationFailed": {
            "Type": "Fail",
            "Error": str(ErrorName.MIGRATION_FAILED),
            "Cause": "The migration failed or was cancelled, and was rolled back.",
        },
        **_undo("Revert", Mode.REVERT, "$.revert", {}, "Reverted"),
        "Reverted": {"Type": "Succeed"},
        "NotifyRollbackFailed": _notify(Outcome.ROLLBACK_FAILED, "RollbackFailed"),
        "RollbackFailed": {
            "Type": "Fail",
            "Error": str(ErrorName.ROLLBACK_FAILED),
            "Cause": "The migration failed and removing what it imported could not finish;"
            " the job is marked failed and the user told.",
        },
    }


def definition() -> State:
    """The state machine, as a dict."""
    return {
        "Comment": COMMENT,
        "StartAt": "Route",
        "States": {
            **_copy_states(),
            **_suspend_states(),
            **_end_states(),
            **_rollback_states(),
        },
    }


def render() -> str:
    """The file's text."""
    return json.dumps(definition(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    """Write the file, or with ``--check`` say whether it is up to date."""
    return generated.main(
        lambda _old: render(),
        ASL_FILE,
        argv,
        what="the migration state machine",
        fix="make asl",
        write_by_default=True,
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
