"""External POP accounts, their runs and receipts on the single mailport table.

Items (see template.yaml):

* ``USER#<t>#<u>`` / ``ACCOUNT#<id>`` — settings, the sealed password, the fetch state and the
  run lease; with automatic fetching on it also carries ``GSI2PK = DUE#<minute>`` and
  ``GSI2SK = <second of window>#<t>#<u>#<id>``, so the dispatcher reads exactly the accounts
  due (a sparse index, never a scan).
* ``USER#<t>#<u>`` / ``ACCOUNTS`` — how many accounts the user has (the limit is a condition on
  it, in the same transaction as the new account).
* ``USER#<t>#<u>`` / ``RUN#<acct>#<run id>`` — run history (run ids sort by time), TTL 90 days.
* ``POPSEEN#<t>#<u>#<acct>`` / ``U#<uidl>`` (outcome, message id, content fingerprint) — what
  the account has dealt with; ``F#<fingerprint>`` only for servers without UIDL.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
from collections.abc import Iterator, Sequence
from typing import Any

from mailport.adapters.dynamo_table import (
    Cancelled,
    ConditionFailed,
    DynamoTable,
    as_int,
    from_ddb,
    tenant_keys,
    to_ddb,
    user_pk,
)
from mailport.domain.accounts import (
    FetchRun,
    FetchState,
    PopAccount,
    Preset,
    Receipt,
    ReceiptOutcome,
    RunCounts,
    RunStatus,
    RunTrigger,
    Seen,
    schedule_slot,
    too_many_accounts,
)
from mailport.domain.mailbox import Owner
from mailport.errors import Conflict, NotFound

RUN_TTL = dt.timedelta(days=90)
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
)


def seen_pk(owner: Owner, account_id: str) -> str:
    """Partition of an account's receipts."""
    return f"POPSEEN#{owner.tenant_id}#{owner.user_id}#{account_id}"


def due_keys(owner: Owner, account_id: str) -> dict[str, str]:
    """The sparse GSI2 keys of an account fetched automatically."""
    slot = schedule_slot(account_id)
    return {
        "GSI2PK": f"DUE#{slot // 60}",
        "GSI2SK": f"{slot:03d}#{owner.tenant_id}#{owner.user_id}#{account_id}",
    }


def _deletes(keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"DeleteRequest": {"Key": k}} for k in keys]


def _epoch(value: dt.datetime | None) -> int:
    return int(value.timestamp()) if value else 0


def _when(value: Any) -> dt.datetime | None:
    if isinstance(value, str) and value:
        return dt.datetime.fromisoformat(value)
    seconds = as_int(value)
    return dt.datetime.fromtimestamp(seconds, dt.UTC) if seconds else None


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


