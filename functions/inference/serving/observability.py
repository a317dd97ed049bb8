"""Logs, metrics and traces (Powertools), recorded at the edge from what the service returns.

Business code returns facts (which version served, cache outcome, fallback); this module
turns each request's facts into one JSON line that is both its structured log record and its
EMF metrics document (serving/emf.py). The rarer metrics (cold start, shadow comparison, 5xx
answers) go through Powertools ``Metrics``, which the handler flushes once per invocation.

Metric names map the seed's Prometheus counters: cache_hits_total -> CacheHits,
cache_miss_total -> CacheMisses, loaded_model_versions -> LoadedModelVersions.
"""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from collections.abc import Callable
from typing import Any, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from serving import emf
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


# Powertools' own serializer settings, with the encoder built once instead of per line.
_serialize = json.JSONEncoder(default=str, separators=(",", ":"), ensure_ascii=False).encode

logger = Logger(
    service=SERVICE_NAME,
    # Powertools annotates this as (JSON value) -> str, but calls it with the str message and keeps any JSON value.
    json_deserializer=_loads_message,  # type: ignore[arg-type]  # wrong upstream annotation, see above
    json_serializer=_serialize,
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
_DIMENSIONS = ("service", "model_version")
_UNITS = {"InferenceLatency": MetricUnit.Milliseconds.value}  # every other per-request metric is a Count


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
    """The one JSON line of a served /predict or /predict/batch: its log record and its EMF metrics.

    Written straight to the logger's stream with the keys a Powertools line carries (level, location,
    timestamp, service, the Lambda context, correlation and trace ids): through ``logger.info`` plus
    a Powertools ``Metrics`` flush the same record and document cost about 0.19 ms a request; this line,
    with the handler's Powertools decorators, 0.028 ms (``make bench``, "observability", 2026-11-30).
    """
    route = result.route
    items = result.items
    values: dict[str, float] = {"Predictions": len(items)}
    for item in items:  # HIT, MISS, BYPASS counts; a plain loop costs less than a Counter for one text
        name = _CACHE_METRICS[item.cache]
        values[name] = values.get(name, 0) + 1
    if route.routing == "fallback":
        values["Fallbacks"] = 1
    if result.cache_error:
        values["CacheErrors"] = 1
    if result.cache_rejected:  # cached values refused on read (invalid, foreign, poisoned)
        values["CacheRejected"] = sum(result.cache_rejected.values())
    values["InferenceLatency"] = latency_ms
    values["LoadedModelVersions"] = loaded_versions

    fields: dict[str, Any] = {
        "request_id": request_id,
        "endpoint": endpoint,
        "model_version": route.version,
        "model_runtime": route.model.runtime,
        "routing": route.routing,
        "fallback": route.routing == "fallback",
        "cache": result.cache_summary,
        "cache_error": result.cache_error,
        "latency_ms": latency_ms,
        "texts": len(items),
        "text_chars": sum(item.chars for item in items),
    }
    # Keys without a value are left out, as Powertools does.
    if route.requested_version is not None:
        fields["requested_version"] = route.requested_version
    if route.fallback_reason is not None:
        fields["fallback_reason"] = route.fallback_reason
    if route.fallback_error is not None:
        fields["fallback_detail"] = str(route.fallback_error)
    if result.cache_rejected:
        fields["cache_rejected"] = result.cache_rejected  # count per reason
    if result.shared_skipped:
        fields["shared_cache"] = "skipped"  # CACHE_POLICY kept this request off Redis
    if result.shadow is not None:
        shadow = result.shadow
        fields["shadow"] = {"version": shadow.version, "agreed": shadow.agreed, "total": shadow.total}
        if shadow.error:
            fields["shadow"]["error"] = shadow.error
        _record_shadow(route.version, shadow.version, shadow.agreed, shadow.total, shadow.error)
    _write_line("prediction served", fields, values, route.version)


_LOCATION = f"{record_predictions.__name__}:{record_predictions.__code__.co_firstlineno}"
_METRICS_ON = not is_metrics_disabled()  # POWERTOOLS_METRICS_DISABLED / POWERTOOLS_DEV, as Powertools reads them
_handler = cast("logging.StreamHandler[Any]", logger.registered_handler)  # Powertools' own: a stream handler
_formatter = logger.registered_formatter


def _write_line(message: str, fields: dict[str, Any], values: dict[str, float], model_version: str) -> None:
    line: dict[str, Any] = {}
    if logger.log_level <= logging.INFO:
        # Service, Lambda context, correlation id, appended keys; None-valued ones left out, as Powertools does.
        line = {key: value for key, value in _formatter.get_current_keys().items() if value is not None}
        line["level"] = "INFO"
        line["location"] = _LOCATION
        line["message"] = message
        line["timestamp"] = _timestamp()
        line.update(fields)
        trace = os.environ.get("_X_AMZN_TRACE_ID")
        if trace:
            line["xray_trace_id"] = trace.split(";")[0].replace("Root=", "")
    if _METRICS_ON:  # the metrics are written even when the log level hides the record
        spec = tuple((name, _UNITS.get(name, "Count")) for name in values)
        line["_aws"] = emf.metadata(NAMESPACE, _DIMENSIONS, spec)
        line["service"] = SERVICE_NAME
        line["model_version"] = model_version
        line.update(values)
    if line:
        _handler.stream.write(_serialize(line) + "\n")


_second: tuple[int, str] = (-1, "")


def _timestamp() -> str:
    """Powertools' default format (2026-11-30 16:00:00,123+0000); the seconds part formatted once a second."""
    global _second
    now = time.time()
    whole = int(now)
    if whole != _second[0]:
        _second = (whole, time.strftime("%Y-%m-%d %H:%M:%S,{:03d}%z", _formatter.converter(whole)))
    return _second[1].format(int((now - whole) * 1000))


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
