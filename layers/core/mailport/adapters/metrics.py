"""Migration figures for CloudWatch (EMF), buffered for the handler to emit.

Why a buffer and not Powertools' ``Metrics`` here: ``Metrics`` instances share one buffer and
one set of default dimensions per process, and the local stack runs every function in one
process, so the POP worker's ``path=pop`` and the migration worker's ``path=imap`` would
overwrite each other. Each handler owns an ``EphemeralMetrics`` instead and drains this.
"""

from __future__ import annotations

import threading

from mailport.domain.migration import Counts, JobState

Figure = tuple[str, str, float]  # name, unit (MetricUnit value), value

_ENDINGS = {
    JobState.COMPLETED: "MigrationsCompleted",
    JobState.ROLLED_BACK: "Rollbacks",
    JobState.REVERTED: "Reverts",
    JobState.FAILED: "RollbacksIncomplete",
}


class MetricsBuffer:
    """``MigrationMetrics`` kept until the handler drains them into its EMF output."""

    def __init__(self) -> None:
        self._figures: list[Figure] = []
        self._lock = threading.Lock()

    def _add(self, *figures: Figure) -> None:
        with self._lock:
            self._figures.extend(figures)

    def chunk(self, counts: Counts, seconds: float) -> None:
        """A chunk's messages, bytes, skips and duration."""
        self._add(
            ("MessagesImported", "Count", counts.imported),
            ("BytesImported", "Bytes", counts.bytes),
            ("MessagesAlreadyPresent", "Count", counts.already_present),
            ("MessagesSkippedOversize", "Count", counts.skipped_oversize),
            ("MessagesFailed", "Count", counts.failed),
            ("ChunkDuration", "Seconds", round(seconds, 3)),
        )

    def ended(self, state: JobState, seconds: float | None) -> None:
        """How a job ended, and (when it completed) how long it took."""
        name = _ENDINGS.get(state)
        if name:
            self._add((name, "Count", 1))
        if state is JobState.COMPLETED and seconds is not None:
            self._add(("MigrationDuration", "Seconds", round(seconds, 1)))

    def drain(self) -> list[Figure]:
        """Everything recorded since the last drain."""
        with self._lock:
            figures, self._figures = self._figures, []
        return figures
