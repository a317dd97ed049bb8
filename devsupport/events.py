"""API Gateway events for the Lambda handler: the committed ones in events/, or built here (one builder each).

``rest_event`` is an API Gateway REST (v1) Lambda proxy event, as the deployed API (`ANY /{proxy+}`) sends it;
``http_api_event`` an HTTP API (payload 2.0) event. Both are what Mangum in the function expects.
"""

from __future__ import annotations

import base64
import copy
import json
import time
from collections.abc import Mapping
from functools import cache
from typing import Any

from devsupport import ROOT

EVENTS_DIR = ROOT / "events"


@cache
def _read(name: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / name).read_text())


def load_event(name: str, **changes: Any) -> dict[str, Any]:
    """A private copy of events/``name`` with top-level fields replaced (e.g. ``body=...``)."""
    return {**copy.deepcopy(_read(name)), **changes}


def _body(body: bytes | str | None) -> tuple[str | None, bool]:
    if isinstance(body, bytes):
        try:
            return body.decode(), False
        except UnicodeDecodeError:
            return base64.b64encode(body).decode(), True
    return body, False


def _multi(values: Mapping[str, str | list[str]] | None) -> dict[str, list[str]]:
    return {k: list(v) if isinstance(v, list) else [v] for k, v in (values or {}).items()}


def rest_event(
    method: str,
    path: str,
    body: bytes | str | None = None,
    *,
    headers: Mapping[str, str | list[str]] | None = None,
    query: Mapping[str, str | list[str]] | None = None,
    stage: str = "api",
    request_id: str = "req-devsupport",
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """A REST (v1) proxy event. ``body`` bytes that are not UTF-8 travel base64-encoded, as API Gateway sends them."""
    text, is_base64 = _body(body)
    multi_headers, multi_query = _multi(headers), _multi(query)
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": {k: v[-1] for k, v in multi_headers.items()} or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": {"proxy": path.lstrip("/")} if path.strip("/") else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": request_id,
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": source_ip},
            "accountId": "123456789012",
            "apiId": "local",
            "protocol": "HTTP/1.1",
        },
        "body": text,
        "isBase64Encoded": is_base64,
    }


def http_api_event(
    method: str,
    path: str,
    body: bytes | str | None = None,
    query: dict[str, str] | None = None,
    request_id: str = "req-hardening",
    content_type: str = "application/json",
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event, as the deployed function receives it. Bytes go base64."""
    raw_query = "&".join(f"{key}={value}" for key, value in (query or {}).items())
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": {"host": "abc.execute-api.us-east-1.amazonaws.com", "content-type": content_type},
        "requestContext": {
            "requestId": request_id,
            "stage": "$default",
            "http": {"method": method, "path": path, "sourceIp": "203.0.113.9"},
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(query)
    if isinstance(body, bytes):
        event["body"] = base64.b64encode(body).decode()
        event["isBase64Encoded"] = True
    elif body is not None:
        event["body"] = body
    return event
