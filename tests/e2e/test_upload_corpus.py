"""Every real-world message of the shared corpus goes through the whole upload pipeline:
stored byte for byte (same sha256) or rejected with a reason; the batch never stalls."""

from __future__ import annotations

import hashlib

import pytest
import requests

from mailport_local.stack import LocalStack
from tests.conftest import CORPUS
from tests.e2e.test_upload import start, upload_all, wait_done
from tests.support.api import login

pytestmark = pytest.mark.stack

FILES = (
    sorted(
        p
        for p in CORPUS.rglob("*")
        if p.is_file() and p.suffix in {".eml", ".txt", ".msg"} and p.name != "SOURCES.md"
    )
    if CORPUS.is_dir()
    else []
)


@pytest.mark.skipif(not FILES, reason=f"the shared corpus is not at {CORPUS}")
def test_every_corpus_message_is_stored_intact_or_rejected(local_stack: LocalStack) -> None:
    headers = login(local_stack, "corpus@acme.example", "acme")
    folder = requests.post(
        f"{local_stack.api_url}/v1/folders", headers=headers, json={"name": "corpus"}, timeout=10
    ).json()["id"]
    # Names must be unique within the batch for the lookups below; keep the relative path.
    files = {str(p.relative_to(CORPUS)): p.read_bytes() for p in FILES}
    batch = start(local_stack, headers, files, folder=folder)
    upload_all(batch, files)
    state = wait_done(local_stack, headers, batch["id"], timeout=120)
    outcomes = {f["name"]: f for f in state["files"]}
    assert set(outcomes) == set(files)
    stored = 0
    for name, f in outcomes.items():
        assert f["status"] in {"stored", "duplicate", "rejected"}, (name, f)
        if f["status"] == "rejected":
            assert f["reason"] and f["message"], (name, f)
            continue
        raw = requests.get(
            f"{local_stack.api_url}/v1/messages/{f['message_id']}/raw",
            headers={**headers, "Accept": "message/rfc822"},
            timeout=30,
        )
        if f["status"] == "stored":
            stored += 1
            assert (
                hashlib.sha256(raw.content).hexdigest() == hashlib.sha256(files[name]).hexdigest()
            ), name
    # The corpus is mostly real mail: most of it must be accepted.
    assert stored >= len(files) * 0.8, f"only {stored} of {len(files)} stored"
