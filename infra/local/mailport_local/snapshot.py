"""Keep the local stack's data across restarts.

moto holds everything in memory, so on shutdown (and every minute) the stack writes its tables,
buckets and key material to ``<state>/snapshot``; on start it loads them back into the fresh
resources. Objects are stored by ETag, so a save only downloads what changed. Queues and running
executions are not kept: in-flight work is lost on restart (README says so).
"""

from __future__ import annotations

import base64
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from mailport_local.provision import ACCOUNT_ID, REGION

log = logging.getLogger(__name__)


def _encode(value: Any) -> Any:
    """DynamoDB's typed JSON with binary values base64'd."""
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return {"__b64__": base64.b64encode(value).decode("ascii")}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__b64__"}:
            return base64.b64decode(value["__b64__"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


@dataclass
class Snapshot:
    """Save and restore tables, buckets and KMS key material (by logical id)."""

    directory: Path
    session: boto3.session.Session

    @property
    def _current(self) -> Path:
        return self.directory / "snapshot"

    def exists(self) -> bool:
        """Whether a snapshot has been saved."""
        return (self._current / "manifest.json").is_file()

    def save(self, tables: dict[str, str], buckets: dict[str, str], keys: dict[str, str]) -> None:
        """Write a consistent-enough snapshot; replace the previous one atomically."""
        objects = self.directory / "objects"
        objects.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / "snapshot.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        manifest: dict[str, Any] = {"tables": {}, "buckets": {}, "keys": {}}
        ddb: Any = self.session.client("dynamodb")
        for logical, name in tables.items():
            items: list[Any] = []
            for page in ddb.get_paginator("scan").paginate(TableName=name):
                items.extend(_encode(i) for i in page["Items"])
            (tmp / f"table-{logical}.json").write_text(json.dumps(items))
            manifest["tables"][logical] = len(items)
        s3: Any = self.session.client("s3")
        referenced: set[str] = set()
        for logical, name in buckets.items():
            index = []
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
                for obj in page.get("Contents", []):
                    etag = obj["ETag"].strip('"').replace("-", "_")
                    target = objects / etag
                    if not target.exists():
                        got = s3.get_object(Bucket=name, Key=obj["Key"])
                        target.write_bytes(got["Body"].read())
                    head = s3.head_object(Bucket=name, Key=obj["Key"])
                    index.append(
                        {
                            "key": obj["Key"],
                            "file": etag,
                            "content_type": head.get("ContentType", "binary/octet-stream"),
                            # S3 keeps metadata names in lowercase (the local endpoint's
                            # server capitalises response header names).
                            "metadata": {k.lower(): v for k, v in head.get("Metadata", {}).items()},
                        }
                    )
                    referenced.add(etag)
            (tmp / f"bucket-{logical}.json").write_text(json.dumps(index))
            manifest["buckets"][logical] = len(index)
        manifest["keys"] = {
            logical: {
                "id": key_id,
                "material": base64.b64encode(_kms_key(key_id).key_material).decode("ascii"),
            }
            for logical, key_id in keys.items()
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest))
        shutil.rmtree(self._current, ignore_errors=True)
        tmp.rename(self._current)
        for stale in objects.iterdir():
            if stale.name not in referenced:
                stale.unlink()

    def adopt_key(self, logical_id: str, new_key_id: str) -> str:
        """Give a just-created key the id and material it had when the snapshot was taken.

        Ciphertexts carry the id of the key that made them, so the id must survive too.
        """
        if not self.exists():
            return new_key_id
        saved = json.loads((self._current / "manifest.json").read_text())["keys"].get(logical_id)
        if not saved:
            return new_key_id
        backend = _kms_backend()
        key = backend.keys.pop(new_key_id)
        key.id = saved["id"]
        key.arn = key.arn.replace(new_key_id, saved["id"])
        key.key_material = base64.b64decode(saved["material"])
        backend.keys[saved["id"]] = key
        return str(saved["id"])

    def restore(self, tables: dict[str, str], buckets: dict[str, str]) -> dict[str, int]:
        """Load tables and objects into freshly created resources; return counts restored."""
        manifest = json.loads((self._current / "manifest.json").read_text())
        counts = {"items": 0, "objects": 0, "keys": 0}
        ddb: Any = self.session.client("dynamodb")
        for logical, name in tables.items():
            path = self._current / f"table-{logical}.json"
            if not path.exists():
                continue
            items = [_decode(i) for i in json.loads(path.read_text())]
            for i in range(0, len(items), 25):
                requests = [{"PutRequest": {"Item": item}} for item in items[i : i + 25]]
                pending: dict[str, Any] = {name: requests}
                while pending:
                    pending = (
                        ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                    )
            counts["items"] += len(items)
        s3: Any = self.session.client("s3")
        for logical, name in buckets.items():
            path = self._current / f"bucket-{logical}.json"
            if not path.exists():
                continue
            for entry in json.loads(path.read_text()):
                s3.put_object(
                    Bucket=name,
                    Key=entry["key"],
                    Body=(self.directory / "objects" / entry["file"]).read_bytes(),
                    ContentType=entry["content_type"],
                    Metadata=entry["metadata"],
                )
                counts["objects"] += 1
        counts["keys"] = len(manifest["keys"])
        return counts


def _kms_backend() -> Any:
    # moto runs in this process: key material is only reachable through its backend.
    from moto.kms.models import kms_backends

    return kms_backends[ACCOUNT_ID][REGION]


def _kms_key(key_id: str) -> Any:
    return _kms_backend().keys[key_id]
