"""The external account and its settings: the stored ``PopAccount``, its schedule slot, and a
create or change request (its shape checked at the API's edge, its meaning here).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import re
from dataclasses import dataclass, field, replace
from typing import Literal, TypedDict, get_args

from mailport.catalogue import say
from mailport.domain.accounts.presets import (
    MANUAL_SIGNIN,
    PRESETS,
    Preset,
    SignInMethod,
)
from mailport.domain.accounts.runs import FetchState
from mailport.domain.oauth import OAuthProvider
from mailport.domain.remote import ServerAddress
from mailport.errors import LimitExceeded, ValidationFailed

MAX_ACCOUNTS = 10  # per user, as in LINE WORKS
SCHEDULE_WINDOW_S = 600  # the dispatcher runs every 10 minutes; accounts spread over it
MAX_USERNAME = 320  # an email address is at most 320 characters (RFC 3696 erratum 1690)
MAX_PASSWORD = 1024
MAX_HOST = 253
MAX_FOLDER_ID = 128

# The small coloured marks the mailbox shows next to imported mail.
Icon = Literal["none", "red", "orange", "yellow", "green", "blue", "purple", "gray"]
ICONS: tuple[Icon, ...] = get_args(Icon)
# A request names a preset by its value (``Preset``'s, which a test keeps equal).
PresetName = Literal["line_works", "yahoo", "gmail", "outlook", "manual"]


def too_many_accounts(limit: int) -> LimitExceeded:
    """The error for an account over the per-user limit."""
    return LimitExceeded(say("account.too_many", limit=limit))


@dataclass(frozen=True, slots=True)
class PopAccount:
    """An external account and its settings (the password is sealed, never returned). An
    account that signs in (``connection_id``, XOAUTH2) holds no password.
    """

    account_id: str
    preset: Preset
    host: str
    port: int
    ssl: bool
    username: str
    folder_id: str
    icon: str
    keep_original: bool
    apply_rules: bool
    auto_fetch: bool
    created_at: dt.datetime
    sealed_password: bytes = field(default=b"", repr=False)
    state: FetchState = field(default_factory=FetchState)
    version: int = 0  # optimistic concurrency for settings changes
    connection_id: str = ""  # the user's sign-in it fetches with; "" for a password

    @property
    def signs_in(self) -> bool:
        """Whether it logs in with a sign-in's access token rather than a password."""
        return bool(self.connection_id)

    @property
    def signin_provider(self) -> OAuthProvider | None:
        """Whose sign-in its preset takes (None: a password only)."""
        preset = PRESETS.get(self.preset)
        return preset.provider if preset is not None else None

    @property
    def server(self) -> ServerAddress:
        """Where to connect."""
        return ServerAddress(self.host, self.port, self.ssl)

    @property
    def slot(self) -> int:
        """Second of the 10-minute window this account is fetched in (uniform over ids)."""
        return schedule_slot(self.account_id)

    def next_run_at(self) -> dt.datetime | None:
        """When the schedule should next look at this account (approximately)."""
        if not self.auto_fetch:
            return None
        last = self.state.last_checked_at
        return last + dt.timedelta(seconds=SCHEDULE_WINDOW_S) if last else None


