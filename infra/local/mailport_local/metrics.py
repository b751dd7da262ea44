"""What the functions report to CloudWatch, kept by the local stack so the same figures can
be seen without AWS (``GET /v1/local/metrics``).

Powertools writes each flush as one EMF document to stdout; CloudWatch would turn it into
metrics. Locally, every document a function serializes is also folded into running totals
per metric and dimension set (sum, count, min, max), the way CloudWatch's statistics would
see them.
"""

from __future__ import annotations

import contextvars
import json
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
    AmazonCloudWatchEMFProvider,
)


@dataclass
class _Stat:
    sum: float = 0.0
    count: int = 0
    minimum: float = float("inf")
    maximum: float = float("-inf")

    def add(self, value: float) -> None:
        self.sum += value
        self.count += 1
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)


@dataclass
class MetricsRecorder:
    """Running totals of every EMF document serialized in this process."""

    _stats: dict[tuple[str, str, tuple[tuple[str, str], ...]], _Stat] = field(default_factory=dict)
    _units: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, document: Mapping[str, Any]) -> None:
        """Fold one EMF document in."""
        aws = document.get("_aws") or {}
        for directive in aws.get("CloudWatchMetrics", []):
            namespace = str(directive.get("Namespace", ""))
            names = {d for group in directive.get("Dimensions", []) for d in group}
            dims = tuple(sorted((d, str(document.get(d, ""))) for d in names))
            for metric in directive.get("Metrics", []):
                name = str(metric.get("Name"))
                raw = document.get(name, [])
                values = raw if isinstance(raw, list) else [raw]
                with self._lock:
                    self._units[name] = str(metric.get("Unit", "None"))
                    stat = self._stats.setdefault((namespace, name, dims), _Stat())
                    for value in values:
                        stat.add(float(value))

    def snapshot(self) -> list[dict[str, object]]:
        """Every metric with its dimensions and statistics, sorted by name."""
        with self._lock:
            rows = [
                {
                    "namespace": namespace,
                    "name": name,
                    "dimensions": dict(dims),
                    "unit": self._units.get(name, "None"),
                    "sum": stat.sum,
                    "count": stat.count,
                    "min": stat.minimum,
                    "max": stat.maximum,
                }
                for (namespace, name, dims), stat in self._stats.items()
            ]
        return sorted(rows, key=lambda r: (str(r["name"]), str(r["dimensions"])))

    def clear(self) -> None:
        """Forget everything (tests)."""
        with self._lock:
            self._stats.clear()


RECORDER = MetricsRecorder()
# True while a local function runs (set by ``LocalFunction``): its EMF goes to the process's
# real stdout, as its logs do, not into whatever a test has put in place of ``sys.stdout``.
INSIDE_FUNCTION: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "inside_local_function", default=False
)
_original: Any = None
_original_flush: Any = None


def install(recorder: MetricsRecorder = RECORDER) -> None:
    """Record every document Powertools serializes in this process (idempotent)."""
    global _original  # noqa: PLW0603 - one patch per process, undone by ``uninstall``
    if _original is not None:
        return
    original: Any = AmazonCloudWatchEMFProvider.serialize_metric_set
    _original = original

    def serialize_metric_set(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        document: dict[str, Any] = original(self, *args, **kwargs)
        recorder.record(document)
        return document

    AmazonCloudWatchEMFProvider.serialize_metric_set = serialize_metric_set  # type: ignore[method-assign,assignment]

    global _original_flush  # noqa: PLW0603
    flush: Any = AmazonCloudWatchEMFProvider.flush_metrics
    _original_flush = flush

    def flush_metrics(self: Any, raise_on_empty_metrics: bool = False) -> None:
        if not INSIDE_FUNCTION.get() or not self.metric_set:
            flush(self, raise_on_empty_metrics)  # Powertools' own (warns or raises if empty)
            return
        # Powertools prints to sys.stdout; a Lambda's stdout is the process's own.
        document = self.serialize_metric_set()
        print(json.dumps(document, separators=(",", ":")), file=sys.__stdout__, flush=True)
        self.clear_metrics()

    AmazonCloudWatchEMFProvider.flush_metrics = flush_metrics  # type: ignore[method-assign]


def uninstall() -> None:
    """Undo ``install``."""
    global _original, _original_flush  # noqa: PLW0603
    if _original is not None:
        AmazonCloudWatchEMFProvider.serialize_metric_set = _original  # type: ignore[method-assign]
        AmazonCloudWatchEMFProvider.flush_metrics = _original_flush  # type: ignore[method-assign]
        _original = _original_flush = None
