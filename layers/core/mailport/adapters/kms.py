"""Credentials encrypted with KMS, bound to whose they are by the encryption context."""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mailport.adapters.aws_errors import translate
from mailport.adapters.clients import ClientSource
from mailport.errors import StorageError

# KMS refuses to decrypt when the context differs from the one used to encrypt, so a
# ciphertext copied to another user's or account's record is useless there.
_UNREADABLE = {"InvalidCiphertextException", "IncorrectKeyException", "AccessDeniedException"}
# KMS encrypts at most 4,096 bytes directly; an OAuth token cache is larger. Those are sealed
# with a data key (AES-256-GCM, the context as associated data) that KMS encrypts under the
# same context. A KMS ciphertext never starts with this marker (its first byte is 0x01).
_DIRECT_LIMIT = 4096
_ENVELOPE = b"MPENV1"
_NONCE = 12


class SecretUnreadable(StorageError):
    """The secret can't be decrypted for this owner (wrong context, key or data)."""

    code = "secret_unreadable"


class KmsSecretBox:
    """``SecretBox`` on a KMS key: encrypt and decrypt small secrets (passwords, tokens)."""

    def __init__(self, key_id: str, *, client: ClientSource) -> None:
        self._key_id = key_id
        self._client = client  # called when needed: most functions never open a secret

    @property
    def _kms(self) -> Any:
        return self._client()

    def seal(self, secret: str, context: Mapping[str, str]) -> bytes:
        """The ciphertext of ``secret``: KMS itself up to 4 KB, a KMS data key above."""
        plain = secret.encode("utf-8")
        try:
            if len(plain) <= _DIRECT_LIMIT:
                blob: bytes = self._kms.encrypt(
                    KeyId=self._key_id, Plaintext=plain, EncryptionContext=dict(context)
                )["CiphertextBlob"]
                return blob
            key = self._kms.generate_data_key(
                KeyId=self._key_id, KeySpec="AES_256", EncryptionContext=dict(context)
            )
        except (ClientError, BotoCoreError) as e:
            raise translate(e, "protecting the secret") from e
        nonce = os.urandom(_NONCE)
        sealed = AESGCM(key["Plaintext"]).encrypt(nonce, plain, _aad(context))
        wrapped: bytes = key["CiphertextBlob"]
        return _ENVELOPE + struct.pack(">H", len(wrapped)) + wrapped + nonce + sealed

    def open(self, sealed: bytes, context: Mapping[str, str]) -> str:
        """The secret, if ``context`` is the one it was sealed with."""
        if not sealed.startswith(_ENVELOPE):
            return self._decrypt(sealed, context).decode("utf-8")
        at = len(_ENVELOPE)
        (size,) = struct.unpack(">H", sealed[at : at + 2])
        wrapped = sealed[at + 2 : at + 2 + size]
        nonce = sealed[at + 2 + size : at + 2 + size + _NONCE]
        body = sealed[at + 2 + size + _NONCE :]
        try:
            plain = AESGCM(self._decrypt(wrapped, context)).decrypt(nonce, body, _aad(context))
        except (InvalidTag, ValueError) as e:
            raise SecretUnreadable("the saved credentials can't be read; enter them again") from e
        return plain.decode("utf-8")

    def _decrypt(self, blob: bytes, context: Mapping[str, str]) -> bytes:
        try:
            plain: bytes = self._kms.decrypt(
                CiphertextBlob=blob, EncryptionContext=dict(context), KeyId=self._key_id
            )["Plaintext"]
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in _UNREADABLE:
                raise SecretUnreadable(
                    "the saved credentials can't be read; enter them again"
                ) from e
            raise translate(e, "reading the secret") from e
        except BotoCoreError as e:
            raise translate(e, "reading the secret") from e
        return plain


def _aad(context: Mapping[str, str]) -> bytes:
    """The encryption context as GCM associated data (sorted, so its order doesn't matter)."""
    return "\x1f".join(f"{k}={v}" for k, v in sorted(context.items())).encode("utf-8")
