"""Provider refusals that mean "an app password" or "sign in", on the real strings, and
XOAUTH2's error challenge on POP3 and IMAP (tokens never in the error).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import trustme

from mailport.adapters.imap import ImapConnector
from mailport.adapters.pop3.parser import xoauth2_error, xoauth2_response
from mailport.domain.network import LOCAL_TESTS
from mailport.domain.remote import (
    Credentials,
    RemoteAppPasswordRequired,
    RemoteAuthFailed,
    RemoteSigninRequired,
    login_refused,
    refusal_kind,
    xoauth2_reason,
)
from tests.unit.test_imap_adapter import FakeServer, Handler, _default, _imaps, _server_tls
from tests.unit.test_pop3_session import POP3, POP3S, connector
from tests.unit.test_pop3_session import FakeServer as FakePop3

TOKEN = "ya29.a0-secret-access-token"
# Google for Developers, "OAuth 2.0 Mechanism": the challenge of a failed XOAUTH2, verbatim.
GOOGLE_CHALLENGE = (
    "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIG1hYyIsInNjb3BlIjoi"
    "aHR0cHM6Ly9tYWlsLmdvb2dsZS5jb20vIn0K"
)

# -- the classifier, on what providers say ----------------------------------------------------

APP_PASSWORD = [
    # Gmail IMAP, LOGIN with the account password (2-Step Verification on).
    "[ALERT] Application-specific password required: "
    "https://support.google.com/accounts/answer/185833 (Failure)",
    # Gmail POP3, PASS with the account password.
    "[AUTH] Application-specific password required: "
    "https://support.google.com/accounts/answer/185833",
]
SIGN_IN = [
    "[AUTH] Web login required: https://support.google.com/mail/answer/78754",  # Gmail POP3
    "[ALERT] Please log in via your web browser: "
    "https://support.google.com/mail/accounts/answer/78754 (Failure)",  # Gmail IMAP
    "[WEBALERT https://accounts.google.com/ContinueSignIn?sarp=1] Web login required.",
    "Basic authentication is disabled.",  # Outlook.com IMAP after 2024-09-16
    "Authentication unsuccessful, basic authentication is disabled. [BasicAuthBlocked]",
    "LOGIN failed. Account is blocked. Login to your account via a web browser to verify "
    "your identity.",  # Outlook.com
]
PASSWORD = [
    "LOGIN failed.",  # Exchange Online: a wrong password looks the same
    "[AUTHENTICATIONFAILED] Invalid credentials (Failure)",  # Gmail: wrong password
    "[AUTH] Authentication failed.",  # Dovecot
    "Logon failure: unknown user name or bad password.",  # Exchange POP3
]


@pytest.mark.parametrize("said", APP_PASSWORD)
def test_app_password_required(said: str) -> None:
    assert refusal_kind(said) is RemoteAppPasswordRequired
    assert refusal_kind(said.lower(), token=True) is RemoteAppPasswordRequired


@pytest.mark.parametrize("said", SIGN_IN)
def test_sign_in_required(said: str) -> None:
    assert refusal_kind(said) is RemoteSigninRequired


@pytest.mark.parametrize("said", PASSWORD)
def test_wrong_password_stays_a_password_failure(said: str) -> None:
    assert refusal_kind(said) is RemoteAuthFailed
    assert refusal_kind(said, token=True) is RemoteSigninRequired  # a token was refused


def test_login_refused_names_the_next_step() -> None:
    said = APP_PASSWORD[0]
    error = login_refused(f"IMAP login refused: {said}", said)
    assert isinstance(error, RemoteAuthFailed)  # counted as a login failure, as before
    assert error.code == "remote_app_password_required"
    assert error.message.startswith("IMAP login refused: [ALERT] Application-specific")
    assert "next step: create an app password" in error.message
    signin = login_refused("POP3 login failed for 'a': [AUTH] Web login required", SIGN_IN[0])
    assert signin.code == "remote_signin_required"
    assert "next step: sign in with the provider again" in signin.message
    plain = login_refused("POP3 login failed for 'a': wrong password", "wrong password")
    assert type(plain) is RemoteAuthFailed
    assert plain.message == "POP3 login failed for 'a': wrong password"


def test_only_the_servers_words_are_classified() -> None:
    """A user name that reads like a provider's answer changes nothing."""
    user = "web login required"
    error = login_refused(f"POP3 login failed for {user!r}: wrong password", "wrong password")
    assert type(error) is RemoteAuthFailed


# -- XOAUTH2 responses and challenges as bytes ------------------------------------------------


def test_xoauth2_response() -> None:
    line = xoauth2_response("a@gmail.com", "tok")
    assert base64.b64decode(line) == b"user=a@gmail.com\x01auth=Bearer tok\x01\x01"
    assert b"\r" not in line and b"\n" not in line


@pytest.mark.parametrize("bad", ["\x01", "\r", "\n", "\x00"])
def test_xoauth2_response_refuses_separators(bad: str) -> None:
    with pytest.raises(ValueError, match="token") as info:
        xoauth2_response("a", f"{TOKEN}{bad}x")
    assert TOKEN not in str(info.value)
    with pytest.raises(ValueError, match="user name"):
        xoauth2_response(f"a{bad}b", TOKEN)


