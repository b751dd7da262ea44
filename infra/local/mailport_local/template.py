"""Read template.yaml: CloudFormation's short-form tags become their long forms."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"

_TAGS = {
    "!Ref": "Ref",
    "!GetAtt": "Fn::GetAtt",
    "!Sub": "Fn::Sub",
    "!Join": "Fn::Join",
    "!Select": "Fn::Select",
    "!Split": "Fn::Split",
    "!If": "Fn::If",
    "!Equals": "Fn::Equals",
    "!Not": "Fn::Not",
    "!And": "Fn::And",
    "!Or": "Fn::Or",
    "!FindInMap": "Fn::FindInMap",
    "!GetAZs": "Fn::GetAZs",
    "!ImportValue": "Fn::ImportValue",
    "!Base64": "Fn::Base64",
    "!Condition": "Condition",
}


class _Loader(yaml.SafeLoader):
    pass


def _construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    name = _TAGS[str(node.tag)]
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if name == "Fn::GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


for _tag in _TAGS:
    _Loader.add_constructor(_tag, _construct)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The template as plain data, with intrinsic functions in their long form."""
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - our loader is safe
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a template")
    return data


@dataclass(frozen=True)
class ApiRoute:
    """One operation of an API's definition: the function it invokes, and whether API
    Gateway's Cognito authorizer checks the caller first.
    """

    function: str
    path: str
    method: str
    authorized: bool


@dataclass(frozen=True)
class FunctionSpec:
    """A ``AWS::Serverless::Function`` with ``Globals`` applied (still unresolved)."""

    logical_id: str
    code_uri: Path
    handler: str
    timeout: int
    memory: int
    environment: dict[str, Any]
    events: dict[str, Any] = field(default_factory=dict)

    @property
    def module_file(self) -> Path:
        """The handler's source file (``Handler: module.attr`` under ``CodeUri``)."""
        module = self.handler.rsplit(".", 1)[0]
        return self.code_uri / (module.replace(".", "/") + ".py")

    @property
    def attribute(self) -> str:
        """The handler's attribute name in its module."""
        return self.handler.rsplit(".", 1)[1]


def _number(template: dict[str, Any], value: Any) -> int:
    """A number, or a parameter's default as a deploy without the parameter would have it."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        value = template["Parameters"][value["Ref"]]["Default"]
    return int(value)


def functions(template: dict[str, Any], root: Path = REPO_ROOT) -> list[FunctionSpec]:
    """Every serverless function, with ``Globals.Function`` merged in as SAM does."""
    glob = template.get("Globals", {}).get("Function", {})
    out = []
    for logical_id, res in template["Resources"].items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        props = res["Properties"]
        env = dict(glob.get("Environment", {}).get("Variables", {}))
        env.update(props.get("Environment", {}).get("Variables", {}))
        out.append(
            FunctionSpec(
                logical_id=logical_id,
                code_uri=root / props["CodeUri"],
                handler=props["Handler"],
                timeout=_number(template, props.get("Timeout", glob.get("Timeout", 3))),
                memory=_number(template, props.get("MemorySize", glob.get("MemorySize", 128))),
                environment=env,
                events=dict(props.get("Events", {})),
            )
        )
    return out


# The integration's ``Fn::Sub`` names the function it invokes: ``${ApiFunction.Arn}``.
_FUNCTION_ARN = re.compile(r"\$\{(\w+)\.Arn\}")
_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def _function_of(path: str, method: str, operation: dict[str, Any]) -> str:
    uri = operation.get("x-amazon-apigateway-integration", {}).get("uri", {})
    names = _FUNCTION_ARN.findall(uri.get("Fn::Sub", "") if isinstance(uri, dict) else "")
    if len(names) != 1:
        raise ValueError(f"{method.upper()} {path}: the integration names no one function")
    return str(names[0])


def api_routes(template: dict[str, Any]) -> list[ApiRoute]:
    """Every operation of each ``AWS::Serverless::Api``'s ``DefinitionBody`` (what API
    Gateway deploys); any ``security`` on it means the Cognito authorizer applies.
    """
    routes = []
    for res in template["Resources"].values():
        if res["Type"] != "AWS::Serverless::Api":
            continue
        paths = res["Properties"].get("DefinitionBody", {}).get("paths", {})
        for path, operations in paths.items():
            for method, operation in operations.items():
                if method not in _METHODS:  # path-level keys such as ``parameters``
                    continue
                routes.append(
                    ApiRoute(
                        function=_function_of(path, method, operation),
                        path=path,
                        method=method.upper(),
                        authorized=bool(operation.get("security")),
                    )
                )
    return routes
