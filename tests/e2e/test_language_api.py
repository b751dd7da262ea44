"""The server's words in the reader's language, over HTTP: errors by Accept-Language, the
user's own setting (``PATCH /v1/me``) for what is written without a request.
"""

from __future__ import annotations

import re

import pytest
import requests

from mailport.catalogue import say
from mailport_local.stack import LocalStack
from tests.support.api import login

pytestmark = pytest.mark.stack
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def test_an_error_is_said_in_the_language_the_request_asks_for(local_stack: LocalStack) -> None:
    user = login(local_stack, "alice@acme.example", "acme")
    url = f"{local_stack.api_url}/v1/folders"
    answers = {
        language: requests.post(
            url, headers={**user, "Accept-Language": language}, data="{not json", timeout=10
        ).json()["error"]
        for language in ("ja", "en-GB;q=0.9, ja;q=0.1", "fr")
    }
    # The code stays what programs read; only the words change.
    assert {e["code"] for e in answers.values()} == {"invalid_request"}
    assert answers["ja"]["message"] == say("site.body_not_json").render("ja")
    assert JAPANESE.search(answers["ja"]["message"])
    english = str(say("site.body_not_json"))
    assert answers["en-GB;q=0.9, ja;q=0.1"]["message"] == english
    assert answers["fr"]["message"] == english  # a language the catalogue lacks: English


def test_the_users_language_is_kept_and_only_theirs(local_stack: LocalStack) -> None:
    bob = login(local_stack, "bob@acme.example", "acme")
    carol = login(local_stack, "carol@acme.example", "acme")
    me = f"{local_stack.api_url}/v1/me"
    assert requests.get(me, headers=bob, timeout=10).json()["language"] in {None, "en", "ja"}

    r = requests.patch(me, headers=bob, json={"language": "ja"}, timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["language"] == "ja" and r.json()["user"]["email"] == "bob@acme.example"
    assert requests.get(me, headers=bob, timeout=10).json()["language"] == "ja"
    before = requests.get(me, headers=carol, timeout=10).json()["language"]
    assert before != "ja" or before is None  # nobody else's setting changed

    for bad in ({"language": "fr"}, {"language": None}, {}, {"language": "ja", "x": 1}):
        r = requests.patch(me, headers={**bob, "Accept-Language": "ja"}, json=bad, timeout=10)
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["error"]["code"] == "invalid_request"
        assert JAPANESE.search(r.json()["error"]["message"]), r.text
    assert requests.get(me, headers=bob, timeout=10).json()["language"] == "ja"
    requests.patch(me, headers=bob, json={"language": "en"}, timeout=10).raise_for_status()
    assert requests.get(me, headers=bob, timeout=10).json()["language"] == "en"


def test_the_gateways_own_answers_are_in_the_language_asked_for(local_stack: LocalStack) -> None:
    """What API Gateway's part answers on this machine (no route, a method the route lacks,
    no token) is said like the API's own words.
    """
    api = local_stack.api_url
    for language, expect_japanese in (("ja", True), ("en", False)):
        h = {"Accept-Language": language}
        answers = [
            requests.get(f"{api}/v1/nothing-here", headers=h, timeout=10),
            requests.put(f"{api}/v1/me", headers=h, json={}, timeout=10),
            requests.get(f"{api}/v1/folders", headers=h, timeout=10),
        ]
        assert [r.status_code for r in answers] == [404, 405, 401], [r.text for r in answers]
        for r in answers:
            message = r.json()["error"]["message"]
            assert bool(JAPANESE.search(message)) is expect_japanese, (language, message)
