"""`make run --demo-microsoft`'s demo identity provider, without sockets: its sign-in page
(clearly not Microsoft), the choice of a demo mailbox, the consent step (Accept brings a code,
Cancel the usual ``access_denied``), its tokens; `make run`'s option; and the guard that keeps
any such stand-in out of a deployed stack (Settings refuses an authority not Microsoft's).
"""

from __future__ import annotations

import hashlib
import re
import urllib.parse
from pathlib import Path

import pytest

from mailport.settings import Settings, SettingsError, is_microsoft_authority
from mailport_local.__main__ import build_parser, config_from_args
from mailport_local.demo_identity import (
    CONSENT_PATH,
    SIGNIN_PATH,
    TENANT,
    DemoIdentityProvider,
    _b64url,
)
from mailport_local.stack import demo_microsoft_mailboxes

ENV = {
    "TABLE_NAME": "t",
    "MAIL_BUCKET": "m",
    "UPLOAD_BUCKET": "u",
    "FETCH_QUEUE_URL": "q",
    "CREDENTIALS_KEY_ID": "k",
}
DEMO_AUTHORITY = f"https://127.0.0.1:43123/{TENANT}"
REDIRECT = "http://127.0.0.1:8000/v1/oauth/microsoft/callback"
VERIFIER = "v" * 50


# -- the guard -------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["prod", "staging", ""])
def test_a_deployed_stack_refuses_the_demo_authority(stage: str) -> None:
    env = {**ENV, "M365_AUTHORITY": DEMO_AUTHORITY}
    if stage:
        env["STAGE"] = stage
    with pytest.raises(SettingsError, match="M365_AUTHORITY must be Microsoft's"):
        Settings.from_env(env)


def test_only_the_local_stack_may_name_another_authority() -> None:
    local = Settings.from_env({**ENV, "STAGE": "local", "M365_AUTHORITY": DEMO_AUTHORITY})
    assert local.m365_authority == DEMO_AUTHORITY
    deployed = Settings.from_env({**ENV, "STAGE": "prod"})
    assert deployed.m365_authority == "https://login.microsoftonline.com/common"
    tenant = "https://login.microsoftonline.com/0f1e2d3c-aaaa-bbbb-cccc-000000000000"
    assert Settings.from_env({**ENV, "M365_AUTHORITY": tenant}).m365_authority == tenant
    with pytest.raises(SettingsError):  # an explicit Settings is held to it too
        Settings("t", "m", "u", "q", "k", m365_authority=DEMO_AUTHORITY)


@pytest.mark.parametrize(
    "url",
    [
        "http://login.microsoftonline.com/common",
        "https://login.microsoftonline.com.evil.example/common",
        "https://login.microsoftonline.com:8443/common",
        "https://user@login.microsoftonline.com/common",
        "https://login.microsoftonline.com/",
        "https://login.microsoftonline.com/common?x=1",
        "https://localhost/common",
        "not a url",
    ],
)
def test_lookalike_authorities_are_not_microsoft(url: str) -> None:
    assert not is_microsoft_authority(url)


def test_microsoft_authorities() -> None:
    for url in (
        "https://login.microsoftonline.com/common",
        "https://LOGIN.microsoftonline.com/organizations",
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/",
    ):
        assert is_microsoft_authority(url), url


# -- `make run`'s option --------------------------------------------------------------------


def test_the_demo_is_an_option_of_make_run_off_by_default() -> None:
    assert config_from_args(build_parser().parse_args(["run"])).demo_microsoft is False
    on = config_from_args(build_parser().parse_args(["run", "--demo-microsoft"]))
    assert on.demo_microsoft is True
    assert on.demo_mail is True


# -- the demo's pages -----------------------------------------------------------------------


@pytest.fixture
def idp(tmp_path: Path) -> DemoIdentityProvider:
    demo = DemoIdentityProvider(
        tmp_path, client_id="mailport-demo", interactive=True, mailboxes=demo_microsoft_mailboxes()
    )
    # Addresses as start() sets them, without its sockets.
    demo.origin, demo.http_origin = "https://127.0.0.1:1", "http://127.0.0.1:2"
    demo.authority = f"{demo.origin}/{TENANT}"
    return demo


