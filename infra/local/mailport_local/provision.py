"""Create template.yaml's resources in moto, resolving the intrinsic functions they use.

Only what the local stack needs is created (tables, buckets and their notifications, queues,
keys, functions, state machines); identity and API resources are stood in for by the gateway.
Resources are created lazily, on first reference, so the template's order does not matter.
"""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from mailport_local.template import REPO_ROOT

log = logging.getLogger(__name__)

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"

# Resource types the local stack stands in for instead of creating (with why).
STOOD_IN = {
    "AWS::Serverless::LayerVersion": "the layer's package is on the local runtime's path",
    "AWS::Serverless::Api": "the local gateway serves the API",
    "AWS::Lambda::Permission": "the local gateway invokes the functions itself",
    "AWS::IAM::Role": "functions run in-process; the tests check each call against its role",
    "AWS::Cognito::UserPool": "the local gateway signs and checks tokens",
    "AWS::Cognito::UserPoolClient": "the local gateway signs and checks tokens",
    "AWS::Cognito::UserPoolDomain": "no hosted sign-in locally (the console's demo users)",
    "AWS::CloudWatch::Dashboard": "CloudWatch is not emulated locally",
    "AWS::CloudWatch::Alarm": "CloudWatch is not emulated locally",
    "AWS::Logs::LogGroup": "functions log to the local stack's output",
    "AWS::SNS::Topic": "alarms are not emulated locally",
    "AWS::SNS::Subscription": "alarms are not emulated locally",
}


class TemplateError(RuntimeError):
    """The template uses something the local stack cannot create."""


