"""DynamoDB adapters over the single mailport table.

Key design (see template.yaml): ``PK``/``SK`` strings, a generic overloaded ``GSI1`` and a sparse
``GSI2`` for the POP schedule. Tenants and users share the tenant's partition.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from mailport.adapters.aws_errors import translate
from mailport.domain.identity import Plan, Tenant, User

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


def tenant_pk(tenant_id: str) -> str:
    """Partition key of everything a tenant owns at tenant level."""
    return f"TENANT#{tenant_id}"


class DynamoDirectory:
    """``Directory`` on DynamoDB."""

    def __init__(self, table_name: str, *, session: boto3.session.Session | None = None) -> None:
        self._table: Table = (
            (session or boto3.session.Session()).resource("dynamodb").Table(table_name)
        )

    def _get(self, pk: str, sk: str, what: str) -> dict[str, Any] | None:
        try:
            item = self._table.get_item(Key={"PK": pk, "SK": sk}).get("Item")
        except (ClientError, BotoCoreError) as e:
            raise translate(e, what) from e
        return dict(item) if item else None

    def _put(self, item: dict[str, Any], what: str) -> None:
        try:
            self._table.put_item(Item=item)
        except (ClientError, BotoCoreError) as e:
            raise translate(e, what) from e

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        """The tenant, or None."""
        item = self._get(tenant_pk(tenant_id), "TENANT", "reading the organisation")
        if item is None:
            return None
        return Tenant(tenant_id=tenant_id, name=str(item["name"]), plan=Plan(str(item["plan"])))

    def put_tenant(self, tenant: Tenant) -> None:
        """Create or replace a tenant."""
        self._put(
            {
                "PK": tenant_pk(tenant.tenant_id),
                "SK": "TENANT",
                "type": "tenant",
                "name": tenant.name,
                "plan": tenant.plan.value,
            },
            "saving the organisation",
        )

    def get_user(self, tenant_id: str, user_id: str) -> User | None:
        """The user, or None."""
        item = self._get(tenant_pk(tenant_id), f"USER#{user_id}", "reading the user")
        if item is None:
            return None
        return User(
            user_id=user_id,
            tenant_id=tenant_id,
            email=str(item["email"]),
            display_name=str(item.get("display_name") or item["email"]),
            admin=bool(item.get("admin", False)),
        )

    def put_user(self, user: User) -> None:
        """Create or replace a user."""
        self._put(
            {
                "PK": tenant_pk(user.tenant_id),
                "SK": f"USER#{user.user_id}",
                "type": "user",
                "email": user.email,
                "display_name": user.display_name,
                "admin": user.admin,
            },
            "saving the user",
        )
