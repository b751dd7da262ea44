"""Fixtures shared by the tiers. The local stack points every boto3 client in this process at
its moto server, so one stack serves the whole test session."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from mailport_local.stack import LocalStack
from tests.support.dovecot import Dovecot, dovecot_available
from tests.support.fake_idp import FakeIdentityProvider

# Every local stack of the session records its functions' AWS calls, for the least-privilege
# check (tests/integration/test_least_privilege.py); their child processes inherit it.
os.environ.setdefault("MAILPORT_RECORD_CALLS", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "eml"
NOTICE_SENDER = "notices@mailport.example"


@pytest.fixture(scope="session")
def mail_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the test Dovecot's CA is put; the local stack trusts it (read at each connect,
    so the file may appear after the stack started)."""
    return tmp_path_factory.mktemp("mail-ca") / "ca.pem"


@pytest.fixture(scope="session")
def fake_idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeIdentityProvider]:
    """A fake Microsoft identity platform (https, its own CA) for the whole session."""
    idp = FakeIdentityProvider(tmp_path_factory.mktemp("idp")).start()
    yield idp
    idp.stop()


def _microsoft365_environment(
    request: pytest.FixtureRequest, idp: FakeIdentityProvider
) -> dict[str, str]:
    """Microsoft 365 in the local stack: the fake identity provider, and the test Dovecot
    (which checks XOAUTH2 tokens with that provider) standing in for Exchange Online.
    """
    try:
        dv: Dovecot = request.getfixturevalue("dovecot")
    except pytest.skip.Exception:
        return {}
    return {
        "M365_AUTHORITY": idp.authority,
        "OAUTH_EXTRA_CA_FILE": idp.ca_file,
        "M365_IMAP_HOST": dv.host,
        "M365_IMAP_PORT": str(dv.imaps_port),
        "M365_POP_HOST": dv.host,
        "M365_POP_PORT": str(dv.pop3s_port),
        # Google's side of the same fake, and the same Dovecot standing in for Gmail.
        "GOOGLE_AUTHORIZE_URL": idp.google_authorize_url,
        "GOOGLE_TOKEN_URL": idp.google_token_url,
        "GOOGLE_ISSUER": idp.google_issuer,
        "GOOGLE_IMAP_HOST": dv.host,
        "GOOGLE_IMAP_PORT": str(dv.imaps_port),
        "GOOGLE_POP_HOST": dv.host,
        "GOOGLE_POP_PORT": str(dv.pop3s_port),
    }


@pytest.fixture
def short_tokens(fake_idp: FakeIdentityProvider) -> Iterator[None]:
    """Access tokens that live 60 s, under msal's and Google's 5-minute margins: every step
    that needs one refreshes it (and so a revocation is noticed mid-job)."""
    lifetime = fake_idp.token_lifetime_s
    fake_idp.token_lifetime_s = 60
    yield
    fake_idp.token_lifetime_s = lifetime


@pytest.fixture(scope="session")
def local_stack(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    mail_ca: Path,
    fake_idp: FakeIdentityProvider,
) -> Iterator[LocalStack]:
    from mailport_local.stack import LocalStackConfig

    microsoft365 = _microsoft365_environment(request, fake_idp)

    config = LocalStackConfig(
        api_port=0,
        state_dir=tmp_path_factory.mktemp("local-state"),
        persist=False,
        run_schedules=False,
        # Schedule fired by the tests; the window shrinks so dispatched fetches arrive soon.
        poll_every=2.0,
        mail_ca_file=str(mail_ca),
        environment={
            # Small chunks and executions, so a test's few dozen messages take several
            # chunks and a continue-as-new; one migration at a time per tenant, so the
            # queue's order is observable.
            "MIGRATION_CHUNK_MESSAGES": "4",
            "MIGRATION_CHUNKS_PER_EXECUTION": "3",
            "MIGRATION_MAX_PER_TENANT": "1",
            # Migration notices are also emailed (SES in moto) from this verified sender.
            "NOTICE_SENDER": NOTICE_SENDER,
            **microsoft365,
        },
    )
    stack = LocalStack(config).start()
    boto3.client("ses").verify_email_identity(EmailAddress=NOTICE_SENDER)
    if microsoft365:
        app = {"client_id": fake_idp.client_id, "client_secret": fake_idp.client_secret}
        for secret in ("Microsoft365AppSecret", "GoogleAppSecret"):
            boto3.client("secretsmanager").put_secret_value(
                SecretId=stack.physical_id(secret), SecretString=json.dumps(app)
            )
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def dovecot(mail_ca: Path, fake_idp: FakeIdentityProvider) -> Iterator[Dovecot]:
    """One private Dovecot for the whole session; each test module adds its own users."""
    if not dovecot_available():
        pytest.skip(
            "dovecot is not installed (apt-get install dovecot-imapd dovecot-pop3d; "
            "`make test` installs it)"
        )
    if os.geteuid() != 0:
        pytest.skip("the Dovecot fixture runs as root (it chowns mail to uid 5000)")
    # Short BASE under /tmp: Dovecot's unix sockets live below it and
    # sun_path is limited to 108 bytes.
    base = Path(tempfile.mkdtemp(prefix="dv", dir="/tmp"))
    try:
        with Dovecot(base, oauth2_introspection_url=fake_idp.introspection_url) as dv:
            shutil.copyfile(dv.ca_pem, mail_ca)
            yield dv
    finally:
        shutil.rmtree(base, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The least-privilege checks last: they judge the AWS calls every earlier test made."""
    last = [i for i in items if i.path.name == "test_least_privilege.py"]
    if last:
        items[:] = [i for i in items if i.path.name != "test_least_privilege.py"] + last
