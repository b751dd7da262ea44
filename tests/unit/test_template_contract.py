"""template.yaml, the handlers, the Chalice routes and the OpenAPI document agree."""

import importlib.util
import json
from pathlib import Path

import pytest

from mailport_local.template import REPO_ROOT, api_routes, functions, load_template

TEMPLATE = load_template()
SPECS = functions(TEMPLATE)


def _load(path: Path, name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_handler_module_name_is_unique() -> None:
    # Several app.py files would collide in sys.modules in one process (the local stack, tests).
    names = [s.handler.rsplit(".", 1)[0] for s in SPECS]
    assert len(names) == len(set(names)), names
    assert all(n not in {"app", "handler", "main", "lambda_function"} for n in names)


@pytest.mark.parametrize("spec", SPECS, ids=[s.logical_id for s in SPECS])
def test_every_handler_path_imports(spec, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    assert spec.module_file.is_file(), spec.module_file
    module = _load(spec.module_file, f"contract_{spec.logical_id}")
    assert callable(getattr(module, spec.attribute))


def _app_routes() -> set[tuple[str, str]]:
    module = _load(REPO_ROOT / "functions/api/mailport_api.py", "contract_api_routes")
    return {(path, method) for path, entries in module.app.routes.items() for method in entries}


def test_template_routes_equal_the_chalice_routes() -> None:
    template_routes = {(r.path, r.method) for r in api_routes(TEMPLATE)}
    assert template_routes == _app_routes()


def test_openapi_document_equals_the_chalice_routes() -> None:
    spec = json.loads((REPO_ROOT / "functions/api/openapi.json").read_text())
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    assert documented == _app_routes()


def test_public_routes_are_exactly_the_documented_public_ones() -> None:
    spec = json.loads((REPO_ROOT / "functions/api/openapi.json").read_text())
    public_doc = {
        (path, m.upper())
        for path, ops in spec["paths"].items()
        for m, op in ops.items()
        if op.get("security") == []
    }
    public_template = {(r.path, r.method) for r in api_routes(TEMPLATE) if not r.authorized}
    assert (
        public_doc
        == public_template
        == {
            ("/v1/health", "GET"),
            ("/v1/openapi.json", "GET"),
            # The console asks where to sign in before anyone has.
            ("/v1/auth/config", "GET"),
            # Microsoft sends the browser back without our token: the flow's cookie identifies it.
            ("/v1/oauth/microsoft/callback", "GET"),
            ("/", "GET"),  # the web console's redirect and static files
            ("/console/{file}", "GET"),
        }
    )


def test_local_login_can_never_be_deployed() -> None:
    assert ("/v1/local/login", "POST") not in _app_routes()
    assert all(not r.path.startswith("/v1/local") for r in api_routes(TEMPLATE))
    assert "local" not in TEMPLATE["Parameters"]["Stage"]["AllowedValues"]


def test_state_machine_definitions_are_files_with_substitutions() -> None:
    machines = [
        r for r in TEMPLATE["Resources"].values() if r["Type"] == "AWS::Serverless::StateMachine"
    ]
    assert machines
    for machine in machines:
        props = machine["Properties"]
        text = (REPO_ROOT / props["DefinitionUri"]).read_text()
        for key in props["DefinitionSubstitutions"]:
            assert "${" + key + "}" in text


def test_every_function_has_the_logger_and_the_tracer() -> None:
    """Powertools Logger (JSON, correlation ids) and Tracer (X-Ray) on every handler."""
    handlers = sorted((REPO_ROOT / "functions").glob("*/*.py"))
    assert len(handlers) >= 6
    for path in handlers:
        text = path.read_text(encoding="utf-8")
        if "def handler(" not in text:
            continue
        assert "Logger()" in text and "@logger.inject_lambda_context" in text, path.name
        assert "Tracer(" in text and "@tracer.capture_lambda_handler" in text, path.name


def test_the_console_is_the_sign_in_clients_only_callback() -> None:
    resources = TEMPLATE["Resources"]
    client = resources["UserPoolClient"]["Properties"]
    assert client["GenerateSecret"] is False  # a public client: PKCE instead of a secret
    assert client["SupportedIdentityProviders"] == ["COGNITO"]
    hosted = {"Fn::If": ["HostedSignIn", ["code"], {"Ref": "AWS::NoValue"}]}
    assert client["AllowedOAuthFlows"] == hosted
    console_only = {"Fn::If": ["HostedSignIn", [{"Ref": "ConsoleUrl"}], {"Ref": "AWS::NoValue"}]}
    assert client["CallbackURLs"] == client["LogoutURLs"] == console_only
    assert resources["UserPoolDomain"]["Type"] == "AWS::Cognito::UserPoolDomain"
    env = resources["ApiFunction"]["Properties"]["Environment"]["Variables"]
    assert {"AUTH_DOMAIN", "AUTH_CLIENT_ID", "AUTH_ISSUER", "CONSOLE_URL"} <= set(env)
    assert env["CONSOLE_URL"] == {"Ref": "ConsoleUrl"}
