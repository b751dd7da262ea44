"""POP accounts that sign in (XOAUTH2) and password accounts that meet a provider's "use an
app password / sign in" refusal: what is counted, what pauses, what the user is told.
In-memory ports from ``test_pop_fetcher``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest

from mailport.domain.accounts import Preset, RunStatus, RunTrigger
from mailport.domain.oauth import OAuthProvider, Purpose, SignInRequired
from mailport.domain.remote import (
    Credentials,
    RemoteAppPasswordRequired,
    RemoteSigninRequired,
    ServerAddress,
)
from tests.unit.test_pop_fetcher import (
    FakeImporter,
    MemoryAccounts,
    Queue,
    Server,
    Session,
    World,
    account,
    mail,
)


@dataclass
class Tokens:
    """The ``AccessTokens`` port: a token per call, or the sign-in no longer works."""

    revoked: bool = False
    calls: list[bool] = field(default_factory=list)  # ``fresh`` of each call

    def connection_email(self, *args: object) -> str | None:
        return "me@outlook.example"

    def mailbox_token(
        self,
        tenant_id: str,
        user_id: str,
        connection_id: str,
        *,
        fresh: bool = False,
        expect: object = None,
    ) -> Credentials:
        assert (tenant_id, user_id, connection_id) == ("t", "u", "m1")
        # The Outlook preset's token must be a Microsoft POP sign-in's.
        assert expect == (OAuthProvider.MICROSOFT, Purpose.POP)
        self.calls.append(fresh)
        if self.revoked:
            raise SignInRequired("Microsoft no longer accepts the saved sign-in; sign in again")
        return Credentials("me@outlook.example", oauth2_token=f"at{len(self.calls)}")


@dataclass
class TokenServer(Server):
    """Accepts only the token it was last told is valid; records the logins."""

    valid: set[str] = field(default_factory=set)
    logins: list[Credentials] = field(default_factory=list)
    refuse_with: type[Exception] | None = None

    def open(
        self, server: ServerAddress, credentials: Credentials, *, deadline_s: float | None = None
    ) -> Session:
        self.logins.append(credentials)
        if self.refuse_with is not None:
            raise self.refuse_with("the server refused the login")
        if credentials.oauth2_token and credentials.oauth2_token not in self.valid:
            raise RemoteSigninRequired("the server refused the sign-in")
        return Session(self, list(self.messages))


@dataclass
class SigninWorld(World):
    tokens: Tokens | None = field(default_factory=Tokens)


@pytest.fixture
def signed_in() -> SigninWorld:
    server = TokenServer({"u1": mail(1)}, valid={"at1", "at2", "at3"})
    acct = account(
        preset=Preset.OUTLOOK,
        connection_id="m1",
        sealed_password=b"",
        username="me@outlook.example",
    )
    return SigninWorld(MemoryAccounts(acct), server, FakeImporter(), Queue(), [0.0])


def test_a_signed_in_account_fetches_with_its_token_not_a_password(
    signed_in: SigninWorld,
) -> None:
    run = signed_in.run()
    assert run.status is RunStatus.SUCCEEDED and run.counts.fetched == 1
    login = signed_in.server.logins[-1]  # type: ignore[attr-defined]
    assert (login.password, login.oauth2_token) == ("", "at1")


def test_a_refused_token_is_refreshed_once_then_counted(signed_in: SigninWorld) -> None:
    server: TokenServer = signed_in.server  # type: ignore[assignment]
    server.valid = {"at2"}  # the held token was revoked early; a refreshed one works
    assert signed_in.run().status is RunStatus.SUCCEEDED
    assert signed_in.tokens.calls == [False, True]
    server.valid = set()  # POP turned off at the provider: every token refused
    failed = signed_in.run()
    assert failed.error_code == "remote_signin_required"
    assert signed_in.accounts.account.state.failures == 1  # the server's refusal counts
    assert signed_in.accounts.account.auto_fetch


def test_a_revoked_sign_in_pauses_without_counting_and_says_so_once(
    signed_in: SigninWorld,
) -> None:
    signed_in.tokens.revoked = True
    first = signed_in.run()
    assert first.status is RunStatus.FAILED and first.error_code == "signin_required"
    state = signed_in.accounts.account.state
    assert state.failures == 0 and state.paused_for == "signin"
    assert signed_in.accounts.account.auto_fetch is False
    assert "sign in again" in state.disabled_reason
    assert len(signed_in.importer.notices) == 1
    assert b"Sign in again" in signed_in.importer.notices[0]
    # A manual "fetch now" meanwhile fails the same way: no second notice, no count.
    manual = signed_in.run(RunTrigger.MANUAL)
    assert manual.error_code == "signin_required"
    assert signed_in.accounts.account.state.failures == 0
    assert len(signed_in.importer.notices) == 1


@pytest.mark.parametrize(
    ("refusal", "code"),
    [
        (RemoteAppPasswordRequired, "remote_app_password_required"),
        (RemoteSigninRequired, "remote_signin_required"),
    ],
)
def test_a_password_refusal_with_a_known_next_step_warns_at_once_and_counts(
    refusal: type[Exception], code: str
) -> None:
    server = TokenServer({"u1": mail(1)}, refuse_with=refusal)
    world = SigninWorld(MemoryAccounts(account()), server, FakeImporter(), Queue(), [0.0])
    first = world.run()
    assert first.error_code == code
    assert world.accounts.account.state.failures == 1
    assert len(world.importer.notices) == 1  # at once, not at the third failure
    world.run()
    world.run()  # the third: the usual warning
    assert len(world.importer.notices) == 2
    for _ in range(7):
        world.run()
    state = world.accounts.account.state
    assert state.failures == 10 and state.paused_for == ""  # counted, as documented
    assert world.accounts.account.auto_fetch is False
    assert len(world.importer.notices) == 3


def test_without_sign_in_set_up_a_signed_in_account_pauses(signed_in: SigninWorld) -> None:
    world = replace(signed_in, tokens=None)
    run = world.run()
    assert run.error_code == "signin_required"
    assert world.accounts.account.state.paused_for == "signin"
