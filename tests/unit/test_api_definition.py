"""template.yaml's API Gateway definition is the Chalice routes' (infra/api_definition.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from infra import api_definition
from mailport_local.template import REPO_ROOT, api_routes, load_template

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]
API = RESOURCES["MailportApi"]
BODY = API["Properties"]["DefinitionBody"]
APP = api_definition.load_app()
COGNITO = [{"CognitoAuthorizer": []}]
PUBLIC = {
    ("/v1/health", "GET"),
    ("/v1/openapi.json", "GET"),
    # The console asks where to sign in before anyone has.
    ("/v1/auth/config", "GET"),
    # Microsoft and Google send the browser back without our token: the flow's cookie
    # identifies it.
    ("/v1/oauth/microsoft/callback", "GET"),
    ("/v1/oauth/google/callback", "GET"),
    ("/", "GET"),  # the web console's redirect and static files
    ("/console/{file}", "GET"),
}


def _operations(body: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (path, method.upper()): op
        for path, ops in body["paths"].items()
        for method, op in ops.items()
    }


def _app_routes() -> set[tuple[str, str]]:
    return {(path, method) for path, entries in APP.routes.items() for method in entries}


def test_the_definition_is_a_regeneration_of_the_routes() -> None:
    text = api_definition.TEMPLATE.read_text(encoding="utf-8")
    fresh = api_definition.render(api_definition.definition(APP))
    assert api_definition.current_block(text) == fresh, "stale: run `make api`"


def test_the_check_fails_on_a_stale_template_and_write_mends_it(tmp_path: Path) -> None:
    text = api_definition.TEMPLATE.read_text(encoding="utf-8")
    stale = tmp_path / "template.yaml"
    stale.write_text(text.replace('"/v1/health":', '"/v1/healthz":', 1), encoding="utf-8")
    assert api_definition.main(["--check", "--template", str(stale)]) == 1
    assert api_definition.main(["--write", "--template", str(stale)]) == 0
    assert stale.read_text(encoding="utf-8") == text
    assert api_definition.main(["--check", "--template", str(stale)]) == 0


def test_the_definition_has_exactly_the_chalice_routes() -> None:
    assert set(_operations(BODY)) == _app_routes()


def test_every_route_invokes_the_api_function_as_sam_did() -> None:
    uri = (
        "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31"
        "/functions/${ApiFunction.Arn}/invocations"
    )
    # SAM's proxy integration, key for key (Chalice's would add contentHandling and more).
    integration = {"type": "aws_proxy", "httpMethod": "POST", "uri": {"Fn::Sub": uri}}
    for route, op in _operations(BODY).items():
        assert op["x-amazon-apigateway-integration"] == integration, route
    assert RESOURCES["ApiFunction"]["Type"] == "AWS::Serverless::Function"
    # SAM would merge Api events into the body, and add per-route permissions.
    for res in RESOURCES.values():
        events = res.get("Properties", {}).get("Events", {})
        assert all(e["Type"] != "Api" for e in events.values())


_SUB_NAME = re.compile(r"\$\{([^}!]+)\}")


def _unknown_names(node: object) -> set[str]:
    """Names inside every ``Fn::Sub`` under ``node`` that the template does not define
    (cfn-lint checks ``Fn::GetAtt`` in the body but not these)."""
    if isinstance(node, list):
        return set().union(*(_unknown_names(v) for v in node))
    if not isinstance(node, dict):
        return set()
    found = set().union(*(_unknown_names(v) for k, v in node.items() if k != "Fn::Sub"))
    sub = node.get("Fn::Sub")
    if isinstance(sub, str):
        names = {n.split(".")[0] for n in _SUB_NAME.findall(sub)}
        known = set(RESOURCES) | set(TEMPLATE.get("Parameters", {}))
        found |= {n for n in names if n not in known and not n.startswith("AWS::")}
    return found


def test_every_name_in_the_definitions_substitutions_is_defined() -> None:
    assert _unknown_names(BODY) == set()
    assert _unknown_names(RESOURCES["ApiFunctionInvokePermission"]) == set()
    doctored = {"uri": {"Fn::Sub": "x/${ApiFunctionX.Arn}/${AWS::Region}/${UserPool}"}}
    assert _unknown_names([{"a": doctored}]) == {"ApiFunctionX"}


def test_only_the_cognito_authorizer_on_the_user_pool_guards_routes() -> None:
    assert BODY["securityDefinitions"] == {
        "CognitoAuthorizer": {
            "type": "apiKey",
            "name": "Authorization",
            "in": "header",
            "x-amazon-apigateway-authtype": "cognito_user_pools",
            "x-amazon-apigateway-authorizer": {
                "type": "cognito_user_pools",
                "providerARNs": [{"Fn::GetAtt": ["UserPool", "Arn"]}],
            },
        }
    }
    assert RESOURCES["UserPool"]["Type"] == "AWS::Cognito::UserPool"
    for route, op in _operations(BODY).items():
        assert op.get("security", COGNITO) == COGNITO, route
    assert "security" not in BODY  # no default that a route without security would inherit
    # The app says it all: a SAM Auth block would add its own authorizer to the body.
    assert "Auth" not in API["Properties"]


def test_the_public_routes_stay_exactly_the_public_set() -> None:
    public = {route for route, op in _operations(BODY).items() if "security" not in op}
    assert public == PUBLIC
    assert {(r.path, r.method) for r in api_routes(TEMPLATE) if not r.authorized} == PUBLIC


def test_the_local_gateway_serves_the_definitions_routes() -> None:
    # What the Api events said before (the same 45 when this was written): every Chalice
    # route to ApiFunction, behind the Cognito authorizer unless public, each once.
    expected = {("ApiFunction", p, m, (p, m) not in PUBLIC) for p, m in _app_routes()}
    routes = [(r.function, r.path, r.method, r.authorized) for r in api_routes(TEMPLATE)]
    assert len(routes) == len(set(routes))
    assert set(routes) == expected


def test_only_raw_messages_and_parts_are_binary() -> None:
    # The app base64-encodes these answers and API Gateway decodes them: the lists must agree.
    binary = ["message/rfc822", "application/octet-stream"]
    assert BODY["x-amazon-apigateway-binary-media-types"] == binary
    assert APP.api.binary_types == binary
    assert "BinaryMediaTypes" not in API["Properties"]  # the definition's list is the one
    source = (REPO_ROOT / "functions/api/api_routes_mailbox.py").read_text(encoding="utf-8")
    assert '"Content-Type": "message/rfc822"' in source


def test_one_permission_lets_the_api_invoke_the_function() -> None:
    perms = {
        k: r
        for k, r in RESOURCES.items()
        if r["Type"] == "AWS::Lambda::Permission"
        and r["Properties"]["Principal"] == "apigateway.amazonaws.com"
    }
    assert perms == {"ApiFunctionInvokePermission": perms["ApiFunctionInvokePermission"]}
    props = perms["ApiFunctionInvokePermission"]["Properties"]
    assert props["FunctionName"] == {"Ref": "ApiFunction"}
    assert props["Action"] == "lambda:InvokeFunction"
    assert props["Principal"] == "apigateway.amazonaws.com"
    arn = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${MailportApi}/*"
    assert props["SourceArn"] == {"Fn::Sub": arn}


def test_the_api_keeps_its_stage_tracing_and_name() -> None:
    props = API["Properties"]
    assert props["StageName"] == "v1api"
    assert props["TracingEnabled"] is True
    assert BODY["info"]["title"] == {"Ref": "AWS::StackName"}  # the REST API's name, as before
    outputs = TEMPLATE["Outputs"]
    assert "${MailportApi}.execute-api" in outputs["ApiUrl"]["Value"]["Fn::Sub"]
    assert "ServerlessRestApi" not in api_definition.TEMPLATE.read_text(encoding="utf-8")


def test_api_gateways_own_answers_are_the_apis_error_shape_with_codes_the_console_knows() -> None:
    import json

    console = REPO_ROOT / "functions" / "api" / "console"
    labels = [
        json.loads((console / f"i18n-{lang}.json").read_text(encoding="utf-8"))
        for lang in ("en", "ja")
    ]
    answers = BODY["x-amazon-apigateway-gateway-responses"]
    # The ones a signed-out or lost user meets, and a catch-all for each class.
    assert {"UNAUTHORIZED", "MISSING_AUTHENTICATION_TOKEN", "DEFAULT_4XX", "DEFAULT_5XX"} <= set(
        answers
    )
    for kind, answer in answers.items():
        body = json.loads(answer["responseTemplates"]["application/json"])
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, kind
        code, message = body["error"]["code"], body["error"]["message"]
        assert all(f"error.{code}" in each for each in labels), (kind, code)
        # No VTL in a gateway response: a "$" would be taken for a variable.
        assert message and "$" not in message, kind
    assert answers["UNAUTHORIZED"]["statusCode"] == "401"
    assert answers["MISSING_AUTHENTICATION_TOKEN"]["statusCode"] == "404"
    assert "statusCode" not in answers["DEFAULT_4XX"]  # API Gateway's own 4xx status stays
