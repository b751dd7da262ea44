"""The state machine's contract: infra/statemachines/migration.asl.json (what template.yaml
deploys) against mailport.workflow (what the worker, the runner and the scheduler use).

``contract_errors`` reads the ASL as deployed; the negative tests prove each of its checks
fails on a definition that drifted.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import migration_worker
from mailport.domain.oauth import SignInRequired
from mailport.errors import TransientError
from mailport.usecases.migration_shared import JobCancelled
from mailport.workflow import (
    CURSOR_FIELDS,
    CURSOR_PATH,
    ROLLBACK_DONE,
    Cursor,
    ErrorName,
    Mode,
    Outcome,
    RollbackResult,
    Step,
    StepEvent,
    cursor,
    cursor_path,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
ASL_FILE = REPO_ROOT / "infra" / "statemachines" / "migration.asl.json"
GENERATOR = REPO_ROOT / "infra" / "statemachines" / "migration_asl.py"
EVENT_KEYS = StepEvent.__required_keys__ | StepEvent.__optional_keys__


def _walk(node: Any) -> Iterator[tuple[str | None, Any]]:
    """Every (key, value) pair in a JSON tree, depth first (key None for list items)."""
    items = node.items() if isinstance(node, dict) else ((None, v) for v in node)
    for key, value in items:
        yield key, value
        if isinstance(value, dict | list):
            yield from _walk(value)


def _task_errors(states: dict[str, Any]) -> tuple[list[str], set[str], set[str]]:
    """Problems with the Tasks' payloads; the steps and outcomes they use."""
    errors: list[str] = []
    steps: set[str] = set()
    outcomes: set[str] = set()
    for name, state in states.items():
        if state["Type"] != "Task":
            continue
        payload = state["Parameters"]["Payload"]
        step = payload.get("step")
        if step in set(Step):
            steps.add(step)
        else:
            errors.append(f"{name}: step {step!r} is not a workflow.Step")
        errors += [
            f"{name}: payload key {key!r} is not in workflow.StepEvent"
            for key in payload
            if key.removesuffix(".$") not in EVENT_KEYS
        ]
        if "mode" in payload and payload["mode"] not in set(Mode):
            errors.append(f"{name}: mode {payload['mode']!r} is not a workflow.Mode")
        if "outcome" in payload:
            if payload["outcome"] in set(Outcome):
                outcomes.add(payload["outcome"])
            else:
                errors.append(f"{name}: outcome {payload['outcome']!r} is not a workflow.Outcome")
        if step in (Step.PLAN, Step.COPY_CHUNK):
            (key,) = state["ResultSelector"]
            kept = f"{state['ResultPath']}.{key.removesuffix('.$')}"
            if kept != CURSOR_PATH:
                errors.append(f"{name}: keeps its cursor at {kept}, not {CURSOR_PATH}")
    return errors, steps, outcomes


def _mode_errors(states: dict[str, Any]) -> tuple[list[str], set[str]]:
    """Problems with the Choices on ``$.mode``; the modes they route."""
    errors: list[str] = []
    routed: set[str] = set()
    for key, value in _walk(states):
        if key is None and isinstance(value, dict) and value.get("Variable") == "$.mode":
            mode = value.get("StringEquals")
            if mode is None:
                continue  # the IsPresent half of the rule
            if mode in set(Mode):
                routed.add(mode)
            else:
                errors.append(f"a Choice routes mode {mode!r}, not a workflow.Mode")
    return errors, routed


def _rollback_loop_errors(states: dict[str, Any]) -> list[str]:
    """A Choice on a rollback step's result reads a field of workflow.RollbackResult."""
    fields = RollbackResult.__required_keys__ | RollbackResult.__optional_keys__
    results = [
        f"{s['ResultPath']}.{key.removesuffix('.$')}."
        for s in states.values()
        if s["Type"] == "Task" and s["Parameters"]["Payload"].get("step") == Step.ROLLBACK
        for key in s["ResultSelector"]
    ]
    errors: list[str] = []
    loops = 0
    for name, state in states.items():
        for rule in state.get("Choices", []) if state["Type"] == "Choice" else []:
            variable = str(rule.get("Variable", ""))
            prefix = next((r for r in results if variable.startswith(r)), None)
            if prefix is None:
                continue
            loops += variable.removeprefix(prefix) == ROLLBACK_DONE
            if variable.removeprefix(prefix) not in fields:
                errors.append(f"{name}: {variable} is not a field of workflow.RollbackResult")
    if loops != len(results):
        errors.append(f"{len(results)} rollback tasks, {loops} loops on their {ROLLBACK_DONE}")
    return errors


def contract_errors(definition: dict[str, Any]) -> list[str]:
    """Everything in the ASL that disagrees with mailport.workflow (empty: they agree)."""
    states: dict[str, Any] = definition["States"]
    errors, steps, outcomes = _task_errors(states)
    mode_errors, routed = _mode_errors(states)
    errors += mode_errors
    errors += _rollback_loop_errors(states)
    errors += [f"workflow.Step {str(s)!r} is used by no Task" for s in set(Step) - steps]
    errors += [
        f"workflow.Outcome {str(o)!r} is notified by no Task" for o in set(Outcome) - outcomes
    ]
    errors += [f"workflow.Mode {str(m)!r} is routed by no Choice" for m in set(Mode) - routed]
    progress = re.compile(r"\$\.progress\.")
    for key, value in _walk(definition):
        if isinstance(value, str) and progress.match(value) and value != CURSOR_PATH:
            field = value.removeprefix(CURSOR_PATH + ".")
            if field == value or field not in CURSOR_FIELDS:
                errors.append(f"{value} is not a field of workflow.Cursor")
        if key == "ErrorEquals":
            unknown = [e for e in value if e not in set(ErrorName)]
            errors += [f"ErrorEquals {e!r} is not a workflow.ErrorName" for e in unknown]
    for name, state in states.items():
        if state["Type"] == "Fail" and state["Error"] not in set(ErrorName):
            errors.append(f"{name}: Fail error {state['Error']!r} is not a workflow.ErrorName")
    return errors


