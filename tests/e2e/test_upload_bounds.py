"""Through the API: a file size beyond what every JSON client and DynamoDB hold (10^39 has
39 digits; DynamoDB numbers 38) is a 400 that says the bound, no longer a 500."""

from __future__ import annotations

import pytest
import requests

from mailport.usecases.uploads import MAX_DECLARED_SIZE
from mailport_local.stack import LocalStack
from tests.support.api import login

pytestmark = pytest.mark.stack


@pytest.mark.parametrize("size", [10**39, MAX_DECLARED_SIZE + 1])
def test_a_size_beyond_the_bound_is_400(local_stack: LocalStack, size: int) -> None:
    headers = login(local_stack, "alice@acme.example", "acme")
    body = {"folder_id": "inbox", "files": [{"name": "a.eml", "size": size}]}
    r = requests.post(f"{local_stack.api_url}/v1/uploads", headers=headers, json=body, timeout=10)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == {
        "code": "invalid_request",
        "message": f"file 1: size must be a number of bytes, at most {MAX_DECLARED_SIZE}",
    }


def test_the_largest_size_is_taken_and_refused_as_too_large(local_stack: LocalStack) -> None:
    headers = login(local_stack, "alice@acme.example", "acme")
    body = {"folder_id": "inbox", "files": [{"name": "a.eml", "size": MAX_DECLARED_SIZE}]}
    r = requests.post(f"{local_stack.api_url}/v1/uploads", headers=headers, json=body, timeout=10)
    assert r.status_code == 201, r.text
    [file] = r.json()["files"]
    assert (file["size"], file["status"], file["reason"]) == (
        MAX_DECLARED_SIZE,
        "rejected",
        "too_large",
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"folder_id": "f" * 257, "files": [{"name": "a.eml", "size": 1}]},
            '"folder_id" must be at most 256 characters',
        ),
        (
            {"folder_id": "inbox", "files": [{"name": "x" * 4097, "size": 1}]},
            'file 1: "name" must be at most 4096 characters',
        ),
        (
            {"folder_id": "inbox", "files": [{"name": "a.eml", "size": "1"}]},
            f"file 1: size must be a number of bytes, at most {MAX_DECLARED_SIZE}",
        ),
        (
            {"folder_id": "inbox", "files": [{"name": "a.eml", "size": 1}] * 501},
            "at most 500 files per upload; split the rest into another",
        ),
    ],
)
def test_the_body_is_checked_by_its_model(
    local_stack: LocalStack, body: dict[str, object], message: str
) -> None:
    """Each bound of ``api_inputs.UploadIn`` answers 400 naming the field."""
    headers = login(local_stack, "alice@acme.example", "acme")
    r = requests.post(f"{local_stack.api_url}/v1/uploads", headers=headers, json=body, timeout=10)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == {"code": "invalid_request", "message": message}
