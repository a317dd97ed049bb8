"""API Gateway REST (v1) proxy integration, both ways: HTTP request -> event (devsupport.events.rest_event),
Lambda answer -> HTTP response.

The deployed API integrates `ANY /{proxy+}` with the `live` alias as a Lambda proxy; Mangum in the
function expects exactly this event shape.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

STAGE = "rehearsal"


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
