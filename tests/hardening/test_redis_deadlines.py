"""Every Redis call ends by a total deadline, whatever the server or the network does.

The proxy in front of a real redis-server forwards replies one byte every 5 ms: a server (or path)
that is alive but slow, which a per-read socket timeout never notices. Unbounded, one cached value
(about 230 bytes) takes over a second to arrive and a 64-text read over a minute. Expected answers
come from an instance with no cache at all. The wall-clock bounds below are generous upper bounds on
the deadline itself (REDIS_TIMEOUT_MS=100, so "well under a second"), which is the behaviour tested.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from tests.conftest import json_lines
from tests.hardening.conftest import FakeClock, RedisProxy, check_batch, check_prediction

pytestmark = [pytest.mark.redis, pytest.mark.timeout(120)]

DRIP_SECONDS = 0.005
BOUND_SECONDS = 1.0  # REDIS_TIMEOUT_MS=100 plus a generous margin for a busy CI machine
TEXT = "the battery died after a day"
BATCH = [f"review number {index}: the screen is {'great' if index % 2 else 'awful'}" for index in range(64)]


def reference(make_client: Any, texts: list[str]) -> list[tuple[str, dict[str, float]]]:
    body = make_client(CACHE_LOCAL_ENTRIES="0").post("/predict/batch", json={"texts": texts}).json()
    return [(item["label"], item["scores"]) for item in body["results"]]


def timed_post(client: Any, path: str, payload: dict[str, Any]) -> tuple[Any, float]:
    start = time.monotonic()
    response = client.post(path, json=payload)
    return response, time.monotonic() - start


def test_a_dripping_redis_costs_each_request_one_budget_then_the_breaker_opens(
    proxied_client, make_client, redis_proxy: RedisProxy
):
    ((label, scores),) = reference(make_client, [TEXT])
    client = proxied_client(
        timeout_ms=100, breaker_failures=3, breaker_clock=FakeClock(), CACHE_BREAKER_COOLDOWN_SECONDS="30"
    )
    breaker = client.app.state.service.cache.shared.breaker
    assert [client.post("/predict", json={"text": TEXT}).json()["cache"] for _ in range(2)] == ["MISS", "HIT"]

    redis_proxy.set_mode("drip", DRIP_SECONDS)
    for attempt in range(3):  # CACHE_BREAKER_FAILURES dripped requests, each given up on at its deadline
        assert breaker.state == "closed", attempt
        response, elapsed = timed_post(client, "/predict", {"text": TEXT})
        assert response.status_code == 200
        body = response.json()
        check_prediction(body)
        assert (body["cache"], body["label"], body["scores"]) == ("BYPASS", label, scores)
        assert elapsed < BOUND_SECONDS, f"request {attempt} waited {elapsed:.2f}s"
    assert breaker.state == "open"

    quiet = redis_proxy.snapshot()
    for _ in range(5):
        body = client.post("/predict", json={"text": TEXT}).json()
        assert (body["cache"], body["scores"]) == ("BYPASS", scores)
    assert redis_proxy.snapshot() == quiet  # while open: not a connection, not a byte


def test_a_64_text_batch_through_a_dripping_redis_answers_within_the_budget(
    proxied_client, make_client, redis_proxy: RedisProxy
):
    expected = reference(make_client, BATCH)
    client = proxied_client(timeout_ms=100, breaker_failures=100)
    warm = client.post("/predict/batch", json={"texts": BATCH})  # every text now cached in Redis
    assert warm.headers["x-cache"] == "MISS"

    redis_proxy.set_mode("drip", DRIP_SECONDS)
    for attempt in range(2):  # the second one also reconnects through the drip: connect is bounded too
        response, elapsed = timed_post(client, "/predict/batch", {"texts": BATCH})
        assert response.status_code == 200
        body = response.json()
        check_batch(body, len(BATCH))
        assert response.headers["x-cache"] == "BYPASS"
        assert [(item["label"], item["scores"]) for item in body["results"]] == expected
        assert elapsed < BOUND_SECONDS, f"batch {attempt} waited {elapsed:.2f}s"


def test_a_cold_start_against_a_dripping_redis_gives_up_connecting_by_the_connect_budget(
    proxied_client, make_client, redis_proxy: RedisProxy
):
    ((_, scores),) = reference(make_client, [TEXT])
    redis_proxy.set_mode("drip", DRIP_SECONDS)  # even the connection's HELLO reply drips
    client = proxied_client(timeout_ms=100, breaker_failures=100, REDIS_CONNECT_TIMEOUT_MS="200")
    response, elapsed = timed_post(client, "/predict", {"text": TEXT})
    assert response.status_code == 200 and response.json()["cache"] == "BYPASS"
    assert response.json()["scores"] == scores
    assert elapsed < BOUND_SECONDS + 0.2


def test_read_and_write_share_one_budget(proxied_client, make_client, redis_proxy: RedisProxy, redis_server):
    """A slow read leaves the write only what is left: a request waits REDIS_TIMEOUT_MS once, not twice."""
    ((_, scores),) = reference(make_client, [TEXT])
    client = proxied_client(timeout_ms=1000, breaker_failures=100)
    assert client.post("/predict", json={"text": "opens the connection"}).json()["cache"] == "MISS"
    redis_proxy.set_mode("delay", 0.7)  # each command: 0.7 s, so the read fits the budget and the write cannot
    response, elapsed = timed_post(client, "/predict", {"text": TEXT})
    body = response.json()
    assert response.status_code == 200 and body["cache"] == "MISS" and body["scores"] == scores
    assert elapsed < 1.0 + 0.5  # unbounded, the write alone would add another 0.7 s
    redis_proxy.set_mode("pass")
    from serving.cache import cache_key
    from serving.predictor import normalise_text

    route = client.app.state.service.router.resolve(None, None)
    assert redis_server.client().exists(cache_key(route.version, route.digest, normalise_text(TEXT))) == 0


def test_concurrent_requests_each_keep_their_own_deadline(proxied_client, make_client, redis_proxy: RedisProxy):
    texts = BATCH[:16]
    expected = dict(zip(texts, reference(make_client, texts), strict=True))
    client = proxied_client(timeout_ms=1000, breaker_failures=1000)
    results: list[tuple[str, str, bool, float]] = []  # (phase, cache, correct, seconds)
    lock = threading.Lock()

    def worker(phase: str, offset: int) -> None:
        for index in range(4):
            text = texts[(offset + index) % len(texts)]
            response, elapsed = timed_post(client, "/predict", {"text": text})
            body = response.json()
            correct = response.status_code == 200 and (body["label"], body["scores"]) == expected[text]
            with lock:
                results.append((phase, body.get("cache", ""), correct, elapsed))

    def run(phase: str) -> None:
        threads = [threading.Thread(target=worker, args=(phase, offset)) for offset in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    redis_proxy.set_mode("delay", 0.02)  # slow but well within every request's budget
    run("slow")
    redis_proxy.set_mode("drip", DRIP_SECONDS)
    run("drip")

    assert len(results) == 64 and all(correct for _, _, correct, _ in results)
    # Slow but in budget: Redis is used by every thread (no thread inherits another's deadline)...
    assert {cache for phase, cache, _, _ in results if phase == "slow"} <= {"MISS", "HIT"}
    # ...and dripping: every thread gives up by its own deadline.
    dripped = [(cache, seconds) for phase, cache, _, seconds in results if phase == "drip"]
    assert {cache for cache, _ in dripped} == {"BYPASS"}
    assert max(seconds for _, seconds in dripped) < 1.0 + 2.0  # REDIS_TIMEOUT_MS=1000 (+ connect), 8 threads


# ---- a value too large to be one of ours ----------------------------------------------------------


def test_a_64_mb_value_is_a_counted_miss_read_no_further_than_the_cap(
    proxied_client, make_client, redis_proxy: RedisProxy, redis_server, service_output
):
    from serving.cache_entry import MAX_ENTRY_BYTES

    ((label, scores),) = reference(make_client, [TEXT])
    client = proxied_client(timeout_ms=100, breaker_failures=1)
    assert client.post("/predict", json={"text": TEXT}).json()["cache"] == "MISS"
    (key,) = redis_server.client().keys("pred:*")  # the exact key the service reads for TEXT
    redis_server.client().set(key, b"[" + b" " * (64 * 1024 * 1024) + b"]")
    service_output()

    before = redis_proxy.replied
    body = client.post("/predict", json={"text": TEXT}).json()
    # Read within the 100 ms budget (reading 64 MB takes ~300 ms here, so it was not read), and the
    # breaker (one failure opens it) saw no failure.
    assert (body["cache"], body["label"], body["scores"]) == ("MISS", label, scores)
    assert redis_proxy.replied - before < MAX_ENTRY_BYTES + 4096  # the cap, the write's reply, framing
    assert client.app.state.service.cache.shared.breaker.state == "closed"
    served = [line for line in json_lines(service_output()) if line.get("message") == "prediction served"]
    assert served[-1]["cache_rejected"] == {"too_large": 1}
    assert redis_server.client().strlen(key) < 1024  # overwritten by the right answer...
    assert client.post("/predict", json={"text": TEXT}).json()["cache"] == "HIT"  # ...which is served next


def test_a_reply_that_arrived_while_the_process_was_busy_is_still_used(
    proxied_client, redis_proxy: RedisProxy, monkeypatch
):
    """Past the deadline nothing waits, but a reply already received is taken: a stalled process
    (descheduled, busy elsewhere) is not a Redis failure, and the breaker does not count it."""
    from serving.redis_deadline import DeadlineSocket

    client = proxied_client(timeout_ms=50, breaker_failures=1)
    assert client.post("/predict", json={"text": TEXT}).json()["cache"] == "MISS"  # connection open, value stored
    send = DeadlineSocket.sendall

    def send_then_stall(self: DeadlineSocket, data: Any, flags: int = 0) -> None:
        send(self, data, flags)
        time.sleep(0.1)  # the reply arrives meanwhile; the 50 ms deadline passes

    monkeypatch.setattr(DeadlineSocket, "sendall", send_then_stall)
    assert client.post("/predict", json={"text": TEXT}).json()["cache"] == "HIT"
    assert client.app.state.service.cache.shared.breaker.state == "closed"
