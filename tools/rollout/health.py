"""Per-version CloudWatch metrics for the versions behind the alias.

Lambda publishes alias invocations with the dimensions FunctionName, Resource (``<fn>:<alias>``)
and ExecutedVersion (the version that actually ran). That combination is what tells the canary
apart from the primary; FunctionName alone (or Resource alone) sums both versions.

One period covers the whole window so Sum/Average/p99 are over the window, not per minute.
If CloudWatch splits the window into two periods (alignment), counts are summed, the average is
weighted by SampleCount and the p99 is the worse of the two (conservative).
moto returns no percentiles, so p99 is None there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

NAMESPACE = "AWS/Lambda"


@dataclass(frozen=True)
class Window:
    start: dt.datetime
    end: dt.datetime
    period_seconds: int

    @classmethod
    def last_minutes(cls, minutes: int, now: dt.datetime | None = None) -> Window:
        end = (now or dt.datetime.now(dt.UTC)).replace(second=0, microsecond=0)
        return cls(start=end - dt.timedelta(minutes=minutes), end=end, period_seconds=minutes * 60)


@dataclass(frozen=True)
class VersionHealth:
    version: str
    invocations: float
    errors: float
    duration_avg_ms: float | None
    duration_p99_ms: float | None

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.invocations if self.invocations else None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "error_rate": self.error_rate}


def version_dimensions(function_name: str, alias: str, version: str) -> list[dict[str, str]]:
    return [
        {"Name": "FunctionName", "Value": function_name},
        {"Name": "Resource", "Value": f"{function_name}:{alias}"},
        {"Name": "ExecutedVersion", "Value": version},
    ]


def _datapoints(
    cloudwatch: Any, metric: str, dims: list[dict[str, str]], window: Window, **stats: Any
) -> list[dict[str, Any]]:
    resp = cloudwatch.get_metric_statistics(
        Namespace=NAMESPACE,
        MetricName=metric,
        Dimensions=dims,
        StartTime=window.start,
        EndTime=window.end,
        Period=window.period_seconds,
        **stats,
    )
    return list(resp.get("Datapoints", []))


def version_health(cloudwatch: Any, function_name: str, alias: str, version: str, window: Window) -> VersionHealth:
    dims = version_dimensions(function_name, alias, version)
    invocations = sum(
        p.get("Sum", 0.0) for p in _datapoints(cloudwatch, "Invocations", dims, window, Statistics=["Sum"])
    )
    errors = sum(p.get("Sum", 0.0) for p in _datapoints(cloudwatch, "Errors", dims, window, Statistics=["Sum"]))
    duration = _datapoints(
        cloudwatch, "Duration", dims, window, Statistics=["Average", "SampleCount"], ExtendedStatistics=["p99"]
    )
    samples = sum(p.get("SampleCount", 0.0) for p in duration)
    avg = (
        sum(p["Average"] * p.get("SampleCount", 0.0) for p in duration if "Average" in p) / samples if samples else None
    )
    p99s = [p["ExtendedStatistics"]["p99"] for p in duration if "p99" in (p.get("ExtendedStatistics") or {})]
    return VersionHealth(
        version=version,
        invocations=invocations,
        errors=errors,
        duration_avg_ms=avg,
        duration_p99_ms=max(p99s) if p99s else None,
    )
