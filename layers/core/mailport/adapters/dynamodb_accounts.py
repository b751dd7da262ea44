"""External POP accounts and the schedule's index on the single mailport table (key format:
``mailport.adapters.keys``). Runs: ``dynamodb_runs``; receipts: ``dynamodb_receipts``.

* An account item holds the settings, the sealed password, the fetch state and the run lease
  (the state and lease are written by ``DynamoRunLedger``); with automatic fetching on it is
  also in the schedule's sparse index, so the dispatcher reads exactly the accounts due
  (never a scan).
* The user's account count: the limit is a condition on it, in the same transaction as the
  new account.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from mailport.adapters import keys
from mailport.adapters.dynamo_table import (
    Cancelled,
    ConditionFailed,
    DynamoTable,
    as_int,
    from_ddb,
    to_ddb,
)
from mailport.adapters.keys import due_keys, seen_pk, user_pk
from mailport.catalogue import say, stored, words_of
from mailport.domain.accounts import FetchState, PopAccount, Preset, too_many_accounts
from mailport.domain.mailbox import Owner
from mailport.errors import Conflict, NotFound

_SETTINGS = (
    "preset",
    "host",
    "port",
    "ssl",
    "username",
    "folder_id",
    "icon",
    "keep_original",
    "apply_rules",
    "auto_fetch",
    "connection_id",
)


def _deletes(doomed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"DeleteRequest": {"Key": k}} for k in doomed]


CHECKED = "account_checked"  # the type of an idle poll's check item (``keys.checked_sk``)


def _checked(account: PopAccount, check: dict[str, Any] | None) -> PopAccount:
    """The account as last checked: an idle poll writes its time to the check item only."""
    at = when(check.get("checked_at")) if check else None
    last = account.state.last_checked_at
    if at is None or (last is not None and last >= at):
        return account
    return replace(account, state=replace(account.state, last_checked_at=at))


def _with_checks(items: list[dict[str, Any]]) -> list[PopAccount]:
    """Accounts from a query over accounts and their check items (which sort after them)."""
    checks = {str(i.get("account_id")): i for i in items if i.get("type") == CHECKED}
    return [
        _checked(DynamoAccountStore._account(i), checks.get(str(i["account_id"])))
        for i in items
        if i.get("type") != CHECKED
    ]


def epoch(value: dt.datetime | None) -> int:
    """Seconds since 1970 (0 for none): how leases and TTLs are stored."""
    return int(value.timestamp()) if value else 0


def when(value: Any) -> dt.datetime | None:
    """A stored time back (ISO text or epoch seconds; empty or 0 is none)."""
    if isinstance(value, str) and value:
        return dt.datetime.fromisoformat(value)
    seconds = as_int(value)
    return dt.datetime.fromtimestamp(seconds, dt.UTC) if seconds else None


def iso(value: dt.datetime | None) -> str | None:
    """A time as stored in ISO text (None for none)."""
    return value.isoformat() if value else None


class DynamoAccountStore(DynamoTable):
    """``AccountStore`` on DynamoDB."""

    def list_accounts(self, owner: Owner) -> list[PopAccount]:
        """Every account of the user, oldest first, each as last checked (the same query
        reads the idle polls' check items, which sort beside their accounts).
        """
        items = self._query(
            say("account.doing_list"),
            KeyConditionExpression="PK = :pk AND begins_with(SK, :sk)",
            ExpressionAttributeValues=to_ddb({":pk": user_pk(owner), ":sk": keys.ACCOUNT_PREFIX}),
        )
        return sorted(_with_checks(list(items)), key=lambda a: a.created_at)

    def tenant_accounts(
        self, tenant_id: str, limit: int, cursor: str | None
    ) -> tuple[list[tuple[Owner, PopAccount]], str | None]:
        """A page of every account of the tenant with its owner, newest first (admins)."""
        items, next_cursor = self._tenant_page(
            say("account.doing_list_tenant"), keys.ACCOUNTS, tenant_id, limit, cursor
        )
        owners = [keys.owner_of(str(i["PK"])) for i in items]
        wanted = [
            to_ddb({"PK": i["PK"], "SK": keys.checked_sk(str(i["account_id"]))}) for i in items
        ]
        # The page's check items in one read (they carry no GSI3 key, so the page has none).
        found = self._batch_get(say("account.doing_list_tenant"), wanted, None)
        checks = {(str(c["PK"]), str(c["account_id"])): c for c in map(from_ddb, found)}
        accounts = [
            _checked(self._account(i), checks.get((str(i["PK"]), str(i["account_id"]))))
            for i in items
        ]
        return list(zip(owners, accounts, strict=True)), next_cursor

    def get_accounts(
        self, wanted: Sequence[tuple[Owner, str]]
    ) -> dict[tuple[Owner, str], PopAccount]:
        """A fetch batch's accounts in one strongly consistent BatchGetItem (the account
        items only: the fetch worker needs no check time).
        """
        unique = list(dict.fromkeys(wanted))
        asked = {(user_pk(o), keys.account_sk(a)): (o, a) for o, a in unique}
        found = self._batch_get(
            say("account.doing_read_many"),
            [to_ddb({"PK": pk, "SK": sk}) for pk, sk in asked],
            None,
            consistent=True,
        )
        accounts: dict[tuple[Owner, str], PopAccount] = {}
        for raw in found:
            item = from_ddb(raw)
            accounts[asked[(str(item["PK"]), str(item["SK"]))]] = self._account(item)
        return accounts

    def get_account(self, owner: Owner, account_id: str) -> PopAccount | None:
        """One account as last checked, or None: one strongly consistent query over the
        account and its check item (the same read units as reading the account alone).
        """
        low, high = keys.account_range(account_id)
        items = list(
            self._query(
                say("account.doing_read"),
                KeyConditionExpression="PK = :pk AND SK BETWEEN :low AND :high",
                ExpressionAttributeValues=to_ddb(
                    {":pk": user_pk(owner), ":low": low, ":high": high}
                ),
                ConsistentRead=True,
            )
        )
        accounts = _with_checks(items)
        return accounts[0] if accounts else None

    def create_account(self, owner: Owner, account: PopAccount, limit: int) -> None:
        """Save a new account unless the user already has ``limit``: one transaction over
        the user's account count and the account item (which joins the schedule's index).
        """
        pk = user_pk(owner)
        try:
            self._transact(
                say("account.doing_save"),
                [
                    {
                        "Update": {
                            **self._key(pk, keys.ACCOUNTS),
                            "UpdateExpression": "ADD #n :one",
                            "ConditionExpression": "attribute_not_exists(#n) OR #n < :limit",
                            "ExpressionAttributeNames": {"#n": "count"},
                            "ExpressionAttributeValues": to_ddb({":one": 1, ":limit": limit}),
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": to_ddb(self.account_item(owner, account)),
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                ],
            )
        except Cancelled as e:
            if e.failed(0):
                raise too_many_accounts(limit) from e
            raise Conflict(say("account.exists")) from e

    def account_item(self, owner: Owner, a: PopAccount) -> dict[str, Any]:
        """The item of a new account (also used by the dispatcher benchmark to bulk-load)."""
        item: dict[str, Any] = {
            "PK": user_pk(owner),
            "SK": keys.account_sk(a.account_id),
            **keys.tenant_keys(
                keys.ACCOUNTS,
                owner.tenant_id,
                a.created_at.isoformat(),
                owner.user_id,
                a.account_id,
            ),
            "type": "pop_account",
            "account_id": a.account_id,
            "created_at": a.created_at.isoformat(),
            "password": a.sealed_password,
            "version": a.version,
            "failures": a.state.failures,
            **self._settings(a),
        }
        if a.auto_fetch:
            item.update(due_keys(owner, a.account_id))
        return item

    @staticmethod
    def _settings(a: PopAccount) -> dict[str, Any]:
        return {
            "preset": a.preset.value,
            "host": a.host,
            "port": a.port,
            "ssl": a.ssl,
            "username": a.username,
            "folder_id": a.folder_id,
            "icon": a.icon,
            "keep_original": a.keep_original,
            "apply_rules": a.apply_rules,
            "auto_fetch": a.auto_fetch,
            "connection_id": a.connection_id,
        }

    @staticmethod
    def _account(item: dict[str, Any]) -> PopAccount:
        password = item.get("password")
        return PopAccount(
            account_id=str(item["account_id"]),
            preset=Preset(str(item["preset"])),
            host=str(item["host"]),
            port=as_int(item["port"]),
            ssl=bool(item["ssl"]),
            username=str(item["username"]),
            folder_id=str(item["folder_id"]),
            icon=str(item.get("icon") or "none"),
            keep_original=bool(item["keep_original"]),
            apply_rules=bool(item["apply_rules"]),
            auto_fetch=bool(item["auto_fetch"]),
            created_at=dt.datetime.fromisoformat(str(item["created_at"])),
            sealed_password=bytes(password) if password is not None else b"",
            version=as_int(item.get("version")),
            state=FetchState(
                failures=as_int(item.get("failures")),
                running_run_id=str(item.get("run_id") or ""),
                running_trigger=str(item.get("run_trigger") or ""),
                running_since=when(item.get("run_since")),
                lease_until=when(item.get("lease_until")),
                last_tick=str(item.get("last_tick") or ""),
                last_run_id=str(item.get("last_run_id") or ""),
                last_status=str(item.get("last_status") or ""),
                last_error_code=str(item.get("last_error_code") or ""),
                last_error=str(item.get("last_error") or ""),
                last_error_words=words_of(item.get("last_error_words")),
                last_checked_at=when(item.get("last_checked_at")),
                last_success_at=when(item.get("last_success_at")),
                disabled_reason=str(item.get("disabled_reason") or ""),
                disabled_words=words_of(item.get("disabled_words")),
                server_digest=str(item.get("server_digest") or ""),
                paused_for=str(item.get("paused_for") or ""),
            ),
            connection_id=str(item.get("connection_id") or ""),
        )

    def update_account(self, owner: Owner, before: PopAccount, after: PopAccount) -> None:
        """Save changed settings (never the fetch state a running worker owns)."""
        values: dict[str, Any] = {
            **{f":{k}": v for k, v in self._settings(after).items()},
            ":password": after.sealed_password,
            ":old": before.version,
            ":new": before.version + 1,
        }
        sets = [f"#{k} = :{k}" for k in _SETTINGS]
        sets += ["password = :password", "version = :new"]
        fresh, stale = after.state, before.state
        if (fresh.failures, fresh.disabled_reason, fresh.paused_for) != (
            stale.failures,
            stale.disabled_reason,
            stale.paused_for,
        ):
            # Only when automatic fetching is switched back on: otherwise a run finishing
            # meanwhile owns the count, and a stale copy must not overwrite it.
            sets += [
                "failures = :failures",
                "disabled_reason = :reason",
                "disabled_words = :reason_words",
                "paused_for = :paused",
            ]
            values.update(
                {
                    ":failures": fresh.failures,
                    ":reason": fresh.disabled_reason,
                    ":reason_words": stored(fresh.disabled_words),
                    ":paused": fresh.paused_for,
                }
            )
        expression = "SET " + ", ".join(sets)
        if after.auto_fetch:
            due = due_keys(owner, after.account_id)
            values.update({":g2pk": due["GSI2PK"], ":g2sk": due["GSI2SK"]})
            expression += ", GSI2PK = :g2pk, GSI2SK = :g2sk"
        else:
            expression += " REMOVE GSI2PK, GSI2SK"
        try:
            self._call(
                say("account.doing_save"),
                "update_item",
                **self._key(user_pk(owner), keys.account_sk(before.account_id)),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(PK) AND version = :old",
                ExpressionAttributeNames={f"#{k}": k for k in _SETTINGS},
                ExpressionAttributeValues=to_ddb(values),
            )
        except ConditionFailed as e:
            raise Conflict(say("account.changed_meanwhile")) from e

    def reseal_password(self, owner: Owner, account_id: str, before: bytes, after: bytes) -> bool:
        """Swap in the password sealed anew; not a settings change, so the version stays (an
        edit made meanwhile wins: the condition is on the sealed bytes themselves).
        """
        try:
            self._call(
                say("account.doing_reseal"),
                "update_item",
                **self._key(user_pk(owner), keys.account_sk(account_id)),
                UpdateExpression="SET password = :after",
                ConditionExpression="password = :before",
                ExpressionAttributeValues=to_ddb({":before": before, ":after": after}),
            )
        except ConditionFailed:
            return False
        return True

    def delete_account(self, owner: Owner, account: PopAccount) -> None:
        """Remove the account and count it off, in one transaction (its runs and receipts go
        later: ``forget``).
        """
        pk = user_pk(owner)
        try:
            self._transact(
                say("account.doing_delete"),
                [
                    {
                        "Delete": {
                            **self._key(pk, keys.account_sk(account.account_id)),
                            "ConditionExpression": "attribute_exists(PK)",
                        }
                    },
                    {"Delete": self._key(pk, keys.checked_sk(account.account_id))},
                    {
                        "Update": {
                            **self._key(pk, keys.ACCOUNTS),
                            "UpdateExpression": "ADD #n :minus",
                            "ExpressionAttributeNames": {"#n": "count"},
                            "ExpressionAttributeValues": to_ddb({":minus": -1}),
                        }
                    },
                ],
            )
        except Cancelled as e:
            raise NotFound(say("account.not_found")) from e

    def forget(self, owner: Owner, account_id: str, limit: int) -> bool:
        """Delete up to ``limit`` runs and receipts of a deleted account; True if more remain.

        Here, not in the run ledger and the receipts: both kinds go in the same batch writes,
        a page of ``limit`` keys at a time.
        """
        doomed: list[dict[str, Any]] = []
        # The check item goes first (delete_account removes it too; an older one may be left).
        check = [to_ddb({"PK": user_pk(owner), "SK": keys.checked_sk(account_id)})]
        for key in itertools.chain(
            check,
            self._keys(user_pk(owner), keys.runs_prefix(account_id)),
            self._keys(seen_pk(owner, account_id), ""),
        ):
            if len(doomed) == limit:
                self._batch_write(say("account.doing_forget"), _deletes(doomed))
                return True
            doomed.append(key)
        self._batch_write(say("account.doing_forget"), _deletes(doomed))
        return False

    def _keys(self, pk: str, prefix: str) -> Iterator[dict[str, Any]]:
        condition = "PK = :pk" + (" AND begins_with(SK, :sk)" if prefix else "")
        values = {":pk": pk, **({":sk": prefix} if prefix else {})}
        for item in self._query(
            say("account.doing_list_records"),
            KeyConditionExpression=condition,
            ExpressionAttributeValues=to_ddb(values),
            ProjectionExpression="PK, SK",
        ):
            yield to_ddb(item)


class DynamoSchedule(DynamoTable):
    """``Schedule`` on DynamoDB: the sparse index the account items join (``account_item``,
    ``update_account``) and a run leaves when it switches fetching off.
    """

    def due(self, minute: int) -> Iterator[tuple[Owner, str, int]]:
        """Accounts fetched automatically whose slot falls in ``minute`` of the window."""
        for item in self._query(
            say("account.doing_read_due"),
            IndexName=keys.GSI2,
            KeyConditionExpression="GSI2PK = :pk",
            ExpressionAttributeValues=to_ddb({":pk": keys.due_partition(minute)}),
        ):
            yield keys.due_of(str(item["GSI2SK"]))
