"""The source of a migration: the server the user copies from (typed in, an admin's template,
or a Microsoft 365 or Google sign-in), from the request's ``connection`` as the API's edge
checked it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NotRequired, TypedDict

from mailport.catalogue import say
from mailport.domain.oauth import OAuthProvider
from mailport.domain.text import printable
from mailport.errors import ValidationFailed


class UnsupportedConnection(ValidationFailed):
    """A connection type this deployment cannot use (yet)."""

    code = "unsupported_connection"


@dataclass(frozen=True, slots=True)
class ImapTemplate:
    """An admin-defined IMAP server the tenant's users may pick."""

    template_id: str
    name: str
    host: str
    port: int
    ssl: bool = True


@dataclass(frozen=True, slots=True)
class SourceServer:
    """The mailbox to copy from (never the password: that is sealed separately)."""

    kind: str  # manual | template | microsoft365 | google
    host: str
    port: int
    ssl: bool
    username: str
    template_id: str | None = None
    connection_id: str | None = None  # microsoft365, google: the user's OAuth connection

    @property
    def key(self) -> str:
        """Identity of the source mailbox: the same account migrated again maps to the same
        message ids, so a re-run finds what is already there (case-insensitive host).
        """
        text = f"{self.host.lower()}\x1f{self.port}\x1f{self.username}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]

    @property
    def provider(self) -> OAuthProvider | None:
        """Whose sign-in the source logs in with (None: a password)."""
        return SIGNIN_KINDS.get(self.kind) if self.connection_id is not None else None


# The connection types that sign in instead of holding a password, and with whom.
SIGNIN_KINDS = {"microsoft365": OAuthProvider.MICROSOFT, "google": OAuthProvider.GOOGLE}


def signin_service(provider: OAuthProvider) -> str:
    """The service a migration's sign-in is for, as the user knows it."""
    return "Microsoft 365" if provider is OAuthProvider.MICROSOFT else "Google"


class ConnectionRequest(TypedDict):
    """A request's ``connection`` as sent, its types and bounds checked at the API's edge
    (``api_inputs.Connection``: host 253, username 320, password 1,024 characters, one line;
    port 1-65535); which fields a type needs is checked here.
    """

    type: Literal["manual", "template", "microsoft365", "google"]
    host: NotRequired[str]
    port: NotRequired[int]
    ssl: NotRequired[bool]
    username: NotRequired[str]
    password: NotRequired[str]
    template_id: NotRequired[str]
    connection_id: NotRequired[str]


def _text(connection: ConnectionRequest, name: Literal["host", "username", "password"]) -> str:
    """A field the connection's type needs, not blank; trimmed, but a password as typed."""
    value = connection.get(name)
    if value is None or not value.strip():
        raise ValidationFailed(say("migration.field_required", name=name))
    return value if name == "password" else value.strip()


class PreviewRequest(TypedDict):
    """A dry run's request: the connection, and where the page starts (a mailbox of
    thousands of folders is examined a page at a time, each answer well inside the API's
    time limit).
    """

    connection: ConnectionRequest
    cursor: NotRequired[str]


class MigrationRequest(TypedDict):
    """A migration's request; the agreement is checked by the use-case (``agreed: true``)."""

    connection: ConnectionRequest
    agreed: NotRequired[bool]


class FollowUpRequest(TypedDict):
    """A retry's or delta pass's request: the agreement, and the source's password again if
    it signs in with one (it is not kept once a job ends).
    """

    agreed: NotRequired[bool]
    password: NotRequired[str]


class TemplateRequest(TypedDict):
    """An admin's template as sent, its shape and bounds checked at the API's edge
    (``api_inputs.ImapTemplateInput``: name 1-100, host 253 of ``[A-Za-z0-9.:[]-]``, port
    1-65535).
    """

    name: str
    host: str
    port: NotRequired[int]
    ssl: NotRequired[bool]


def parse_template(request: TemplateRequest, template_id: str) -> ImapTemplate:
    """An admin's IMAP server template from a checked request: the name trimmed and shown
    safely, the host lower-cased, the port defaulted from SSL.
    """
    name = request["name"].strip()
    if printable(name) != name:
        # The name is shown to every user of the tenant beside its host and port: a direction
        # override would make "name (imap.example.com:993)" read as another server.
        raise ValidationFailed(say("migration.template_name_unsafe"))
    ssl = request.get("ssl", True)
    port = request.get("port", 993 if ssl else 143)
    return ImapTemplate(template_id, name, request["host"].lower(), port, ssl)


def parse_connection(
    connection: ConnectionRequest,
    template_of: Callable[[str], ImapTemplate | None],
    signed_in_of: Callable[[OAuthProvider, str], SourceServer | None] | None = None,
) -> tuple[SourceServer, str]:
    """The source server and password (none for a sign-in: it logs in with OAuth) from a
    request's checked ``connection``.
    """
    kind = connection["type"]
    provider = SIGNIN_KINDS.get(kind)
    if provider is not None:
        name = signin_service(provider)
        if signed_in_of is None:
            raise UnsupportedConnection(say("migration.signin_not_set_up", service=name))
        connection_id = connection.get("connection_id")
        server = None if connection_id is None else signed_in_of(provider, connection_id)
        if server is None:
            raise ValidationFailed(say("migration.signin_not_yours", service=name))
        return server, ""
    username, password = _text(connection, "username"), _text(connection, "password")
    if kind == "template":
        template = template_of(connection.get("template_id", ""))
        if template is None:
            raise ValidationFailed(say("migration.template_unknown"))
        server = SourceServer(
            "template",
            template.host,
            template.port,
            template.ssl,
            username,
            template.template_id,
        )
        return server, password
    ssl = connection.get("ssl", True)
    # The port is vetted where connections are made (NetworkPolicy: mail ports only, so a
    # typed host and port can't turn the service into a port scanner).
    port = connection.get("port", 993 if ssl else 143)
    host = _text(connection, "host").lower()
    return SourceServer("manual", host, port, ssl, username), password
