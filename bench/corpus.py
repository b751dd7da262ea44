"""A realistic, reproducible mix of messages for benchmarks.

About 95% are 2-50 KB text or HTML, 5% carry attachments of 100 KB-4 MB, as in the shared
measurements (2,000 messages ≈ 48.5 MB). Deterministic for a given seed.
"""

from __future__ import annotations

import datetime as dt
import random
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

WORDS = [
    "mail",
    "import",
    "folder",
    "invoice",
    "meeting",
    "会議",
    "請求書",
    "project",
    "schedule",
    "report",
    "review",
]


def _text(rng: random.Random, size: int) -> str:
    out: list[str] = []
    length = 0
    while length < size:
        line = " ".join(rng.choice(WORDS) for _ in range(12))
        out.append(line)
        length += len(line.encode()) + 1
    return "\n".join(out)


def message(rng: random.Random, n: int) -> bytes:
    """One message: text, HTML, or with an attachment."""
    msg = EmailMessage()
    msg["From"] = f"Sender {n % 97} <sender{n % 97}@example.com>"
    msg["To"] = "alice@acme.example"
    msg["Subject"] = f"{rng.choice(WORDS)} #{n} 件名"
    msg["Date"] = format_datetime(dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=n))
    msg["Message-ID"] = make_msgid(idstring=f"bench{n}", domain="example.com")
    kind = rng.random()
    if n % 500 == 250:  # a few large ones (1-4 MB), as real mailboxes have
        msg.set_content(_text(rng, 1000))
        blob = rng.randbytes(rng.randint(750_000, 3_000_000))
        msg.add_attachment(blob, maintype="application", subtype="zip", filename=f"big{n}.zip")
    elif kind < 0.05:
        msg.set_content(_text(rng, rng.randint(500, 3000)))
        blob = rng.randbytes(rng.choice([20_000, 40_000, 80_000, 120_000, 200_000]))
        msg.add_attachment(blob, maintype="application", subtype="pdf", filename=f"doc{n}.pdf")
    elif kind < 0.5:
        text = _text(rng, rng.randint(1000, 11_000))
        msg.set_content(text)
        msg.add_alternative(f"<html><body><p>{text}</p></body></html>", subtype="html")
    else:
        msg.set_content(_text(rng, rng.randint(1500, 17_000)))
    return msg.as_bytes()


def messages(count: int, seed: int = 1) -> list[bytes]:
    """``count`` messages of the realistic mix."""
    rng = random.Random(seed)
    return [message(rng, n) for n in range(count)]


def big_message(size: int) -> bytes:
    """One message of about ``size`` bytes (a large base64 attachment)."""
    msg = EmailMessage()
    msg["From"] = "big@example.com"
    msg["To"] = "alice@acme.example"
    msg["Subject"] = "a big one"
    msg.set_content("see attached")
    # Attachments are base64: 3 bytes become 4, plus line breaks.
    payload = random.Random(7).randbytes(int(size * 3 / 4 * 76 / 78) - 2000)
    msg.add_attachment(payload, maintype="application", subtype="octet-stream", filename="big.bin")
    return msg.as_bytes()
