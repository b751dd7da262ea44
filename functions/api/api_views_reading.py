"""The answer of reading a message, shaped from ``mailport.domain.reading``'s ``Reading``
(as ``api_views`` shapes the others; typed through ``TYPE_CHECKING`` imports only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from api_views import addresses, iso

if TYPE_CHECKING:
    from api_models_reading import DownloadLink, MessageContent, MessagePart

    from mailport.domain.reading import PartInfo, Reading
    from mailport.usecases.downloads import Link


def content(reading: Reading) -> MessageContent:
    """``GET /v1/messages/{message_id}/content``."""
    s = reading.summary
    charset = reading.charset
    return {
        "headers": {
            "from": addresses(s.from_) if s else [],
            "to": addresses(s.to) if s else [],
            "cc": addresses(s.cc) if s else [],
            "date": iso(s.date) if s else None,
            "subject": s.subject if s else "",
        },
        "text": reading.text,
        "html": reading.html,
        "charset": {
            "used": charset.used,
            "detected": charset.detected,
            "label": charset.label,
            "choices": list(charset.choices),
        }
        if charset
        else None,
        "remote_blocked": reading.remote_blocked,
        "parts": [_part(p) for p in reading.parts],
        "truncated": reading.truncated,
    }


def _part(p: PartInfo) -> MessagePart:
    return {
        "id": p.part_id,
        "filename": p.filename,
        "content_type": p.content_type,
        "size": p.size,
        "content_id": p.content_id,
        "disposition": "attachment" if p.disposition == "attachment" else "inline",
    }


def link(found: Link) -> DownloadLink:
    """``GET .../raw/link`` and ``GET .../parts/{part_id}/link``."""
    return {"url": found.url, "expires_at": found.expires_at.isoformat()}
