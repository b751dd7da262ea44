"""Secrets sealed under the tenant's key, derived from a data key KMS decrypts once per bound:
what costs a KMS call, what opens for whom, and that the older formats stay readable.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mailport.adapters.kms import (
    HOLD_S,
    KmsSecretBox,
    SecretUnreadable,
    WrappedKey,
    _aad,
    _tenant_key,
)
from mailport.errors import MailportError

NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
ALICE = {"tenant": "acme", "user": "alice", "account": "a1"}


@dataclass
class FakeKms:
    """KMS as far as sealing uses it: ciphertexts bound to their context, calls counted."""

    calls: list[str] = field(default_factory=list)
    disabled: bool = False
    _blobs: dict[bytes, tuple[bytes, str]] = field(default_factory=dict)

    def _refuse(self) -> None:
        if self.disabled:
            error = {"Error": {"Code": "DisabledException", "Message": "key is disabled"}}
            raise ClientError(error, "Decrypt")  # type: ignore[arg-type]

    def _wrap(self, plain: bytes, context: dict[str, str]) -> bytes:
        blob = b"\x01" + os.urandom(31)  # a KMS ciphertext starts with 0x01
        self._blobs[blob] = (plain, json.dumps(context, sort_keys=True))
        return blob

    # boto3's keyword names, as the adapter passes them.
    def encrypt(self, **call: Any) -> Any:
        self.calls.append("Encrypt")
        self._refuse()
        return {"CiphertextBlob": self._wrap(call["Plaintext"], call["EncryptionContext"])}

    def generate_data_key(self, **call: Any) -> Any:
        self.calls.append("GenerateDataKey")
        self._refuse()
        plain = os.urandom(32)
        return {"Plaintext": plain, "CiphertextBlob": self._wrap(plain, call["EncryptionContext"])}

    def decrypt(self, **call: Any) -> Any:
        self.calls.append("Decrypt")
        self._refuse()
        plain, context = self._blobs.get(call["CiphertextBlob"], (b"", ""))
        if context != json.dumps(call["EncryptionContext"], sort_keys=True):
            error = {"Error": {"Code": "InvalidCiphertextException", "Message": "no"}}
            raise ClientError(error, "Decrypt")  # type: ignore[arg-type]
        return {"Plaintext": plain}


@dataclass
class Store:
    """The shared current key; ``install`` is conditional like the table's."""

    key: WrappedKey | None = None
    installs: int = 0

    def current(self) -> WrappedKey | None:
        return self.key

    def install(self, key: WrappedKey, replacing: WrappedKey | None) -> WrappedKey:
        if self.key != replacing:
            return self.key or key  # another writer was first
        self.installs += 1
        self.key = key
        return key


@dataclass
class Clock:
    s: float = 0.0
    day: dt.datetime = NOW


def box(kms: FakeKms, store: Store, clock: Clock) -> KmsSecretBox:
    return KmsSecretBox(
        "key-1",
        client=lambda: kms,
        keys=store,
        monotonic=lambda: clock.s,
        clock=lambda: clock.day,
    )


@pytest.fixture
def parts() -> tuple[FakeKms, Store, Clock]:
    return FakeKms(), Store(), Clock()


def test_many_secrets_of_many_tenants_cost_one_data_key(
    parts: tuple[FakeKms, Store, Clock],
) -> None:
    kms, store, clock = parts
    sealer = box(*parts)
    contexts = [{"tenant": f"t{i % 7}", "user": "u", "account": f"a{i}"} for i in range(50)]
    sealed = [sealer.seal(f"pw-{i}", c) for i, c in enumerate(contexts)]
    assert kms.calls == ["GenerateDataKey"] and store.installs == 1
    assert all(b"pw-" not in s for s in sealed)
    # Another container: one Decrypt of the data key, then every secret opens from memory.
    opener = box(kms, store, clock)
    assert [opener.open(s, c) for s, c in zip(sealed, contexts, strict=True)] == [
        f"pw-{i}" for i in range(50)
    ]
    assert kms.calls == ["GenerateDataKey", "Decrypt"]
    assert not any(opener.needs_resealing(s) for s in sealed)


def test_a_held_key_is_asked_of_kms_again_after_the_bound_so_a_disabled_key_stops(
    parts: tuple[FakeKms, Store, Clock],
) -> None:
    kms, _, clock = parts
    sealer = box(*parts)
    sealed = sealer.seal("pw", ALICE)
    clock.s = HOLD_S - 1
    assert sealer.open(sealed, ALICE) == "pw" and kms.calls == ["GenerateDataKey"]
    kms.disabled = True
    assert sealer.open(sealed, ALICE) == "pw"  # still within the bound
    clock.s = HOLD_S + 1
    with pytest.raises(MailportError):
        sealer.open(sealed, ALICE)
    with pytest.raises(MailportError):
        sealer.seal("another", ALICE)  # sealing too: its key is no longer held
    kms.disabled = False
    assert sealer.open(sealed, ALICE) == "pw"
    assert kms.calls.count("Decrypt") == 3


