"""A notice's shape (paragraphs, a table of facts, what the other server said, steps, a
link) and its two renderings, text/plain and text/html, in one ``multipart/alternative``
message (``mailport.domain.notices`` says what each notice holds).

Built with ``email.message.EmailMessage`` and the SMTP policy: it encodes non-ASCII headers
(RFC 2047) and refuses CR/LF in a header value, so nothing a user typed (a login name) or a
server said (an error text) can add a header. In the HTML every value is escaped
(``html.escape``); the layout is inline-styled tables, with no remote content and no script.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import html
from dataclasses import dataclass, field
from email.message import EmailMessage

from mailport.catalogue import Words, say

SENDER = "mailport <no-reply@mailport.invalid>"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# The bar along a notice's top: what kind of news it is.
TONES = {"info": "#0969da", "good": "#1a7f37", "warn": "#9a6700", "bad": "#cf222e"}


def one_line(text: str, limit: int = 300) -> str:
    """``text`` on one line (no CR/LF, tabs or runs of spaces), at most ``limit`` long."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def when(moment: dt.datetime, language: str) -> str:
    """A date and time in UTC as the reader writes it (2026年12月7日 18:45（UTC）, 7 Dec 2026
    18:45 UTC).
    """
    utc = moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    month: object = utc.month if language == "ja" else _MONTHS[utc.month - 1]
    words = say("notice.date", day=utc.day, month=month, year=utc.year, time=utc.strftime("%H:%M"))
    return words.render(language)


def said(text: str | Words, language: str, limit: int = 300) -> str:
    """What a server said (or the run's reason, as words), on one line in ``language``."""
    return one_line(text.render(language) if isinstance(text, Words) else str(text), limit)


@dataclass(frozen=True, slots=True)
class Para:
    """A paragraph."""

    words: Words


@dataclass(frozen=True, slots=True)
class Facts:
    """A table of labels and values (counts, dates)."""

    rows: tuple[tuple[Words, str], ...]


@dataclass(frozen=True, slots=True)
class Said:
    """What another server said, shown as it was (flattened to one line)."""

    label: Words
    text: str


@dataclass(frozen=True, slots=True)
class Steps:
    """What the reader can do next, in order."""

    items: tuple[Words, ...]


@dataclass(frozen=True, slots=True)
class Link:
    """A link into the console, with a sentence before it."""

    lead: Words
    label: Words
    url: str


Block = Para | Facts | Said | Steps | Link


@dataclass(frozen=True, slots=True)
class Notice:
    """One notice: its subject (also its heading), its tone and its blocks."""

    subject: Words
    tone: str
    blocks: tuple[Block, ...] = field(default=())


def console_link(console_url: str | None, route: str) -> str | None:
    """``console_url`` with the console's hash ``route``; None for no URL or one that is not
    http(s) (a notice links only to the console).
    """
    if not console_url or not console_url.startswith(("https://", "http://")):
        return None
    if any(c in console_url for c in "\r\n\"'<> "):
        return None
    return console_url.split("#", 1)[0] + "#/" + route


def text_of(notice: Notice, language: str) -> str:
    """The text/plain rendering."""
    out = [notice.subject.render(language), ""]
    for block in notice.blocks:
        if isinstance(block, Para):
            out += [block.words.render(language), ""]
        elif isinstance(block, Facts):
            out += [f"{label.render(language)}: {value}" for label, value in block.rows]
            out.append("")
        elif isinstance(block, Said):
            out += [f"{block.label.render(language)}: {block.text}", ""]
        elif isinstance(block, Steps):
            out.append(say("notice.what_next").render(language) + ":")
            out += [f"{n}. {item.render(language)}" for n, item in enumerate(block.items, 1)]
            out.append("")
        else:
            out += [block.lead.render(language), block.url, ""]
    out += ["-- ", say("notice.footer").render(language), ""]
    return "\n".join(out)


_FONT = (
    "font-family:-apple-system,'Segoe UI',Roboto,'Hiragino Sans','Hiragino Kaku Gothic ProN',"
    "Meiryo,sans-serif"
)
_P = "margin:0 0 14px;font-size:15px;line-height:1.6;color:#1f2328"


