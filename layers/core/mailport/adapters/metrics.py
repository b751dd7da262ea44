"""CloudWatch metrics in the embedded metric format (Powertools), dimensioned by import path.

Powertools' ``Metrics`` instances share one buffer per process, so what this adapter adds is
flushed by the handler's ``@metrics.log_metrics``.
"""

from __future__ import annotations

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from mailport.domain.migration import Counts, JobState

_ENDINGS = {
    JobState.COMPLETED: "MigrationsCompleted",
    JobState.ROLLED_BACK: "Rollbacks",
    JobState.REVERTED: "Reverts",
    JobState.FAILED: "RollbacksIncomplete",
}


class EmfMigrationMetrics:
    """``MigrationMetrics`` as EMF (path=imap)."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        self._metrics = metrics or Metrics()

    def chunk(self, counts: Counts, seconds: float) -> None:
        """A chunk's messages, bytes, skips and duration."""
        add = self._metrics.add_metric
        add(name="MessagesImported", unit=MetricUnit.Count, value=counts.imported)
        add(name="BytesImported", unit=MetricUnit.Bytes, value=counts.bytes)
        add(name="MessagesAlreadyPresent", unit=MetricUnit.Count, value=counts.already_present)
        add(name="MessagesSkippedOversize", unit=MetricUnit.Count, value=counts.skipped_oversize)
        add(name="MessagesFailed", unit=MetricUnit.Count, value=counts.failed)
        add(name="ChunkDuration", unit=MetricUnit.Seconds, value=round(seconds, 3))

    def ended(self, state: JobState, seconds: float | None) -> None:
        """How a job ended, and (when it completed) how long it took."""
        name = _ENDINGS.get(state)
        if name:
            self._metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
        if state is JobState.COMPLETED and seconds is not None:
            self._metrics.add_metric(
                name="MigrationDuration", unit=MetricUnit.Seconds, value=round(seconds, 1)
            )
