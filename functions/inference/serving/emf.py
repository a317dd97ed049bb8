"""CloudWatch Embedded Metric Format: the ``_aws`` block that makes a JSON log line also a metrics document.

In a Lambda log, any JSON object with an ``_aws`` member is read by CloudWatch as metrics: the member names
the namespace, the dimension sets (top-level keys of the same object) and each metric's name and unit; the
values are top-level keys too. So one line per request can be both the log record and the EMF document.
Specification: the CloudWatch User Guide, "Embedded metric format specification".
"""

from __future__ import annotations

import time
from functools import cache
from typing import Any

MetricSpec = tuple[tuple[str, str], ...]  # (name, unit) per metric, in the order written

# The limits CloudWatch enforces on one directive (Powertools checks the same).
MAX_DIMENSIONS = 30
MAX_METRICS = 100


@cache
def _directives(namespace: str, dimensions: tuple[str, ...], metrics: MetricSpec) -> list[dict[str, Any]]:
    # A request emits one of a handful of metric sets: each directive is built once and shared.
    if not 0 < len(metrics) <= MAX_METRICS or len(dimensions) > MAX_DIMENSIONS:
        raise ValueError(f"an EMF directive takes 1-{MAX_METRICS} metrics and at most {MAX_DIMENSIONS} dimensions")
    return [
        {
            "Namespace": namespace,
            "Dimensions": [list(dimensions)],
            "Metrics": [{"Name": name, "Unit": unit} for name, unit in metrics],
        }
    ]


def metadata(namespace: str, dimensions: tuple[str, ...], metrics: MetricSpec) -> dict[str, Any]:
    """The ``_aws`` member for these metrics under one dimension set, timestamped now (epoch milliseconds)."""
    return {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": _directives(namespace, dimensions, metrics)}