@dataclass
class Physical:
    """What a created resource answers to ``Ref`` and ``Fn::GetAtt``."""

    ref: str
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass
class Provisioner:
    """Creates resources from a parsed template into the AWS endpoint boto3 is pointed at."""

    template: dict[str, Any]
    stack_name: str = "mailport-local"
    session: boto3.session.Session = field(default_factory=boto3.session.Session)
    created: dict[str, Physical] = field(default_factory=dict)
    _in_progress: set[str] = field(default_factory=set)
    _role_arn: str = ""
    after_create: list[Callable[[str, str, Physical], None]] = field(default_factory=list)
    # "local" is not an AllowedValue of Stage: a deployed stack can never be in local mode.
    parameter_values: dict[str, str] = field(default_factory=lambda: {"Stage": "local"})
    # Lets a restore give a new key its old id back (ciphertexts name the key they need).
    adopt_key: Callable[[str, str], str] | None = None

    # ------------------------------------------------------------------ public
    def provision_all(self) -> dict[str, Physical]:
        """Create every resource; return logical id → physical identity."""
        for logical_id, res in self.template["Resources"].items():
            if res["Type"] in STOOD_IN:
                log.debug("%s (%s) stood in: %s", logical_id, res["Type"], STOOD_IN[res["Type"]])
            self.ensure(logical_id)
        return self.created

    def resolve(self, value: Any) -> Any:
        """Resolve intrinsic functions in ``value`` (recursively)."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(str(arg))
            if key.startswith("Fn::"):
                return self._intrinsic(key, arg)
        return {k: self.resolve(v) for k, v in value.items()}

    def _intrinsic(self, key: str, arg: Any) -> str:
        if key == "Fn::GetAtt":
            logical, attr = arg if isinstance(arg, list) else str(arg).split(".", 1)
            return self._getatt(logical, attr)
        if key == "Fn::Sub":
            return self._sub(arg)
        if key == "Fn::Join":
            sep, items = arg
            return str(sep).join(str(self.resolve(i)) for i in self.resolve(items))
        raise TemplateError(f"{key} is not supported by the local stack")

    # ------------------------------------------------------------------ intrinsics
    def _pseudo(self, name: str) -> str | None:
        return {
            "AWS::StackName": self.stack_name,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Region": REGION,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": "",
        }.get(name)

    def _ref(self, name: str) -> str:
        pseudo = self._pseudo(name)
        if pseudo is not None:
            return pseudo
        params = self.template.get("Parameters", {})
        if name in params:
            return str(self.parameter_values.get(name, params[name].get("Default", "")))
        return self.ensure(name).ref

    def _getatt(self, logical: str, attr: str) -> str:
        physical = self.ensure(logical)
        if attr not in physical.attrs:
            raise TemplateError(f"Fn::GetAtt {logical}.{attr} is not supported locally")
        return physical.attrs[attr]

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        resolved = {k: str(self.resolve(v)) for k, v in variables.items()}

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in resolved:
                return resolved[name]
            if "." in name:
                logical, attr = name.split(".", 1)
                return self._getatt(logical, attr)
            return self._ref(name)

        return re.sub(r"\$\{([^}]+)\}", one, str(text))

    # ------------------------------------------------------------------ creation
    def ensure(self, logical_id: str) -> Physical:
        """The resource's physical identity, creating it first if needed."""
        if logical_id in self.created:
            return self.created[logical_id]
        if logical_id in self._in_progress:
            raise TemplateError(f"circular reference through {logical_id}")
        try:
            res = self.template["Resources"][logical_id]
        except KeyError as e:
            raise TemplateError(f"unknown resource or parameter {logical_id}") from e
        self._in_progress.add(logical_id)
        try:
            for dep in _as_list(res.get("DependsOn")):
                self.ensure(dep)
            kind = res["Type"]
            props = res.get("Properties", {})
            creator = _CREATORS.get(kind)
            if creator is not None:
                physical = creator(self, logical_id, props)
            elif kind in STOOD_IN:
                physical = Physical(
                    ref=f"local-{logical_id}",
                    attrs={"Arn": f"arn:aws:local:{REGION}:{ACCOUNT_ID}:{logical_id}"},
                )
            else:
                raise TemplateError(f"{logical_id}: {kind} is not supported by the local stack")
        finally:
            self._in_progress.discard(logical_id)
        self.created[logical_id] = physical
        for hook in self.after_create:
            hook(logical_id, kind, physical)
        return physical

    def _name(self, logical_id: str) -> str:
        return f"{self.stack_name}-{logical_id}"

    def _table(self, logical_id: str, props: dict[str, Any]) -> Physical:
        p = self.resolve(props)
        name = p.get("TableName") or self._name(logical_id)
        client = self.session.client("dynamodb")
        kwargs: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": p["AttributeDefinitions"],
            "KeySchema": p["KeySchema"],
            "BillingMode": p.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if p.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = p["GlobalSecondaryIndexes"]
        client.create_table(**kwargs)
        arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}"
        return Physical(ref=name, attrs={"Arn": arn})

    def _bucket(self, logical_id: str, props: dict[str, Any]) -> Physical:
        p = self.resolve(props)
        name = p.get("BucketName") or self._name(logical_id).lower()
        s3: Any = self.session.client("s3")
        s3.create_bucket(Bucket=name)
        if p.get("VersioningConfiguration"):
            s3.put_bucket_versioning(
                Bucket=name, VersioningConfiguration=p["VersioningConfiguration"]
            )
        if p.get("CorsConfiguration"):
            rules = [
                {_CORS_KEYS.get(k, k): v for k, v in rule.items()}
                for rule in p["CorsConfiguration"]["CorsRules"]
            ]
            s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
        queues = p.get("NotificationConfiguration", {}).get("QueueConfigurations", [])
        if queues:
            s3.put_bucket_notification_configuration(
                Bucket=name,
                NotificationConfiguration={
                    "QueueConfigurations": [
                        {
                            "QueueArn": q["Queue"],
                            "Events": [q["Event"]],
                            **({"Filter": q["Filter"]} if "Filter" in q else {}),
                        }
                        for q in queues
                    ]
                },
            )
        return Physical(ref=name, attrs={"Arn": f"arn:aws:s3:::{name}"})

    def _queue(self, logical_id: str, props: dict[str, Any]) -> Physical:
        p = self.resolve(props)
        name = p.get("QueueName") or self._name(logical_id)
        attributes: dict[str, str] = {}
        for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds"):
            if key in p:
                attributes[key] = str(p[key])
        if "RedrivePolicy" in p:
            attributes["RedrivePolicy"] = json.dumps(p["RedrivePolicy"])
        sqs: Any = self.session.client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"
        return Physical(ref=url, attrs={"Arn": arn, "QueueName": name, "QueueUrl": url})

    def _queue_policy(self, logical_id: str, props: dict[str, Any]) -> Physical:
        p = self.resolve(props)
        sqs: Any = self.session.client("sqs")
        for url in p["Queues"]:
            sqs.set_queue_attributes(
                QueueUrl=url, Attributes={"Policy": json.dumps(p["PolicyDocument"])}
            )
        return Physical(ref=f"local-{logical_id}")

    def _key(self, logical_id: str, props: dict[str, Any]) -> Physical:
        p = self.resolve(props)
        meta = self.session.client("kms").create_key(
            Description=p.get("Description", logical_id), Policy=json.dumps(p["KeyPolicy"])
        )["KeyMetadata"]
        key_id, arn = meta["KeyId"], meta["Arn"]
        if self.adopt_key is not None:
            adopted = self.adopt_key(logical_id, key_id)
            arn, key_id = arn.replace(key_id, adopted), adopted
        return Physical(ref=key_id, attrs={"Arn": arn})

    def _secret(self, logical_id: str, props: dict[str, Any]) -> Physical:
        p = self.resolve(props)
        arn = self.session.client("secretsmanager").create_secret(
            Name=self._name(logical_id),
            Description=p.get("Description", logical_id),
            SecretString=p.get("SecretString", ""),
        )["ARN"]
        return Physical(ref=arn, attrs={"Id": arn})

    def _role(self) -> str:
        if not self._role_arn:
            iam = self.session.client("iam")
            trust = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
            self._role_arn = iam.create_role(
                RoleName=f"{self.stack_name}-local-role",
                AssumeRolePolicyDocument=json.dumps(trust),
            )["Role"]["Arn"]
        return self._role_arn

    def _function(self, logical_id: str, props: dict[str, Any]) -> Physical:
        name = self._name(logical_id)
        # moto needs a code package to register a function; the real code runs in-process.
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("README.txt", "runs in-process in the local stack")
        arn = self.session.client("lambda").create_function(
            FunctionName=name,
            Runtime=self.template.get("Globals", {})
            .get("Function", {})
            .get("Runtime", "python3.12"),
            Role=self._role(),
            Handler=props["Handler"],
            Code={"ZipFile": buf.getvalue()},
        )["FunctionArn"]
        return Physical(ref=name, attrs={"Arn": arn})

    def _state_machine(self, logical_id: str, props: dict[str, Any]) -> Physical:
        name = str(self.resolve(props["Name"])) if "Name" in props else self._name(logical_id)
        definition = (REPO_ROOT / props["DefinitionUri"]).read_text(encoding="utf-8")
        subs = {
            k: str(self.resolve(v)) for k, v in props.get("DefinitionSubstitutions", {}).items()
        }
        for key, value in subs.items():
            definition = definition.replace("${" + key + "}", value)
        leftover = re.findall(r"\$\{([A-Za-z0-9_]+)\}", definition)
        if leftover:
            raise TemplateError(f"{logical_id}: no substitution for {sorted(set(leftover))}")
        arn = self.session.client("stepfunctions").create_state_machine(
            name=name,
            definition=definition,
            roleArn=self._role(),
            type=props.get("Type", "STANDARD"),
        )["stateMachineArn"]
        return Physical(ref=arn, attrs={"Arn": arn, "Name": name})


# CloudFormation spells S3's CORS rule keys differently from the S3 API.
_CORS_KEYS = {"MaxAge": "MaxAgeSeconds"}


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


_CREATORS: dict[str, Callable[[Provisioner, str, dict[str, Any]], Physical]] = {
    "AWS::DynamoDB::Table": Provisioner._table,
    "AWS::S3::Bucket": Provisioner._bucket,
    "AWS::SQS::Queue": Provisioner._queue,
    "AWS::SQS::QueuePolicy": Provisioner._queue_policy,
    "AWS::KMS::Key": Provisioner._key,
    "AWS::SecretsManager::Secret": Provisioner._secret,
    "AWS::Serverless::Function": Provisioner._function,
    "AWS::Serverless::StateMachine": Provisioner._state_machine,
}
