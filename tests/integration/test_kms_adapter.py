"""Credentials sealed with KMS (the emulator over HTTP) open only for their owner."""

from __future__ import annotations

import pytest

from mailport.adapters.clients import LazyClient
from mailport.adapters.kms import KmsSecretBox, SecretUnreadable
from mailport_local.stack import LocalStack

pytestmark = pytest.mark.stack

MINE = {"tenant": "acme", "user": "u1", "account": "a1"}


@pytest.fixture
def box(local_stack: LocalStack) -> KmsSecretBox:
    return KmsSecretBox(local_stack.physical_id("CredentialsKey"), client=LazyClient("kms"))


def test_round_trip_unicode_secret(box: KmsSecretBox) -> None:
    sealed = box.seal("pässwörd-日本語-🔑", MINE)
    assert b"p\xc3\xa4ssw" not in sealed
    assert box.open(sealed, MINE) == "pässwörd-日本語-🔑"


@pytest.mark.parametrize(
    "other", [{**MINE, "user": "u2"}, {**MINE, "tenant": "evil"}, {**MINE, "account": "a2"}, {}]
)
def test_another_owner_cannot_open_it(box: KmsSecretBox, other: dict[str, str]) -> None:
    sealed = box.seal("secret", MINE)
    with pytest.raises(SecretUnreadable) as err:
        box.open(sealed, other)
    assert "secret" not in err.value.message


def test_garbage_is_unreadable_not_a_crash(box: KmsSecretBox) -> None:
    with pytest.raises(SecretUnreadable):
        box.open(b"\x00" * 64, MINE)
