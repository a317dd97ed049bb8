"""API Gateway REST (v1) proxy integration, both ways: HTTP request -> event, Lambda answer -> HTTP response.

The deployed API integrates `ANY /{proxy+}` with the `live` alias as a Lambda proxy; Mangum in the
function expects exactly this event shape.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

STAGE = "rehearsal"


def api_gateway_event(
    method: str,
    path: str,
    headers: Mapping[str, list[str]],
    body: bytes | None,
    query: Mapping[str, list[str]] | None = None,
    request_id: str = "rehearsal-0",
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    text: str | None = None
    is_base64 = False
    if body:
        try:
            text = body.decode()
        except UnicodeDecodeError:
            text, is_base64 = base64.b64encode(body).decode(), True
    query = query or {}
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": {k: v[-1] for k, v in headers.items()} or None,
        "multiValueHeaders": {k: list(v) for k, v in headers.items()} or None,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": {k: list(v) for k, v in query.items()} or None,
        "pathParameters": {"proxy": path.lstrip("/")} if path.strip("/") else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"/{STAGE}{path}",
            "stage": STAGE,
            "requestId": request_id,
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": source_ip},
            "accountId": "123456789012",
            "apiId": "rehearsal",
            "protocol": "HTTP/1.1",
        },
        "body": text,
        "isBase64Encoded": is_base64,
    }


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def proxy_response(payload: Mapping[str, Any]) -> HttpResponse:
    """The function's proxy answer as HTTP; a malformed one is a 502, as API Gateway answers."""
    status = payload.get("statusCode")
    if not isinstance(status, int):
        return gateway_error(502, "Internal server error (malformed Lambda proxy response)")
    headers: list[tuple[str, str]] = []
    multi = payload.get("multiValueHeaders") or {}
    for name, values in multi.items():
        headers += [(name, str(v)) for v in values]
    for name, value in (payload.get("headers") or {}).items():
        if name not in multi:
            headers.append((name, str(value)))
    raw = payload.get("body") or ""
    body = base64.b64decode(raw) if payload.get("isBase64Encoded") else str(raw).encode()
    return HttpResponse(status, headers, body)


def gateway_error(status: int, message: str) -> HttpResponse:
    return HttpResponse(status, [("Content-Type", "application/json")], json.dumps({"message": message}).encode())
