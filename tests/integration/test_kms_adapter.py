"""Credentials sealed with KMS (the emulator over HTTP) open only for their owner."""

from __future__ import annotations

import os
import struct
from typing import Any

import boto3
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mailport.adapters.kms import KmsSecretBox, SecretUnreadable, _aad
from mailport_local.stack import LocalStack
from tests.support.secrets import kms_box

pytestmark = pytest.mark.stack

MINE = {"tenant": "acme", "user": "u1", "account": "a1"}


@pytest.fixture
def box(local_stack: LocalStack) -> KmsSecretBox:
    return kms_box(local_stack)


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


def _counted(client: Any) -> list[str]:
    """The operations ``client`` sends from now on."""
    seen: list[str] = []
    client.meta.events.register(
        "before-call.kms", lambda model, **_: seen.append(model.name), unique_id=id(seen)
    )
    return seen


def test_a_container_asks_kms_once_for_every_secret_of_every_tenant(
    local_stack: LocalStack,
) -> None:
    sealer = kms_box(local_stack)
    contexts = [{"tenant": f"t{i % 3}", "user": "u", "account": f"a{i}"} for i in range(12)]
    sealed = [sealer.seal(f"pw-{i}", c) for i, c in enumerate(contexts)]
    kms = boto3.client("kms")
    calls = _counted(kms)
    opener = kms_box(local_stack, kms=lambda: kms)  # another container: nothing held yet
    assert [opener.open(s, c) for s, c in zip(sealed, contexts, strict=True)] == [
        f"pw-{i}" for i in range(12)
    ]
    assert calls == ["Decrypt"]
    assert opener.seal("more", MINE) and calls == ["Decrypt"]  # sealing: the same held key
    # The shared key is kept encrypted: its item holds no plaintext a table reader could use.
    item = boto3.client("dynamodb").get_item(
        TableName=local_stack.physical_id("MailportTable"),
        Key={"PK": {"S": "SEALKEY"}, "SK": {"S": "CURRENT"}},
    )["Item"]
    assert set(item) == {"PK", "SK", "wrapped", "created_at"}


def test_secrets_sealed_in_the_two_older_formats_still_open(local_stack: LocalStack) -> None:
    box = kms_box(local_stack)
    kms, key = boto3.client("kms"), local_stack.physical_id("CredentialsKey")
    direct = kms.encrypt(KeyId=key, Plaintext=b"pw-direct", EncryptionContext=MINE)[
        "CiphertextBlob"
    ]
    data = kms.generate_data_key(KeyId=key, KeySpec="AES_256", EncryptionContext=MINE)
    nonce = os.urandom(12)
    body = AESGCM(data["Plaintext"]).encrypt(nonce, "tök€n".encode(), _aad(MINE))
    wrapped = data["CiphertextBlob"]
    envelope = b"MPENV1" + struct.pack(">H", len(wrapped)) + wrapped + nonce + body
    assert (box.open(direct, MINE), box.open(envelope, MINE)) == ("pw-direct", "tök€n")
    assert box.needs_resealing(direct) and box.needs_resealing(envelope)
    assert not box.needs_resealing(box.seal("pw", MINE))
    for old in (direct, envelope):
        with pytest.raises(SecretUnreadable):
            box.open(old, {**MINE, "user": "u2"})
