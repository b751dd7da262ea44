"""The API end to end over HTTP: local gateway → ApiFunction (Chalice) → DynamoDB on moto."""

from __future__ import annotations

import json

import pytest
import requests

from mailport_local.stack import DEMO_USERS, LocalStack
from mailport_local.template import REPO_ROOT
from tests.support.api import login

pytestmark = pytest.mark.stack


def test_health_answers_without_a_token(local_stack: LocalStack) -> None:
    r = requests.get(f"{local_stack.api_url}/v1/health", timeout=10)
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(("tenant", "email", "name", "admin"), DEMO_USERS)
def test_me_shows_each_demo_user(
    local_stack: LocalStack, tenant: str, email: str, name: str, admin: bool
) -> None:
    r = requests.get(
        f"{local_stack.api_url}/v1/me",
        headers=login(local_stack, email, tenant, admin=admin),
        timeout=10,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"]["email"] == email and body["user"]["display_name"] == name
    assert body["tenant"]["id"] == tenant and body["admin"] is admin
    if tenant == "acme":
        assert body["plan"] == "advanced" and "pop_import" in body["features"]
    else:
        assert body["plan"] == "basic" and "pop_import" not in body["features"]


def test_me_without_or_with_a_bad_token_is_401(local_stack: LocalStack) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "x.y.z"}):
        r = requests.get(f"{local_stack.api_url}/v1/me", headers=headers, timeout=10)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "unauthenticated"


def test_a_token_for_an_unknown_tenant_is_403(local_stack: LocalStack) -> None:
    token = local_stack.token("x@ghost.example", "ghost-tenant")
    r = requests.get(f"{local_stack.api_url}/v1/me", headers={"Authorization": token}, timeout=10)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"


def test_openapi_document_is_served(local_stack: LocalStack) -> None:
    r = requests.get(f"{local_stack.api_url}/v1/openapi.json", timeout=10)
    assert r.status_code == 200
    assert r.json() == json.loads((REPO_ROOT / "functions/api/openapi.json").read_text())


def test_unknown_route_and_wrong_method_use_the_error_shape(local_stack: LocalStack) -> None:
    r = requests.get(f"{local_stack.api_url}/v1/nothing-here", timeout=10)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = requests.delete(f"{local_stack.api_url}/v1/me", timeout=10)
    assert r.status_code == 405 and set(r.json()["error"]) == {"code", "message"}
