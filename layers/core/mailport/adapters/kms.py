"""Credentials encrypted with KMS, bound to whose they are by the encryption context."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from mailport.adapters.aws_errors import translate
from mailport.errors import StorageError

# KMS refuses to decrypt when the context differs from the one used to encrypt, so a
# ciphertext copied to another user's or account's record is useless there.
_UNREADABLE = {"InvalidCiphertextException", "IncorrectKeyException", "AccessDeniedException"}


class SecretUnreadable(StorageError):
    """The secret can't be decrypted for this owner (wrong context, key or data)."""

    code = "secret_unreadable"


class KmsSecretBox:
    """``SecretBox`` on a KMS key: encrypt and decrypt small secrets (passwords, tokens)."""

    def __init__(self, key_id: str, *, session: boto3.session.Session | None = None) -> None:
        self._key_id = key_id
        self._session = session or boto3.session.Session()

    @functools.cached_property
    def _kms(self) -> Any:
        # Made on first use: most functions wire this box and never open it (cold starts).
        return self._session.client("kms")

    def seal(self, secret: str, context: Mapping[str, str]) -> bytes:
        """The ciphertext of ``secret`` (at most 4 KB, KMS's limit for direct encryption)."""
        try:
            blob: bytes = self._kms.encrypt(
                KeyId=self._key_id,
                Plaintext=secret.encode("utf-8"),
                EncryptionContext=dict(context),
            )["CiphertextBlob"]
        except (ClientError, BotoCoreError) as e:
            raise translate(e, "protecting the password") from e
        return blob

    def open(self, sealed: bytes, context: Mapping[str, str]) -> str:
        """The secret, if ``context`` is the one it was sealed with."""
        try:
            plain: bytes = self._kms.decrypt(
                CiphertextBlob=sealed, EncryptionContext=dict(context), KeyId=self._key_id
            )["Plaintext"]
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in _UNREADABLE:
                raise SecretUnreadable("the saved password can't be read; enter it again") from e
            raise translate(e, "reading the password") from e
        except BotoCoreError as e:
            raise translate(e, "reading the password") from e
        return plain.decode("utf-8")