def _authorize(idp: DemoIdentityProvider, hint: str = "taro@m365-demo.example") -> str:
    """The sign-in page for one authorize request; its request id."""
    query = {
        "client_id": idp.client_id,
        "redirect_uri": REDIRECT,
        "state": "s1",
        "nonce": "n1",
        "scope": "https://outlook.office.com/IMAP.AccessAsUser.All openid profile offline_access",
        "login_hint": hint,
        "code_challenge": _b64url(hashlib.sha256(VERIFIER.encode()).digest()),
        "code_challenge_method": "S256",
    }
    status, body, headers = idp._get(f"/{TENANT}/oauth2/v2.0/authorize", query)
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    page = body.decode()
    assert "Demo sign-in — not Microsoft" in page
    assert "Microsoft ではありません" in page
    assert "taro@m365-demo.example" in page and "alice@m365-demo.example" in page
    assert f'value="{hint}"' in page  # the address mailport was given, filled in
    found = re.search(r'name="request" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_discovery_sends_the_browser_to_the_http_page(idp: DemoIdentityProvider) -> None:
    _, config, _ = idp._get(f"/{TENANT}/v2.0/.well-known/openid-configuration", {})
    assert config["authorization_endpoint"] == f"http://127.0.0.1:2/{TENANT}/oauth2/v2.0/authorize"
    assert config["token_endpoint"].startswith("https://127.0.0.1:1/")  # msal: https only


def test_sign_in_consent_accept_and_the_tokens(idp: DemoIdentityProvider) -> None:
    request = _authorize(idp)
    status, body, _ = idp._form_post(
        SIGNIN_PATH, {"request": request, "email": "Taro@M365-demo.example"}
    )
    consent = body.decode()
    assert status == 200
    assert "mailport wants to read your mail" in consent
    assert "メールの読み取り" in consent
    assert "IMAP.AccessAsUser.All" in consent
    status, _, headers = idp._form_post(
        CONSENT_PATH, {"request": request, "email": "taro@m365-demo.example", "decision": "accept"}
    )
    assert status == 302
    back = urllib.parse.urlsplit(headers["Location"])
    params = dict(urllib.parse.parse_qsl(back.query))
    assert f"{back.scheme}://{back.netloc}{back.path}" == REDIRECT
    assert params["state"] == "s1"
    form = {
        "client_id": idp.client_id,
        "client_secret": idp.client_secret,
        "grant_type": "authorization_code",
        "code": params["code"],
        "code_verifier": VERIFIER,
        "redirect_uri": REDIRECT,
    }
    status, tokens = idp._post(f"/{TENANT}/oauth2/v2.0/token", form, "")
    assert status == 200, tokens
    assert idp._introspect({"token": tokens["access_token"]}) == {
        "active": True,
        "username": "taro@m365-demo.example",
    }
    # The request is used up: the same consent again is refused.
    again = {"request": request, "email": "taro@m365-demo.example", "decision": "accept"}
    assert idp._form_post(CONSENT_PATH, again)[0] == 400


def test_cancel_sends_the_usual_denial(idp: DemoIdentityProvider) -> None:
    request = _authorize(idp)
    status, _, headers = idp._form_post(
        CONSENT_PATH, {"request": request, "email": "alice@m365-demo.example", "decision": "cancel"}
    )
    assert status == 302
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(headers["Location"]).query))
    assert params == {"error": "access_denied", "error_description": "declined", "state": "s1"}
    assert idp._codes == {}


def test_an_address_that_is_not_a_demo_mailbox_is_refused_on_the_page(
    idp: DemoIdentityProvider,
) -> None:
    request = _authorize(idp, hint="someone@contoso.com")
    status, body, _ = idp._form_post(
        SIGNIN_PATH, {"request": request, "email": "<b>someone@contoso.com</b>"}
    )
    page = body.decode()
    assert status == 200
    assert "is not a demo mailbox" in page
    assert "<b>someone" not in page  # escaped
    assert "mailport wants to read your mail" not in page
    # Unknown or used-up requests are refused in words.
    status, body, _ = idp._form_post(SIGNIN_PATH, {"request": "nope", "email": "x"})
    assert status == 400
    assert "start again from mailport" in body.decode()


def test_the_tests_fake_is_not_interactive(tmp_path: Path) -> None:
    from tests.support.fake_idp import FakeIdentityProvider

    fake = FakeIdentityProvider(tmp_path)
    assert fake is not None and not fake.interactive
    assert fake._form_post(SIGNIN_PATH, {})[0] == 404
