"""Tenants and users on the single mailport table (key format: ``mailport.adapters.keys``).

Tenants and users share the tenant's partition.
"""

from __future__ import annotations

from typing import Any

from mailport.adapters import keys
from mailport.adapters.dynamo_table import DynamoTable, to_ddb
from mailport.catalogue import say
from mailport.domain.identity import Plan, Tenant, User


class DynamoDirectory(DynamoTable):
    """``Directory`` on DynamoDB."""

    def _put(self, item: dict[str, Any], what: str) -> None:
        self._call(what, "put_item", TableName=self._table, Item=to_ddb(item))

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        """The tenant, or None."""
        item = self._get(
            keys.tenant_pk(tenant_id), keys.TENANT, "reading the organisation", consistent=False
        )
        if item is None:
            return None
        return Tenant(tenant_id=tenant_id, name=str(item["name"]), plan=Plan(str(item["plan"])))

    def put_tenant(self, tenant: Tenant) -> None:
        """Create or replace a tenant."""
        self._put(
            {
                "PK": keys.tenant_pk(tenant.tenant_id),
                "SK": keys.TENANT,
                "type": "tenant",
                "name": tenant.name,
                "plan": tenant.plan.value,
            },
            "saving the organisation",
        )

    def get_user(self, tenant_id: str, user_id: str) -> User | None:
        """The user, or None."""
        item = self._get(
            keys.tenant_pk(tenant_id),
            keys.member_sk(user_id),
            "reading the user",
            consistent=False,
        )
        if item is None:
            return None
        return User(
            user_id=user_id,
            tenant_id=tenant_id,
            email=str(item["email"]),
            display_name=str(item.get("display_name") or item["email"]),
            admin=bool(item.get("admin", False)),
            language=str(item.get("language") or ""),
        )

    def put_user(self, user: User) -> None:
        """Create or replace a user."""
        self._put(
            {
                "PK": keys.tenant_pk(user.tenant_id),
                "SK": keys.member_sk(user.user_id),
                "type": "user",
                "email": user.email,
                "display_name": user.display_name,
                "admin": user.admin,
                **({"language": user.language} if user.language else {}),
            },
            "saving the user",
        )

    def set_language(self, user: User, language: str) -> None:
        """Keep ``language`` as the user's choice (their item made if it isn't there: users
        signed in through Cognito have none until they choose something).
        """
        self._call(
            say("doing.user_language_save"),
            "update_item",
            TableName=self._table,
            Key=to_ddb({"PK": keys.tenant_pk(user.tenant_id), "SK": keys.member_sk(user.user_id)}),
            UpdateExpression=(
                "SET #language = :language, #type = if_not_exists(#type, :type), "
                "email = if_not_exists(email, :email), "
                "display_name = if_not_exists(display_name, :name), "
                "admin = if_not_exists(admin, :admin)"
            ),
            ExpressionAttributeNames={"#language": "language", "#type": "type"},
            ExpressionAttributeValues=to_ddb(
                {
                    ":language": language,
                    ":type": "user",
                    ":email": user.email,
                    ":name": user.display_name,
                    ":admin": user.admin,
                }
            ),
        )
