"""The ingest handler's metrics: each uploaded file's outcome becomes EMF figures with the
same names as the other import paths, dimensioned ``path=upload``."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

import eml_ingest
from mailport.domain.uploads import FileStatus, UploadFile
from mailport.usecases.uploads import Ingested
from mailport_local.lambdas import LocalContext
from tests.support.events import sqs_record

BUCKET = "uploads-bucket"


def s3_event(*keys: str) -> dict[str, Any]:
    return {"Records": [sqs_record("m1", BUCKET, [(key, 100) for key in keys])]}


def test_each_files_outcome_becomes_a_metric(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(eml_ingest.metrics, "namespace", "Mailport")
    outcomes = {
        "a": UploadFile(0, "a.eml", 1200, FileStatus.STORED),
        "b": UploadFile(1, "b.eml", 900, FileStatus.DUPLICATE),
        "c": UploadFile(2, "c.eml", 60_000_000, FileStatus.REJECTED, "too_large"),
        "d": None,
    }
    uploads = SimpleNamespace(
        ingest=lambda key, size=None: Ingested(key, outcomes[key]), cleanup=lambda keys: []
    )
    monkeypatch.setattr(
        eml_ingest,
        "container",
        lambda: SimpleNamespace(uploads=uploads, settings=SimpleNamespace(upload_bucket=BUCKET)),
    )
    result = eml_ingest.handler(s3_event("a", "b", "c", "d"), LocalContext("ingest", 128, 30))
    assert result == {"batchItemFailures": []}
    [blob] = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"_aws"' in x]
    assert blob["path"] == "upload"
    total = {k: sum(v) if isinstance(v, list) else v for k, v in blob.items() if k[0].isupper()}
    assert total == {
        "UploadsProcessed": 4.0,
        "MessagesImported": 1.0,
        "BytesImported": 1200.0,
        "MessagesDuplicate": 1.0,
        "UploadsRejected": 1.0,
        "UploadsOrphaned": 1.0,
        "MessagesSkippedOversize": 1.0,
    }
