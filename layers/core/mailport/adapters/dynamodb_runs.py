"""A POP account's runs on the single mailport table (key format: ``mailport.adapters.keys``).

* The lease and the fetch state live on the account item (``dynamodb_accounts``); a run takes,
  updates and releases them here, with its record in the same transaction where it keeps one.
* Run history (run ids sort by time), TTL 90 days.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
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
from mailport.adapters.dynamodb_accounts import CHECKED, epoch, iso, when
from mailport.adapters.keys import user_pk
from mailport.catalogue import say, stored, words_of
from mailport.domain.accounts import (
    FetchRun,
    FetchState,
    PopAccount,
    RunCounts,
    RunStatus,
    RunTrigger,
)
from mailport.domain.mailbox import Owner

RUN_TTL = dt.timedelta(days=90)


class DynamoRunLedger(DynamoTable):
    """``RunLedger`` on DynamoDB."""

    def begin_run(
        self, owner: Owner, account_id: str, run: FetchRun, lease_s: int, tick: str | None
    ) -> bool:
        """Take the lease (free, or expired: its worker died) for ``run``: an update of the
        account item, in one transaction with a manual run's record.
        """
        now = run.started_at
        condition = (
            "attribute_exists(PK) AND (lease_until < :now OR attribute_not_exists(lease_until))"
        )
        values: dict[str, Any] = {
            ":r": run.run_id,
            ":t": run.trigger.value,
            ":since": now.isoformat(),
            ":lease": epoch(now) + lease_s,
            ":now": epoch(now),
        }
        expression = "SET run_id = :r, run_trigger = :t, run_since = :since, lease_until = :lease"
        if tick:
            condition += " AND (attribute_not_exists(last_tick) OR last_tick <> :tick)"
            expression += ", last_tick = :tick"
            values[":tick"] = tick
        update = {
            **self._key(user_pk(owner), keys.account_sk(account_id)),
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
                self._transact(say("doing.fetch_start"), [{"Update": update}, {"Put": put}])
            else:
                self._call(say("doing.fetch_start"), "update_item", **update)
        except (ConditionFailed, Cancelled):
            return False
        return True

    def claim_run(self, owner: Owner, account_id: str, run_id: str) -> bool:
        """Mark a recorded run as picked up; False on a second delivery."""
        try:
            self._call(
                say("doing.fetch_pick_up"),
                "update_item",
                **self._key(user_pk(owner), keys.run_sk(account_id, run_id)),
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
        """Release the lease and save the state and the run's record together: one transaction
        over the account item and the run item (an unrecorded run: one update of the account).
        """
        values = {
            ":r": run.run_id,
            ":empty": "",
            ":zero": 0,
            ":failures": state.failures,
            ":last_status": state.last_status,
            ":code": state.last_error_code,
            ":error": state.last_error,
            ":error_words": stored(state.last_error_words),
            ":checked": iso(state.last_checked_at) or "",
            ":success": iso(state.last_success_at) or "",
            ":digest": state.server_digest,
        }
        # The reason is written only by the run that switches fetching off: a run that was
        # under way when the user or an admin switched it off must not erase their reason.
        expression = (
            "SET run_id = :empty, lease_until = :zero, last_run_id = :r, failures = :failures, "
            "last_status = :last_status, last_error_code = :code, last_error = :error, "
            "last_error_words = :error_words, "
            "last_checked_at = :checked, last_success_at = :success, server_digest = :digest"
        )
        if disable:
            # A new version: a settings change computed before this would otherwise switch
            # automatic fetching back on unnoticed.
            expression += (
                ", disabled_reason = :reason, disabled_words = :reason_words,"
                " paused_for = :paused, auto_fetch = :off,"
                " version = version + :one REMOVE GSI2PK, GSI2SK"
            )
            values.update(
                {
                    ":reason": state.disabled_reason,
                    ":reason_words": stored(state.disabled_words),
                    ":paused": state.paused_for,
                    ":off": False,
                    ":one": 1,
                }
            )
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    **self._key(user_pk(owner), keys.account_sk(account.account_id)),
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
                self._call(say("doing.fetch_save"), "update_item", **items[0]["Update"])
            return
        items.append(
            {"Put": {"TableName": self._table, "Item": to_ddb(self._run_item(owner, run))}}
        )
        try:
            self._transact(say("doing.fetch_save"), items)
        except Cancelled:
            # The lease was taken over (this worker outlived it) or the account was deleted:
            # the account's state belongs to someone else now; keep only the record.
            if record and self._account_exists(owner, account.account_id):
                self._transact(say("doing.fetch_save"), items[1:])

    def _account_exists(self, owner: Owner, account_id: str) -> bool:
        item = self._get(user_pk(owner), keys.account_sk(account_id), "reading the account")
        return item is not None

    def _run_item(self, owner: Owner, run: FetchRun) -> dict[str, Any]:
        c = run.counts
        return {
            "PK": user_pk(owner),
            "SK": keys.run_sk(run.account_id, run.run_id),
            "type": "pop_run",
            "trigger": run.trigger.value,
            "status": run.status.value,
            "started_at": run.started_at.isoformat(),
            "finished_at": iso(run.finished_at),
            "fetched": c.fetched,
            "already_present": c.already_present,
            "skipped_oversize": c.skipped_oversize,
            "rejected": c.rejected,
            "deleted": c.deleted,
            "error_code": run.error_code,
            "error": run.error,
            "error_words": stored(run.error_words),
            "more": run.more,
            "expires_at": epoch(run.started_at + RUN_TTL),
        }

    def fail_stale_run(self, owner: Owner, account_id: str, run_id: str, message: str) -> None:
        """Mark a run whose worker died as failed (only if it is still ``running``)."""
        with contextlib.suppress(ConditionFailed):  # not recorded, or finished after all
            self._call(
                say("doing.fetch_close"),
                "update_item",
                **self._key(user_pk(owner), keys.run_sk(account_id, run_id)),
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

    def record_checks(self, checks: Sequence[tuple[Owner, str, dt.datetime]]) -> None:
        """Idle polls' check times, one small item per account (``keys.checked_sk``), 25 to
        a batch write: a batch of ten idle polls is one request of 10 write units, where
        their lease and outcome updates were twenty updates of the larger account item.

        No condition (a batch write has none): an account deleted meanwhile may be left a
        check item, which its TTL removes.
        """
        if not checks:
            return
        latest: dict[tuple[str, str], tuple[Owner, str, dt.datetime]] = {}
        for owner, account_id, at in checks:  # one item per account in a batch write
            key = (user_pk(owner), account_id)
            if key not in latest or latest[key][2] < at:
                latest[key] = (owner, account_id, at)
        puts = [
            {
                "PutRequest": {
                    "Item": to_ddb(
                        {
                            "PK": user_pk(owner),
                            "SK": keys.checked_sk(account_id),
                            "type": CHECKED,
                            "account_id": account_id,
                            "checked_at": at.isoformat(),
                            "expires_at": epoch(at + RUN_TTL),
                        }
                    )
                }
            }
            for owner, account_id, at in latest.values()
        ]
        self._batch_write(say("doing.accounts_checked"), puts)

    def list_runs(self, owner: Owner, account_id: str, limit: int) -> list[FetchRun]:
        """Recorded runs, newest first."""
        page = self._call(
            say("doing.fetches_list"),
            "query",
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :sk)",
            ExpressionAttributeValues=to_ddb(
                {":pk": user_pk(owner), ":sk": keys.runs_prefix(account_id)}
            ),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [self._run(account_id, from_ddb(i)) for i in page.get("Items", [])]

    @staticmethod
    def _run(account_id: str, item: dict[str, Any]) -> FetchRun:
        return FetchRun(
            run_id=keys.run_id_of(str(item["SK"])),
            account_id=account_id,
            trigger=RunTrigger(str(item["trigger"])),
            status=RunStatus(str(item["status"])),
            started_at=dt.datetime.fromisoformat(str(item["started_at"])),
            finished_at=when(item.get("finished_at")),
            counts=RunCounts(
                fetched=as_int(item.get("fetched")),
                already_present=as_int(item.get("already_present")),
                skipped_oversize=as_int(item.get("skipped_oversize")),
                rejected=as_int(item.get("rejected")),
                deleted=as_int(item.get("deleted")),
            ),
            error_code=str(item.get("error_code") or ""),
            error=str(item.get("error") or ""),
            error_words=words_of(item.get("error_words")),
            more=bool(item.get("more")),
        )
