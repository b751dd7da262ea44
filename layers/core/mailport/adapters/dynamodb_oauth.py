"""OAuth sign-in flows and connections on the mailport table (key format:
``mailport.adapters.keys``).

* A sign-in in progress: who started it, the hash of their browser's cookie, msal's flow
  details. Deleted when the callback uses it (so a replayed callback finds nothing); TTL
  ``expires_at`` removes abandoned ones.
* A connection: the mailbox address, msal's account id, status and the token cache sealed with
  KMS. Saves are conditional on ``version``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

from mailport.adapters import keys
from mailport.adapters.dynamo_table import (
    ConditionFailed,
    DynamoTable,
    as_int,
    from_ddb,
    to_ddb,
)
from mailport.adapters.keys import flow_key, user_pk
from mailport.catalogue import say
from mailport.domain.mailbox import Owner
from mailport.domain.oauth import (
    ConnectionStatus,
    OAuthConnection,
    OAuthFlow,
    Purpose,
    parse_provider,
)
from mailport.errors import Conflict


def _connection(item: dict[str, Any]) -> OAuthConnection:
    return OAuthConnection(
        connection_id=str(item["connection_id"]),
        tenant_id=str(item["tenant_id"]),
        user_id=str(item["user_id"]),
        email=str(item["email"]),
        account_id=str(item["account_id"]),
        status=ConnectionStatus(str(item["status"])),
        created_at=dt.datetime.fromisoformat(str(item["created_at"])),
        updated_at=dt.datetime.fromisoformat(str(item["updated_at"])),
        sealed_cache=bytes(item["sealed"]),
        provider=parse_provider(item.get("provider")),
        version=as_int(item.get("version")),
        # Saved before POP sign-ins existed: every such connection was a migration's.
        purpose=Purpose(str(item.get("purpose", Purpose.IMAP.value))),
    )


class DynamoOAuth(DynamoTable):
    """``OAuthStore`` on the mailport table."""

    def put_flow(self, flow: OAuthFlow) -> None:
        """Keep a new flow until it is used or expires."""
        pk, sk = flow_key(flow.state)
        item = {
            "PK": pk,
            "SK": sk,
            "type": "oauth_flow",
            "tenant_id": flow.tenant_id,
            "user_id": flow.user_id,
            "email": flow.email,
            "binding": flow.binding,
            "details": json.dumps(dict(flow.details)),
            "expires_at": int(flow.expires_at.timestamp()),
            "connection_id": flow.connection_id,
            "purpose": flow.purpose.value,
            "provider": flow.provider.value,
        }
        self._call(
            say("doing.signin_start"),
            "put_item",
            TableName=self._table,
            Item=to_ddb({k: v for k, v in item.items() if v is not None}),
            ConditionExpression="attribute_not_exists(PK)",
        )

    def take_flow(self, state: str) -> OAuthFlow | None:
        """Delete and return the flow: the one caller that gets it is the one to use it."""
        pk, sk = flow_key(state)
        got = self._call(
            say("doing.signin_finish"),
            "delete_item",
            **self._key(pk, sk),
            ReturnValues="ALL_OLD",
        )
        if "Attributes" not in got:
            return None
        item = from_ddb(got["Attributes"])
        expires = dt.datetime.fromtimestamp(as_int(item["expires_at"]), dt.UTC)
        if expires < dt.datetime.now(dt.UTC):  # TTL deletes late (up to days): check here
            return None
        return OAuthFlow(
            state=state,
            tenant_id=str(item["tenant_id"]),
            user_id=str(item["user_id"]),
            email=str(item["email"]),
            binding=str(item["binding"]),
            details=json.loads(str(item["details"])),
            expires_at=expires,
            connection_id=item.get("connection_id"),
            purpose=Purpose(str(item.get("purpose", Purpose.IMAP.value))),
            provider=parse_provider(item.get("provider")),
        )

    def list_connections(self, tenant_id: str, user_id: str) -> list[OAuthConnection]:
        """The user's connections, oldest first."""
        items = self._query(
            say("doing.signins_list"),
            KeyConditionExpression="PK = :pk AND begins_with(SK, :c)",
            ExpressionAttributeValues=to_ddb(
                {":pk": user_pk(Owner(tenant_id, user_id)), ":c": keys.CONNECTION_PREFIX}
            ),
        )
        return sorted((_connection(i) for i in items), key=lambda c: c.created_at)

    def get_connection(
        self, tenant_id: str, user_id: str, connection_id: str
    ) -> OAuthConnection | None:
        """One connection, or None."""
        item = self._get(
            user_pk(Owner(tenant_id, user_id)),
            keys.connection_sk(connection_id),
            "reading the sign-in",
        )
        return _connection(item) if item else None

    def save_connection(self, connection: OAuthConnection, *, new: bool = False) -> OAuthConnection:
        """Create, or update if nobody saved since it was read."""
        c = connection
        item = {
            "PK": user_pk(Owner(c.tenant_id, c.user_id)),
            "SK": keys.connection_sk(c.connection_id),
            "type": "oauth_connection",
            "connection_id": c.connection_id,
            "tenant_id": c.tenant_id,
            "user_id": c.user_id,
            "email": c.email,
            "account_id": c.account_id,
            "status": c.status.value,
            "created_at": c.created_at.isoformat(),
            "updated_at": c.updated_at.isoformat(),
            "sealed": c.sealed_cache,
            "provider": c.provider.value,
            "purpose": c.purpose.value,
            "version": c.version + (0 if new else 1),
        }
        condition = "attribute_not_exists(PK)" if new else "version = :v"
        kwargs: dict[str, Any] = {"ConditionExpression": condition}
        if not new:
            kwargs["ExpressionAttributeValues"] = to_ddb({":v": c.version})
        try:
            self._call(
                say("doing.signin_save"),
                "put_item",
                TableName=self._table,
                Item=to_ddb(item),
                **kwargs,
            )
        except ConditionFailed as e:
            raise Conflict(say("oauth.connection_changed")) from e
        return dataclasses.replace(c, version=int(item["version"]))

    def delete_connection(self, tenant_id: str, user_id: str, connection_id: str) -> None:
        """Remove a connection (no error if gone)."""
        self._call(
            say("doing.signin_remove"),
            "delete_item",
            **self._key(user_pk(Owner(tenant_id, user_id)), keys.connection_sk(connection_id)),
        )
