"""Per-version Lambda metrics, published to moto's CloudWatch as Lambda publishes them for alias traffic.

Lets `python -m tools.rollout status` show the local split (invocations, errors, average duration per
version behind `live`) exactly as it reads it in AWS. Buffered and flushed every couple of seconds: one
PutMetricData per flush, not per request.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from tools.rollout.health import NAMESPACE, version_dimensions


@dataclass
class _Totals:
    invocations: int = 0
    errors: int = 0
    durations_ms: list[float] = field(default_factory=list)


class LambdaMetrics:
    def __init__(self, cloudwatch: Any, function_name: str, alias: str, interval: float = 2.0) -> None:
        self._cloudwatch = cloudwatch
        self._function_name = function_name
        self._alias = alias
        self._interval = interval
        self._lock = threading.Lock()
        self._pending: dict[str, _Totals] = defaultdict(_Totals)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rehearsal-metrics", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self.flush()

    def record(self, version: str, duration_ms: float, error: bool) -> None:
        with self._lock:
            totals = self._pending[version]
            totals.invocations += 1
            totals.errors += int(error)
            totals.durations_ms.append(duration_ms)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, defaultdict(_Totals)
        data: list[dict[str, Any]] = []
        for version, totals in pending.items():
            dims = version_dimensions(self._function_name, self._alias, version)
            data.append({"MetricName": "Invocations", "Dimensions": dims, "Value": totals.invocations})
            data.append({"MetricName": "Errors", "Dimensions": dims, "Value": totals.errors})
            if totals.durations_ms:
                d = totals.durations_ms
                stats = {"SampleCount": len(d), "Sum": sum(d), "Minimum": min(d), "Maximum": max(d)}
                data.append(
                    {"MetricName": "Duration", "Dimensions": dims, "StatisticValues": stats, "Unit": "Milliseconds"}
                )
        for start in range(0, len(data), 20):  # PutMetricData limit per call
            try:
                self._cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data[start : start + 20])
            except Exception:  # metrics are a convenience: never break the gateway over them
                return
