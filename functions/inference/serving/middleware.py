"""The HTTP edge, as one pure ASGI middleware (no per-request thread or task hand-off).

For every request it:
- picks the request id (API Gateway's, else the Lambda request id, else a fresh uuid),
  exposes it as ``X-Request-Id`` and as the logger's correlation id;
- starts the latency clock;
- sets ``root_path`` from the API Gateway stage, so /docs works under e.g. /Prod/docs;
- refuses a method that is not an HTTP token (400: only a malformed Lambda event can carry one);
- for a request that a JSON-body route will serve (``takes_json_body``: the method and path match it,
  so an unsupported method gets its 405 first), refuses a body that is not JSON (415: the one rule,
  ``is_json_content_type``, is FastAPI's own), a content coding other than identity (415) and a body
  over the size limit (413), before any parsing; the body it read is replayed to the app and also
  left in ``state["body"]`` (read once).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import Scope

ASGIApp = Callable[..., Any]
Refusal = tuple[int, str, str, list[tuple[bytes, bytes]]]  # status, error code, message, extra headers

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token: a method
_API_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")  # what API Gateway sends: short, visible ASCII


def _event_context(scope: Scope) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Lambda event and its requestContext, each ``{}`` when absent or not an object."""
    event = scope.get("aws.event")
    event = event if isinstance(event, dict) else {}
    context = event.get("requestContext")
    return event, context if isinstance(context, dict) else {}


def request_id_for(scope: Scope) -> str:
    request_id = _event_context(scope)[1].get("requestId")
    if isinstance(request_id, str) and _API_REQUEST_ID.fullmatch(request_id):
        return request_id
    context = scope.get("aws.context")
    if context is not None and getattr(context, "aws_request_id", None):
        return str(context.aws_request_id)  # ALB events carry no request id of their own
    return str(uuid.uuid4())


def stage_prefix(scope: Scope) -> str:
    """The path prefix clients used in front of the app's own routes ("" if none)."""
    event, context = _event_context(scope)
    if event.get("version") == "2.0":
        stage = context.get("stage", "$default")
        if isinstance(stage, str) and stage not in {"", "$default"} and scope["path"].startswith(f"/{stage}/"):
            return f"/{stage}"
        return ""
    full_path, path = context.get("path"), event.get("path")
    if isinstance(full_path, str) and isinstance(path, str) and path and full_path != path and full_path.endswith(path):
        return full_path[: -len(path)]
    return ""


def is_json_content_type(value: str | None) -> bool:
    """Whether FastAPI parses a body of this Content-Type as JSON: ``application/json`` or ``application/*+json``.

    The service's one content-type rule: the middleware refuses every other type with 415 before a
    JSON-body route sees the request, so no body reaches FastAPI that it would not parse as JSON.
    """
    if value is None:
        return False
    content_type = value.split(";", 1)[0].strip().lower()
    if content_type.count("/") != 1:
        return False
    main, sub = content_type.split("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of a header (``name`` in lower case), as Starlette's ``Headers.get``."""
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


@dataclass
class RequestContextMiddleware:
    app: ASGIApp
    max_body_bytes: int
    on_request: Callable[[str], None]
    on_error: Callable[[Exception], None] = lambda exc: None
    takes_json_body: Callable[[Scope], bool] = lambda scope: False

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

        try:
            refusal = _refuse_method(scope)
            if refusal is None and self.takes_json_body(scope):
                refusal = _refuse_content(scope)
                if refusal is None:
                    body, refusal = await self._read_body(scope, receive)
                    state["body"] = body
                    receive = _replay(body)
            if refusal is not None:
                status, code, message, headers = refusal
                await _send_error(send_with_request_id, status, code, message, request_id, headers)
                return
            await self.app(scope, receive, send_with_request_id)
        except Exception as exc:
            # Answered here, not re-raised: Starlette would re-raise to Mangum or uvicorn, and both
            # log the exception's message, which can quote the input.
            self.on_error(exc)
            if not started:
                message = "internal error; quote the request_id when reporting it"
                await _send_error(send_with_request_id, 500, "internal_error", message, request_id)

    async def _read_body(self, scope: Scope, receive: Any) -> tuple[bytes, Refusal | None]:
        too_large: Refusal = (
            413,
            "payload_too_large",
            f"request body exceeds the limit of {self.max_body_bytes} bytes",
            [],
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


def _refuse_method(scope: Scope) -> Refusal | None:
    # An HTTP server never passes on a method that is not a token; a hand-made Lambda event can.
    method = scope.get("method")
    if isinstance(method, str) and _TOKEN.fullmatch(method):
        return None
    return 400, "bad_request", "the request method is not a valid HTTP method", []


def _refuse_content(scope: Scope) -> Refusal | None:
    content_type = header(scope, b"content-type")
    if not is_json_content_type(content_type):
        shown = (content_type or "").split(";", 1)[0].strip().lower() or "none"
        return 415, "unsupported_media_type", f"Content-Type must be application/json (got {shown})", []
    for key, value in scope.get("headers", []):
        if key.lower() != b"content-encoding":
            continue
        codings = [coding.strip().lower() for coding in value.decode("latin-1").split(",")]
        refused = next((coding for coding in codings if coding not in {"", "identity"}), None)
        if refused is not None:
            # RFC 9110 15.5.16: say which content codings would have been accepted.
            message = f"Content-Encoding must be identity; the body is not decoded (got {refused[:40]})"
            return 415, "unsupported_media_type", message, [(b"accept-encoding", b"identity")]
    return None


def _replay(body: bytes) -> Callable[[], Any]:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def error_body(request_id: str, code: str, message: str) -> bytes:
    """The service's error document, as every refusal made outside FastAPI's handlers sends it."""
    return json.dumps({"request_id": request_id, "error": code, "message": message, "details": None}).encode()


async def _send_error(
    send: Any,
    status: int,
    code: str,
    message: str,
    request_id: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = error_body(request_id, code, message)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
