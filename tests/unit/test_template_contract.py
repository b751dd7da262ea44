"""template.yaml, the handlers, the Chalice routes and the OpenAPI document agree."""

import importlib.util
import json
from pathlib import Path
from typing import Any

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
            # Microsoft and Google send the browser back without our token: the flow's cookie
            # identifies it.
            ("/v1/oauth/microsoft/callback", "GET"),
            ("/v1/oauth/google/callback", "GET"),
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


def test_nothing_is_kept_forever_by_default() -> None:
    """Each function logs to a group of its own with a retention; deleted mail's noncurrent
    versions expire (docs/capacity.md: both were billed forever)."""
    resources = TEMPLATE["Resources"]
    fns = {k: v for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}
    assert len(fns) >= 6
    for name, fn in fns.items():
        group = fn["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert resources[group]["Type"] == "AWS::Logs::LogGroup", name
        assert resources[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert TEMPLATE["Parameters"]["LogRetentionDays"]["Default"] == 30
    rule, copies = resources["MailBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled" and "Prefix" not in rule  # every object
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": {"Ref": "DeletedMailDays"}}
    # Parts decoded for a download (usecases/downloads.py) go after a day, versions too.
    assert copies["Status"] == "Enabled" and copies["Prefix"] == "parts/"
    assert copies["ExpirationInDays"] == 1
    assert copies["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}
    assert resources["MailBucket"]["Properties"]["VersioningConfiguration"]["Status"] == "Enabled"


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


def _answer_schemas(spec: dict[str, Any]) -> list[tuple[str, object]]:
    """Each documented answer's schema, named by operation and status."""
    named = spec["components"]["responses"]
    return [
        (f"{method.upper()} {path} {status}", content.get("schema"))
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        for status, answer in op["responses"].items()
        for content in named.get(answer.get("$ref", "").rsplit("/", 1)[-1], answer)
        .get("content", {})
        .values()
    ]


def _response_objects(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every object schema with properties that an answer can contain, with where it is (a
    component's name, or the operation and status for one written in place).
    """
    found: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()

    def walk(schema: object, at: str) -> None:
        children = schema if isinstance(schema, list) else []
        if isinstance(schema, dict):
            name = str(schema.get("$ref", "")).rsplit("/", 1)[-1]
            if name:
                children = [] if name in seen else [spec["components"]["schemas"][name]]
                seen.add(name)
                at = name
            else:
                children = list(schema.values())
                if schema.get("type") == "object" and "properties" in schema:
                    found.append((at, schema))
        for child in children:
            walk(child, at)

    for where, schema in _answer_schemas(spec):
        walk(schema, where)
    return found


def test_response_schemas_are_exact() -> None:
    """Every object in an answer names all its keys as required and allows no others, so the
    API fuzz test (which validates every answer) notices a key added, dropped or renamed.
    """
    spec = json.loads((REPO_ROOT / "functions/api/openapi.json").read_text())
    objects = _response_objects(spec)
    assert len(objects) > 30
    # The optional keys: the presigned POST, sent only in the answer that creates a batch, and
    # the issuer, sent only where the stack was deployed with it.
    optional = {"UploadFile": {"upload"}, "GET /v1/auth/config 200": {"issuer"}}
    for where, schema in objects:
        assert schema.get("additionalProperties") is False, where
        expected = set(schema["properties"]) - optional.get(where, set())
        assert set(schema.get("required", [])) == expected, where


def test_the_admin_views_are_the_users_views_and_the_user() -> None:
    schemas = json.loads((REPO_ROOT / "functions/api/openapi.json").read_text())["components"][
        "schemas"
    ]
    for admin_view, user_view in (("OrgAccount", "Account"), ("OrgMigration", "Migration")):
        extra = {"user_id": {"type": "string"}}
        assert schemas[admin_view]["properties"] == {**schemas[user_view]["properties"], **extra}
        assert schemas[admin_view]["required"] == [*schemas[user_view]["required"], "user_id"]


def test_the_fetch_worker_runs_every_record_of_its_batch_at_once() -> None:
    # More records than threads would wait for a thread (and run out of time); fewer would
    # leave polls to run one after another. One parameter sizes both: the event source's
    # batch and, through FETCH_BATCH_SIZE, the handler's threads (test_pop_fetch_handler).
    from mailport.settings import Settings
    from mailport_local.provision import Provisioner

    [spec] = [s for s in SPECS if s.logical_id == "PopFetchFunction"]
    size = {"Ref": "FetchBatchSize"}
    assert spec.events["FetchWork"]["Properties"]["BatchSize"] == size
    assert spec.environment["FETCH_BATCH_SIZE"] == size
    param = TEMPLATE["Parameters"]["FetchBatchSize"]
    # Above 10, SQS needs a batching window, which would hold "fetch now" back.
    assert 1 < param["Default"] <= param["MaxValue"] <= 10
    assert param["MinValue"] >= 1
    env = {"TABLE_NAME": "t", "MAIL_BUCKET": "m", "UPLOAD_BUCKET": "u", "FETCH_QUEUE_URL": "q"}
    env |= {"CREDENTIALS_KEY_ID": "k"}
    # The local stack resolves the parameter to its default, as a deploy without it would.
    env["FETCH_BATCH_SIZE"] = Provisioner(TEMPLATE).resolve(size)
    assert Settings.from_env(env).fetch_batch_size == param["Default"]
    # Nowhere else: the worker reads the setting, the template says the number once.
    handler = (REPO_ROOT / "functions/pop_fetch/pop_fetch.py").read_text()
    assert "BATCH_SIZE =" not in handler and "workers=10" not in handler


def test_reserved_concurrency_is_opt_in_for_the_api_and_the_worker() -> None:
    # A new account may have less than 100 + a reservation unreserved: Lambda would refuse
    # the deploy, so nothing is reserved unless asked for.
    params = TEMPLATE["Parameters"]
    reserved = {
        name: res["Properties"]["ReservedConcurrentExecutions"]
        for name, res in TEMPLATE["Resources"].items()
        if "ReservedConcurrentExecutions" in res.get("Properties", {})
    }
    assert reserved == {
        "ApiFunction": {
            "Fn::If": ["ApiReserved", {"Ref": "ApiReservedConcurrency"}, {"Ref": "AWS::NoValue"}]
        },
        "MigrationWorkerFunction": {
            "Fn::If": [
                "WorkerReserved",
                {"Ref": "WorkerReservedConcurrency"},
                {"Ref": "AWS::NoValue"},
            ]
        },
    }
    for name in ("ApiReservedConcurrency", "WorkerReservedConcurrency"):
        assert params[name]["Default"] == 0


def test_a_full_batch_of_packed_messages_polls_all_at_once() -> None:
    # The worker's sessions pool (FETCH_SESSIONS) holds a whole batch: FetchBatchSize
    # messages of FetchAccountsPerMessage accounts each; fewer threads would leave polls
    # waiting (and billed), more would idle. Every function that queues fetches packs them
    # the same way (a Globals variable), and the memory (the CPU share) is a parameter.
    from mailport.domain.accounts import MAX_PER_MESSAGE
    from mailport.settings import Settings
    from mailport_local.provision import Provisioner

    params = TEMPLATE["Parameters"]
    [spec] = [s for s in SPECS if s.logical_id == "PopFetchFunction"]
    assert spec.environment["FETCH_SESSIONS"] == {"Ref": "FetchSessions"}
    assert TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["FETCH_PER_MESSAGE"] == {
        "Ref": "FetchAccountsPerMessage"
    }
    batch, per_message = params["FetchBatchSize"], params["FetchAccountsPerMessage"]
    assert params["FetchSessions"]["Default"] == batch["Default"] * per_message["Default"]
    assert per_message["MaxValue"] <= MAX_PER_MESSAGE  # the worker reads no bigger message
    fetch = TEMPLATE["Resources"]["PopFetchFunction"]["Properties"]
    assert fetch["MemorySize"] == {"Ref": "FetchMemorySize"}
    resolve = Provisioner(TEMPLATE).resolve
    env = {"TABLE_NAME": "t", "MAIL_BUCKET": "m", "UPLOAD_BUCKET": "u", "FETCH_QUEUE_URL": "q"}
    env |= {"CREDENTIALS_KEY_ID": "k"}
    env["FETCH_SESSIONS"] = resolve({"Ref": "FetchSessions"})
    env["FETCH_PER_MESSAGE"] = resolve({"Ref": "FetchAccountsPerMessage"})
    settings = Settings.from_env(env)
    assert (settings.fetch_sessions, settings.fetch_per_message) == (250, 25)


def test_the_fetch_workers_tracing_is_a_parameter_of_lambdas_two_modes() -> None:
    # Lambda samples Active invocations itself (1 a second, 5 % of the rest) and applies no
    # X-Ray sampling rule, so the only lever on the fetch worker's traces is its mode.
    parameter = TEMPLATE["Parameters"]["FetchTracing"]
    assert parameter["AllowedValues"] == ["Active", "PassThrough"]
    assert parameter["Default"] == "Active"
    fetch = TEMPLATE["Resources"]["PopFetchFunction"]["Properties"]
    assert fetch["Tracing"] == {"Ref": "FetchTracing"}
    assert TEMPLATE["Globals"]["Function"]["Tracing"] == "Active"
    # Either mode sends the segments it records: the role keeps the two X-Ray writes.
    role = TEMPLATE["Resources"]["PopFetchFunctionRole"]["Properties"]
    actions = {
        a
        for policy in role["Policies"]
        for st in policy["PolicyDocument"]["Statement"]
        if st.get("Sid") == "Tracing"
        for a in st["Action"]
    }
    assert actions == {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def test_the_microsoft_authority_parameter_allows_only_microsofts_hosts() -> None:
    """CloudFormation refuses what the function would refuse: one source, the hosts list."""
    import re

    from mailport.settings import authority_pattern, is_microsoft_authority

    parameter = TEMPLATE["Parameters"]["Microsoft365Authority"]
    assert parameter["AllowedPattern"] == authority_pattern()
    allowed = re.compile(parameter["AllowedPattern"])
    assert allowed.match(parameter["Default"])
    for url in (
        "https://login.microsoftonline.com/common",
        "https://login.microsoftonline.com/0f1e2d3c-aaaa-bbbb-cccc-000000000000/",
        "https://login.microsoftonline.us/organizations",
        "http://login.microsoftonline.com/common",
        "https://login.microsoftonline.com/",
        "https://login.microsoftonline.com.evil.example/common",
        "https://127.0.0.1:8443/demo",
        "https://login.microsoftonline.com:444/common",
        "https://user@login.microsoftonline.com/common",
        "https://login.microsoftonline.com/common?x=1",
    ):
        assert bool(allowed.match(url)) == is_microsoft_authority(url), url
