"""Many messages indexed in a few requests (``MessageIndex`` on DynamoDB).

A message on its own costs a transaction of three items (the message, its fingerprint item,
the folder's counters) at 2 WRU per KB each. Here a group of messages costs:

1. one strongly consistent BatchGetItem of their keys (a retried run's messages are there);
2. one transaction of their fingerprint items (conditional: the same content lands once per
   folder, whoever else is storing it) and one counter update per folder;
3. BatchWriteItem of the message items themselves (1 WRU per KB, no condition needed: the
   fingerprint item, written first, already decided that this message is new).

A crash between 2 and 3 leaves a fingerprint item naming a message that is not there, with
the folder already counting it. Whoever stores that message again (the next POP run, the
retried migration step) finds the fingerprint item with its own message id and writes the
missing message item (a conditional put: once, and as it was counted) without counting it
again. Until then the folder counts one message that its listing does not show; nothing is
lost or duplicated.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from mailport.adapters import keys
from mailport.adapters.dynamo_table import Cancelled, from_ddb, to_ddb
from mailport.adapters.dynamodb_mailbox import DynamoMailbox, fingerprint_item
from mailport.adapters.keys import user_pk
from mailport.catalogue import say
from mailport.domain.mailbox import InsertOutcome, Owner, StoredMessage
from mailport.errors import NotFound, TransientError

__all__ = ["MAX_GROUP", "DynamoMessageIndex"]

# A transaction holds at most 100 items: a fingerprint item per message plus at most one
# counter per message's folder.
MAX_GROUP = 50

Answer = tuple[InsertOutcome, str] | NotFound
Key = tuple[str, str]


class DynamoMessageIndex(DynamoMailbox):
    """Indexes groups of messages (``insert_messages``) beside the one-message path."""

    def insert_messages(self, entries: Sequence[tuple[Owner, StoredMessage]]) -> list[Answer]:
        """One answer per entry, in order (see the module's docstring for the requests)."""
        answers: dict[int, Answer] = {}
        twins: dict[int, tuple[int, bool]] = {}  # n → (first with its key, same message id)
        present = self._present([self._message_key(o, m) for o, m in entries])
        firsts: dict[Key, int] = {}
        todo: list[int] = []
        for n, (owner, message) in enumerate(entries):
            key = self._message_key(owner, message)
            fp_key = self._fp_key(owner, message)
            if key in present:
                answers[n] = (InsertOutcome.ALREADY_STORED, message.message_id)
            elif key in firsts:
                twins[n] = (firsts[key], True)
            elif fp_key in firsts:
                twins[n] = (firsts[fp_key], False)
            else:
                firsts[key] = firsts[fp_key] = n
                todo.append(n)
        writes: list[tuple[Owner, StoredMessage]] = []
        for start in range(0, len(todo), MAX_GROUP):
            writes += self._claim(entries, todo[start : start + MAX_GROUP], answers)
        if writes:
            self._batch_write(
                say("uploads.doing_store"),
                [{"PutRequest": {"Item": to_ddb(self._message_item(o, m))}} for o, m in writes],
            )
        for n, (first, same_id) in sorted(twins.items()):
            answers[n] = self._twin(answers[first], same_id)
        return [answers[n] for n in range(len(entries))]

    def _claim(
        self,
        entries: Sequence[tuple[Owner, StoredMessage]],
        group: list[int],
        answers: dict[int, Answer],
    ) -> list[tuple[Owner, StoredMessage]]:
        """Write the group's fingerprint items and counters in one transaction; answer each
        entry, and return the message items to write.
        """
        writes: list[tuple[Owner, StoredMessage]] = []
        for _ in range(2 * MAX_GROUP):  # each failed round answers at least one entry
            if not group:
                return writes
            folders = self._folders(entries[n] for n in group)
            items = [self._fingerprint_put(*entries[n]) for n in group]
            items += [self._counter(pk, fid, *sums) for (pk, fid), sums in folders.items()]
            try:
                self._transact(say("uploads.doing_store"), items)
            except Cancelled as e:
                group = self._settle(entries, group, list(folders), e, answers)
                continue
            for n in group:
                answers[n] = (InsertOutcome.STORED, entries[n][1].message_id)
                writes.append(entries[n])
            return writes
        raise TransientError(say("site.mailbox_busy", what=say("uploads.doing_store")))

    def _settle(
        self,
        entries: Sequence[tuple[Owner, StoredMessage]],
        group: list[int],
        folders: list[Key],
        e: Cancelled,
        answers: dict[int, Answer],
    ) -> list[int]:
        """Answer the entries whose conditions failed; the rest are tried again."""
        missing = {f for j, f in enumerate(folders) if e.failed(len(group) + j)}
        taken = [n for i, n in enumerate(group) if e.failed(i)]
        if not missing and not taken:
            raise e  # not a condition of ours: let it surface
        for n in group:
            owner, message = entries[n]
            if (user_pk(owner), message.folder_id) in missing:
                answers[n] = NotFound(say("uploads.folder_gone"))
        owners = {self._fp_key(*entries[n]): n for n in taken if n not in answers}
        holders = self._batch_get_keyed(
            say("uploads.doing_read_duplicates"),
            owners,
            "PK, SK, message_id, seen",
            consistent=True,
        )
        for fp_key, n in owners.items():
            owner, message = entries[n]
            holder = holders.get(fp_key, {})
            holder_id = str(holder.get("message_id", {}).get("S", ""))
            if holder_id == message.message_id:
                # A crash after an earlier claim, before its message item (or a group of the
                # same message still under way): written once, conditionally.
                answers[n] = self._written_late(owner, message, from_ddb(holder))
            elif holder_id:
                answers[n] = (InsertOutcome.DUPLICATE, holder_id)
            # else: deleted since the transaction failed; tried again below
        return [n for n in group if n not in answers]

    @staticmethod
    def _twin(first: Answer, same_id: bool) -> Answer:
        """The answer for a second entry with the first's message id or content."""
        if isinstance(first, NotFound):
            return first
        outcome, message_id = first
        if same_id and outcome is not InsertOutcome.DUPLICATE:
            return InsertOutcome.ALREADY_STORED, message_id
        return InsertOutcome.DUPLICATE, message_id

    def _present(self, wanted: list[Key]) -> set[Key]:
        return set(
            self._batch_get_keyed(say("uploads.doing_read"), wanted, "PK, SK", consistent=True)
        )

    @staticmethod
    def _folders(group: Iterable[tuple[Owner, StoredMessage]]) -> dict[Key, tuple[int, int, int]]:
        """Per (user, folder): the counters' total, unread and size increments."""
        sums: dict[Key, tuple[int, int, int]] = {}
        for owner, m in group:
            total, unread, size = sums.get((user_pk(owner), m.folder_id), (0, 0, 0))
            sums[(user_pk(owner), m.folder_id)] = (
                total + 1,
                unread + (0 if m.flags.seen else 1),
                size + m.summary.size,
            )
        return sums

    def _fingerprint_put(self, owner: Owner, message: StoredMessage) -> dict[str, Any]:
        pk, sk = self._fp_key(owner, message)
        return {
            "Put": {
                "TableName": self._table,
                "Item": to_ddb(fingerprint_item(pk, sk, message)),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }

    @staticmethod
    def _message_key(owner: Owner, message: StoredMessage) -> Key:
        return user_pk(owner), keys.message_sk(message.message_id)

    @staticmethod
    def _fp_key(owner: Owner, message: StoredMessage) -> Key:
        return user_pk(owner), keys.fingerprint_sk(message.folder_id, message.fingerprint)
