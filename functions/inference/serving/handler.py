"""Lambda entry point: Mangum adapts API Gateway (REST, HTTP API) and ALB events to the app.

Powertools applies at this edge: the Lambda context on every log line (request id, cold start,
function name, ARN, memory, version) so lines join with Lambda's own REPORT lines, the
cold-start metric, one metric flush per invocation, and the X-Ray segment for the whole invocation.
The log correlation id stays API Gateway's request id (set per request by the app).

Every event gets an answer, never an exception (which API Gateway would turn into a bare 502): a
non-HTTP event the documented "ignored" answer, an HTTP event Mangum cannot read a JSON 400 saying
which part is unreadable (serving/events.py), anything else the app's own answer.
"""

from __future__ import annotations

import os
from typing import Any

from mangum import Mangum

from serving.api import log_unexpected
from serving.bootstrap import build_app
from serving.events import error_response, is_http_event, unreadable_reason
from serving.observability import logger, metrics, record_server_error, traced_handler

app = build_app()  # at import: configuration errors fail the init, models load once per instance
_asgi = Mangum(app, lifespan="off")  # "auto" would run startup hooks on every invocation
_service = app.state.service
logger.append_keys(function_version=os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"))


def _before_snapshot() -> None:
    # SnapStart: have the default model in memory when the snapshot is taken, so no restored
    # instance pays the import and load on its first request.
    _service.router.resolve(None)


def _after_restore() -> None:
    # A snapshot may be restored many times: sockets opened before it are dead in every copy.
    _service.cache.reconnect()


try:  # the SnapStart hook library ships in Lambda's managed Python runtimes only
    from snapshot_restore_py import register_after_restore, register_before_snapshot
except ImportError:
    pass
else:
    register_before_snapshot(_before_snapshot)
    register_after_restore(_after_restore)


@logger.inject_lambda_context(log_event=False)  # never the event: it holds the input text
@traced_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    if not is_http_event(event):
        # A scheduled warm-up ping or a stray event: answer cleanly instead of crashing in Mangum.
        logger.info("non-HTTP event ignored", extra={"event_type": type(event).__name__})
        return {"statusCode": 200, "body": '{"status":"ignored","reason":"not an HTTP event"}'}
    try:
        response = _asgi(event, context)
    except Exception as error:
        response = _unanswered(event, context, error)
    if response.get("statusCode", 200) >= 500:
        # Lambda counts an HTTP 5xx answer as a successful invocation; this metric lets the
        # rollout alarms see it per function version.
        record_server_error(response["statusCode"])
    return response


def _unanswered(event: dict[str, Any], context: Any, error: Exception) -> dict[str, Any]:
    """The answer when Mangum raised: 400 for an event it cannot read, else 500 (the fault is ours)."""
    reason = unreadable_reason(_asgi, event, context)
    if reason is None:
        message = "internal error; quote the request_id when reporting it"
        request_id, response = error_response(event, context, 500, "internal_error", message)
        logger.set_correlation_id(request_id)
        log_unexpected(error)
        return response
    message = f"the Lambda event cannot be read as an HTTP request: {reason}"
    request_id, response = error_response(event, context, 400, "bad_request", message)
    logger.set_correlation_id(request_id)
    # The reason is one of events.py's fixed texts; the event itself is never logged.
    logger.warning("unreadable HTTP event refused", extra={"reason": reason, "error_type": type(error).__name__})
    return response
