"""The chunked fingerprint equals the whole-buffer definition, whatever the chunk size."""

import hashlib
import random

import pytest

from mailport.domain import mime


def reference(raw: bytes) -> str:
    body = raw[mime._content_start(raw) :]
    normalised = body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n").rstrip(b" \t\r\n")
    return hashlib.sha256(normalised).hexdigest()


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64])
def test_chunked_equals_reference(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(mime, "_CHUNK", chunk)
    rng = random.Random(chunk)
    for _ in range(500):
        raw = bytes(rng.choice(b"ab\r\n \t") for _ in range(rng.randint(0, 60)))
        assert mime.fingerprint(raw) == reference(raw), raw


def test_crlf_and_lf_agree() -> None:
    lf = b"From: a@b.c\nSubject: x\n\nline\n" * 1000
    assert mime.fingerprint(lf) == mime.fingerprint(lf.replace(b"\n", b"\r\n") + b"\r\n\r\n")
