"""The OpenAPI spec fuzzed against the local stack (schemathesis): every operation gets
schema-shaped and malformed requests, signed in as a user of an advanced-plan organisation
and as its admin. No answer may be a 5xx, and every answer must be one the spec documents:
its status, its content type and its body (the response schemas are exact: every key
required, no others; tests/unit/test_template_contract.py keeps them so). Derandomized, so CI
runs the same cases every time (a failure is reproducible, not a flake); the number per
operation is kept small for CI time.

Then the operations chained through the spec's links (a schemathesis state machine), each
call with an id replayed first by another user, who must get 404: see "stateful" below.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import FlakyStrategyDefinition
from hypothesis.stateful import get_state_machine_test
from schemathesis import GenerationMode, checks

from mailport.domain.mailbox import SystemFolder
from mailport_local.stack import LocalStack
from tests.e2e.test_upload import start as start_upload
from tests.e2e.test_upload import upload_all, wait_done
from tests.support.api import login
from tests.support.dovecot import Dovecot

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


# ---------------------------------------------------------------- stateful: chained operations
# The spec's links chain the operations: create a folder → list its messages → rename →
# delete; list messages → read, flag or move, download, delete one; create a folder → upload
# a batch into it → read the batch; save the rules → read them; register a POP account →
# read → change → fetch → its runs → delete; register one → the organisation's accounts (as
# its admin) → switch it off; preview a migration → queue it → read → cancel; queue one → the
# organisation's migrations → cancel it (as the admin); IMAP templates → change → remove.
# Each answer is validated as above, plus schemathesis's stateful checks (a resource just
# created is there, one just deleted is gone). Every call that names an id is first sent by
# someone else with the same ids (another user of the organisation; for admin calls, another
# organisation's admin), who must be told "not found" and nothing more; each list the owner
# reads, they read too, and find none of the owner's ids in it. Not chained: revert
# (it needs a completed migration, which takes longer than a chain) and deleting a Microsoft
# 365 sign-in (there is none without the sign-in flow); both are in the stateless run above.
STATEFUL_CHECKS = [*CHECKS, checks.ensure_resource_availability, checks.use_after_free]
STEPS = 10
# One state machine per family of chains (the fewer its operations, the more often a link is
# taken), with how many scenarios to run. Every operation of a family must succeed at least
# once (where it takes an id, on one a link took from an earlier answer), or the chains did
# not chain.
FAMILIES: dict[str, tuple[int, list[str]]] = {
    "folders": (
        10,
        ["listFolders", "createFolder", "updateFolder", "listMessages", "deleteFolder"],
    ),
    "messages": (
        10,
        [
            "listFolders",
            "listMessages",
            "getMessage",
            "updateMessage",
            "rawMessage",
            "deleteMessage",
        ],
    ),
    "rules": (4, ["putRules", "getRules"]),
    "uploads": (6, ["createFolder", "createUpload", "getUpload"]),
    "pop": (
        6,
        [
            "listAccounts",
            "createAccount",
            "getAccount",
            "updateAccount",
            "fetchAccount",
            "listAccountRuns",
            "deleteAccount",
        ],
    ),
    "pop-admin": (5, ["createAccount", "adminAccounts", "adminSwitchOffAccount"]),
    "migration": (
        5,
        ["previewMigration", "createMigration", "getMigration", "cancelMigration"],
    ),
    "migration-admin": (4, ["createMigration", "adminMigrations", "adminCancelMigration"]),
    "templates": (4, ["createImapTemplate", "replaceImapTemplate", "deleteImapTemplate"]),
}
SYSTEM_FOLDERS = {f.value for f in SystemFolder}


@dataclass(frozen=True)
class Identities:
    """Who calls: the owner of the data and, for the isolation replay, someone else."""

    user: dict[str, str]
    admin: dict[str, str]
    other_user: dict[str, str]  # the same organisation and plan: never sees the user's data
    other_admin: dict[str, str]  # another organisation's admin: never sees this one's


def _mail(i: int) -> bytes:
    return (
        f"From: Shop <shop@example.net>\r\nTo: me@example.org\r\nSubject: order {i}\r\n"
        f"Date: Tue, 02 Jan 2024 09:{i:02}:00 +0900\r\nMessage-ID: <fuzz-{i}@example.net>\r\n"
        f"\r\nthanks for order {i}\r\n"
    ).encode()


def _new_organisation(stack: LocalStack, messages: int) -> Identities:
    """A new organisation; ``messages`` stored in the user's inbox through the upload API."""
    tenant, other = f"chain{uuid.uuid4().hex[:8]}", f"other{uuid.uuid4().hex[:8]}"
    user = login(stack, f"user@{tenant}.example", tenant, plan="advanced")
    if messages:
        files = {f"m{i}.eml": _mail(i) for i in range(messages)}
        batch = start_upload(stack, user, files)
        upload_all(batch, files)
        assert wait_done(stack, user, batch["id"])["counts"]["stored"] == messages
    return Identities(
        user=user,
        admin=login(stack, f"admin@{tenant}.example", tenant, admin=True),
        other_user=login(stack, f"other@{tenant}.example", tenant),
        other_admin=login(stack, f"admin@{other}.example", other, plan="advanced", admin=True),
    )


