"""The local gateway's demo mail routes: present only with a demo mail server, JSON only for
the drop (a plain form from another site can't fill the mailboxes), errors in words."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from mailport_local.gateway import Gateway
from mailport_local.lambdas import LocalLambdas


class FakeDemoMail:
    def __init__(self) -> None:
        self.drops: list[tuple[str, int]] = []

    def info(self) -> dict[str, Any]:
        return {"host": "127.0.0.1", "users": [{"username": "taro"}, {"username": "alice"}]}

    def drop(self, name: str, count: int = 1) -> list[str]:
        if name not in ("taro", "alice"):
            raise ValueError(f"no demo mail user {name!r}")
        if not 1 <= count <= 100:
            raise ValueError("count must be between 1 and 100")
        self.drops.append((name, count))
        return [f"mail #{i}" for i in range(count)]


def gateway(demo: FakeDemoMail | None) -> Gateway:
    return Gateway([], LocalLambdas(), auth=None, demo_mail=demo)  # type: ignore[arg-type]


def call(gw: Gateway, method: str, path: str, **kw: Any) -> tuple[int, Any]:
    request = Request(EnvironBuilder(method=method, path=path, **kw).get_environ())
    response = gw.handle(request)
    return response.status_code, json.loads(response.get_data(as_text=True))


def test_without_a_demo_mail_server_the_routes_are_not_found() -> None:
    gw = gateway(None)
    assert call(gw, "GET", "/v1/local/demo-mail")[0] == 404
    assert call(gw, "POST", "/v1/local/demo-mail/drop", json={})[0] == 404


def test_the_details_and_a_drop() -> None:
    demo = FakeDemoMail()
    gw = gateway(demo)
    status, body = call(gw, "GET", "/v1/local/demo-mail")
    assert status == 200 and body["host"] == "127.0.0.1"
    status, body = call(gw, "POST", "/v1/local/demo-mail/drop", json={})
    assert (status, body) == (200, {"user": "taro", "dropped": ["mail #0"]})
    status, body = call(gw, "POST", "/v1/local/demo-mail/drop", json={"user": "alice", "count": 2})
    assert status == 200 and body["dropped"] == ["mail #0", "mail #1"]
    assert demo.drops == [("taro", 1), ("alice", 2)]


def test_a_drop_is_json_only_and_checked() -> None:
    demo = FakeDemoMail()
    gw = gateway(demo)
    form = call(gw, "POST", "/v1/local/demo-mail/drop", data={"user": "taro"})
    assert form[0] == 415
    for bad in ({"user": "root"}, {"count": "3"}, {"count": True}, {"count": 0}, [1]):
        status, body = call(gw, "POST", "/v1/local/demo-mail/drop", json=bad)
        assert status == 400 and body["error"]["code"] == "invalid_request", bad
    assert demo.drops == []
