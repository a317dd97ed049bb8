"""Fixtures for the hardening suite: a fault-injecting Redis proxy, response checks (events: devsupport.events)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import pytest

from tests.conftest import settings_env

Mode = Literal["pass", "delay", "stall", "drip"]


def wait_until(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll for a state change made by another thread or process; fail loudly if it never comes."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


class RedisProxy:
    """A loopback TCP proxy in front of a real redis-server that can delay, stall or drip replies.

    Modes: ``pass``; ``delay`` (each client write waits ``delay_seconds`` before it is forwarded);
    ``stall`` (client writes are swallowed: no reply ever comes); ``drip`` (replies are forwarded
    one byte every ``delay_seconds``: a server or path that is alive but slow, which a per-read
    socket timeout never notices).

    It counts what reaches it, so tests assert on counts (how many commands were stalled,
    whether a call arrived at all) rather than on wall-clock thresholds:

    - ``connections``: TCP connections accepted;
    - ``chunks``: client writes received (any mode);
    - ``stalled``: connections that sent data while stalled and got no reply (each one is a
      Redis call the app had to give up on by its own timeout);
    - ``abandoned``: stalled connections the app then closed itself (it stopped waiting);
    - ``replied``: reply bytes forwarded to the app (what it actually had to read).
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.mode: Mode = "pass"
        self.delay_seconds = 0.0
        self.connections = 0
        self.chunks = 0
        self.stalled = 0
        self.abandoned = 0
        self.replied = 0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        self.port = future.result(timeout=10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def set_mode(self, mode: Mode, delay_seconds: float = 0.0) -> None:
        self.delay_seconds = delay_seconds
        self.mode = mode

    COUNTERS = ("connections", "chunks", "stalled", "abandoned", "replied")

    def snapshot(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.COUNTERS}

    async def _listen(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self._writers.add(up_writer)
        pump = asyncio.ensure_future(self._pump(up_reader, writer))
        stalled = False
        try:
            while data := await reader.read(65536):
                self.chunks += 1
                if self.mode == "stall" or stalled:
                    # Swallow the command: the app gets no reply and must give up by itself.
                    if not stalled:
                        stalled = True
                        self.stalled += 1
                    continue
                if self.mode == "delay":
                    await asyncio.sleep(self.delay_seconds)
                up_writer.write(data)
                await up_writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            if stalled:
                self.abandoned += 1  # EOF or reset from the app: it stopped waiting
            pump.cancel()
            for item in (writer, up_writer):
                item.close()
                self._writers.discard(item)

    async def _pump(self, source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                if self.mode != "drip":
                    target.write(data)
                    await target.drain()
                    self.replied += len(data)
                    continue
                for index in range(len(data)):
                    target.write(data[index : index + 1])
                    await target.drain()
                    self.replied += 1
                    await asyncio.sleep(self.delay_seconds)
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass


@pytest.fixture
def redis_proxy(redis_server: Any) -> Iterator[RedisProxy]:
    proxy = RedisProxy(redis_server.port)
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture
def build_client(committed_models: Path) -> Callable[..., Any]:
    """Like tests.conftest.make_client, but lets a test give the registry and the breaker a clock.

    The registry retries a failed model load only after 10 s and the breaker cools down for
    CACHE_BREAKER_COOLDOWN_SECONDS; a fake clock proves both the pause and the recovery without
    sleeping. The composition is otherwise exactly bootstrap.build_app's.
    """
    from fastapi.testclient import TestClient

    from serving import bootstrap
    from serving.breaker import CircuitBreaker
    from serving.config import load_settings
    from serving.registry import ModelRegistry

    def build(
        models_dir: Path | None = None,
        clock: Callable[[], float] | None = None,
        breaker_clock: Callable[[], float] | None = None,
        **env: str,
    ) -> TestClient:
        settings = load_settings(settings_env(models_dir or committed_models, **env))
        with pytest.MonkeyPatch.context() as patch:  # only while the app is built: undone before it serves
            if clock is not None:
                patch.setattr(bootstrap, "ModelRegistry", lambda path: ModelRegistry(path, clock=clock))
            if breaker_clock is not None:
                patch.setattr(
                    bootstrap,
                    "CircuitBreaker",
                    lambda failures, cooldown: CircuitBreaker(failures, cooldown, clock=breaker_clock),
                )
            return TestClient(bootstrap.build_app(settings), raise_server_exceptions=False)

    return build


@pytest.fixture
def proxied_client(build_client: Callable[..., Any], redis_proxy: RedisProxy) -> Callable[..., Any]:
    """build_client for an app whose only cache is Redis through ``redis_proxy`` (the local tier off).

    The test gives the REDIS_TIMEOUT_MS and CACHE_BREAKER_FAILURES; any other setting and ``breaker_clock`` pass
    through to build_client.
    """

    def build(*, timeout_ms: int, breaker_failures: int, **settings: Any) -> Any:
        return build_client(
            REDIS_URL=redis_proxy.url,
            CACHE_LOCAL_ENTRIES="0",
            REDIS_TIMEOUT_MS=str(timeout_ms),
            CACHE_BREAKER_FAILURES=str(breaker_failures),
            **settings,
        )

    return build


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# ---- the documented response shapes, checked strictly (no missing and no extra fields) ----

_SERVED = {
    "request_id",
    "model_version",
    "requested_version",
    "routing",
    "fallback",
    "fallback_reason",
    "latency_ms",
    "function_version",
}
PREDICT_FIELDS = _SERVED | {"label", "scores", "cache"}
BATCH_FIELDS = _SERVED | {"results"}
ERROR_FIELDS = {"request_id", "error", "message", "details"}
DOCUMENTED_ERRORS = {413, 415, 422, 503}


def check_prediction(body: dict[str, Any], labels: set[str] | None = None) -> None:
    """A PredictResponse (or one batch item's fields) that is internally consistent."""
    from serving.schemas import PredictResponse

    PredictResponse.model_validate(body)
    assert set(body) == PREDICT_FIELDS
    _check_scores(body["label"], body["scores"], labels)
    _check_routing(body)


def check_batch(body: dict[str, Any], count: int, labels: set[str] | None = None) -> None:
    from serving.schemas import BatchPredictResponse

    BatchPredictResponse.model_validate(body)
    assert set(body) == BATCH_FIELDS
    assert len(body["results"]) == count
    for item in body["results"]:
        assert set(item) == {"label", "scores", "cache"}
        _check_scores(item["label"], item["scores"], labels)
    _check_routing(body)


def check_error(response: Any, status: int | None = None) -> dict[str, Any]:
    """A documented error: JSON {request_id, error, message, details} with a useful message."""
    from serving.schemas import ErrorResponse

    assert response.status_code in DOCUMENTED_ERRORS | {404, 405}, (response.status_code, response.text[:300])
    if status is not None:
        assert response.status_code == status, response.text[:300]
    body = response.json()
    ErrorResponse.model_validate(body)
    assert set(body) == ERROR_FIELDS
    assert body["request_id"] == response.headers["x-request-id"]
    assert body["message"].strip()
    return body


def _check_scores(label: str, scores: dict[str, float], labels: set[str] | None) -> None:
    if labels is not None:
        assert set(scores) == labels
    assert label in scores and scores[label] == max(scores.values())
    assert all(0.0 <= score <= 1.0 for score in scores.values())
    assert abs(sum(scores.values()) - 1.0) < 1e-3


def _check_routing(body: dict[str, Any]) -> None:
    assert body["fallback"] == (body["routing"] == "fallback")
    assert (body["fallback_reason"] is not None) == body["fallback"]
    if body["routing"] == "explicit":
        assert body["requested_version"] == body["model_version"]


def emf_documents(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if "_aws" in line]


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