class DynamoAccounts(DynamoTable):
    """``Accounts`` on DynamoDB."""

    # ------------------------------------------------------------------ accounts
    def list_accounts(self, owner: Owner) -> list[PopAccount]:
        """Every account of the user, oldest first."""
        items = self._query(
            "listing your accounts",
            KeyConditionExpression="PK = :pk AND begins_with(SK, :sk)",
            ExpressionAttributeValues=to_ddb({":pk": user_pk(owner), ":sk": "ACCOUNT#"}),
        )
        return sorted((self._account(i) for i in items), key=lambda a: a.created_at)

    def tenant_accounts(
        self, tenant_id: str, limit: int, cursor: str | None
    ) -> tuple[list[tuple[Owner, PopAccount]], str | None]:
        """A page of every account of the tenant with its owner, newest first (admins)."""
        items, next_cursor = self._tenant_page(
            "listing the organisation's accounts", "ACCOUNTS", tenant_id, limit, cursor
        )
        owners = [Owner(tenant_id, str(i["PK"]).split("#", 2)[2]) for i in items]
        return [(o, self._account(i)) for o, i in zip(owners, items, strict=True)], next_cursor

    def get_account(self, owner: Owner, account_id: str) -> PopAccount | None:
        """One account, or None."""
        item = self._get(user_pk(owner), f"ACCOUNT#{account_id}", "reading the account")
        return self._account(item) if item else None

    def create_account(self, owner: Owner, account: PopAccount, limit: int) -> None:
        """Save a new account unless the user already has ``limit``."""
        pk = user_pk(owner)
        try:
            self._transact(
                "saving the account",
                [
                    {
                        "Update": {
                            **self._key(pk, "ACCOUNTS"),
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
            raise Conflict("this account exists already") from e

    def account_item(self, owner: Owner, a: PopAccount) -> dict[str, Any]:
        """The item of a new account (also used by the dispatcher benchmark to bulk-load)."""
        item: dict[str, Any] = {
            "PK": user_pk(owner),
            "SK": f"ACCOUNT#{a.account_id}",
            **tenant_keys(
                "ACCOUNTS", owner.tenant_id, a.created_at.isoformat(), owner.user_id, a.account_id
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
                running_since=_when(item.get("run_since")),
                lease_until=_when(item.get("lease_until")),
                last_tick=str(item.get("last_tick") or ""),
                last_run_id=str(item.get("last_run_id") or ""),
                last_status=str(item.get("last_status") or ""),
                last_error_code=str(item.get("last_error_code") or ""),
                last_error=str(item.get("last_error") or ""),
                last_checked_at=_when(item.get("last_checked_at")),
                last_success_at=_when(item.get("last_success_at")),
                disabled_reason=str(item.get("disabled_reason") or ""),
                server_digest=str(item.get("server_digest") or ""),
            ),
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
        if (after.state.failures, after.state.disabled_reason) != (
            before.state.failures,
            before.state.disabled_reason,
        ):
            # Only when automatic fetching is switched back on: otherwise a run finishing
            # meanwhile owns the count, and a stale copy must not overwrite it.
            sets += ["failures = :failures", "disabled_reason = :reason"]
            values.update(
                {":failures": after.state.failures, ":reason": after.state.disabled_reason}
            )
        expression = "SET " + ", ".join(sets)
        if after.auto_fetch:
            keys = due_keys(owner, after.account_id)
            values.update({":g2pk": keys["GSI2PK"], ":g2sk": keys["GSI2SK"]})
            expression += ", GSI2PK = :g2pk, GSI2SK = :g2sk"
        else:
            expression += " REMOVE GSI2PK, GSI2SK"
        try:
            self._call(
                "saving the account",
                "update_item",
                **self._key(user_pk(owner), f"ACCOUNT#{before.account_id}"),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(PK) AND version = :old",
                ExpressionAttributeNames={f"#{k}": k for k in _SETTINGS},
                ExpressionAttributeValues=to_ddb(values),
            )
        except ConditionFailed as e:
            raise Conflict("the account was changed or deleted meanwhile; reload it") from e

    def delete_account(self, owner: Owner, account: PopAccount) -> None:
        """Remove the account (its runs and receipts go later: ``forget``)."""
        pk = user_pk(owner)
        try:
            self._transact(
                "deleting the account",
                [
                    {
                        "Delete": {
                            **self._key(pk, f"ACCOUNT#{account.account_id}"),
                            "ConditionExpression": "attribute_exists(PK)",
                        }
                    },
                    {
                        "Update": {
                            **self._key(pk, "ACCOUNTS"),
                            "UpdateExpression": "ADD #n :minus",
                            "ExpressionAttributeNames": {"#n": "count"},
                            "ExpressionAttributeValues": to_ddb({":minus": -1}),
                        }
                    },
                ],
            )
        except Cancelled as e:
            raise NotFound("no such account") from e

    def forget(self, owner: Owner, account_id: str, limit: int) -> bool:
        """Delete up to ``limit`` runs and receipts of a deleted account; True if more remain."""
        doomed: list[dict[str, Any]] = []
        for key in itertools.chain(
            self._keys(user_pk(owner), f"RUN#{account_id}#"),
            self._keys(seen_pk(owner, account_id), ""),
        ):
            if len(doomed) == limit:
                self._batch_write("forgetting the account", _deletes(doomed))
                return True
            doomed.append(key)
        self._batch_write("forgetting the account", _deletes(doomed))
        return False

    def _keys(self, pk: str, prefix: str) -> Iterator[dict[str, Any]]:
        condition = "PK = :pk" + (" AND begins_with(SK, :sk)" if prefix else "")
        values = {":pk": pk, **({":sk": prefix} if prefix else {})}
        for item in self._query(
            "listing the account's records",
            KeyConditionExpression=condition,
            ExpressionAttributeValues=to_ddb(values),
            ProjectionExpression="PK, SK",
        ):
            yield to_ddb(item)

    # ------------------------------------------------------------------ runs
    def begin_run(
        self, owner: Owner, account_id: str, run: FetchRun, lease_s: int, tick: str | None
    ) -> bool:
        """Take the lease (free, or expired: its worker died) for ``run``."""
        now = run.started_at
        condition = (
            "attribute_exists(PK) AND (lease_until < :now OR attribute_not_exists(lease_until))"
        )
        values: dict[str, Any] = {
            ":r": run.run_id,
            ":t": run.trigger.value,
            ":since": now.isoformat(),
            ":lease": _epoch(now) + lease_s,
            ":now": _epoch(now),
        }
        expression = "SET run_id = :r, run_trigger = :t, run_since = :since, lease_until = :lease"
        if tick:
            condition += " AND (attribute_not_exists(last_tick) OR last_tick <> :tick)"
            expression += ", last_tick = :tick"
            values[":tick"] = tick
        update = {
            **self._key(user_pk(owner), f"ACCOUNT#{account_id}"),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": to_ddb(values),
        }
        try:
            if run.trigger is RunTrigger.MANUAL:
                put = {
                    "TableName": self._table,
                    "Item": to_ddb(self._run_item(owner, run)),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
                self._transact("starting the fetch", [{"Update": update}, {"Put": put}])
            else:
                self._call("starting the fetch", "update_item", **update)
        except (ConditionFailed, Cancelled):
            return False
        return True

    def claim_run(self, owner: Owner, account_id: str, run_id: str) -> bool:
        """Mark a recorded run as picked up; False on a second delivery."""
        try:
            self._call(
                "picking up the fetch",
                "update_item",
                **self._key(user_pk(owner), f"RUN#{account_id}#{run_id}"),
                UpdateExpression="SET claimed = :yes",
                ConditionExpression="attribute_exists(PK) AND attribute_not_exists(claimed) "
                "AND #st = :running",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues=to_ddb(
                    {":yes": True, ":running": RunStatus.RUNNING.value}
                ),
            )
        except ConditionFailed:
            return False
        return True

    def finish_run(
        self,
        owner: Owner,
        account: PopAccount,
        run: FetchRun,
        state: FetchState,
        *,
        disable: bool,
        record: bool,
    ) -> None:
        """Release the lease and save the state (and the run's record) together."""
        values = {
            ":r": run.run_id,
            ":empty": "",
            ":zero": 0,
            ":failures": state.failures,
            ":last_status": state.last_status,
            ":code": state.last_error_code,
            ":error": state.last_error,
            ":checked": _iso(state.last_checked_at) or "",
            ":success": _iso(state.last_success_at) or "",
            ":digest": state.server_digest,
        }
        # The reason is written only by the run that switches fetching off: a run that was
        # under way when the user or an admin switched it off must not erase their reason.
        expression = (
            "SET run_id = :empty, lease_until = :zero, last_run_id = :r, failures = :failures, "
            "last_status = :last_status, last_error_code = :code, last_error = :error, "
            "last_checked_at = :checked, last_success_at = :success, server_digest = :digest"
        )
        if disable:
            # A new version: a settings change computed before this would otherwise switch
            # automatic fetching back on unnoticed.
            expression += (
                ", disabled_reason = :reason, auto_fetch = :off, version = version + :one"
                " REMOVE GSI2PK, GSI2SK"
            )
            values.update({":reason": state.disabled_reason, ":off": False, ":one": 1})
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    **self._key(user_pk(owner), f"ACCOUNT#{account.account_id}"),
                    "UpdateExpression": expression,
                    "ConditionExpression": "run_id = :r",
                    "ExpressionAttributeValues": to_ddb(values),
                }
            }
        ]
        if not record:
            # Most polls find nothing and keep no record: one plain update (a transaction of
            # one item costs twice the write units, docs/capacity.md).
            with contextlib.suppress(ConditionFailed):  # the lease was taken over meanwhile
                self._call("saving the fetch's result", "update_item", **items[0]["Update"])
            return
        items.append(
            {"Put": {"TableName": self._table, "Item": to_ddb(self._run_item(owner, run))}}
        )
        try:
            self._transact("saving the fetch's result", items)
        except Cancelled:
            # The lease was taken over (this worker outlived it) or the account was deleted:
            # the account's state belongs to someone else now; keep only the record.
            if record and self.get_account(owner, account.account_id) is not None:
                self._transact("saving the fetch's result", items[1:])

    def _run_item(self, owner: Owner, run: FetchRun) -> dict[str, Any]:
        c = run.counts
        return {
            "PK": user_pk(owner),
            "SK": f"RUN#{run.account_id}#{run.run_id}",
            "type": "pop_run",
            "trigger": run.trigger.value,
            "status": run.status.value,
            "started_at": run.started_at.isoformat(),
            "finished_at": _iso(run.finished_at),
            "fetched": c.fetched,
            "already_present": c.already_present,
            "skipped_oversize": c.skipped_oversize,
            "rejected": c.rejected,
            "deleted": c.deleted,
            "error_code": run.error_code,
            "error": run.error,
            "more": run.more,
            "expires_at": _epoch(run.started_at + RUN_TTL),
        }

    def fail_stale_run(self, owner: Owner, account_id: str, run_id: str, message: str) -> None:
        """Mark a run whose worker died as failed (only if it is still ``running``)."""
        with contextlib.suppress(ConditionFailed):  # not recorded, or finished after all
            self._call(
                "closing an interrupted fetch",
                "update_item",
                **self._key(user_pk(owner), f"RUN#{account_id}#{run_id}"),
                UpdateExpression="SET #st = :failed, error_code = :code, #e = :msg",
                ConditionExpression="#st = :running",
                ExpressionAttributeNames={"#st": "status", "#e": "error"},
                ExpressionAttributeValues=to_ddb(
                    {
                        ":failed": RunStatus.FAILED.value,
                        ":running": RunStatus.RUNNING.value,
                        ":code": "interrupted",
                        ":msg": message,
                    }
                ),
            )

    def list_runs(self, owner: Owner, account_id: str, limit: int) -> list[FetchRun]:
        """Recorded runs, newest first."""
        page = self._call(
            "listing the account's fetches",
            "query",
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :sk)",
            ExpressionAttributeValues=to_ddb({":pk": user_pk(owner), ":sk": f"RUN#{account_id}#"}),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [self._run(account_id, from_ddb(i)) for i in page.get("Items", [])]

    @staticmethod
    def _run(account_id: str, item: dict[str, Any]) -> FetchRun:
        return FetchRun(
            run_id=str(item["SK"]).rsplit("#", 1)[1],
            account_id=account_id,
            trigger=RunTrigger(str(item["trigger"])),
            status=RunStatus(str(item["status"])),
            started_at=dt.datetime.fromisoformat(str(item["started_at"])),
            finished_at=_when(item.get("finished_at")),
            counts=RunCounts(
                fetched=as_int(item.get("fetched")),
                already_present=as_int(item.get("already_present")),
                skipped_oversize=as_int(item.get("skipped_oversize")),
                rejected=as_int(item.get("rejected")),
                deleted=as_int(item.get("deleted")),
            ),
            error_code=str(item.get("error_code") or ""),
            error=str(item.get("error") or ""),
            more=bool(item.get("more")),
        )

    # ------------------------------------------------------------------ receipts
    def imported(self, owner: Owner, account_id: str) -> Seen:
        """Every UIDL and content the account has dealt with: one paginated query (a per-message
        lookup would cost a round trip for each new message).
        """
        uidls: dict[str, str] = {}
        contents: dict[str, str] = {}
        for item in self._query(
            "reading what was imported",
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues=to_ddb({":pk": seen_pk(owner, account_id)}),
            ProjectionExpression="SK, outcome, message_id, fp",
        ):
            kind, key = str(item["SK"]).split("#", 1)
            if kind == "U":
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
                items[f"U#{r.uidl}"] = {
                    "PK": pk,
                    "SK": f"U#{r.uidl}",
                    "outcome": r.outcome.value,
                    "message_id": r.message_id or None,
                    "fp": (r.fingerprint or None) if stored else None,
                }
            elif stored and r.fingerprint:
                items[f"F#{r.fingerprint}"] = {
                    "PK": pk,
                    "SK": f"F#{r.fingerprint}",
                    "message_id": r.message_id,
                }
        self._batch_write(
            "remembering what was imported",
            [{"PutRequest": {"Item": to_ddb(i)}} for i in items.values()],
        )

    def drop_receipts(self, owner: Owner, account_id: str, uidls: Sequence[str]) -> None:
        """Delete UIDL receipts (25 per request; absent items are fine)."""
        pk = seen_pk(owner, account_id)
        self._batch_write(
            "forgetting messages the server no longer has",
            [{"DeleteRequest": {"Key": to_ddb({"PK": pk, "SK": f"U#{u}"})}} for u in uidls],
        )

    # ------------------------------------------------------------------ schedule
    def due(self, minute: int) -> Iterator[tuple[Owner, str, int]]:
        """Accounts fetched automatically whose slot falls in ``minute`` of the window."""
        for item in self._query(
            "reading the accounts due",
            IndexName="GSI2",
            KeyConditionExpression="GSI2PK = :pk",
            ExpressionAttributeValues=to_ddb({":pk": f"DUE#{minute}"}),
        ):
            second, tenant_id, user_id, account_id = str(item["GSI2SK"]).split("#", 3)
            yield Owner(tenant_id, user_id), account_id, int(second)