def schedule_slot(account_id: str) -> int:
    """Second of the window, from a hash of the id: 100,000 accounts spread evenly."""
    digest = hashlib.sha256(account_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % SCHEDULE_WINDOW_S


# ------------------------------------------------------------------ a create or change request
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_CONNECTION = frozenset({"preset", "host", "port", "ssl", "username", "connection_id"})


@dataclass(frozen=True, slots=True)
class AccountInput:
    """A validated create or change request (absent fields are None)."""

    preset: Preset | None = None
    host: str | None = None
    port: int | None = None
    ssl: bool | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    folder_id: str | None = None
    icon: Icon | None = None
    keep_original: bool | None = None
    apply_rules: bool | None = None
    auto_fetch: bool | None = None
    agreed: bool | None = None
    connection_id: str | None = None  # log in with this sign-in instead of a password

    @property
    def changes_connection(self) -> bool:
        """Whether the server or login changes (the password or sign-in must then be given
        again).
        """
        return any(getattr(self, name) is not None for name in _CONNECTION)


def clean_host(value: str) -> str:
    """A host name or IP address literal, lower-cased; refused if it is neither."""
    host = value.strip().rstrip(".").lower()
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        pass
    labels = host.split(".")
    if not host or len(host) > MAX_HOST or not all(_HOST_LABEL.match(x) for x in labels):
        raise ValidationFailed(say("account.host_invalid"))
    return host


class AccountRequest(TypedDict, total=False):
    """A create or change request, its shape and bounds checked at the API's edge
    (``api_inputs.AccountInput``); null says the same as absent.
    """

    preset: PresetName | None
    host: str | None
    port: int | None
    ssl: bool | None
    username: str | None
    password: str | None
    folder_id: str | None
    icon: Icon | None
    keep_original: bool | None
    apply_rules: bool | None
    auto_fetch: bool | None
    agreed: bool | None
    connection_id: str | None


def account_input(request: AccountRequest) -> AccountInput:
    """The request in the domain's terms: the preset named, the host normalised."""
    preset, host = request.get("preset"), request.get("host")
    return AccountInput(
        preset=Preset(preset) if preset is not None else None,
        host=clean_host(host) if host is not None else None,
        port=request.get("port"),
        ssl=request.get("ssl"),
        username=request.get("username"),
        password=request.get("password"),
        folder_id=request.get("folder_id"),
        icon=request.get("icon"),
        keep_original=request.get("keep_original"),
        apply_rules=request.get("apply_rules"),
        auto_fetch=request.get("auto_fetch"),
        agreed=request.get("agreed"),
        connection_id=request.get("connection_id"),
    )


def new_account(
    data: AccountInput, account_id: str, now: dt.datetime, default_folder: str
) -> PopAccount:
    """A new account from a create request (the agreement and required fields checked)."""
    if data.agreed is not True:
        raise ValidationFailed(say("account.agree_first"))
    _one_login(data, data.preset or Preset.MANUAL)
    if data.connection_id is None and (data.username is None or data.password is None):
        raise ValidationFailed(say("account.login_required"))
    host, port, ssl = _server(data.preset or Preset.MANUAL, data.host, data.port, data.ssl)
    return PopAccount(
        account_id=account_id,
        preset=data.preset or Preset.MANUAL,
        host=host,
        port=port,
        ssl=ssl,
        # A sign-in's account logs in as the mailbox signed in to (set when it is checked).
        username=data.username or "",
        folder_id=data.folder_id or default_folder,
        icon=data.icon or "none",
        keep_original=True if data.keep_original is None else data.keep_original,
        apply_rules=bool(data.apply_rules),
        auto_fetch=True if data.auto_fetch is None else data.auto_fetch,
        created_at=now,
        connection_id=data.connection_id or "",
    )


class PasswordNotAccepted(ValidationFailed):
    """The provider takes no password from an app for this preset: sign in instead."""

    code = "password_not_accepted"


class SigninNotOffered(ValidationFailed):
    """A sign-in was given for a preset whose provider mailport can't sign in to."""

    code = "signin_not_offered"


def _one_login(data: AccountInput, preset: Preset) -> None:
    """The login fits the provider: a password where it takes one, a sign-in where it signs
    in (a preset that names its provider: mailport makes every provider's sign-in it names).
    """
    if data.password is not None and data.connection_id is not None:
        raise ValidationFailed(say("account.password_or_signin"))
    known = PRESETS.get(preset)
    methods = known.signin if known is not None else MANUAL_SIGNIN
    takes_password = {SignInMethod.PASSWORD, SignInMethod.APP_PASSWORD} & set(methods)
    if data.password is not None and not takes_password:
        label = known.label if known is not None else preset.value
        raise PasswordNotAccepted(say("account.no_app_passwords", label=label))
    if data.connection_id is not None and (known is None or known.provider is None):
        raise SigninNotOffered(say("account.signin_presets_only"))


def _server(
    preset: Preset, host: str | None, port: int | None, ssl: bool | None
) -> tuple[str, int, bool]:
    known = PRESETS.get(preset)
    if known is not None:
        # A preset fills what is not given; a typed-in value still wins (a provider's
        # alternative port, say).
        return host or known.host, port or known.port, known.ssl if ssl is None else ssl
    if host is None:
        raise ValidationFailed(say("account.host_required"))
    use_ssl = True if ssl is None else ssl
    return host, port or (995 if use_ssl else 110), use_ssl


def changed_account(before: PopAccount, data: AccountInput) -> PopAccount:
    """The account with a change request applied."""
    if data.agreed is not None and data.agreed is not True:
        raise ValidationFailed(say("account.agreed_only_true"))
    _one_login(data, data.preset or before.preset)
    if data.changes_connection and data.password is None and data.connection_id is None:
        # Never send a saved password or token to a server the user has not confirmed.
        raise ValidationFailed(say("account.password_again"))
    after = before
    if data.changes_connection:
        preset = data.preset or before.preset
        keep_server = data.preset is None and data.host is None
        host, port, ssl = _server(
            preset,
            data.host or (before.host if keep_server else None),
            data.port or (before.port if keep_server else None),
            data.ssl if data.ssl is not None else (before.ssl if keep_server else None),
        )
        after = replace(
            after,
            preset=preset,
            host=host,
            port=port,
            ssl=ssl,
            username=data.username or before.username,
            # Whichever login is given replaces the other.
            connection_id=data.connection_id or "",
            sealed_password=b"" if data.connection_id else before.sealed_password,
        )
    if data.password is not None:
        after = replace(after, connection_id="")  # a password replaces a sign-in
    simple = {
        name: getattr(data, name)
        for name in ("folder_id", "icon", "keep_original", "apply_rules", "auto_fetch")
        if getattr(data, name) is not None
    }
    after = replace(after, **simple)
    if data.auto_fetch and not before.auto_fetch:
        # Turning it back on starts a fresh count (the user has presumably fixed the cause).
        after = replace(
            after, state=replace(after.state, failures=0, disabled_reason="", paused_for="")
        )
    return after
