"""Group commit for the message index: stores running at the same time in one container (the
POP runs of a fetch batch, a migration step's store pool) share their index writes.

Each store still waits for its own answer, so callers see exactly what a write of their own
would have told them. One store at a time leads: it gathers for at most ``linger_s`` (or
until the group is full) and writes the group, and again until its own store is answered,
then hands the lead to the oldest store still waiting. One write at a time, so while a
group's three requests are under way the next one fills, instead of many small groups going
out side by side. The others sleep on an event of their own until answered or handed the
lead (hundreds of waiters woken at every step cost more CPU than the writes they wait for).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from mailport.domain.mailbox import InsertOutcome, Owner, StoredMessage
from mailport.errors import TransientError
from mailport.ports import MessageIndex

__all__ = ["GroupIndexer"]


@dataclass(slots=True, eq=False)
class _Slot:
    owner: Owner
    message: StoredMessage
    answer: tuple[InsertOutcome, str] | BaseException | None = None
    woken: threading.Event = field(default_factory=threading.Event)


class GroupIndexer:
    """``insert(owner, message)``, answered from a group write shared with other threads."""

    def __init__(
        self,
        index: MessageIndex,
        *,
        max_group: int = 50,
        linger_s: float = 0.005,
        attempts: int = 3,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._index = index
        self._max = max_group
        self._linger_s = linger_s
        self._attempts = attempts
        self._monotonic = monotonic
        self._sleep = sleep
        self._lock = threading.Lock()
        self._full = threading.Condition(self._lock)  # the leader's: the group is full
        self._pending: list[_Slot] = []
        self._leading = False

    def insert(self, owner: Owner, message: StoredMessage) -> tuple[InsertOutcome, str]:
        """The message's outcome and the id now indexed; ``NotFound`` if its folder is gone."""
        slot = _Slot(owner, message)
        with self._lock:
            self._pending.append(slot)
            leads = not self._leading
            if leads:
                self._leading = True
            elif len(self._pending) >= self._max:
                self._full.notify()
        if not leads:
            slot.woken.wait()
        if slot.answer is None:  # leading from the start, or handed the lead
            self._lead(slot)
        if isinstance(slot.answer, BaseException):
            raise slot.answer
        assert slot.answer is not None
        return slot.answer

    def insert_all(
        self, entries: Sequence[tuple[Owner, StoredMessage]]
    ) -> list[tuple[InsertOutcome, str] | BaseException]:
        """Index ``entries`` now, in groups of at most ``max_group``, beside any group a
        leader is writing (each write's conditions keep them apart): for a caller that holds a
        whole batch, no linger and no lead. One answer per entry, in order, as ``insert``
        would give it (``NotFound`` where its folder is gone, a group's error its members').
        """
        answers: list[tuple[InsertOutcome, str] | BaseException] = []
        for start in range(0, len(entries), self._max):
            answers += self._write_entries(list(entries[start : start + self._max]))
        return answers

    def _lead(self, own: _Slot) -> None:
        """Write groups until ``own`` is answered, then hand the lead on."""
        while own.answer is None:
            with self._lock:
                group = self._gather()
            for member, answer in zip(group, self._write(group), strict=True):
                member.answer = answer
                if member is not own:
                    member.woken.set()
        with self._lock:
            if self._pending:
                self._pending[0].woken.set()  # the lead passes on: ``_leading`` stays set
            else:
                self._leading = False

    def _gather(self) -> list[_Slot]:
        """Wait (holding the lead) until the group is full or the linger is over."""
        deadline = self._monotonic() + self._linger_s
        while len(self._pending) < self._max:
            left = deadline - self._monotonic()
            if left <= 0:
                break
            self._full.wait(left)
        group, self._pending = self._pending[: self._max], self._pending[self._max :]
        return group

    def _write(self, group: list[_Slot]) -> list[tuple[InsertOutcome, str] | BaseException]:
        """The group's answers; an error of the whole write is every member's answer."""
        return self._write_entries([(s.owner, s.message) for s in group])

    def _write_entries(
        self, entries: list[tuple[Owner, StoredMessage]]
    ) -> list[tuple[InsertOutcome, str] | BaseException]:
        attempt = 0
        while True:
            try:
                return list(self._index.insert_messages(entries))
            except TransientError as e:
                # Another writer touched one of the folders' counters at the same time.
                attempt += 1
                if attempt == self._attempts:
                    return [e] * len(entries)
                self._sleep(0.05 * 2 ** (attempt - 1))
            except Exception as e:
                return [e] * len(entries)
