"""Group commit for the message index: stores running at the same time in one container (the
POP runs of a fetch batch, a migration step's store pool) share their index writes.

Each store still waits for its own answer, so callers see exactly what a write of their own
would have told them. The first store to arrive gathers for at most ``linger_s`` (or until
the group is full), then writes the group; stores arriving meanwhile wait for the next group,
which is written when this one is done (one write at a time: while a group's three requests
are under way the next one fills, instead of many small groups going out side by side).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mailport.domain.mailbox import InsertOutcome, Owner, StoredMessage
from mailport.errors import TransientError
from mailport.ports import MessageIndex

__all__ = ["GroupIndexer"]


@dataclass(slots=True, eq=False)
class _Slot:
    owner: Owner
    message: StoredMessage
    answer: tuple[InsertOutcome, str] | BaseException | None = field(default=None)


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
        self._cond = threading.Condition()
        self._pending: list[_Slot] = []
        self._gathering = False
        self._writing = False

    def insert(self, owner: Owner, message: StoredMessage) -> tuple[InsertOutcome, str]:
        """The message's outcome and the id now indexed; ``NotFound`` if its folder is gone."""
        slot = _Slot(owner, message)
        with self._cond:
            self._pending.append(slot)
            self._cond.notify_all()
            while slot.answer is None:
                if self._gathering or self._writing or not self._pending:
                    # Another thread is gathering, or writing (this slot, or the group before
                    # it: one write at a time, so the next group fills up meanwhile).
                    self._cond.wait()
                    continue
                group = self._gather()
                self._writing = True
                self._cond.release()
                try:
                    answers = self._write(group)
                finally:
                    self._cond.acquire()
                    self._writing = False
                for member, answer in zip(group, answers, strict=True):
                    member.answer = answer
                self._cond.notify_all()
        if isinstance(slot.answer, BaseException):
            raise slot.answer
        return slot.answer

    def _gather(self) -> list[_Slot]:
        """Wait (holding the turn) until the group is full or the linger is over."""
        self._gathering = True
        deadline = self._monotonic() + self._linger_s
        while len(self._pending) < self._max:
            left = deadline - self._monotonic()
            if left <= 0:
                break
            self._cond.wait(left)
        group, self._pending = self._pending[: self._max], self._pending[self._max :]
        self._gathering = False
        self._cond.notify_all()  # whoever is left over picks the next turn
        return group

    def _write(self, group: list[_Slot]) -> list[tuple[InsertOutcome, str] | BaseException]:
        """The group's answers; an error of the whole write is every member's answer."""
        entries = [(s.owner, s.message) for s in group]
        for attempt in range(self._attempts):
            try:
                answers = self._index.insert_messages(entries)
            except TransientError as e:
                # Another writer touched one of the folders' counters at the same time.
                if attempt + 1 == self._attempts:
                    return [e] * len(group)
                self._sleep(0.05 * 2**attempt)
            except Exception as e:
                return [e] * len(group)
            else:
                return list(answers)
        return [TransientError("storing the messages: try again")] * len(group)