def _html_block(block: Block, language: str) -> str:
    e = html.escape
    if isinstance(block, Para):
        return f'<p style="{_P}">{e(block.words.render(language))}</p>'
    if isinstance(block, Facts):
        rows = "".join(
            '<tr><td style="padding:6px 12px 6px 0;color:#57606a;font-size:14px;'
            f'border-bottom:1px solid #eaeef2">{e(label.render(language))}</td>'
            '<td style="padding:6px 0;font-size:15px;font-weight:bold;text-align:right;'
            f'border-bottom:1px solid #eaeef2;color:#1f2328">{e(value)}</td></tr>'
            for label, value in block.rows
        )
        return (
            '<table role="presentation" cellpadding="0" cellspacing="0" width="100%" '
            f'style="border-collapse:collapse;margin:0 0 16px">{rows}</table>'
        )
    if isinstance(block, Said):
        return (
            f'<p style="margin:0 0 4px;font-size:13px;color:#57606a">'
            f"{e(block.label.render(language))}</p>"
            '<p style="margin:0 0 16px;padding:8px 10px;background:#f6f8fa;border:1px solid '
            "#d0d7de;border-radius:4px;font-family:Consolas,Menlo,monospace;font-size:13px;"
            f'color:#1f2328;word-break:break-word">{e(block.text)}</p>'
        )
    if isinstance(block, Steps):
        items = "".join(
            f'<li style="margin:0 0 6px">{e(item.render(language))}</li>' for item in block.items
        )
        return (
            '<h2 style="margin:18px 0 8px;font-size:16px;color:#1f2328">'
            f"{e(say('notice.what_next').render(language))}</h2>"
            f'<ol style="margin:0 0 14px;padding-left:22px;{_P[len("margin:0 0 14px;") :]}">'
            f"{items}</ol>"
        )
    return (
        f'<p style="{_P}">{e(block.lead.render(language))}</p>'
        '<p style="margin:0 0 16px"><a href="'
        f'{e(block.url, quote=True)}" style="display:inline-block;padding:9px 16px;'
        "background:#0969da;color:#ffffff;text-decoration:none;border-radius:6px;"
        f'font-size:15px;font-weight:bold">{e(block.label.render(language))}</a></p>'
        f'<p style="margin:0 0 16px;font-size:12px;color:#57606a;word-break:break-all">'
        f"{e(block.url)}</p>"
    )


def html_of(notice: Notice, language: str) -> str:
    """The text/html rendering: one centred card, inline styles only."""
    e = html.escape
    subject = e(notice.subject.render(language))
    tone = TONES.get(notice.tone, TONES["info"])
    body = "\n".join(_html_block(b, language) for b in notice.blocks)
    lang = "ja" if language == "ja" else "en"
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{subject}</title>\n</head>\n"
        f'<body style="margin:0;padding:0;background:#f6f8fa;{_FONT}">\n'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        'style="background:#f6f8fa">\n<tr><td align="center" style="padding:24px 12px">\n'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        'style="max-width:600px;background:#ffffff;border:1px solid #d0d7de;'
        f'border-top:4px solid {tone};border-radius:6px">\n'
        f'<tr><td style="padding:20px 24px 4px;{_FONT}">\n'
        '<p style="margin:0;font-size:13px;color:#57606a">mailport</p>\n'
        f'<h1 style="margin:4px 0 16px;font-size:20px;line-height:1.4;color:#1f2328">'
        f"{subject}</h1>\n</td></tr>\n"
        f'<tr><td style="padding:0 24px 12px;{_FONT}">\n{body}\n</td></tr>\n'
        "</table>\n"
        f'<p style="max-width:600px;margin:12px auto 0;font-size:12px;color:#57606a;{_FONT}">'
        f"{e(say('notice.footer').render(language))}</p>\n"
        "</td></tr>\n</table>\n</body>\n</html>\n"
    )


def message(
    notice: Notice,
    language: str,
    now: dt.datetime,
    message_id: str,
    *,
    sender: str = SENDER,
    to: str = "you",
) -> bytes:
    """The notice as a message: multipart/alternative, text/plain then text/html, utf-8."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = one_line(notice.subject.render(language), 200)
    msg["Date"] = email.utils.format_datetime(now)
    msg["Message-ID"] = f"<{message_id}@notices.mailport.invalid>"
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
    msg.set_content(text_of(notice, language), charset="utf-8")
    msg.add_alternative(html_of(notice, language), subtype="html", charset="utf-8")
    msg["Content-Language"] = "ja" if language == "ja" else "en"  # after: set_content clears it
    return msg.as_bytes()
