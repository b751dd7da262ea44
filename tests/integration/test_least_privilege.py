"""Least privilege, proven on one machine: every AWS call each function made in this test
session is allowed by that function's own role in template.yaml, and every grant of every
role is used by some call or explained in infra/security/iam_review.yaml.

The local stack records each call with its caller (mailport_local/calls.py). tests/conftest.py
runs this module last, so it judges the calls of every tier that ran before it; the checks that
need every path exercised (nothing granted unused, each statement needed) run only when the
whole e2e, integration and browser tiers are in the session, as in ``make test``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

from mailport_local import calls
from mailport_local.provision import ACCOUNT_ID, REGION
from mailport_local.stack import LocalStack
from mailport_local.template import load_template
from tests.support.iam_access import Access, Arns
from tests.support.least_privilege import (
    REVIEW,
    Judged,
    Role,
    exercised,
    grants,
    judge,
    review,
    review_data,
    roles_of,
    translated_roles,
)

ARNS = Arns(REGION, ACCOUNT_ID)
TIERS = ("e2e", "integration", "browser")


def _callers() -> list[str]:
    """Every function and state machine of template.yaml: each has a role to check."""
    kinds = {"AWS::Serverless::Function", "AWS::Serverless::StateMachine"}
    return sorted(k for k, r in load_template()["Resources"].items() if r["Type"] in kinds)


@cache
def _roles(stack: str) -> dict[str, Role]:
    return roles_of(translated_roles(), calls.RESOLVERS[stack], _callers())


@pytest.fixture(scope="module")
def judged() -> dict[tuple[str, str, Access], Judged]:
    recorded = calls.every_call()
    if not recorded:
        pytest.skip("no function ran in this session: run it with the e2e or integration tiers")
    return judge(recorded, _roles, ARNS)


@pytest.fixture(scope="module")
def whole_run(request: pytest.FixtureRequest) -> None:
    """Skip unless every test file of the tiers that drive the stack is in this session."""
    opts = request.config.option
    if getattr(opts, "keyword", "") or getattr(opts, "markexpr", ""):
        pytest.skip("-k / -m leave paths unexercised: the grant checks need the whole run")
    tests = Path(__file__).resolve().parents[1]
    wanted = {p for tier in TIERS for p in (tests / tier).glob("test_*.py")}
    ran = {Path(str(item.path)).resolve() for item in request.session.items}
    missing = sorted(str(p.relative_to(tests)) for p in wanted - ran)
    if missing:
        pytest.skip(
            f"the grant checks need every tier's tests in the session; not here: "
            f"{', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}"
        )


@pytest.fixture(scope="module")
def session_roles(local_stack: LocalStack) -> dict[str, Role]:
    """The roles resolved with the session's own stack."""
    return _roles(local_stack.lambdas.stack)


@pytest.fixture(scope="module")
def named(local_stack: LocalStack) -> Callable[[str], str]:
    """A resource as the review file names it: the stack's names as ${Logical[.Attr]}."""
    assert local_stack.provisioner is not None
    names = [(ACCOUNT_ID, "${AWS::AccountId}"), (REGION, "${AWS::Region}")]
    for logical, physical in local_stack.provisioner.created.items():
        names.append((physical.ref, "${" + logical + "}"))
        names += [(v, "${" + f"{logical}.{k}" + "}") for k, v in physical.attrs.items()]
    names.sort(key=lambda n: -len(n[0]))

    def name(resource: str) -> str:
        for value, placeholder in names:
            if value:
                resource = resource.replace(value, placeholder)
        return resource

    return name


def _used(judged: dict[tuple[str, str, Access], Judged]) -> dict[str, set[Access]]:
    used: dict[str, set[Access]] = defaultdict(set)
    for j in judged.values():
        used[j.caller].add(j.access)
    return used


def test_every_call_is_allowed_by_its_own_role(
    judged: dict[tuple[str, str, Access], Judged],
) -> None:
    denied = sorted(
        {(j.caller, j.access.action, j.access.resource) for j in judged.values() if not j.allowed}
    )
    assert not denied, "calls their role in template.yaml does not allow:\n" + "\n".join(
        f"  {caller}: {action} on {resource}" for caller, action, resource in denied
    )


def test_every_function_and_state_machine_was_seen_calling(
    whole_run: None, judged: dict[tuple[str, str, Access], Judged]
) -> None:
    seen = {j.caller for j in judged.values()}
    assert set(_callers()) <= seen, f"never seen calling AWS: {sorted(set(_callers()) - seen)}"


