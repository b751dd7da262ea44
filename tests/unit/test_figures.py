"""The one metrics pattern: figures buffered from any thread, emitted by the handler."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from aws_lambda_powertools.metrics import EphemeralMetrics

from mailport.figures import Drainable, Figures, emit


def test_figures_from_many_threads_are_all_emitted_in_order(
    capsys: pytest.CaptureFixture[str],
) -> None:
    figures = Figures()
    start = threading.Barrier(8, timeout=10)

    def add() -> None:
        start.wait()  # every thread adds its first value of the same name at once
        for _ in range(10):  # 80 in all: one EMF document holds 100 values
            figures.add("FetchRequests")

    threads = [threading.Thread(target=add) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    figures.add("BytesImported", 1200, "Bytes")
    metrics = EphemeralMetrics(namespace="Mailport")
    emit(metrics, figures)  # and printed: handlers have no log_metrics
    assert figures.drain() == []  # moved, not copied: a warm invocation starts empty
    [blob] = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"_aws"' in x]
    assert sum(blob["FetchRequests"]) == 80  # none lost to a race
    units = {m["Name"]: m["Unit"] for m in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert units == {"FetchRequests": "Count", "BytesImported": "Bytes"}


def test_emit_drains_every_source_given() -> None:
    class Runner:  # a use-case's metrics adapter: anything with drain()
        def drain(self) -> list[tuple[str, str, float]]:
            return [("ChunkDuration", "Seconds", 1.5)]

    added: list[dict[str, Any]] = []

    flushed: list[int] = []

    class Sink:
        def add_metric(self, name: str, unit: str, value: float) -> None:
            added.append({"name": name, "unit": unit, "value": value})

        def flush_metrics(self, raise_on_empty_metrics: bool = False) -> None:
            flushed.append(len(added))

    own = Figures()
    own.add("MigrationSteps")
    sources: list[Drainable] = [own, Runner()]
    emit(Sink(), *sources)
    assert added == [
        {"name": "MigrationSteps", "unit": "Count", "value": 1},
        {"name": "ChunkDuration", "unit": "Seconds", "value": 1.5},
    ]
    assert flushed == [2]  # printed once, with both


def test_nothing_to_count_prints_nothing_and_warns_nothing(
    capsys: pytest.CaptureFixture[str], recwarn: pytest.WarningsRecorder
) -> None:
    """An invocation with nothing to count (S3's test event) prints no EMF document, and
    Powertools' "No application metrics to publish" warning has no cause to be given.
    """
    emit(EphemeralMetrics(namespace="Mailport"), Figures())
    assert '"_aws"' not in capsys.readouterr().out
    assert not [w for w in recwarn if "No application metrics" in str(w.message)]