@pytest.fixture(scope="module")
def asl() -> dict[str, Any]:
    return json.loads(ASL_FILE.read_text(encoding="utf-8"))


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("migration_asl", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_deployed_asl_agrees_with_the_python_contract(asl: dict[str, Any]) -> None:
    assert contract_errors(asl) == []


def test_the_asl_file_is_what_the_generator_writes() -> None:
    """Retry policies, steps and paths are written once, in Python: a hand edit of the JSON
    (or a change of the generator not written out) fails here.
    """
    assert ASL_FILE.read_text(encoding="utf-8") == _generator().render(), (
        f"regenerate: .venv/bin/python {GENERATOR.relative_to(REPO_ROOT)}"
    )


def test_the_generator_check_mode_sees_drift(tmp_path: Path, monkeypatch: Any) -> None:
    generator = _generator()
    stale = tmp_path / "migration.asl.json"
    stale.write_text(ASL_FILE.read_text(encoding="utf-8").replace('"plan"', '"plan2"'))
    monkeypatch.setattr(generator, "ASL_FILE", stale)
    assert generator.main(["--check"]) == 1
    assert generator.main([]) == 0  # writes it
    assert generator.main(["--check"]) == 0


def test_retry_policies_are_written_once() -> None:
    """Ten Task states, two Retry policies: each one object in the generator."""
    generator = _generator()
    definition = generator.definition()
    retries = [s["Retry"] for s in definition["States"].values() if s["Type"] == "Task"]
    assert len(retries) == 10
    assert {id(r) for r in retries} == {id(generator.STEP_RETRY), id(generator.ROLLBACK_RETRY)}


def _mutated(asl: dict[str, Any], state: str, *path: str, value: Any) -> dict[str, Any]:
    broken = copy.deepcopy(asl)
    node = broken["States"][state]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return broken


@pytest.mark.parametrize(
    ("state", "path", "value", "expected"),
    [
        ("Plan", ("Parameters", "Payload", "step"), "planning", "step 'planning'"),
        ("Plan", ("Parameters", "Payload", "step"), "finalize", "Step 'plan' is used by no"),
        ("Revert", ("Parameters", "Payload", "mode"), "undo", "mode 'undo'"),
        ("NotifyCompleted", ("Parameters", "Payload", "outcome"), "done", "outcome 'done'"),
        ("Pause", ("SecondsPath",), "$.progress.cursor.wait", "cursor.wait is not a field"),
        ("Plan", ("ResultPath",), "$.result", "keeps its cursor at $.result.cursor"),
        ("Suspend", ("Parameters", "Payload", "reason.$"), "$.error", "key 'reason.$'"),
        ("RollbackFailed", ("Error",), "RollbackBroke", "Fail error 'RollbackBroke'"),
        ("Revert", ("ResultPath",), "$.reverted", "2 rollback tasks, 1 loops"),
    ],
)
def test_each_check_fails_on_a_drifted_definition(
    asl: dict[str, Any], state: str, path: tuple[str, ...], value: Any, expected: str
) -> None:
    errors = contract_errors(_mutated(asl, state, *path, value=value))
    assert any(expected in e for e in errors), errors


def test_a_renamed_error_or_mode_choice_fails(asl: dict[str, Any]) -> None:
    broken = copy.deepcopy(asl)
    broken["States"]["Plan"]["Retry"][1]["ErrorEquals"][0] = "TransientFailure"
    broken["States"]["Route"]["Choices"][0]["And"][1]["StringEquals"] = "giveup"
    broken["States"]["RollbackMore"]["Choices"][0]["Variable"] = "$.rollback.result.finished"
    errors = contract_errors(broken)
    assert "ErrorEquals 'TransientFailure' is not a workflow.ErrorName" in errors
    assert "a Choice routes mode 'giveup', not a workflow.Mode" in errors
    assert "workflow.Mode 'give_up' is routed by no Choice" in errors
    assert "RollbackMore: $.rollback.result.finished is not a field of workflow.RollbackResult" in (
        errors
    )


def test_error_names_are_the_exception_class_names() -> None:
    """Step Functions matches an exception by its class name."""
    assert TransientError.__name__ == ErrorName.TRANSIENT
    assert SignInRequired.__name__ == ErrorName.SIGN_IN_REQUIRED
    assert JobCancelled.__name__ == ErrorName.JOB_CANCELLED


def test_the_worker_has_every_step_and_the_cursor_every_field() -> None:
    bound = migration_worker.steps(object(), {})  # type: ignore[arg-type]
    assert set(bound) == set(Step)
    assert set(cursor(False, 0)) == CURSOR_FIELDS == set(Cursor.__annotations__)
    assert cursor_path("wait_s") == "$.progress.cursor.wait_s"
    with pytest.raises(KeyError):
        cursor_path("waits")
