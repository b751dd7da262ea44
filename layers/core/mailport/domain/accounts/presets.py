"""The providers the account form knows (``PRESETS``) and manual entry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Preset(StrEnum):
    """The providers the form knows; ``manual`` means host, port and SSL are typed in."""

    LINE_WORKS = "line_works"
    YAHOO = "yahoo"
    GMAIL = "gmail"
    OUTLOOK = "outlook"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class PresetServer:
    """A provider's POP3 server as its help pages publish it."""

    preset: Preset
    label: str
    host: str
    port: int
    ssl: bool


PRESETS: Mapping[Preset, PresetServer] = {
    Preset.LINE_WORKS: PresetServer(
        Preset.LINE_WORKS, "LINE WORKS", "pop.worksmobile.com", 995, True
    ),
    Preset.YAHOO: PresetServer(Preset.YAHOO, "Yahoo (com)", "pop.mail.yahoo.com", 995, True),
    Preset.GMAIL: PresetServer(Preset.GMAIL, "Gmail & G Suite", "pop.gmail.com", 995, True),
    Preset.OUTLOOK: PresetServer(
        Preset.OUTLOOK, "Hotmail (Outlook)", "outlook.office365.com", 995, True
    ),
}
