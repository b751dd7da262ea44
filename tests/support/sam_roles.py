"""Print a template's IAM roles as SAM deploys them, and which function or state machine
uses each, as JSON: ``python sam_roles.py template.yaml``.

Runs in the SAM tools venv (``.venv-sam``: aws-sam-translator pins its own boto3), offline:
the translator is the code CloudFormation's SAM transform runs, so policy templates
(DynamoDBCrudPolicy, …) and the roles of event sources come out as a deployment gets them.
Intrinsic functions (Ref, Fn::Sub, …) are left in place for the caller to resolve.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

_CALLERS = {"AWS::Lambda::Function", "AWS::StepFunctions::StateMachine"}


class _NoManagedPolicyNames:
    """Policies named by ARN only (the template names none by its short name)."""

    def load(self) -> dict[str, str]:
        return {}


def main(path: str) -> None:
    """Translate ``path`` and print its AWS::IAM::Role resources."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    with open(path, encoding="utf-8") as f:
        template: dict[str, Any] = yaml_parse(f.read())
    for resource in template.get("Resources", {}).values():
        props = resource.get("Properties", {})
        # The translator wants packaged code (an S3 URI), as `sam package` leaves it.
        for key in ("CodeUri", "ContentUri", "DefinitionUri"):
            if isinstance(props.get(key), str):
                props[key] = f"s3://local-package/{props[key]}"
    out = transform(template, {}, _NoManagedPolicyNames())["Resources"]
    roles = {k: v for k, v in out.items() if v["Type"] == "AWS::IAM::Role"}
    # Whose role is whose: a function's Role, a state machine's RoleArn (Fn::GetAtt X.Arn).
    callers = {}
    for logical, resource in out.items():
        props = resource.get("Properties", {})
        role = props.get("Role") or props.get("RoleArn")
        if resource["Type"] in _CALLERS and isinstance(role, dict) and "Fn::GetAtt" in role:
            callers[logical] = role["Fn::GetAtt"][0]
    json.dump({"roles": roles, "callers": callers}, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1])
