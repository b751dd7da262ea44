"""The console's hosted sign-in (a deployed stack's Cognito hosted UI): authorization code
with PKCE and state, the code redeemed at the token endpoint, the ID token kept in the tab,
sign-out through the logout endpoint, and what the user is told when it goes wrong.

The console runs against the session's local stack, but believes it is deployed: this test's
page answers ``POST /v1/local/login`` with 404 and ``GET /v1/auth/config`` with a fake
Cognito (tests/support/fake_cognito.py, plain http on 127.0.0.1, which the console's CSP
allows). The fake's token endpoint hands out an ID token the local gateway signed, so the
API accepts it as it would accept Cognito's; everything between is the console's own code.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import Browser, Page, Route, expect

from mailport_local.stack import LocalStack
from tests.browser.conftest import new_page, screenshot, signed_in
from tests.browser.test_console_files import dictionary
from tests.support.api import login
from tests.support.fake_cognito import FakeCognito

pytestmark = [pytest.mark.stack]

TOKEN = "mailport.token"


@pytest.fixture
def cognito(local_stack: LocalStack) -> Iterator[FakeCognito]:
    fake = FakeCognito(redirect_uri=f"{local_stack.api_url}/console/index.html").start()
    headers = login(local_stack, "alice@acme.example", "acme")
    fake.id_token = headers["Authorization"].removeprefix("Bearer ")
    yield fake
    fake.stop()


def deployed(page: Page, cognito: FakeCognito) -> None:
    """This page's console sees no local sign-in and the fake as its hosted sign-in."""

    def no_local_login(route: Route) -> None:
        body = {"error": {"code": "not_found", "message": "no such route"}}
        route.fulfill(status=404, content_type="application/json", body=json.dumps(body))

    def config(route: Route) -> None:
        route.fulfill(
            status=200, content_type="application/json", body=json.dumps(cognito.config())
        )

    page.route("**/v1/local/login", no_local_login)
    page.route("**/v1/auth/config", config)


def stored_token(page: Page) -> str | None:
    return page.evaluate(f"sessionStorage.getItem('{TOKEN}')")  # type: ignore[no-any-return]


def test_sign_in_through_the_hosted_ui_and_out(
    page: Page, console: str, cognito: FakeCognito
) -> None:
    deployed(page, cognito)
    page.goto(console)
    expect(page.get_by_text(dictionary("en")["signin.hosted_intro"])).to_be_visible()
    screenshot(page, "signin-hosted-en")
    page.locator("#hosted-signin").click()
    signed_in(page)
    expect(page.locator("#who")).to_contain_text("Alice")
    expect(page.locator("main h1")).to_contain_text("Mailbox")
    # The code and state left the address bar; the ID token is kept in this tab.
    assert "code=" not in page.url and "state=" not in page.url, page.url
    assert stored_token(page) == cognito.id_token
    # The fake checked the client, the callback, S256 PKCE and the state's presence; the
    # console redeemed the code once, with the verifier, and no secret.
    assert cognito.refusals == []
    (asked,) = cognito.authorizations
    assert asked["code_challenge_method"] == "S256"
    assert asked["scope"].split() == ["openid", "email", "profile"]
    (redeemed,) = cognito.redemptions
    assert redeemed["grant_type"] == "authorization_code"
    assert redeemed["redirect_uri"] == cognito.redirect_uri
    assert 43 <= len(redeemed["code_verifier"]) <= 128

    page.locator("#signout").click()
    expect(page.get_by_text(dictionary("en")["signin.signed_out"])).to_be_visible()
    expect(page.locator("#hosted-signin")).to_be_visible()
    assert cognito.logouts == 1
    assert stored_token(page) is None
    expect(page.locator("#signout")).to_be_hidden()


@pytest.mark.parametrize("locale", ["en-US", "ja-JP"])
def test_a_forged_state_is_refused_in_words(
    browser: Browser, console: str, cognito: FakeCognito, locale: str
) -> None:
    cognito.wrong_state = True
    page = new_page(browser, locale)
    try:
        deployed(page, cognito)
        page.goto(console)
        page.locator("#hosted-signin").click()
        lang = locale[:2]
        expect(page.locator("main .error")).to_contain_text(
            dictionary(lang)["error.signin_state_mismatch"]
        )
        screenshot(page, f"signin-hosted-state-mismatch-{lang}")
        assert cognito.redemptions == []  # the code was never redeemed
        assert stored_token(page) is None
        assert "code=" not in page.url
        expect(page.locator("#hosted-signin")).to_be_visible()
        assert not page.errors  # type: ignore[attr-defined]
    finally:
        page.context.close()


def test_a_cancelled_sign_in_is_said_so(page: Page, console: str, cognito: FakeCognito) -> None:
    cognito.deny = True
    deployed(page, cognito)
    page.goto(console)
    page.locator("#hosted-signin").click()
    expect(page.locator("main .error")).to_contain_text(dictionary("en")["error.signin_refused"])
    assert cognito.redemptions == []


def test_a_rejected_code_is_said_so(page: Page, console: str, cognito: FakeCognito) -> None:
    deployed(page, cognito)
    # The token endpoint refuses the verifier (as Cognito does when PKCE doesn't match).
    page.goto(console)
    page.route(
        f"{cognito.origin}/oauth2/token",
        lambda route: route.continue_(
            post_data=route.request.post_data.replace("code_verifier=", "code_verifier=x")
        ),
    )
    page.locator("#hosted-signin").click()
    expect(page.locator("main .error")).to_contain_text(dictionary("en")["error.signin_failed"])
    assert cognito.refusals == ["code_verifier does not match the code_challenge"]
    assert stored_token(page) is None


def test_an_expired_token_returns_to_sign_in_with_a_message(
    page: Page, console: str, cognito: FakeCognito
) -> None:
    deployed(page, cognito)
    page.goto(console)
    page.locator("#hosted-signin").click()
    signed_in(page)
    # The ID token runs out (Cognito's last an hour): the API answers 401.
    page.evaluate(f"sessionStorage.setItem('{TOKEN}', 'expired.token.here')")
    page.locator("#nav a[href='#/accounts']").click()
    expect(page.get_by_text(dictionary("en")["signin.expired"])).to_be_visible()
    expect(page.locator("#hosted-signin")).to_be_visible()
    assert stored_token(page) is None


def test_the_local_stack_has_no_hosted_signin(local_stack: LocalStack) -> None:
    # Public (no token), and 404 where there is no hosted sign-in: the console then offers the
    # local stack's demo users (or, on a stack deployed without ConsoleUrl, a pasted token).
    r = requests.get(f"{local_stack.api_url}/v1/auth/config", timeout=10)
    assert r.status_code == 404, r.text
    assert r.json()["error"]["code"] == "not_configured"
