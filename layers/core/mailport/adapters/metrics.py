"""Migration figures for CloudWatch (EMF), buffered for the handler to emit
(``mailport.figures`` says why a buffer).
"""

from __future__ import annotations

from mailport.domain.migration import Counts, JobState
from mailport.figures import Figures

_ENDINGS = {
    JobState.COMPLETED: "MigrationsCompleted",
    JobState.ROLLED_BACK: "Rollbacks",
    JobState.REVERTED: "Reverts",
    JobState.FAILED: "RollbacksIncomplete",
}


class MetricsBuffer(Figures):
    """``MigrationMetrics`` kept until the handler emits them into its EMF output."""

    def chunk(self, counts: Counts, seconds: float) -> None:
        """A chunk's messages, bytes, skips and duration."""
        self.add("MessagesImported", counts.imported)
        self.add("BytesImported", counts.bytes, "Bytes")
        self.add("MessagesAlreadyPresent", counts.already_present)
        self.add("MessagesSkippedOversize", counts.skipped_oversize)
        self.add("MessagesFailed", counts.failed)
        self.add("ChunkDuration", round(seconds, 3), "Seconds")

    def ended(self, state: JobState, seconds: float | None) -> None:
        """How a job ended, and (when it completed) how long it took."""
        name = _ENDINGS.get(state)
        if name:
            self.add(name)
        if state is JobState.COMPLETED and seconds is not None:
            self.add("MigrationDuration", round(seconds, 1), "Seconds")
