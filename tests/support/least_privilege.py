"""Each function's role as deployed, and the calls it was seen to make, judged against it.

The roles come from template.yaml through SAM's own translator (tests/support/sam_roles.py),
so policy templates and event-source policies expand as they do in a deployment; intrinsic
functions are resolved with the local stack's names; AWS managed policies are read from
moto's copy of them. Decisions are moto's IAM statement evaluator (explicit deny wins, then
any allow, else denied) with ARN globs matched exactly (IAM's ``*`` and ``?``; actions
case-insensitively). That evaluator judges Action/NotAction, Resource and Effect; role
statements with Condition, NotResource or Principal are refused here, not misjudged.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from moto.iam.access_control import IAMPolicyStatement, PermissionResult
from moto.iam.aws_managed_policies import aws_managed_policies_data

from mailport_local.calls import Call
from tests.support.iam_access import Access, Arns, accesses
from tests.support.tools import REPO, venv_tool

TEMPLATE = REPO / "template.yaml"
REVIEW = REPO / "infra" / "security" / "iam_review.yaml"
_UNSUPPORTED = ("Condition", "NotResource", "Principal", "NotPrincipal")


def glob_match(pattern: str, value: str, *, fold: bool = False) -> bool:
    """IAM's wildcard match: ``*`` any run of characters, ``?`` one, nothing else special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if fold else 0) is not None


class _Statement(IAMPolicyStatement):
    """moto's statement evaluator with IAM's own matching of patterns."""

    @staticmethod
    def _match(pattern: str, string: str) -> re.Match[str] | None:
        fold = ":" in pattern and not pattern.startswith("arn:")  # an action, not an ARN
        return re.match("", "") if glob_match(pattern, string, fold=fold) else None


@dataclass(frozen=True)
class Statement:
    """One statement of a role: where it came from and what it says (resolved)."""

    role: str  # the caller's logical id: the function or state machine
    source: str  # "<policy name>#<n>" or the managed policy's name
    body: dict[str, Any]

    @property
    def actions(self) -> list[str]:
        return _as_list(self.body.get("Action"))

    @property
    def resources(self) -> list[str]:
        return _as_list(self.body.get("Resource"))

    def decide(self, access: Access) -> PermissionResult:
        """moto's verdict of this statement alone."""
        result: PermissionResult = _Statement(self.body).is_action_permitted(
            access.action, access.resource
        )
        return result


@dataclass(frozen=True)
class Role:
    """The statements one caller's role holds."""

    caller: str
    statements: tuple[Statement, ...]

    def allows(self, access: Access, without: Statement | None = None) -> bool:
        """IAM's decision for ``access`` (optionally as if ``without`` were removed)."""
        allowed = False
        for statement in self.statements:
            if statement is without:
                continue
            verdict = statement.decide(access)
            if verdict is PermissionResult.DENIED:
                return False
            allowed = allowed or verdict is PermissionResult.PERMITTED
        return allowed


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in (value if isinstance(value, list) else [value])]


