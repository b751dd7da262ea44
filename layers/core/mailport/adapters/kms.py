"""Credentials sealed under a KMS data key, bound to whose they are by the context.

Secrets are sealed with AES-256-GCM under a key of their tenant's, derived (HKDF) from the
stack's current data key; KMS encrypts that data key, and each container asks KMS to decrypt it
once per ``hold_s`` instead of once per secret: a poll that opens a password costs no KMS call.
The sealed form carries the encrypted data key, so opening needs no table read, and secrets
sealed under an older key (or in the formats before this one) stay readable.
"""

from __future__ import annotations

import datetime as dt
import os
import struct
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mailport.adapters.aws_errors import translate
from mailport.adapters.clients import ClientSource
from mailport.catalogue import say
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
# The format sealed now: marker, the stack's data key as KMS encrypted it, nonce, GCM body.
_TENANT_KEYED = b"MPTK1"
# The data key's own KMS context: it is no one's in particular; whose a secret is, is bound by
# the tenant's derived key and the secret's context as GCM associated data.
_KEY_CONTEXT = {"purpose": "mailport-sealing-key"}
# How long a container keeps a decrypted data key: a key disabled or revoked in KMS stops
# opening and sealing within this bound.
HOLD_S = 300.0
# A new data key every 30 days: older secrets keep theirs (it travels in the sealed form)
# and are sealed under the new one when next written.
ROTATE_AFTER = dt.timedelta(days=30)
_HELD_MAX = 16  # distinct data keys held at once (one per rotation still in use)


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A data key as KMS encrypted it, and when it was made."""

    wrapped: bytes
    created: dt.datetime


class SealingKeyStore(Protocol):
    """Where the stack's current data key is kept (encrypted), shared by every function."""

    def current(self) -> WrappedKey | None:
        """The key secrets are sealed with now, if one was made."""
        ...

    def install(self, key: WrappedKey, replacing: WrappedKey | None) -> WrappedKey:
        """Make ``key`` current unless another writer did first; the current key after."""
        ...


class SecretUnreadable(StorageError):
    """The secret can't be decrypted for this owner (wrong context, key or data)."""

    code = "secret_unreadable"


