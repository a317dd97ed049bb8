"""Lambda entry point: Mangum adapts API Gateway (REST, HTTP API) and ALB events to the app.

Powertools applies at this edge: the cold-start metric, one metric flush per invocation,
and the X-Ray segment for the whole invocation.
"""

from __future__ import annotations

from typing import Any

from mangum import Mangum

from serving.bootstrap import build_app
from serving.observability import logger, metrics, record_server_error, traced_handler

app = build_app()  # at import: configuration errors fail the init, models load once per instance
_asgi = Mangum(app, lifespan="off")  # "auto" would run startup hooks on every invocation


def _is_http_event(event: Any) -> bool:
    if not isinstance(event, dict):
        return False
    context = event.get("requestContext")
    return "httpMethod" in event or (isinstance(context, dict) and ("http" in context or "elb" in context))


@traced_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    if not _is_http_event(event):
        # A scheduled warm-up ping or a stray event: answer cleanly instead of crashing in Mangum.
        logger.info("non-HTTP event ignored", extra={"event_type": type(event).__name__})
        return {"statusCode": 200, "body": '{"status":"ignored","reason":"not an HTTP event"}'}
    response = _asgi(event, context)
    if response.get("statusCode", 200) >= 500:
        # Lambda counts an HTTP 5xx answer as a successful invocation; this metric lets the
        # rollout alarms see it per function version.
        record_server_error(response["statusCode"])
    return response
