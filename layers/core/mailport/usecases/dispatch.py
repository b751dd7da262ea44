"""The 10-minute POP schedule: queue every account due, spread over the window."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from mailport.domain.accounts import SCHEDULE_WINDOW_S, FetchRequest, RunTrigger
from mailport.ports import FetchQueue, Schedule

MINUTES = SCHEDULE_WINDOW_S // 60
SEND_CHUNK = 500  # requests handed to the queue at a time (it batches them by 10)


@dataclass(frozen=True, slots=True)
class Dispatched:
    """What one tick queued, per minute of the window."""

    tick: str
    per_minute: tuple[int, ...]

    @property
    def queued(self) -> int:
        """Requests queued in all."""
        return sum(self.per_minute)


class Dispatcher:
    """Reads the sparse schedule index one minute-partition at a time (never a scan) and
    queues each account with a delay equal to its slot, so 100,000 accounts arrive spread
    evenly over the 10 minutes rather than in the same second.
    """

    def __init__(
        self,
        schedule: Schedule,
        queue: FetchQueue,
        *,
        window_s: int = SCHEDULE_WINDOW_S,
        parallelism: int = MINUTES,
    ) -> None:
        self._schedule = schedule
        self._queue = queue
        self._parallelism = max(1, min(MINUTES, parallelism))
        # The local stack may run the schedule more often; delays shrink in proportion.
        self._scale = window_s / SCHEDULE_WINDOW_S

    def dispatch(self, tick: str) -> Dispatched:
        """Queue every due account for ``tick`` (a repeated tick is dropped by the workers)."""
        with ThreadPoolExecutor(max_workers=self._parallelism) as pool:
            counts = tuple(pool.map(lambda m: self._minute(m, tick), range(MINUTES)))
        return Dispatched(tick, counts)

    def _minute(self, minute: int, tick: str) -> int:
        pending: list[FetchRequest] = []
        sent = 0
        for owner, account_id, second in self._schedule.due(minute):
            pending.append(
                FetchRequest(
                    owner.tenant_id,
                    owner.user_id,
                    account_id,
                    RunTrigger.SCHEDULE,
                    tick=tick,
                    delay_s=int(second * self._scale),
                )
            )
            if len(pending) >= SEND_CHUNK:
                self._queue.send(pending)
                sent += len(pending)
                pending = []
        if pending:
            self._queue.send(pending)
            sent += len(pending)
        return sent
