"""In-memory fakes of the ports, for unit tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from botocore.exceptions import ClientError

from mailport.adapters.dynamo_table import from_ddb
from mailport.domain.identity import Tenant, User
from mailport.domain.mailbox import Folder, Owner, StoredMessage
from mailport.domain.search import SearchQuery, gather, sort_date


class MemoryDirectory:
    """``Directory`` in a dict."""

    def __init__(self) -> None:
        self.tenants: dict[str, Tenant] = {}
        self.users: dict[tuple[str, str], User] = {}

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        return self.tenants.get(tenant_id)

    def put_tenant(self, tenant: Tenant) -> None:
        self.tenants[tenant.tenant_id] = tenant

    def get_user(self, tenant_id: str, user_id: str) -> User | None:
        return self.users.get((tenant_id, user_id))

    def put_user(self, user: User) -> None:
        self.users[(user.tenant_id, user.user_id)] = user

    def set_language(self, user: User, language: str) -> None:
        known = self.users.get((user.tenant_id, user.user_id), user)
        self.put_user(replace(known, language=language))


@dataclass
class RecordingClient:
    """A DynamoDB client that records every call, for checking which requests an adapter makes.

    A transaction is cancelled on the condition of item ``cancel_item`` (``cancels`` times, or
    every time when None); ``answers`` are the replies of queries and reads, in order (an empty
    page once they run out).
    """

    cancel_item: int | None = None
    cancels: int | None = None
    answers: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __getattr__(self, method: str) -> Any:
        def call(**kwargs: Any) -> dict[str, Any]:
            self.calls.append((method, kwargs))
            if method == "transact_write_items" and self._cancel_now():
                reasons = [{"Code": "None"} for _ in kwargs["TransactItems"]]
                reasons[self.cancel_item or 0] = {"Code": "ConditionalCheckFailed"}
                answer: Any = {
                    "Error": {"Code": "TransactionCanceledException"},
                    "CancellationReasons": reasons,
                }
                raise ClientError(answer, method)
            if method in ("query", "get_item"):
                return self.answers.pop(0) if self.answers else {"Items": []}
            return {}

        return call

    def _cancel_now(self) -> bool:
        if self.cancel_item is None or self.cancels == 0:
            return False
        if self.cancels is not None:
            self.cancels -= 1
        return True


def written(kwargs: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(action, PK, SK) of each item of a transaction."""
    out = []
    for entry in kwargs["TransactItems"]:
        ((action, body),) = entry.items()
        item = from_ddb(body.get("Key") or body["Item"])
        out.append((action, str(item["PK"]), str(item["SK"])))
    return out


class MemoryMailbox:
    """The parts of ``Mailbox`` a search needs, in lists: folders, and each folder's
    messages (kept newest first).
    """

    def __init__(self) -> None:
        self.folders: dict[tuple[str, str], dict[str, Folder]] = {}
        self.messages: dict[tuple[str, str], list[StoredMessage]] = {}

    def list_folders(self, owner: Owner) -> list[Folder]:
        return list(self.folders.get((owner.tenant_id, owner.user_id), {}).values())

    def get_folder(self, owner: Owner, folder_id: str) -> Folder | None:
        return self.folders.get((owner.tenant_id, owner.user_id), {}).get(folder_id)

    def create_folder(self, owner: Owner, folder: Folder) -> None:
        self.folders.setdefault((owner.tenant_id, owner.user_id), {})[folder.folder_id] = folder

    def add(self, owner: Owner, message: StoredMessage) -> None:
        mine = self.messages.setdefault((owner.tenant_id, owner.user_id), [])
        mine.append(message)
        mine.sort(key=lambda m: (sort_date(m), m.message_id), reverse=True)

    def search_messages(
        self,
        owner: Owner,
        folder_ids: Sequence[str],
        query: SearchQuery,
        limit: int,
        cursor: str | None,
        *,
        all_folders: bool = False,
    ) -> tuple[list[StoredMessage], str | None]:
        """As the DynamoDB adapter: folder after folder, a position (folder, offset)."""
        mine = self.messages.get((owner.tenant_id, owner.user_id), [])
        listed = [[m for m in mine if m.folder_id == f] for f in folder_ids]

        def read(at: tuple[int, int], size: int) -> Any:
            folder, offset = at
            page = listed[folder][offset : offset + size]
            entries = [(m, (folder, offset + n + 1)) for n, m in enumerate(page)]
            if offset + size < len(listed[folder]):
                return entries, (folder, offset + size)
            return entries, (folder + 1, 0) if folder + 1 < len(listed) else None

        if not folder_ids:
            return [], None
        start = tuple(int(x) for x in cursor.split(":")) if cursor else (0, 0)
        found, after = gather(read, start, query, limit)
        return found, f"{after[0]}:{after[1]}" if after else None
