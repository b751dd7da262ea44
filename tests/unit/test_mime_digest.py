"""MIME digest: the content fingerprint and the synthesized Message-ID."""

import hashlib
import random

import pytest

from mailport.domain.mime import digest, fingerprint, synthesized_message_id
from mailport.domain.mime.sniff import content_start
from tests.unit.mime_samples import BASIC, msg


def test_lf_and_crlf_copies_have_the_same_fingerprint() -> None:
    crlf = b"From: a@example.com\r\nSubject: hi\r\n\r\nline 1\r\nline 2\r\n"
    lf = crlf.replace(b"\r\n", b"\n")
    assert fingerprint(crlf) == fingerprint(lf)
    assert fingerprint(crlf) == fingerprint(lf + b"\n\n  \n")  # trailing white space
    assert len(fingerprint(crlf)) == 64


def test_envelope_line_and_bom_do_not_change_the_fingerprint() -> None:
    assert fingerprint(BASIC) == fingerprint(b"From - Mon Jan  1 00:00:00 2024\n" + BASIC)
    assert fingerprint(BASIC) == fingerprint(b"\xef\xbb\xbf" + BASIC)


def test_different_content_different_fingerprint() -> None:
    assert fingerprint(BASIC) != fingerprint(BASIC.replace(b"hi", b"ho"))
    assert fingerprint(b"a\rb") != fingerprint(b"a\r\nb")  # a lone CR is content


def test_synthesized_message_id_is_stable_and_shaped_like_one() -> None:
    raw = msg("From: a@example.com", "Subject: no id")
    mid = synthesized_message_id(raw)
    assert mid == synthesized_message_id(raw.replace(b"\r\n", b"\n"))
    assert mid.endswith("@mailport.invalid")
    assert "<" not in mid  # stored like MessageSummary.message_id, without brackets
    assert mid != synthesized_message_id(raw + b"more")


# The chunked hash equals the whole-buffer definition, whatever the chunk size
# (moved from tests/unit/test_fingerprint_chunks.py, patching the module that hashes).


def reference(raw: bytes) -> str:
    body = raw[content_start(raw) :]
    normalised = body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n").rstrip(b" \t\r\n")
    return hashlib.sha256(normalised).hexdigest()


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64])
def test_chunked_equals_reference(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(digest, "_CHUNK", chunk)
    rng = random.Random(chunk)
    for _ in range(500):
        raw = bytes(rng.choice(b"ab\r\n \t") for _ in range(rng.randint(0, 60)))
        assert fingerprint(raw) == reference(raw), raw


def test_crlf_and_lf_agree() -> None:
    lf = b"From: a@b.c\nSubject: x\n\nline\n" * 1000
    assert fingerprint(lf) == fingerprint(lf.replace(b"\n", b"\r\n") + b"\r\n\r\n")
