"""Lambda events at the handler edge: which are HTTP requests, and an answer for those Mangum cannot read.

Mangum turns an API Gateway (REST, HTTP API) or ALB event into an ASGI request; an event it cannot
read makes it raise, which API Gateway would turn into a bare 502. The handler calls Mangum as is
and, only when it raised, asks Mangum's own steps (``infer``, ``scope``, ``body``) again, one at a
time, to say which part of the event is unreadable. Nothing here re-implements Mangum's parsing,
and nothing of the event's contents reaches a message or a log line (the reasons are fixed texts;
a missing field is named only as Mangum's code names it).
"""

from __future__ import annotations

import re
from typing import Any

from mangum import Mangum

from serving.middleware import error_body, request_id_for

# Top-level keys only an HTTP request event has (REST and ALB: httpMethod; HTTP API: rawPath, routeKey).
_HTTP_KEYS = frozenset({"httpMethod", "rawPath", "routeKey"})
_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,39}")


def is_http_event(event: Any) -> bool:
    """An event meant as an HTTP request (readable or not); anything else is a warm-up ping or a stray event."""
    if not isinstance(event, dict):
        return False
    context = event.get("requestContext")
    return not _HTTP_KEYS.isdisjoint(event) or (isinstance(context, dict) and ("http" in context or "elb" in context))


def unreadable_reason(adapter: Mangum, event: dict[str, Any], context: Any) -> str | None:
    """Why Mangum cannot read ``event`` as an HTTP request, or None when it can (the failure was elsewhere)."""
    try:
        handler = adapter.infer(event, context)
    except Exception:
        return "it has no requestContext object with a resource (REST API), a version (HTTP API) or elb (ALB)"
    try:
        handler.scope  # noqa: B018 - the property reads the request line and headers
    except KeyError as missing:
        name = missing.args[0] if missing.args else None
        shown = name if isinstance(name, str) and _FIELD_NAME.fullmatch(name) else "a required field"
        return f"{shown} is missing"
    except UnicodeError:
        return "a header or query parameter is not valid Unicode text"
    except ValueError:
        return "a header is malformed (Host must be host[:port], X-Forwarded-Port a number)"
    except Exception:
        return "a field has the wrong type (e.g. null where an object or a string is expected)"
    try:
        handler.body  # noqa: B018 - the property decodes the body
    except Exception:
        if event.get("isBase64Encoded"):
            return "isBase64Encoded is true but the body is not valid base64"
        return "the body is not a string"
    return None


def error_response(event: Any, context: Any, status: int, code: str, message: str) -> tuple[str, dict[str, Any]]:
    """The request id, and a Lambda proxy response carrying the service's error document."""
    request_id = request_id_for({"aws.event": event, "aws.context": context})
    headers = {"content-type": "application/json", "x-request-id": request_id}
    response: dict[str, Any] = {
        "statusCode": status,
        "body": error_body(request_id, code, message).decode(),
        "isBase64Encoded": False,
    }
    multi_value = isinstance(event, dict) and "multiValueHeaders" in event
    context = event.get("requestContext") if isinstance(event, dict) else None
    if multi_value and isinstance(context, dict) and "elb" in context:
        # An ALB target group with multi-value headers on reads only this form.
        response["multiValueHeaders"] = {name: [value] for name, value in headers.items()}
        return request_id, response
    response["headers"] = headers
    if multi_value:  # a REST API event: both forms, as Mangum answers it
        response["multiValueHeaders"] = {}
    return request_id, response
