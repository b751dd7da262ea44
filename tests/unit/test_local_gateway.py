"""The local API Gateway stand-in: routing, events, tokens (no sockets)."""

import json
import time
from typing import Any

import jwt
import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from mailport.domain.identity import Plan
from mailport_local.gateway import TOKEN_ISSUER, Gateway, LocalAuth, user_id_for
from mailport_local.template import ApiRoute, api_routes
from tests.unit.fakes import MemoryDirectory


class RecordingFunction:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        self.events.append(event)
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}


class Registry(dict):  # type: ignore[type-arg]
    pass


ROUTES = [
    ApiRoute("Api", "/v1/health", "GET", authorized=False),
    ApiRoute("Api", "/v1/folders", "GET", authorized=True),
    ApiRoute("Api", "/v1/folders/{id}", "PATCH", authorized=True),
    ApiRoute("Api", "/v1/folders/special", "PATCH", authorized=True),
]


@pytest.fixture
def setup() -> tuple[Gateway, RecordingFunction, LocalAuth]:
    fn = RecordingFunction()
    auth = LocalAuth(secret=b"k" * 32, directory=MemoryDirectory())
    return Gateway(ROUTES, Registry(Api=fn), auth), fn, auth  # type: ignore[arg-type]


def _req(method: str, path: str, token: str | None = None, body: object = None) -> Request:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = json.dumps(body) if body is not None else None
    return Request(
        EnvironBuilder(
            method=method, path=path, headers=headers, data=data, content_type="application/json"
        ).get_environ()
    )


def test_public_route_needs_no_token(setup) -> None:  # type: ignore[no-untyped-def]
    gw, fn, _ = setup
    assert gw.handle(_req("GET", "/v1/health")).status_code == 200
    assert fn.events[0]["requestContext"]["resourcePath"] == "/v1/health"
    assert fn.events[0]["requestContext"]["authorizer"] == {}


def test_protected_route_refuses_missing_forged_and_expired_tokens(setup) -> None:  # type: ignore[no-untyped-def]
    gw, fn, auth = setup
    assert gw.handle(_req("GET", "/v1/folders")).status_code == 401
    forged = LocalAuth(secret=b"x" * 32, directory=MemoryDirectory()).sign("u", "a@b.c", "t", True)
    assert gw.handle(_req("GET", "/v1/folders", forged)).status_code == 401
    expired = jwt.encode(
        {
            "sub": "u",
            "custom:tenant": "t",
            "iss": TOKEN_ISSUER,
            "aud": TOKEN_ISSUER,
            "exp": int(time.time()) - 5,
        },
        auth.secret,
        algorithm="HS256",
    )
    assert gw.handle(_req("GET", "/v1/folders", expired)).status_code == 401
    unsigned = jwt.encode({"sub": "u", "custom:tenant": "t"}, None, algorithm="none")
    assert gw.handle(_req("GET", "/v1/folders", unsigned)).status_code == 401
    assert not fn.events


def test_claims_arrive_where_api_gateway_puts_them(setup) -> None:  # type: ignore[no-untyped-def]
    gw, fn, auth = setup
    token = auth.sign("u1", "a@acme.example", "acme", admin=True)
    assert gw.handle(_req("PATCH", "/v1/folders/f%2F1", token)).status_code == 200
    event = fn.events[0]
    claims = event["requestContext"]["authorizer"]["claims"]
    assert claims["sub"] == "u1" and claims["custom:tenant"] == "acme"
    assert claims["custom:admin"] == "true" and claims["cognito:groups"] == "admins"
    assert all(isinstance(v, str) for v in claims.values())
    assert event["resource"] == "/v1/folders/{id}"
    assert event["pathParameters"] == {"id": "f/1"}


def test_literal_path_beats_template(setup) -> None:  # type: ignore[no-untyped-def]
    gw, fn, auth = setup
    gw.handle(_req("PATCH", "/v1/folders/special", auth.sign("u", "a@b.c", "t", False)))
    assert fn.events[0]["resource"] == "/v1/folders/special"


def test_unknown_path_and_method(setup) -> None:  # type: ignore[no-untyped-def]
    gw, _, _ = setup
    missing = gw.handle(_req("GET", "/v1/nope"))
    assert missing.status_code == 404
    assert json.loads(missing.get_data())["error"]["code"] == "not_found"
    wrong = gw.handle(_req("DELETE", "/v1/health"))
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "GET"


def test_login_creates_tenant_and_user_and_signs(setup) -> None:  # type: ignore[no-untyped-def]
    gw, _, auth = setup
    r = gw.handle(
        _req(
            "POST",
            "/v1/local/login",
            body={"email": "Zed@New.example", "tenant": "newco", "plan": "advanced", "admin": True},
        )
    )
    assert r.status_code == 200
    claims = auth.claims("Bearer " + json.loads(r.get_data())["token"])
    assert claims is not None
    assert claims["email"] == "zed@new.example" and claims["sub"] == user_id_for(
        "newco", "zed@new.example"
    )
    directory = auth.directory
    tenant = directory.get_tenant("newco")
    assert tenant is not None and tenant.plan is Plan.ADVANCED
    user = directory.get_user("newco", claims["sub"])
    assert user is not None and user.admin


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"email": "not-an-address", "tenant": "acme"},
        {"email": "a@b.c", "tenant": "Bad Tenant!"},
        {"email": "a@b.c", "tenant": "acme", "plan": "gold"},
        {"email": "a@b.c", "tenant": "acme", "admin": "yes"},
    ],
)
def test_login_refuses_bad_input_clearly(setup, body) -> None:  # type: ignore[no-untyped-def]
    gw, _, _ = setup
    r = gw.handle(_req("POST", "/v1/local/login", body=body))
    assert r.status_code == 400
    error = json.loads(r.get_data())["error"]
    assert error["code"] == "invalid_request" and error["message"]


def _api(paths: dict[str, Any]) -> dict[str, Any]:
    return {
        "Resources": {
            "Fn": {"Type": "AWS::Serverless::Function", "Properties": {}},
            "Api": {
                "Type": "AWS::Serverless::Api",
                "Properties": {"DefinitionBody": {"paths": paths}},
            },
        }
    }


def _integration(function: str) -> dict[str, Any]:
    uri = f"arn:${{AWS::Partition}}:apigateway:x:lambda:path/functions/${{{function}.Arn}}/i"
    return {"type": "aws_proxy", "httpMethod": "POST", "uri": {"Fn::Sub": uri}}


def test_routes_come_from_the_apis_definition() -> None:
    paths = {
        "/v1/health": {"get": {"x-amazon-apigateway-integration": _integration("Fn")}},
        "/v1/things/{id}": {
            "parameters": [{"in": "path", "name": "id", "required": True, "type": "string"}],
            "delete": {
                "x-amazon-apigateway-integration": _integration("Other"),
                "security": [{"CognitoAuthorizer": []}],
            },
        },
    }
    assert api_routes(_api(paths)) == [
        ApiRoute("Fn", "/v1/health", "GET", authorized=False),
        ApiRoute("Other", "/v1/things/{id}", "DELETE", authorized=True),
    ]


def test_a_route_whose_integration_names_no_function_is_refused() -> None:
    mock = {"get": {"x-amazon-apigateway-integration": {"type": "mock"}}}
    with pytest.raises(ValueError, match="GET /v1/x: the integration names no one function"):
        api_routes(_api({"/v1/x": mock}))
