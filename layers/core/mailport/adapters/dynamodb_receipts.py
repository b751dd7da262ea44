"""What each POP account has dealt with, on the single mailport table (key format:
``mailport.adapters.keys``): a UIDL's (outcome, message id, content fingerprint); content
receipts only for servers without UIDL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mailport.adapters import keys
from mailport.adapters.dynamo_table import DynamoTable, to_ddb
from mailport.adapters.keys import seen_pk
from mailport.catalogue import say
from mailport.domain.accounts import Receipt, ReceiptOutcome, Seen
from mailport.domain.mailbox import Owner


class DynamoReceipts(DynamoTable):
    """``Receipts`` on DynamoDB."""

    def imported(self, owner: Owner, account_id: str) -> Seen:
        """Every UIDL and content the account has dealt with: one paginated query (a per-message
        lookup would cost a round trip for each new message).
        """
        uidls: dict[str, str] = {}
        contents: dict[str, str] = {}
        for item in self._query(
            say("doing.receipts_read"),
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues=to_ddb({":pk": seen_pk(owner, account_id)}),
            ProjectionExpression="SK, outcome, message_id, fp",
        ):
            is_uidl, key = keys.receipt_of(str(item["SK"]))
            if is_uidl:
                uidls[key] = str(item.get("outcome", ""))
                if item.get("fp") and item.get("message_id"):
                    contents[str(item["fp"])] = str(item["message_id"])
            else:
                contents[key] = str(item.get("message_id", ""))
        return Seen(uidls, contents)

    def record(self, owner: Owner, account_id: str, receipts: Sequence[Receipt]) -> None:
        """Remember UIDLs (with their content) dealt with; puts, so idempotent.

        One item per message: the UIDL item carries the fingerprint. Only a server without
        UIDL gets content items of their own.
        """
        pk = seen_pk(owner, account_id)
        items: dict[str, dict[str, Any]] = {}
        for r in receipts:
            stored = r.outcome is ReceiptOutcome.STORED
            if r.uidl is not None:
                items[keys.uidl_sk(r.uidl)] = {
                    "PK": pk,
                    "SK": keys.uidl_sk(r.uidl),
                    "outcome": r.outcome.value,
                    "message_id": r.message_id or None,
                    "fp": (r.fingerprint or None) if stored else None,
                }
            elif stored and r.fingerprint:
                items[keys.content_sk(r.fingerprint)] = {
                    "PK": pk,
                    "SK": keys.content_sk(r.fingerprint),
                    "message_id": r.message_id,
                }
        self._batch_write(
            say("doing.receipts_save"),
            [{"PutRequest": {"Item": to_ddb(i)}} for i in items.values()],
        )

    def drop_receipts(self, owner: Owner, account_id: str, uidls: Sequence[str]) -> None:
        """Delete UIDL receipts (25 per request; absent items are fine)."""
        pk = seen_pk(owner, account_id)
        self._batch_write(
            say("doing.receipts_forget"),
            [{"DeleteRequest": {"Key": to_ddb({"PK": pk, "SK": keys.uidl_sk(u)})}} for u in uidls],
        )
