"""One way for every handler to emit metrics.

Figures are put in a ``Figures`` buffer, from any thread: by a use-case through its port
(the migration runner's ``MigrationMetrics``) or by the handler from the result it got.
At the end of the invocation, on the handler's thread, ``emit`` moves them into the
handler's own Powertools ``EphemeralMetrics``, which ``log_metrics`` then prints as EMF.

Why not ``add_metric`` where a figure is known: Powertools' metric set is a plain dict, so
two threads of one batch adding the first values of one name at once would lose one; and
use-cases stay free of Powertools. Why ``EphemeralMetrics``: ``Metrics`` instances share one
buffer and one set of default dimensions per process, and the local stack runs every
function in one process, so the POP worker's ``path=pop`` and the migration worker's
``path=imap`` would overwrite each other.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

Figure = tuple[str, str, float]  # name, unit (a CloudWatch unit: Count, Bytes, Seconds), value


class Drainable(Protocol):
    """A buffer of figures (``Figures``, or a use-case's metrics adapter)."""

    def drain(self) -> list[Figure]:
        """Everything recorded since the last drain."""
        ...


class MetricsSink(Protocol):
    """The part of Powertools' ``EphemeralMetrics`` that ``emit`` uses."""

    def add_metric(self, name: str, unit: str, value: float) -> Any:
        """Add one value of a metric to the invocation's EMF document."""
        ...

    def flush_metrics(self, raise_on_empty_metrics: bool = False) -> None:
        """Print the EMF document of what was added, and start a new one."""
        ...


class Figures:
    """Figures kept until the handler emits them; safe to add to from any thread."""

    def __init__(self) -> None:
        self._figures: list[Figure] = []
        self._lock = threading.Lock()

    def add(self, name: str, value: float = 1, unit: str = "Count") -> None:
        """Record one value of a metric."""
        with self._lock:
            self._figures.append((name, unit, value))

    def drain(self) -> list[Figure]:
        """Everything recorded since the last drain."""
        with self._lock:
            figures, self._figures = self._figures, []
        return figures


def emit(metrics: MetricsSink, *sources: Drainable) -> None:
    """Move every figure of ``sources`` into the handler's metrics, in the order recorded,
    and print them, if there were any.

    Handlers call this instead of Powertools' ``log_metrics``: an invocation that did nothing
    to count (S3's ``s3:TestEvent`` when a notification is set up, a batch of duplicates)
    prints nothing, where ``log_metrics`` flushes anyway and warns "No application metrics
    to publish".
    """
    added = 0
    for source in sources:
        for name, unit, value in source.drain():
            metrics.add_metric(name=name, unit=unit, value=value)
            added += 1
    if added:
        metrics.flush_metrics()