def test_every_grant_is_used_or_reviewed(
    whole_run: None,
    judged: dict[tuple[str, str, Access], Judged],
    session_roles: dict[str, Role],
    named: Callable[[str], str],
) -> None:
    used = _used(judged)
    reviewed = review()["unexercised"]
    unused, stale = [], []
    for caller, role in sorted(session_roles.items()):
        for statement, action, resource in grants(role):
            pattern = named(resource)
            listed = any(r.covers(caller, action, pattern) for r in reviewed)
            if exercised(action, resource, used[caller]):
                if listed:
                    stale.append(f"  {caller}: {action} on {pattern}")
            elif not listed:
                unused.append(f"  {caller} ({statement.source}): {action} on {pattern}")
    assert not stale, f"used, yet listed under `unexercised` in {REVIEW.name}:\n" + "\n".join(stale)
    assert not unused, (
        f"granted but never used by any test; remove the grant, exercise it, or explain it "
        f"under `unexercised` in {REVIEW.name}:\n" + "\n".join(unused)
    )


def test_removing_any_statement_denies_a_call(
    whole_run: None,
    judged: dict[tuple[str, str, Access], Judged],
    session_roles: dict[str, Role],
    named: Callable[[str], str],
) -> None:
    used = _used(judged)
    reviewed = review()["unexercised"]
    idle = []
    for caller, role in sorted(session_roles.items()):
        for statement in role.statements:
            if statement.body.get("Effect") != "Allow":
                continue
            needed = any(
                role.allows(a) and not role.allows(a, without=statement) for a in used[caller]
            )
            explained = all(
                any(r.covers(caller, act, named(res)) for r in reviewed)
                for _s, act, res in grants(Role(caller, (statement,)))
            )
            if not needed and not explained:
                idle.append(f"  {caller}: {statement.source} {statement.body}")
    assert not idle, "statements no recorded call needs (removing them denies nothing):\n" + (
        "\n".join(idle)
    )


def test_wildcards_are_reviewed(
    session_roles: dict[str, Role], named: Callable[[str], str]
) -> None:
    reviewed = review()["wildcards"]
    loose = []
    for caller, role in sorted(session_roles.items()):
        for statement, action, resource in grants(role):
            if not any(c in action + resource for c in "*?"):
                continue
            pattern = named(resource)
            if not any(r.covers(caller, action, pattern) for r in reviewed):
                loose.append(f"  {caller} ({statement.source}): {action} on {pattern}")
    assert not loose, (
        f"wildcards in actions or resources need a reason under `wildcards` in "
        f"{REVIEW.name} (AWS offers no narrower form):\n" + "\n".join(loose)
    )


def test_review_lists_only_real_grants(
    session_roles: dict[str, Role], named: Callable[[str], str]
) -> None:
    granted = [
        (caller, action, named(resource))
        for caller, role in session_roles.items()
        for _s, action, resource in grants(role)
    ]
    stale = [
        f"  {section}: {entry.roles} {action} on {entry.resource}"
        for section, entries in review().items()
        for entry in entries
        for action in entry.actions
        if not any(
            entry.covers(c, action, r) and a.lower() == action.lower() for c, a, r in granted
        )
    ]
    assert not stale, f"{REVIEW.name} lists grants no role holds:\n" + "\n".join(stale)


_RESOURCE_POLICIES = {
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::S3::BucketPolicy": "PolicyDocument",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::KMS::Key": "KeyPolicy",
}


def test_resource_policies_are_reviewed() -> None:
    """The buckets', queues', topics' and keys' own policies: each statement explained, and
    none open to everyone (Principal "*") without a condition that narrows it."""
    reviewed = {
        (str(e["resource"]), str(e["sid"])): str(e.get("reason", "")).strip()
        for e in review_data().get("resource_policies") or []
    }
    found, problems = set(), []
    for logical, resource in load_template()["Resources"].items():
        field = _RESOURCE_POLICIES.get(resource["Type"])
        document = resource.get("Properties", {}).get(field) if field else None
        if document is None:
            continue
        statements = document["Statement"]
        for n, statement in enumerate(statements if isinstance(statements, list) else [statements]):
            key = (logical, str(statement.get("Sid", n)))
            found.add(key)
            if not reviewed.get(key):
                problems.append(f"  {logical} statement {key[1]}: not reviewed (or no reason)")
            principal = statement.get("Principal")
            everyone = principal == "*" or (
                isinstance(principal, dict) and principal.get("AWS") == "*"
            )
            if everyone and statement.get("Effect") == "Allow" and "Condition" not in statement:
                problems.append(f"  {logical} statement {key[1]}: open to everyone")
    problems += [
        f"  {r} statement {s}: reviewed, but not in template.yaml"
        for r, s in sorted(set(reviewed) - found)
    ]
    assert not problems, f"resource policies ({REVIEW.name}, `resource_policies`):\n" + (
        "\n".join(problems)
    )