@cache
def translated_roles(template: Path = TEMPLATE) -> dict[str, Any]:
    """template.yaml's roles as SAM's translator makes them, and whose each is."""
    python = venv_tool("MAILPORT_SAM_VENV", ".venv-sam", "python", "requirements/sam.txt")
    script = Path(__file__).with_name("sam_roles.py")
    out = subprocess.run(
        # -I: isolated, so neither PYTHONPATH nor the script's folder (tests/support, whose
        # secrets.py would shadow the standard library's) reaches the SAM venv's imports.
        [str(python), "-I", str(script), str(template)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"SAM's translator refused {template}:\n{out.stderr[-3000:]}")
    roles: dict[str, Any] = json.loads(out.stdout)
    return roles


def _managed(arn: str) -> dict[str, Any]:
    name = arn.rsplit("/", 1)[-1]
    data = json.loads(aws_managed_policies_data)
    if name not in data:
        raise LookupError(f"managed policy {arn} is not in moto's copy of AWS's policies")
    document: dict[str, Any] = data[name]["Document"]
    return document


def roles_of(
    translated: dict[str, Any], resolve: Callable[[Any], Any], callers: Iterable[str]
) -> dict[str, Role]:
    """Each caller's role, intrinsics resolved (``translated``: sam_roles.py's answer)."""
    out: dict[str, Role] = {}
    for caller in callers:
        name = translated["callers"].get(caller)
        if name is None:
            raise LookupError(f"{caller} has no role in the translated template")
        role = translated["roles"][name]
        props = role["Properties"]
        statements: list[Statement] = []
        for policy in props.get("Policies", []):
            doc = resolve(policy["PolicyDocument"])
            for n, body in enumerate(_as_list_of_dicts(doc["Statement"])):
                statements.append(Statement(caller, f"{policy['PolicyName']}#{n}", body))
        for arn in props.get("ManagedPolicyArns", []):
            name = arn.rsplit("/", 1)[-1]
            for n, body in enumerate(_as_list_of_dicts(_managed(arn)["Statement"])):
                statements.append(Statement(caller, f"{name}#{n}", body))
        for s in statements:
            bad = [k for k in _UNSUPPORTED if k in s.body]
            if bad:
                raise ValueError(f"{caller} {s.source}: {bad} can't be judged by this check")
            # moto's evaluator permits any resource when a statement names none (its trust
            # policy rule); in a role that would be an allow-all, so it is refused here.
            if not s.resources or "" in s.resources:
                raise ValueError(f"{caller} {s.source}: a statement without a Resource")
        out[caller] = Role(caller, tuple(statements))
    return out


def _as_list_of_dicts(value: Any) -> list[dict[str, Any]]:
    return list(value) if isinstance(value, list) else [value]


@dataclass(frozen=True)
class Judged:
    """One recorded call's access and the verdict of its caller's role."""

    stack: str
    caller: str
    access: Access
    allowed: bool


def judge(
    calls: Iterable[Call],
    roles: Callable[[str], dict[str, Role]],
    arns: Arns,
) -> dict[tuple[str, str, Access], Judged]:
    """Every distinct (stack, caller, access) among ``calls``, judged by its stack's roles."""
    out: dict[tuple[str, str, Access], Judged] = {}
    for call in calls:
        for access in accesses(call, arns):
            key = (call.stack, call.caller, access)
            if key not in out:
                role = roles(call.stack)[call.caller]
                out[key] = Judged(call.stack, call.caller, access, role.allows(access))
    return out


@dataclass(frozen=True)
class Reviewed:
    """An entry of infra/security/iam_review.yaml: grants and why they stand."""

    roles: tuple[str, ...]  # ("*",) for every role
    actions: tuple[str, ...]
    resource: str  # as template.yaml names it; ``*`` and ``?`` match as in IAM
    reason: str

    def covers(self, role: str, action: str, resource: str) -> bool:
        """Whether this entry explains ``role``'s grant of ``action`` on ``resource``."""
        return (
            ("*" in self.roles or role in self.roles)
            and action.lower() in {a.lower() for a in self.actions}
            and glob_match(self.resource, resource)
        )


def review_data(path: Path = REVIEW) -> dict[str, Any]:
    """The reviewed file as it is written."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return data


def review(path: Path = REVIEW) -> dict[str, list[Reviewed]]:
    """The reviewed file's role sections: ``unexercised`` and ``wildcards``."""
    data = review_data(path)
    out: dict[str, list[Reviewed]] = {}
    for section in ("unexercised", "wildcards"):
        entries = []
        for e in data.get(section) or []:
            if not str(e.get("reason", "")).strip():
                raise ValueError(f"{path.name} {section}: {e} has no reason")
            entries.append(
                Reviewed(
                    tuple(_as_list(e["roles"])),
                    tuple(_as_list(e["actions"])),
                    str(e["resource"]),
                    " ".join(str(e["reason"]).split()),
                )
            )
        out[section] = entries
    return out


def grants(role: Role) -> list[tuple[Statement, str, str]]:
    """Every (statement, action pattern, resource pattern) an Allow statement grants."""
    return [
        (s, action, resource)
        for s in role.statements
        if s.body.get("Effect") == "Allow"
        for action in s.actions
        for resource in s.resources
    ]


def exercised(action: str, resource: str, used: Iterable[Access]) -> bool:
    """Whether any of ``used`` falls under this grant."""
    return any(
        glob_match(action, a.action, fold=True) and glob_match(resource, a.resource) for a in used
    )