@dataclass(frozen=True)
class MailServer:
    """The test Dovecot's user the chains register (POP3S) and migrate from (IMAPS)."""

    host: str
    pop3s_port: int
    imaps_port: int
    username: str
    password: str


@pytest.fixture(scope="module")
def mail_server(dovecot: Dovecot) -> MailServer:
    name, password = f"fuzz-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    dovecot.add_user(name, password)
    dovecot.seed_maildir(name, "INBOX", [(_mail(i), set(), 1_700_000_000.0) for i in range(2)])
    return MailServer(dovecot.host, dovecot.pop3s_port, dovecot.imaps_port, name, password)


def _overlay(case: Any, server: MailServer) -> None:
    """A registration or a migration logs in to the server it names first, and a generated
    host never reaches one: schema-shaped bodies (not the malformed ones) get the test
    Dovecot's address and login; every other field stays as generated.
    """
    if case.meta is None or case.meta.generation.mode.is_negative:
        return
    if not isinstance(case.body, dict):
        return
    operation_id = case.operation.definition.raw["operationId"]
    login_ = {"host": server.host, "ssl": True, "username": server.username}
    if operation_id == "createAccount":
        case.body.update(
            login_, preset="manual", port=server.pop3s_port, password=server.password, agreed=True
        )
    elif operation_id in {"previewMigration", "createMigration"}:
        connection = {"type": "manual", **login_, "port": server.imaps_port}
        case.body.update(connection={**connection, "password": server.password}, agreed=True)


def _ids(body: object) -> set[str]:
    """Every "id" value in a JSON body."""
    if isinstance(body, list):
        return {i for item in body for i in _ids(item)}
    if not isinstance(body, dict):
        return set()
    own = {str(body["id"])} if "id" in body else set()
    return own | {i for value in body.values() for i in _ids(value)}