@pytest.mark.parametrize(
    "other",
    [
        {**ALICE, "tenant": "evil"},
        {**ALICE, "user": "bob"},
        {**ALICE, "account": "a2"},
        {"user": "alice", "account": "a1"},
    ],
)
def test_it_opens_for_its_owner_only(
    parts: tuple[FakeKms, Store, Clock], other: dict[str, str]
) -> None:
    sealer = box(*parts)
    sealed = sealer.seal("pw", ALICE)
    with pytest.raises(SecretUnreadable):
        sealer.open(sealed, other)


def test_tenants_never_share_a_key() -> None:
    data_key = os.urandom(32)
    acme, beta = (
        _tenant_key(data_key, {"tenant": "acme"}),
        _tenant_key(data_key, {"tenant": "beta"}),
    )
    assert acme != beta and len(acme) == len(beta) == 32
    assert acme == _tenant_key(data_key, {"tenant": "acme", "user": "anyone"})  # per tenant


def test_damaged_forms_are_unreadable_not_a_crash(parts: tuple[FakeKms, Store, Clock]) -> None:
    sealer = box(*parts)
    sealed = sealer.seal("pw", ALICE)
    for damaged in (sealed[:-1] + bytes([sealed[-1] ^ 1]), sealed[:20], b"MPTK1", b"MPTK1\xff"):
        with pytest.raises(SecretUnreadable):
            sealer.open(damaged, ALICE)


def test_the_two_older_formats_still_open_and_ask_to_be_resealed(
    parts: tuple[FakeKms, Store, Clock],
) -> None:
    kms, _, _ = parts
    sealer = box(*parts)
    direct = kms.encrypt(KeyId="key-1", Plaintext=b"pw-direct", EncryptionContext=ALICE)[
        "CiphertextBlob"
    ]
    data = kms.generate_data_key(KeyId="key-1", KeySpec="AES_256", EncryptionContext=ALICE)
    nonce = os.urandom(12)
    body = AESGCM(data["Plaintext"]).encrypt(nonce, "tök€n".encode(), _aad(ALICE))
    wrapped = data["CiphertextBlob"]
    envelope = b"MPENV1" + struct.pack(">H", len(wrapped)) + wrapped + nonce + body
    assert sealer.open(direct, ALICE) == "pw-direct"
    assert sealer.open(envelope, ALICE) == "tök€n"
    assert sealer.needs_resealing(direct) and sealer.needs_resealing(envelope)
    with pytest.raises(SecretUnreadable):
        sealer.open(direct, {**ALICE, "user": "bob"})
    resealed = sealer.seal(sealer.open(direct, ALICE), ALICE)
    assert not sealer.needs_resealing(resealed) and sealer.open(resealed, ALICE) == "pw-direct"


def test_an_old_key_is_replaced_and_what_it_sealed_still_opens(
    parts: tuple[FakeKms, Store, Clock],
) -> None:
    kms, store, clock = parts
    early = box(*parts).seal("pw", ALICE)
    first = store.key
    clock.day, clock.s = NOW + dt.timedelta(days=31), 1.0
    later = box(kms, store, clock)
    late = later.seal("pw2", ALICE)
    assert store.key is not None and first is not None and store.key.wrapped != first.wrapped
    assert store.installs == 2
    assert (later.open(early, ALICE), later.open(late, ALICE)) == ("pw", "pw2")


def test_two_containers_making_the_first_key_at_once_seal_with_the_winners(
    parts: tuple[FakeKms, Store, Clock],
) -> None:
    kms, _, clock = parts

    class Racing(Store):
        def current(self) -> WrappedKey | None:
            return None  # both read "none yet" ...

    racing = Racing()
    a, b = box(kms, racing, clock), box(kms, racing, clock)
    sealed_a = a.seal("pw-a", ALICE)
    sealed_b = b.seal("pw-b", ALICE)  # ... and b's install loses to a's
    assert racing.installs == 1 and racing.key is not None
    assert b.open(sealed_a, ALICE) == "pw-a" and a.open(sealed_b, ALICE) == "pw-b"
    head = len(b"MPTK1") + 2 + len(racing.key.wrapped)
    assert sealed_a[:head] == sealed_b[:head]  # one data key for both


def test_a_cold_container_s_many_threads_ask_kms_once(
    parts: tuple[FakeKms, Store, Clock],
) -> None:
    kms, store, clock = parts
    sealed = box(*parts).seal("pw", ALICE)
    opener = box(kms, store, clock)
    asking = kms.decrypt

    def slow_decrypt(**call: Any) -> Any:
        time.sleep(0.05)  # the others arrive while the first one waits for KMS
        return asking(**call)

    kms.decrypt = slow_decrypt  # type: ignore[method-assign]
    start = threading.Barrier(20)

    def poll() -> str:
        start.wait()
        return opener.open(sealed, ALICE)

    with ThreadPoolExecutor(max_workers=20) as pool:
        assert list(pool.map(lambda _: poll(), range(20))) == ["pw"] * 20
    assert kms.calls.count("Decrypt") == 1
