"""The current sealing key on the mailport table: one item every function shares, so a stack
seals with one data key at a time (and each container asks KMS for it once per bound, not per
secret).
"""

from __future__ import annotations

import datetime as dt

from mailport.adapters import keys
from mailport.adapters.dynamo_table import ConditionFailed, DynamoTable, to_ddb
from mailport.adapters.kms import WrappedKey
from mailport.catalogue import say


class DynamoSealingKeys(DynamoTable):
    """``SealingKeyStore``: the item ``SEALKEY`` / ``CURRENT`` (the key KMS-encrypted, and when
    it was made; never the plaintext).
    """

    def current(self) -> WrappedKey | None:
        """The key secrets are sealed with now, if one was made."""
        pk, sk = keys.SEALING_KEY
        item = self._get(pk, sk, "reading the sealing key")
        if item is None:
            return None
        return WrappedKey(bytes(item["wrapped"]), dt.datetime.fromisoformat(item["created_at"]))

    def install(self, key: WrappedKey, replacing: WrappedKey | None) -> WrappedKey:
        """Make ``key`` the current one unless another function did first (then that one)."""
        pk, sk = keys.SEALING_KEY
        item = {"PK": pk, "SK": sk, "wrapped": key.wrapped, "created_at": key.created.isoformat()}
        # Two containers rotating at once: the first write wins and the other seals with it.
        condition: dict[str, object] = {"ConditionExpression": "attribute_not_exists(PK)"}
        if replacing is not None:
            condition = {
                "ConditionExpression": "#w = :old",  # WRAPPED is a reserved word
                "ExpressionAttributeNames": {"#w": "wrapped"},
                "ExpressionAttributeValues": to_ddb({":old": replacing.wrapped}),
            }
        try:
            self._call(
                say("doing.sealing_key_save"),
                "put_item",
                TableName=self._table,
                Item=to_ddb(item),
                **condition,
            )
        except ConditionFailed:
            won = self.current()
            if won is None:
                raise
            return won
        return key
