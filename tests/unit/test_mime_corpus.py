"""Every file of the shared .eml corpus either summarizes or is refused as not a message."""

from pathlib import Path

import pytest

from mailport.domain.message import MessageSummary
from mailport.domain.mime import NotAMessage, summarize

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "eml"
NOT_MESSAGES = {"LICENSE"}
NOT_MESSAGE_SUFFIXES = {".md", ".tsv"}


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(
        p
        for p in CORPUS.rglob("*")
        if p.is_file() and p.name not in NOT_MESSAGES and p.suffix not in NOT_MESSAGE_SUFFIXES
    )


FILES = corpus_files()


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no corpus at {CORPUS}")
@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(CORPUS)) for p in FILES])
def test_summarize_accepts_or_refuses(path: Path) -> None:
    raw = path.read_bytes()
    try:
        summary = summarize(raw)
    except NotAMessage as e:
        assert e.reason in {"empty", "binary", "utf16", "mbox", "no_headers", "too_large"}
        assert e.message
        return
    assert isinstance(summary, MessageSummary)
    assert summary.size == len(raw)
    assert len(summary.subject) <= 1000
