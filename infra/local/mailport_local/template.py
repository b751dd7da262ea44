"""Read template.yaml: CloudFormation's short-form tags become their long forms."""

from __future__ import annotations

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
    """One ``Type: Api`` event of a function."""

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
                timeout=int(props.get("Timeout", glob.get("Timeout", 3))),
                memory=int(props.get("MemorySize", glob.get("MemorySize", 128))),
                environment=env,
                events=dict(props.get("Events", {})),
            )
        )
    return out


def api_routes(template: dict[str, Any]) -> list[ApiRoute]:
    """Every ``Type: Api`` event, with whether the default (Cognito) authorizer applies."""
    routes = []
    for spec in functions(template):
        for event in spec.events.values():
            if event["Type"] != "Api":
                continue
            props = event["Properties"]
            auth = props.get("Auth", {}).get("Authorizer")
            routes.append(
                ApiRoute(
                    function=spec.logical_id,
                    path=props["Path"],
                    method=props["Method"].upper(),
                    authorized=auth != "NONE",
                )
            )
    return routes
