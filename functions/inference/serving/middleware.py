"""The HTTP edge, as one pure ASGI middleware (no per-request thread or task hand-off).

For every request it:
- picks the request id (API Gateway's, else the Lambda request id, else a fresh uuid),
  exposes it as ``X-Request-Id`` and as the logger's correlation id;
- starts the latency clock;
- sets ``root_path`` from the API Gateway stage, so /docs works under e.g. /Prod/docs;
- refuses bodies over the size limit (413) and non-JSON bodies (415) before any parsing;
  the body it read is replayed to the app and also left in ``state["body"]`` (read once).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

Scope = dict[str, Any]
ASGIApp = Callable[..., Any]

_BODY_METHODS = {"POST", "PUT", "PATCH"}


def request_id_for(scope: Scope) -> str:
    event = scope.get("aws.event") or {}
    request_id = (event.get("requestContext") or {}).get("requestId")
    if request_id:
        return str(request_id)
    context = scope.get("aws.context")
    if context is not None and getattr(context, "aws_request_id", None):
        return str(context.aws_request_id)  # ALB events carry no request id of their own
    return str(uuid.uuid4())


def stage_prefix(scope: Scope) -> str:
    """The path prefix clients used in front of the app's own routes ("" if none)."""
    event = scope.get("aws.event") or {}
    context = event.get("requestContext") or {}
    if event.get("version") == "2.0":
        stage = context.get("stage", "$default")
        if stage != "$default" and scope["path"].startswith(f"/{stage}/"):
            return f"/{stage}"
        return ""
    full_path, path = context.get("path"), event.get("path")
    if full_path and path and full_path != path and full_path.endswith(path):
        return full_path[: -len(path)]
    return ""


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of a header (``name`` in lower case), as Starlette's ``Headers.get``."""
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        on_request: Callable[[str], None],
        on_error: Callable[[Exception], None] = lambda exc: None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.on_request = on_request
        self.on_error = on_error

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_for(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["started"] = time.perf_counter()
        prefix = stage_prefix(scope)
        if prefix:
            scope["root_path"] = prefix
        self.on_request(request_id)

        started = False

        async def send_with_request_id(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        if scope["method"] in _BODY_METHODS:
            refusal = self._refuse_content_type(scope)
            body: bytes | None = None
            if refusal is None:
                body, refusal = await self._read_body(scope, receive)
            if refusal is not None:
                status, code, message = refusal
                await _send_error(send_with_request_id, status, code, message, request_id)
                return
            state["body"] = body = body or b""
            receive = _replay(body)
        try:
            await self.app(scope, receive, send_with_request_id)
        except Exception as exc:
            # Answered here, not re-raised: Starlette would re-raise to Mangum or uvicorn, and both
            # log the exception's message, which can quote the input.
            self.on_error(exc)
            if not started:
                message = "internal error; quote the request_id when reporting it"
                await _send_error(send_with_request_id, 500, "internal_error", message, request_id)

    def _refuse_content_type(self, scope: Scope) -> tuple[int, str, str] | None:
        content_type = (header(scope, b"content-type") or "").split(";")[0].strip().lower()
        if content_type == "application/json" or content_type.endswith("+json"):
            return None
        shown = content_type or "none"
        return 415, "unsupported_media_type", f"Content-Type must be application/json (got {shown})"

    async def _read_body(self, scope: Scope, receive: Any) -> tuple[bytes, tuple[int, str, str] | None]:
        too_large = (
            413,
            "payload_too_large",
            f"request body exceeds the limit of {self.max_body_bytes} bytes",
        )
        declared = header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            return b"", too_large
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return b"", too_large
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks), None


def _replay(body: bytes) -> Callable[[], Any]:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _send_error(send: Any, status: int, code: str, message: str, request_id: str) -> None:
    body = json.dumps({"request_id": request_id, "error": code, "message": message, "details": None}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
