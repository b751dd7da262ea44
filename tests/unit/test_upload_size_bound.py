"""A declared file size is bounded as every JSON client and the store can hold it: 10^39
(DynamoDB numbers hold 38 digits) answered 500 ``internal_error``; now it is refused as
``invalid_request`` (400) at the API's edge, by the request's model, before the use-case
(and so anything written) is reached; and the document says the bound.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from infra import openapi_document
from infra.api_definition import load_app
from mailport.errors import ValidationFailed
from mailport.usecases.uploads import MAX_DECLARED_SIZE, UploadService


class _Written(AssertionError):
    pass


class _Refuse:
    """A port that fails the test when the use-case reaches it."""

    def __getattr__(self, name: str) -> Any:
        raise _Written(name)


def _service() -> UploadService:
    folders = SimpleNamespace(folder=lambda owner, folder_id: SimpleNamespace(folder_id=folder_id))
    return UploadService(
        folders=folders,  # type: ignore[arg-type]
        uploads=_Refuse(),
        objects=_Refuse(),
        importer=_Refuse(),  # type: ignore[arg-type]
        max_bytes=50 * 1024 * 1024,
    )


@pytest.mark.parametrize("size", [10**39, MAX_DECLARED_SIZE + 1, -1, 1.5, True, "10"])
def test_a_size_out_of_bounds_is_refused_before_anything_is_written(size: object) -> None:
    load_app()  # which puts functions/api on the path
    import api_validation
    from api_inputs import UploadIn

    payload = {
        "folder_id": "inbox",
        "files": [{"name": "a.eml", "size": 1}, {"name": "b.eml", "size": size}],
    }
    with pytest.raises(ValidationFailed) as refused:
        api_validation.validate(UploadIn, payload)
    assert refused.value.message == (
        f"file 2: size must be a number of bytes, at most {MAX_DECLARED_SIZE}"
    )


def test_the_largest_size_is_taken_and_refused_as_too_large_for_a_message() -> None:
    service = _service()
    file = service._file(0, {"name": "a.eml", "size": MAX_DECLARED_SIZE})
    assert (file.size, file.reason) == (MAX_DECLARED_SIZE, "too_large")


def test_the_document_says_the_bound() -> None:
    spec = json.loads(openapi_document.DOCUMENT.read_text(encoding="utf-8"))
    body = spec["paths"]["/v1/uploads"]["post"]["requestBody"]["content"]["application/json"]
    size = body["schema"]["properties"]["files"]["items"]["properties"]["size"]
    assert (size["minimum"], size["maximum"]) == (0, MAX_DECLARED_SIZE)
    assert str(MAX_DECLARED_SIZE) in size["description"]
    assert "400 invalid_request" in size["description"]
    assert MAX_DECLARED_SIZE < 10**38  # DynamoDB's 38 digits hold it
