"""The byte budget: stores in flight hold at most so many bytes, across every run at once."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from mailport.domain.accounts import FetchRequest, RunTrigger
from mailport.domain.mailbox import InsertOutcome
from mailport.usecases.budget import ByteBudget
from mailport.usecases.importing import ImportRequest, ImportResult
from mailport.usecases.pop_fetch import FetchConfig, PopFetcher
from tests.unit.test_pop_fetcher import (
    FakeImporter,
    MemoryAccounts,
    Queue,
    Secrets,
    Server,
    World,
    account,
    mail,
)


def test_take_waits_until_the_bytes_fit() -> None:
    budget = ByteBudget(100)
    budget.take(60)
    taken = threading.Event()

    def second() -> None:
        budget.take(60)
        taken.set()

    waiter = threading.Thread(target=second)
    waiter.start()
    assert not taken.wait(0.2)  # 120 > 100
    budget.give(60)
    assert taken.wait(5)
    waiter.join()
    assert budget.held == 60


def test_more_than_the_budget_goes_alone() -> None:
    budget = ByteBudget(10)
    with budget.holding(50):  # nothing else held: let through, or it would wait forever
        assert budget.held == 50
    assert budget.held == 0


def test_holding_gives_back_on_error() -> None:
    budget = ByteBudget(10)
    with pytest.raises(RuntimeError), budget.holding(5):
        raise RuntimeError("store failed")
    assert budget.held == 0


def test_a_budget_is_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        ByteBudget(0)


@dataclass
class Gauge:
    """Bytes inside ``store`` at once, over every importer that shares it."""

    now: int = 0
    most: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def enter(self, size: int) -> None:
        with self.lock:
            self.now += size
            self.most = max(self.most, self.now)

    def leave(self, size: int) -> None:
        with self.lock:
            self.now -= size


@dataclass
class SlowImporter(FakeImporter):
    gauge: Gauge = field(default_factory=Gauge)

    def store(self, request: ImportRequest, rules: object = None) -> ImportResult:
        self.gauge.enter(len(request.raw))
        try:
            time.sleep(0.02)  # long enough for the other run's stores to overlap
            return ImportResult(InsertOutcome.STORED, request.message_id, request.folder_id)
        finally:
            self.gauge.leave(len(request.raw))


def test_runs_side_by_side_share_one_budget() -> None:
    size = len(mail(10))  # mail 10-21: the same length
    budget = ByteBudget(3 * size)
    gauge = Gauge()
    worlds = [
        World(
            MemoryAccounts(account()),
            Server({f"u{i}": mail(10 + i) for i in range(12)}),
            SlowImporter(gauge=gauge),
            Queue(),
            [0.0],
        )
        for _ in range(2)
    ]
    # As the container wires it: one budget for every run the worker makes at once.
    fetchers = [
        PopFetcher(
            w.accounts,
            w.server,
            runs=w.accounts,
            receipts=w.accounts,
            secrets=Secrets(),
            importer=w.importer,  # type: ignore[arg-type]
            queue=w.queue,
            config=FetchConfig(store_concurrency=4),
            budget=budget,
        )
        for w in worlds
    ]
    request = FetchRequest("t", "u", "a1", RunTrigger.SCHEDULE, tick="t1")
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda f: f.handle(request), fetchers))
    assert [r.counts.fetched if r else None for r in runs] == [12, 12]
    assert gauge.most <= 3 * size  # both runs' stores together
    assert gauge.most > size  # and they did overlap
    assert budget.held == 0