def test_xoauth2_challenge() -> None:
    assert xoauth2_error(GOOGLE_CHALLENGE) == "status 401, scope https://mail.google.com/"
    status_400 = base64.b64encode(json.dumps({"status": "400"}).encode()).decode()
    assert xoauth2_error(status_400) == "status 400"
    for junk in ("", "not base64!", base64.b64encode(b"[1, 2]").decode(), "/w=="):
        assert xoauth2_error(junk) == ""
    # What the server put in the JSON is made fit for a message (one line, capped).
    hostile = json.dumps({"status": "401\r\n\u202e" + "x" * 500}).encode()
    reason = xoauth2_reason(hostile)
    assert "\r" not in reason and "\u202e" not in reason and len(reason) <= 200


# -- POP3: the connector ------------------------------------------------------------------------


def _google_pop3() -> FakePop3:
    """Refuses the token as Google does: a base64 JSON challenge, then -ERR."""
    fake = FakePop3([])
    answer = fake.answer

    def google(line: bytes) -> bytes:
        if fake.commands[-2:-1] == [b"AUTH XOAUTH2"]:
            return f"+ {GOOGLE_CHALLENGE}\r\n".encode()
        if line == b"":
            return b"-ERR [AUTH] Invalid credentials.\r\n"
        return answer(line)

    fake.answer = google  # type: ignore[method-assign]
    return fake


def test_pop3_refused_token_is_sign_in_required() -> None:
    fake = _google_pop3()
    with pytest.raises(RemoteSigninRequired) as info:
        connector(fake).open(POP3S, Credentials("a@gmail.com", oauth2_token=TOKEN))
    message = info.value.message
    assert "Invalid credentials" in message
    assert "status 401, scope https://mail.google.com/" in message
    assert "next step: sign in" in message
    assert fake.commands[-1] == b""  # answered the challenge with an empty line
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value.args)
    assert info.value.__cause__ is None and info.value.__context__ is not None


def test_pop3_app_password_required() -> None:
    fake = FakePop3([])
    fake.do_pass = lambda arg: (  # type: ignore[method-assign]
        b"-ERR [AUTH] Application-specific password required: "
        b"https://support.google.com/accounts/answer/185833\r\n"
    )
    with pytest.raises(RemoteAppPasswordRequired, match="next step: create an app password"):
        connector(fake).open(POP3S, Credentials("a@gmail.com", "account-password"))


def test_pop3_without_xoauth2_is_a_plain_refusal() -> None:
    fake = FakePop3([])
    fake.do_auth = lambda arg: b"-ERR unknown mechanism\r\n"  # type: ignore[method-assign]
    with pytest.raises(RemoteAuthFailed, match="XOAUTH2 is not available") as info:
        connector(fake).open(POP3S, Credentials("a", oauth2_token=TOKEN))
    assert type(info.value) is RemoteAuthFailed
    assert not any(TOKEN.encode() in c for c in fake.commands)


def test_pop3_token_never_sent_in_plaintext() -> None:
    fake = FakePop3([], capa=(b"USER", b"UIDL"))  # no STLS
    with pytest.raises(Exception, match="STLS"):
        connector(fake).open(POP3, Credentials("a", oauth2_token=TOKEN))
    assert not any(c.startswith(b"AUTH") for c in fake.commands)


def test_pop3_token_with_separator_is_refused_unsent() -> None:
    fake = FakePop3([])
    with pytest.raises(RemoteAuthFailed) as info:
        connector(fake).open(POP3S, Credentials("a", oauth2_token=TOKEN + "\x01"))
    assert TOKEN not in str(info.value)
    assert not any(c.startswith(b"AUTH") for c in fake.commands)


# -- IMAP: the connector --------------------------------------------------------------------------


def _serve_imap(handler: Handler, ca: trustme.CA) -> FakeServer:
    return FakeServer(
        b"* OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2 AUTH=PLAIN] ready\r\n",
        handler,
        tls=_server_tls(ca),
    )


def test_imap_refused_token_is_sign_in_required(tmp_path: Path) -> None:
    ca = trustme.CA()
    lines: list[str] = []
    state: dict[str, str] = {}

    def google(tag: str, line: str) -> bytes:
        if "tag" not in state and " AUTHENTICATE XOAUTH2" in line.upper():
            state["tag"] = tag
            return b"+ \r\n"
        if "tag" in state:
            lines.append(line)
            if len(lines) == 1:
                return f"+ {GOOGLE_CHALLENGE}\r\n".encode()
            refused = "NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)"
            return f"{state['tag']} {refused}\r\n".encode()
        return _default(tag, line)

    server = _serve_imap(google, ca)
    try:
        with pytest.raises(RemoteSigninRequired) as info:
            ImapConnector(network=LOCAL_TESTS, read_timeout=5).open(
                _imaps(server.port, ca, tmp_path), Credentials("a@gmail.com", oauth2_token=TOKEN)
            )
    finally:
        server.close()
    assert lines[1] == ""  # the challenge answered empty, not with the token again
    message = info.value.message
    assert message.startswith("IMAP login refused: [AUTHENTICATIONFAILED] Invalid credentials")
    assert "status 401, scope https://mail.google.com/" in message
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value.__cause__)


def test_imap_app_password_required(tmp_path: Path) -> None:
    ca = trustme.CA()
    said = APP_PASSWORD[0]

    def google(tag: str, line: str) -> bytes:
        if " LOGIN " in line.upper():
            return f"{tag} NO {said}\r\n".encode()
        return _default(tag, line)

    server = _serve_imap(google, ca)
    try:
        with pytest.raises(RemoteAppPasswordRequired) as info:
            ImapConnector(network=LOCAL_TESTS, read_timeout=5).open(
                _imaps(server.port, ca, tmp_path), Credentials("a@gmail.com", "account-pw")
            )
    finally:
        server.close()
    assert info.value.code == "remote_app_password_required"
    assert said in info.value.message and "account-pw" not in info.value.message