def _json_or_none(response: requests.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


def _isolation(case: Any, intruder: requests.Response, owner: requests.Response) -> None:
    """Someone else sending the owner's request, ids and all, is told "not found" and nothing
    more: 404 in the error shape. A 400 or 401 is allowed only where the owner gets the same
    (the request is refused as malformed, or its generated Authorization header as invalid,
    before any id is looked up). System folders are named alike in every mailbox ("inbox"):
    there the intruder gets their own folder, and none of the owner's ids may be in it.
    """
    where = f"another user's {case.method} {case.formatted_path}"
    if case.path_parameters.get("folder_id") in SYSTEM_FOLDERS:
        assert intruder.status_code < 500, f"{where} → {intruder.status_code}"
        leaked = _ids(_json_or_none(owner)) - SYSTEM_FOLDERS
        assert not leaked & _ids(_json_or_none(intruder)), f"{where}: {intruder.text[:300]}"
        return
    allowed = {404} | ({owner.status_code} & {400, 401})
    assert intruder.status_code in allowed, (
        f"{where} → {intruder.status_code} (the owner's → {owner.status_code}): "
        f"{intruder.text[:300]}"
    )
    assert set(intruder.json()) == {"error"}, intruder.text[:300]


def _call_after_an_intruder(case: Any, kwargs: dict[str, Any], who: Identities) -> Any:
    """The owner's call; if it names an id, someone else sends it first (``_isolation``). A
    list the owner read is read by someone else too: none of the owner's ids may be in it.
    """
    other = who.other_admin if case.path.startswith("/v1/admin") else who.other_user
    intruder = None
    if case.path_parameters:
        intruder = case.call(**{**kwargs, "headers": other}, timeout=30)
    response = case.call(**kwargs, timeout=30)
    if intruder is not None:
        _isolation(case, intruder, response)
    elif case.method == "GET" and response.status_code == 200:
        theirs = case.call(**{**kwargs, "headers": other}, timeout=30)
        leaked = (_ids(_json_or_none(response)) - SYSTEM_FOLDERS) & _ids(_json_or_none(theirs))
        assert not leaked, f"another user's {case.method} {case.formatted_path}: {leaked}"
    return response


@dataclass
class Run:
    """What one family's chains did: the organisation of each scenario, each operation's
    statuses."""

    scenarios: list[Identities]
    statuses: dict[str, set[int]]
    failed: bool = False  # a check failed: never retried, whatever Hypothesis makes of it


def _state_machine(
    schema: Any, stack: LocalStack, server: MailServer | None, run: Run, shared: Identities | None
) -> Any:
    """The spec's state machine, calling as the scenario's organisation, with the isolation
    replay before each call that names an id and the stateful checks after each."""
    http = requests.Session()

    class Chains(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            self.who = shared or _new_organisation(stack, messages=0)
            run.scenarios.append(self.who)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            headers = self.who.admin if case.path.startswith("/v1/admin") else self.who.user
            return {"base_url": stack.api_url, "session": http, "headers": headers}

        def before_call(self, case: Any) -> None:
            if server is not None:
                _overlay(case, server)

        def step(self, input: Any) -> Any:
            try:
                return super().step(input)
            except BaseException:
                run.failed = True
                raise

        def call(self, case: Any, **kwargs: Any) -> Any:
            response = _call_after_an_intruder(case, kwargs, self.who)
            operation_id = case.operation.definition.raw["operationId"]
            run.statuses.setdefault(operation_id, set()).add(response.status_code)
            return response

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(
                response,
                checks=STATEFUL_CHECKS,
                headers=kwargs.get("headers"),
                transport_kwargs=kwargs,
                recorder=self.recorder,
            )

    return Chains


@pytest.mark.parametrize("family", list(FAMILIES))
def test_chained_operations_answer_as_documented_and_only_to_their_owner(
    request: pytest.FixtureRequest, local_stack: LocalStack, family: str
) -> None:
    wanted, operations = FAMILIES[family]
    # POP accounts and migrations need a mail server to log in to (skipped without Dovecot).
    needs_server = family.startswith(("pop", "migration"))
    server: MailServer | None = request.getfixturevalue("mail_server") if needs_server else None
    schema = schemathesis.openapi.from_dict(SPEC).include(operation_id=operations)
    schema.config.phases.stateful.inference.algorithms = []  # the spec's own links only
    run = Run(scenarios=[], statuses={})
    # A new organisation per scenario, so each starts from the same state (no account limit
    # reached, no migration queued); the message chains share one, with messages to chain on.
    shared = _new_organisation(local_stack, messages=8) if family == "messages" else None
    machine = _state_machine(schema, local_stack, server, run, shared)
    # The chains change the server (a fetch still running, a migration already started), so
    # a later scenario that repeats an earlier one's first steps may get other answers, which
    # Hypothesis takes for a flaky strategy and ends its run with. Then a new run, from the
    # next fixed seed, carries on until enough scenarios have run. A run in which a check
    # failed is never retried: it fails the test.
    # Which examples reach a success depends on the ids the server hands out (the links feed
    # them back), so a run may end before some operation has succeeded once: then more
    # scenarios run, from the next seeds, until each has (or the attempts run out).
    for attempt in range(10):
        left = wanted - len(run.scenarios)
        if left <= 0 and not set(operations) - _succeeded(run):
            break
        per_run = settings(
            max_examples=max(left, 3),
            stateful_step_count=STEPS,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.generate],
        )
        try:
            seed(attempt)(get_state_machine_test(machine, settings=per_run, _min_steps=2))()
        except FlakyStrategyDefinition:
            if run.failed:
                raise
            continue
    assert len(run.scenarios) >= wanted
    assert set(operations) <= _succeeded(run), sorted(run.statuses.items())


def _succeeded(run: Run) -> set[str]:
    """The operations that answered 2xx at least once."""
    return {op for op, codes in run.statuses.items() if any(200 <= c < 300 for c in codes)}
