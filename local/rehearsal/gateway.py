"""A small API Gateway stand-in: per request, read the `live` alias, pick a version by weight, invoke it.

What AWS does between API Gateway and an alias with a RoutingConfig, and `sam local start-api` does
not: a request goes to the alias's primary version, or with probability `weight` to the additional one.
sam local answers `function_version: $LATEST` from every version (it sets AWS_LAMBDA_FUNCTION_VERSION
itself and `--env-vars` cannot override it), so the gateway reports the version in `X-Served-Version`.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from devsupport.events import rest_event
from local.rehearsal.events import STAGE, HttpResponse, gateway_error, proxy_response
from local.rehearsal.lambdas import invoke
from local.rehearsal.metrics import LambdaMetrics
from tools.rollout.aliases import Routing, read_alias

SERVED_VERSION_HEADER = "X-Served-Version"
# Headers the gateway owns on its side of the connection.
_HOP_BY_HOP = {"connection", "content-length", "transfer-encoding", "keep-alive"}


class AliasRouter:
    """The alias's routing from the control plane, re-read at most every `ttl` seconds."""

    def __init__(self, read: Callable[[], Routing], ttl: float = 0.5, rng: random.Random | None = None) -> None:
        self._read = read
        self._ttl = ttl
        self._rng = rng or random.Random()  # noqa: S311 - traffic split, not cryptography
        self._lock = threading.Lock()
        self._cached: tuple[float, Routing] | None = None

    @classmethod
    def for_alias(cls, lambda_client: Any, function_name: str, alias: str, **kwargs: Any) -> AliasRouter:
        return cls(lambda: read_alias(lambda_client, function_name, alias).routing, **kwargs)

    def routing(self) -> Routing:
        with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] >= self._ttl:
                self._cached = (now, self._read())
            return self._cached[1]

    def pick(self) -> str:
        """AWS semantics: each additional version gets its weight; the primary gets the rest."""
        routing = self.routing()
        with self._lock:
            draw = self._rng.random()
        for version, weight in sorted(routing.weights.items()):
            if draw < weight:
                return version
            draw -= weight
        return routing.primary


class Gateway:
    """ThreadingHTTPServer on loopback; `handle` is the whole logic (testable without sockets)."""

    def __init__(
        self,
        router: AliasRouter,
        endpoints: Mapping[str, str],
        metrics: LambdaMetrics | None = None,
        port: int = 0,
        invoke_timeout: float = 30.0,
    ) -> None:
        self.router = router
        self.endpoints = dict(endpoints)  # published version -> its start-lambda URL
        self.metrics = metrics
        self.invoke_timeout = invoke_timeout
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="rehearsal-gateway", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def handle(self, method: str, target: str, headers: Mapping[str, list[str]], body: bytes) -> HttpResponse:
        try:
            version = self.router.pick()
        except (BotoCoreError, ClientError) as exc:
            return gateway_error(502, f"cannot read the alias from the control plane: {exc}")
        endpoint = self.endpoints.get(version)
        if endpoint is None:
            # e.g. an operator pointed `live` at a version this rehearsal did not start
            response = gateway_error(502, f"version {version} has no local start-lambda in this rehearsal")
            return _with_version(response, version)
        parts = urlsplit(target)
        event = rest_event(
            method,
            parts.path or "/",
            body,
            headers=headers,
            query=parse_qs(parts.query, keep_blank_values=True),
            stage=STAGE,
            request_id=str(uuid.uuid4()),
        )
        result = invoke(endpoint, event, timeout=self.invoke_timeout)
        if self.metrics is not None:
            self.metrics.record(version, result.duration_ms, error=result.payload is None)
        if result.payload is None:
            response = gateway_error(502, f"Internal server error ({result.error})")
        else:
            response = proxy_response(result.payload)
        return _with_version(response, version)


def _with_version(response: HttpResponse, version: str) -> HttpResponse:
    return HttpResponse(response.status, [*response.headers, (SERVED_VERSION_HEADER, version)], response.body)


def _handler_for(gateway: Gateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: clients reuse one connection
        # Headers and body are two writes: with Nagle on, the body waits for the client's delayed ACK
        # (+40 ms per request on a keep-alive connection, measured).
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers: dict[str, list[str]] = {}
            for name, value in self.headers.items():
                headers.setdefault(name, []).append(value)
            response = gateway.handle(self.command, self.path, headers, body)
            self.send_response(response.status)
            for name, value in response.headers:
                if name.lower() not in _HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per request would drown the operator's terminal

    return Handler
