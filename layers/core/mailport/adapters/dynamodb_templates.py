"""A tenant's IMAP server templates on the single mailport table (key format:
``mailport.adapters.keys``), in the tenant's partition.
"""

from __future__ import annotations

from typing import Any

from mailport.adapters import keys
from mailport.adapters.dynamo_table import ConditionFailed, DynamoTable, as_int, to_ddb
from mailport.catalogue import say
from mailport.domain.migration import ImapTemplate


class DynamoImapTemplates(DynamoTable):
    """``ImapTemplates`` on DynamoDB."""

    def list_templates(self, tenant_id: str) -> list[ImapTemplate]:
        """The tenant's IMAP server templates, by name."""
        items = self._query(
            say("doing.templates_list"),
            KeyConditionExpression="PK = :pk AND begins_with(SK, :t)",
            ExpressionAttributeValues=to_ddb(
                {":pk": keys.tenant_pk(tenant_id), ":t": keys.TEMPLATE_PREFIX}
            ),
        )
        return sorted((_template(i) for i in items), key=lambda t: t.name.casefold())

    def get_template(self, tenant_id: str, template_id: str) -> ImapTemplate | None:
        """One template of the tenant, or None."""
        item = self._get(
            keys.tenant_pk(tenant_id), keys.template_sk(template_id), "reading the template"
        )
        return _template(item) if item else None

    def put_template(self, tenant_id: str, template: ImapTemplate, *, replace: bool) -> bool:
        """Create a template, or (``replace``) change one that exists."""
        item = {
            "PK": keys.tenant_pk(tenant_id),
            "SK": keys.template_sk(template.template_id),
            "type": "imap_template",
            "template_id": template.template_id,
            "name": template.name,
            "host": template.host,
            "port": template.port,
            "ssl": template.ssl,
        }
        condition = "attribute_exists(PK)" if replace else "attribute_not_exists(PK)"
        try:
            self._call(
                say("doing.template_save"),
                "put_item",
                TableName=self._table,
                Item=to_ddb(item),
                ConditionExpression=condition,
            )
        except ConditionFailed:
            return False
        return True

    def delete_template(self, tenant_id: str, template_id: str) -> bool:
        """Remove a template; False if there was none."""
        try:
            self._call(
                say("doing.template_delete"),
                "delete_item",
                **self._key(keys.tenant_pk(tenant_id), keys.template_sk(template_id)),
                ConditionExpression="attribute_exists(PK)",
            )
        except ConditionFailed:
            return False
        return True


def _template(item: dict[str, Any]) -> ImapTemplate:
    return ImapTemplate(
        str(item["template_id"]),
        str(item["name"]),
        str(item["host"]),
        as_int(item["port"]),
        bool(item.get("ssl", True)),
    )