class KmsSecretBox:
    """``SecretBox`` on a KMS key: seal and open small secrets (passwords, token caches)."""

    def __init__(
        self,
        key_id: str,
        *,
        client: ClientSource,
        keys: SealingKeyStore,
        hold_s: float = HOLD_S,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._key_id = key_id
        self._client = client  # called when needed: most functions never open a secret
        self._keys = keys
        self._hold_s = hold_s
        self._monotonic = monotonic
        self._clock = clock
        self._lock = threading.Lock()  # the POP worker opens secrets from several threads
        self._asking = threading.Lock()  # held while one of them asks KMS
        self._held: dict[bytes, tuple[bytes, float]] = {}  # wrapped -> (plaintext, until)
        self._current: tuple[bytes, float] | None = None  # the wrapped key to seal with

    @property
    def _kms(self) -> Any:
        return self._client()

    def seal(self, secret: str, context: Mapping[str, str]) -> bytes:
        """The sealed form of ``secret`` under its tenant's key (any size)."""
        wrapped, key = self._sealing_key()
        nonce = os.urandom(_NONCE)
        body = AESGCM(_tenant_key(key, context)).encrypt(
            nonce, secret.encode("utf-8"), _aad(context)
        )
        return _TENANT_KEYED + struct.pack(">H", len(wrapped)) + wrapped + nonce + body

    def open(self, sealed: bytes, context: Mapping[str, str]) -> str:
        """The secret, if ``context`` is the one it was sealed with."""
        if sealed.startswith(_TENANT_KEYED):
            wrapped, nonce, body = _parts(sealed, len(_TENANT_KEYED))
            return _unseal(_tenant_key(self._plain(wrapped), context), nonce, body, context)
        if not sealed.startswith(_ENVELOPE):
            return self._decrypt(sealed, context).decode("utf-8")  # sealed by KMS itself
        wrapped, nonce, body = _parts(sealed, len(_ENVELOPE))
        return _unseal(self._decrypt(wrapped, context), nonce, body, context)

    def needs_resealing(self, sealed: bytes) -> bool:
        """Whether ``sealed`` is in a format whose every opening costs a KMS call."""
        return not sealed.startswith(_TENANT_KEYED)

    def _plain(self, wrapped: bytes) -> bytes:
        """The data key ``wrapped`` encrypts: held for ``hold_s``, then asked of KMS again."""
        held = self._held_key(wrapped)
        if held is not None:
            return held
        # One thread asks KMS; the others wait for its answer (a cold worker's hundreds of
        # polls would otherwise each ask at once).
        with self._asking:
            held = self._held_key(wrapped)
            if held is not None:
                return held
            plain = self._decrypt(wrapped, _KEY_CONTEXT)
            self._hold(wrapped, plain, self._monotonic())
        return plain

    def _held_key(self, wrapped: bytes) -> bytes | None:
        with self._lock:
            held = self._held.get(wrapped)
        return held[0] if held is not None and held[1] > self._monotonic() else None

    def _hold(self, wrapped: bytes, plain: bytes, now: float) -> None:
        with self._lock:
            for stale in [w for w, (_, until) in self._held.items() if until <= now]:
                del self._held[stale]
            if len(self._held) >= _HELD_MAX:
                self._held.pop(next(iter(self._held)))
            self._held[wrapped] = (plain, now + self._hold_s)

    def _sealing_key(self) -> tuple[bytes, bytes]:
        """(wrapped, plaintext) of the key to seal with: the store's, read once per bound;
        made (and installed) when there is none or it is older than ``ROTATE_AFTER``.
        """
        now = self._monotonic()
        with self._lock:
            current = self._current
        if current is not None and current[1] > now:
            return current[0], self._plain(current[0])
        found = self._keys.current()
        if found is None or self._clock() - found.created >= ROTATE_AFTER:
            try:
                made = self._kms.generate_data_key(
                    KeyId=self._key_id, KeySpec="AES_256", EncryptionContext=_KEY_CONTEXT
                )
            except (ClientError, BotoCoreError) as e:
                raise translate(e, say("site.doing_seal")) from e
            mine = WrappedKey(bytes(made["CiphertextBlob"]), self._clock())
            found = self._keys.install(mine, replacing=found)
            if found.wrapped == mine.wrapped:
                self._hold(mine.wrapped, bytes(made["Plaintext"]), now)
        with self._lock:
            self._current = (found.wrapped, now + self._hold_s)
        return found.wrapped, self._plain(found.wrapped)

    def _decrypt(self, blob: bytes, context: Mapping[str, str]) -> bytes:
        try:
            plain: bytes = self._kms.decrypt(
                CiphertextBlob=blob, EncryptionContext=dict(context), KeyId=self._key_id
            )["Plaintext"]
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in _UNREADABLE:
                raise SecretUnreadable(say("site.secret_unreadable")) from e
            raise translate(e, say("site.doing_unseal")) from e
        except BotoCoreError as e:
            raise translate(e, say("site.doing_unseal")) from e
        return plain


def _parts(sealed: bytes, at: int) -> tuple[bytes, bytes, bytes]:
    """(wrapped key, nonce, body) of an enveloped form whose marker ends at ``at``."""
    if len(sealed) < at + 2:
        raise SecretUnreadable(say("site.secret_unreadable"))
    (size,) = struct.unpack(">H", sealed[at : at + 2])
    wrapped = sealed[at + 2 : at + 2 + size]
    nonce = sealed[at + 2 + size : at + 2 + size + _NONCE]
    return wrapped, nonce, sealed[at + 2 + size + _NONCE :]


def _unseal(key: bytes, nonce: bytes, body: bytes, context: Mapping[str, str]) -> str:
    try:
        plain = AESGCM(key).decrypt(nonce, body, _aad(context))
    except (InvalidTag, ValueError) as e:
        raise SecretUnreadable(say("site.secret_unreadable")) from e
    return plain.decode("utf-8")


def _tenant_key(key: bytes, context: Mapping[str, str]) -> bytes:
    """The tenant's own key, derived from the data key: one tenant's secrets never share a
    key with another's, and no per-tenant key needs storing or a KMS call of its own.
    """
    tenant = context.get("tenant", "").encode("utf-8")
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"mailport-tenant\x1f" + tenant
    )
    return hkdf.derive(key)


def _aad(context: Mapping[str, str]) -> bytes:
    """The encryption context as GCM associated data (sorted, so its order doesn't matter)."""
    return "\x1f".join(f"{k}={v}" for k, v in sorted(context.items())).encode("utf-8")
