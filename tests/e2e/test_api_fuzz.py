"""The OpenAPI spec fuzzed against the local stack (schemathesis): every operation gets
schema-shaped and malformed requests, signed in as a user of an advanced-plan organisation
and as its admin. No answer may be a 5xx, and every answer must be one the spec documents:
its status, its content type and its body (the response schemas are exact: every key
required, no others; tests/unit/test_template_contract.py keeps them so). Derandomized, so CI
runs the same cases every time (a failure is reproducible, not a flake); the number per
operation is kept small for CI time.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode, checks

from mailport_local.stack import LocalStack
from tests.support.api import login

pytestmark = pytest.mark.stack

SPEC = json.loads(
    (Path(__file__).resolve().parents[2] / "functions/api/openapi.json").read_text("utf-8")
)
SCHEMA = schemathesis.openapi.from_dict(SPEC)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
EXAMPLES = 12  # per operation and mode: ≈ 1,000 requests in all
# Every answer: not a 5xx, a status the operation documents, a documented content type, and a
# body that matches the schema documented for that status and type.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def callers(local_stack: LocalStack) -> dict[str, dict[str, str]]:
    tenant = f"fuzz{uuid.uuid4().hex[:6]}"
    return {
        "user": login(local_stack, f"user@{tenant}.example", tenant, plan="advanced"),
        "admin": login(local_stack, f"admin@{tenant}.example", tenant, admin=True),
    }


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda o: f"{o.method.upper()} {o.path}")
def test_every_answer_is_a_documented_one(
    local_stack: LocalStack,
    callers: dict[str, dict[str, str]],
    operation: Any,
    mode: GenerationMode,
) -> None:
    who = "admin" if operation.path.startswith("/v1/admin") else "user"
    http = requests.Session()
    seen: list[str] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case: Any) -> None:
        response = case.call_and_validate(
            base_url=local_stack.api_url,
            session=http,
            headers=callers[who],
            checks=CHECKS,
            timeout=30,
        )
        seen.append(str(response.status_code))

    try:
        call()
    except Exception as e:  # an unsatisfiable negative schema (nothing to break) is fine
        if "Unsatisfiable" not in type(e).__name__:
            raise
    assert seen or mode is GenerationMode.NEGATIVE
