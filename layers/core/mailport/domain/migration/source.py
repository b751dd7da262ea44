"""The source of a migration: the server the user copies from (typed in, an admin's template or
a Microsoft 365 sign-in), checked from the request's ``connection`` object.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from mailport.domain import fields
from mailport.domain.text import printable
from mailport.errors import ValidationFailed

_BAD_PORT = "connection.port must be a port number"


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

    kind: str  # manual | template | microsoft365
    host: str
    port: int
    ssl: bool
    username: str
    template_id: str | None = None
    connection_id: str | None = None  # microsoft365: the user's OAuth connection

    @property
    def key(self) -> str:
        """Identity of the source mailbox: the same account migrated again maps to the same
        message ids, so a re-run finds what is already there (case-insensitive host).
        """
        text = f"{self.host.lower()}\x1f{self.port}\x1f{self.username}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def _text(body: Mapping[str, object], name: str, limit: int = 320) -> str:
    # Templates share the connection's wording ("connection.name is required").
    return fields.required_line(
        body, name, limit, label=f"connection.{name}", strip=name != "password"
    )


def _port(value: object, default: int) -> int:
    return default if value is None else fields.port(value, _BAD_PORT)


def parse_template(body: object, template_id: str) -> ImapTemplate:
    """An admin's IMAP server template from a request body."""
    if not isinstance(body, Mapping):
        raise ValidationFailed("send a JSON object")
    name = _text(body, "name", 100)
    if printable(name) != name:
        # The name is shown to every user of the tenant beside its host and port: a direction
        # override would make "name (imap.example.com:993)" read as another server.
        raise ValidationFailed("name may not contain control characters or direction overrides")
    host = _text(body, "host", 253).lower()
    if not all(ch.isalnum() or ch in ".-:[]" for ch in host):
        raise ValidationFailed("host must be a host name or an IP address")
    ssl = fields.boolean(body.get("ssl", True), "ssl")
    return ImapTemplate(template_id, name, host, _port(body.get("port"), 993 if ssl else 143), ssl)


def parse_connection(
    body: object,
    template_of: Callable[[str], ImapTemplate | None],
    microsoft_of: Callable[[str], SourceServer | None] | None = None,
) -> tuple[SourceServer, str]:
    """The source server and password (none for Microsoft 365: it signs in with OAuth) from a
    request's ``connection`` object.
    """
    if not isinstance(body, Mapping):
        raise ValidationFailed("connection must be an object")
    kind = body.get("type")
    if kind == "microsoft365":
        if microsoft_of is None:
            raise UnsupportedConnection("Microsoft 365 sign-in is not set up on this service")
        connection_id = body.get("connection_id")
        server = microsoft_of(connection_id) if isinstance(connection_id, str) else None
        if server is None:
            raise ValidationFailed(
                "connection.connection_id must be one of your Microsoft 365 sign-ins"
            )
        return server, ""
    username, password = _text(body, "username"), _text(body, "password", 1024)
    if kind == "template":
        template = template_of(str(body.get("template_id", "")))
        if template is None:
            raise ValidationFailed("connection.template_id is not a server your admin set up")
        server = SourceServer(
            "template",
            template.host,
            template.port,
            template.ssl,
            username,
            template.template_id,
        )
        return server, password
    if kind != "manual":
        raise ValidationFailed("connection.type must be manual, template or microsoft365")
    ssl = fields.boolean(body.get("ssl", True), "connection.ssl")
    # The port is vetted where connections are made (NetworkPolicy: mail ports only, so a
    # typed host and port can't turn the service into a port scanner).
    port = _port(body.get("port"), 993 if ssl else 143)
    return SourceServer("manual", _text(body, "host", 253).lower(), port, ssl, username), password
