"""The providers the account form knows (``PRESETS``) and manual entry, each with how it lets
an application sign in (``SignInMethod``): the form asks for what the provider accepts, not a
password it will refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from mailport.domain.oauth import OAuthProvider


class Preset(StrEnum):
    """The providers the form knows; ``manual`` means host, port and SSL are typed in."""

    LINE_WORKS = "line_works"
    YAHOO = "yahoo"
    GMAIL = "gmail"
    OUTLOOK = "outlook"
    MANUAL = "manual"


class SignInMethod(StrEnum):
    """How an application signs in to a provider's POP3 server."""

    # Names of methods, not secrets (S105 takes any "password" for one).
    PASSWORD = "password"  # noqa: S105 (the account's own password)
    APP_PASSWORD = "app_password"  # noqa: S105 (one made for this app in the provider's settings)
    OAUTH = "oauth"  # the provider's sign-in page, then a token (XOAUTH2)


@dataclass(frozen=True, slots=True)
class PresetServer:
    """A provider's POP3 server as its help pages publish it, and how it lets an app sign in.

    ``signin`` lists what the provider accepts, the preferred first; ``provider`` is whose
    sign-in ``oauth`` means (set exactly when ``oauth`` is listed); ``help_url`` is the
    provider's own page on making an app password or turning POP on.
    """

    preset: Preset
    label: str
    host: str
    port: int
    ssl: bool
    signin: tuple[SignInMethod, ...]
    provider: OAuthProvider | None = None
    help_url: str | None = None

    def __post_init__(self) -> None:
        if not self.signin or len(set(self.signin)) != len(self.signin):
            raise ValueError(f"{self.preset}: sign-in methods must be listed once each")
        if (SignInMethod.OAUTH in self.signin) != (self.provider is not None):
            raise ValueError(f"{self.preset}: an oauth preset names its provider, no other does")


# Manual entry: a server we know nothing about takes its account's password.
MANUAL_SIGNIN: tuple[SignInMethod, ...] = (SignInMethod.PASSWORD,)

PRESETS: Mapping[Preset, PresetServer] = {
    Preset.LINE_WORKS: PresetServer(
        Preset.LINE_WORKS,
        "LINE WORKS",
        "pop.worksmobile.com",
        995,
        True,
        signin=(SignInMethod.PASSWORD,),
    ),
    # Yahoo lets third-party apps in with an app password only.
    Preset.YAHOO: PresetServer(
        Preset.YAHOO,
        "Yahoo (com)",
        "pop.mail.yahoo.com",
        995,
        True,
        signin=(SignInMethod.APP_PASSWORD,),
        help_url="https://help.yahoo.com/kb/SLN15241.html",
    ),
    # Google Workspace turned password sign-in ("less secure apps") off on 2024-09-30, and a
    # personal Gmail takes a password only as an app password (with 2-Step Verification):
    # Google sign-in first, an app password where the account (or its admin) allows one.
    Preset.GMAIL: PresetServer(
        Preset.GMAIL,
        "Gmail & G Suite",
        "pop.gmail.com",
        995,
        True,
        signin=(SignInMethod.OAUTH, SignInMethod.APP_PASSWORD),
        provider=OAuthProvider.GOOGLE,
        help_url="https://support.google.com/accounts/answer/185833",
    ),
    # Outlook.com ended Basic Auth for POP and IMAP on 2024-09-16, app passwords included:
    # Microsoft sign-in is the only way in.
    Preset.OUTLOOK: PresetServer(
        Preset.OUTLOOK,
        "Hotmail (Outlook)",
        "outlook.office365.com",
        995,
        True,
        signin=(SignInMethod.OAUTH,),
        provider=OAuthProvider.MICROSOFT,
        help_url="https://support.microsoft.com/office/pop-imap-and-smtp-settings-for-outlook-com-d088b986-291d-42b8-9564-9c414e2aa040",
    ),
}
