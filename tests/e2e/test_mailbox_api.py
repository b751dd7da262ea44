"""The mailbox API over HTTP: shapes, statuses and error paths."""

from __future__ import annotations

import pytest
import requests

from mailport_local.stack import LocalStack
from tests.e2e.test_upload import GOOD, start, upload_all, wait_done
from tests.support.api import login

pytestmark = pytest.mark.stack


def url(stack: LocalStack, path: str) -> str:
    return f"{stack.api_url}{path}"


def test_folder_lifecycle_and_errors(local_stack: LocalStack) -> None:
    h = login(local_stack, "folders@acme.example", "acme")
    made = requests.post(
        url(local_stack, "/v1/folders"), headers=h, json={"name": "取引先"}, timeout=10
    )
    assert made.status_code == 201
    folder = made.json()
    again = requests.post(
        url(local_stack, "/v1/folders"), headers=h, json={"name": "取引先"}, timeout=10
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    bad = requests.post(url(local_stack, "/v1/folders"), headers=h, data=b"{not json", timeout=10)
    assert bad.status_code == 400 and "JSON" in bad.json()["error"]["message"]
    patch = requests.patch(
        url(local_stack, f"/v1/folders/{folder['id']}"), headers=h, json={"colour": "x"}, timeout=10
    )
    assert patch.status_code == 400
    renamed = requests.patch(
        url(local_stack, f"/v1/folders/{folder['id']}"),
        headers=h,
        json={"name": "顧客"},
        timeout=10,
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "顧客"
    inbox = requests.patch(
        url(local_stack, "/v1/folders/inbox"), headers=h, json={"name": "x"}, timeout=10
    )
    assert inbox.status_code == 400
    other = login(local_stack, "other@acme.example", "acme")
    assert (
        requests.delete(
            url(local_stack, f"/v1/folders/{folder['id']}"), headers=other, timeout=10
        ).status_code
        == 404
    )
    assert (
        requests.delete(
            url(local_stack, f"/v1/folders/{folder['id']}"), headers=h, timeout=10
        ).status_code
        == 204
    )
    assert (
        requests.delete(
            url(local_stack, f"/v1/folders/{folder['id']}"), headers=h, timeout=10
        ).status_code
        == 404
    )


def test_messages_pages_flags_and_raw(local_stack: LocalStack) -> None:
    h = login(local_stack, "pages@acme.example", "acme")
    files = {f"m{n}.eml": GOOD.replace(b"good-1", f"page-{n}".encode()) for n in range(5)}
    batch = start(local_stack, h, files)
    upload_all(batch, files)
    wait_done(local_stack, h, batch["id"])
    seen, cursor = [], None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = requests.get(
            url(local_stack, "/v1/folders/inbox/messages"), headers=h, params=params, timeout=10
        ).json()
        seen += [m["id"] for m in page["messages"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 5 == len(set(seen))
    assert page["folder"]["unread"] == 5
    flagged = requests.patch(
        url(local_stack, f"/v1/messages/{seen[0]}"),
        headers=h,
        json={"flags": {"seen": True}},
        timeout=10,
    )
    assert flagged.status_code == 200 and flagged.json()["flags"]["seen"] is True
    folders = requests.get(url(local_stack, "/v1/folders"), headers=h, timeout=10).json()["folders"]
    assert folders[0]["unread"] == 4
    # Bytes need a binary Accept (API Gateway's binary media types): */* or message/rfc822.
    as_json = requests.get(
        url(local_stack, f"/v1/messages/{seen[0]}/raw"),
        headers={**h, "Accept": "application/json"},
        timeout=10,
    )
    assert as_json.status_code == 400 and set(as_json.json()["error"]) == {"code", "message"}
    bad_limit = requests.get(
        url(local_stack, "/v1/folders/inbox/messages"), headers=h, params={"limit": "0"}, timeout=10
    )
    assert bad_limit.status_code == 400
    trash = requests.patch(
        url(local_stack, f"/v1/messages/{seen[1]}"),
        headers=h,
        json={"folder_id": "trash"},
        timeout=10,
    )
    assert trash.json()["folder_id"] == "trash"
    assert (
        requests.delete(
            url(local_stack, f"/v1/messages/{seen[1]}"), headers=h, timeout=10
        ).status_code
        == 204
    )
    assert (
        requests.get(url(local_stack, f"/v1/messages/{seen[1]}"), headers=h, timeout=10).status_code
        == 404
    )


def test_rules_round_trip_and_clear_errors(local_stack: LocalStack) -> None:
    h = login(local_stack, "rules@acme.example", "acme")
    assert requests.get(url(local_stack, "/v1/rules"), headers=h, timeout=10).json() == {
        "rules": []
    }
    rule = {
        "name": "Trash newsletters",
        "enabled": True,
        "match": "any",
        "conditions": [{"field": "subject", "op": "contains", "value": "ニュース"}],
        "actions": [{"type": "move_to_trash"}],
        "stop_processing": True,
    }
    put = requests.put(url(local_stack, "/v1/rules"), headers=h, json={"rules": [rule]}, timeout=10)
    assert put.status_code == 200 and put.json()["rules"][0]["id"]
    assert requests.get(url(local_stack, "/v1/rules"), headers=h, timeout=10).json() == put.json()
    broken = {**rule, "conditions": [{"field": "subject", "op": "domain_is", "value": "x.com"}]}
    r = requests.put(url(local_stack, "/v1/rules"), headers=h, json={"rules": [broken]}, timeout=10)
    assert r.status_code == 400
    assert "rule 1" in r.json()["error"]["message"] and "domain_is" in r.json()["error"]["message"]


@pytest.mark.parametrize(
    ("method", "path", "body", "message"),
    [
        ("POST", "/v1/folders", {"name": "n" * 256}, '"name" must be at most 255 characters'),
        ("POST", "/v1/folders", {"name": "a", "parent_id": 1}, '"parent_id" must be a string'),
        ("PATCH", "/v1/folders/{folder}", {}, "send at least one of: name, parent_id"),
        ("PATCH", "/v1/folders/{folder}", {"colour": "x"}, '"colour" is not a known field'),
        (
            "PATCH",
            "/v1/messages/{message}",
            {"flags": {"seen": "yes"}},
            '"flags.seen" must be true or false',
        ),
        (
            "PATCH",
            "/v1/messages/{message}",
            {"folder_id": "f" * 257},
            '"folder_id" must be at most 256 characters',
        ),
    ],
)
def test_a_body_out_of_its_models_bounds_is_400_naming_the_field(
    local_stack: LocalStack, method: str, path: str, body: dict[str, object], message: str
) -> None:
    """Checked at the edge by ``api_inputs``: the folder and message need not exist."""
    h = login(local_stack, "bounds@acme.example", "acme")
    target = url(local_stack, path.format(folder="fnone", message="mnone"))
    r = requests.request(method, target, headers=h, json=body, timeout=10)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == {"code": "invalid_request", "message": message}
