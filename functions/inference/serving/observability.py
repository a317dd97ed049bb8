"""Logs, metrics and traces (Powertools), recorded at the edge from what the service returns.

Business code returns facts (which version served, cache outcome, fallback); this module
turns each request's facts into one structured log line and a set of EMF metrics. The
handler flushes metrics once per invocation.

Metric names map the seed's Prometheus counters: cache_hits_total -> CacheHits,
cache_miss_total -> CacheMisses, loaded_model_versions -> LoadedModelVersions.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable
from typing import Any, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from serving.results import ServeResult

SERVICE_NAME = os.environ.get("POWERTOOLS_SERVICE_NAME", "sentiment-inference")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "SentimentInference")

# Powertools tries json.loads on every string message (a JSON message becomes structured). A message
# that starts with a letter no JSON value starts with cannot parse: fail it without the attempt.
_JSON_STARTS = frozenset('{["-0123456789tfnNI \t\n\r')


def _loads_message(message: str) -> Any:
    if message and message[0] not in _JSON_STARTS:
        raise ValueError("not JSON")
    return json.loads(message)


logger = Logger(
    service=SERVICE_NAME,
    # Powertools annotates this as (JSON value) -> str, but calls it with the str message and keeps any JSON value.
    json_deserializer=_loads_message,  # type: ignore[arg-type]  # wrong upstream annotation, see above
    # Powertools' own serializer settings, with the encoder built once instead of per line.
    json_serializer=json.JSONEncoder(default=str, separators=(",", ":"), ensure_ascii=False).encode,
)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE_NAME)


def _tracing_wanted() -> bool:
    # Powertools' own rules: off when disabled explicitly, outside Lambda, or under sam local.
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").lower() in {"1", "true", "yes", "on"}
    in_lambda = "AWS_LAMBDA_FUNCTION_NAME" in os.environ and "AWS_SAM_LOCAL" not in os.environ
    return in_lambda and not disabled


# Creating a Tracer imports the X-Ray SDK and botocore (~0.5 s of cold start): only when it will trace.
tracer: Any = None
if _tracing_wanted():
    from aws_lambda_powertools import Tracer

    tracer = Tracer(service=SERVICE_NAME)

# /health, /models and /docs publish no metrics; that is expected, not worth a warning per instance.
warnings.filterwarnings("ignore", message="No application metrics to publish")

_CACHE_METRICS = {"HIT": "CacheHits", "MISS": "CacheMisses", "BYPASS": "CacheBypasses"}


def traced[F: Callable[..., Any]](method: F) -> F:
    """An X-Ray subsegment around ``method`` when tracing is on; the bare method otherwise.

    A disabled Tracer still opens dummy subsegments on every call; skipping the wrapper
    keeps the warm path free of that cost wherever tracing is off.
    """
    if tracer is None:
        return method
    return cast(F, tracer.capture_method(capture_response=False)(method))  # Powertools keeps the signature


def traced_handler[H: Callable[..., Any]](handler: H) -> H:
    """The X-Ray segment for a whole invocation, when tracing is on."""
    if tracer is None:
        return handler
    return cast(H, tracer.capture_lambda_handler(capture_response=False)(handler))


def record_predictions(
    result: ServeResult, request_id: str, latency_ms: float, loaded_versions: int, endpoint: str
) -> None:
    """One log line and the per-request metrics for a served /predict or /predict/batch."""
    route = result.route
    metrics.add_dimension(name="model_version", value=route.version)
    metrics.add_metric(name="Predictions", unit=MetricUnit.Count, value=len(result.items))
    for status, name in _CACHE_METRICS.items():
        count = sum(item.cache == status for item in result.items)
        if count:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)
    if route.routing == "fallback":
        metrics.add_metric(name="Fallbacks", unit=MetricUnit.Count, value=1)
    if result.cache_error:
        metrics.add_metric(name="CacheErrors", unit=MetricUnit.Count, value=1)
    if result.cache_rejected:  # cached values refused on read (invalid, foreign, poisoned)
        metrics.add_metric(name="CacheRejected", unit=MetricUnit.Count, value=sum(result.cache_rejected.values()))
    metrics.add_metric(name="InferenceLatency", unit=MetricUnit.Milliseconds, value=latency_ms)
    metrics.add_metric(name="LoadedModelVersions", unit=MetricUnit.Count, value=loaded_versions)

    fields: dict[str, Any] = {
        "request_id": request_id,
        "endpoint": endpoint,
        "model_version": route.version,
        "model_runtime": route.model.runtime,
        "requested_version": route.requested_version,
        "routing": route.routing,
        "fallback": route.routing == "fallback",
        "fallback_reason": route.fallback_reason,
        "cache": result.cache_summary,
        "cache_error": result.cache_error,
        "latency_ms": latency_ms,
        "texts": len(result.items),
        "text_chars": sum(item.chars for item in result.items),
    }
    if route.fallback_error is not None:
        fields["fallback_detail"] = str(route.fallback_error)
    if result.cache_rejected:
        fields["cache_rejected"] = result.cache_rejected  # count per reason
    if result.shadow is not None:
        shadow = result.shadow
        fields["shadow"] = {"version": shadow.version, "agreed": shadow.agreed, "total": shadow.total}
        if shadow.error:
            fields["shadow"]["error"] = shadow.error
        _record_shadow(route.version, shadow.version, shadow.agreed, shadow.total, shadow.error)
    logger.info("prediction served", extra=fields)


def record_server_error(status: int) -> None:
    """A 5xx answer, counted per Lambda version so a canary's own failures can roll it back."""
    function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
    with single_metric(name="ServerErrors", unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as metric:
        metric.add_dimension(name="service", value=SERVICE_NAME)
        metric.add_dimension(name="function_version", value=function_version)
    logger.warning("server error answered", extra={"status": status, "function_version": function_version})


def _record_shadow(version: str, shadow_version: str, agreed: int, total: int, error: str | None) -> None:
    # Both versions as dimensions: a separate EMF document, flushed at once.
    name, value = ("ShadowErrors", 1.0) if error else ("ShadowAgreement", agreed / total * 100)
    unit = MetricUnit.Count if error else MetricUnit.Percent
    with single_metric(name=name, unit=unit, value=value, namespace=NAMESPACE) as metric:
        metric.add_dimension(name="service", value=SERVICE_NAME)
        metric.add_dimension(name="model_version", value=version)
        metric.add_dimension(name="shadow_version", value=shadow_version)
