"""Faults under CI: Redis killed mid-run, Redis slow or stalled, broken artifacts, garbage in the cache.

Expected answers are always computed by an instance with every cache disabled, so a test can
tell a right answer from a cached wrong one. States (MISS/HIT/BYPASS, breaker, counts seen at a
proxy) are asserted instead of wall-clock thresholds.
"""

from __future__ import annotations

import json
import random
import shutil
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devsupport.events import http_api_event
from tests.conftest import json_lines
from tests.hardening.conftest import (
    FakeClock,
    RedisProxy,
    check_batch,
    check_error,
    check_prediction,
    emf_documents,
    wait_until,
)

TEXTS = [
    "the battery died after a day",
    "I love this system",
    "the  screen cracked on day two",  # normalises onto the next one: one cache entry for both
    "the screen cracked on day two",
    "support answered within minutes, brilliant",
    "it arrived on tuesday",
    "worst purchase I have made this year",
    "not sure how I feel about the new update",
    "the camera is fine I guess",
    "refund took three weeks and two phone calls",
    "absolutely flawless, would buy again",
    "meh",
    "the app crashes whenever I open settings",
    "delivery was on time",
    "the manual is written in a language I do not speak",
    "great value for the price",
]
QUERIES: list[str | None] = [None, "v1", "v2", "v9"]  # default, explicit x2, fallback


def normalise(text: str) -> str:
    from serving.predictor import normalise_text

    return normalise_text(text)


def reference_answers(make_client: Any, plan: list[tuple[str | None, str]]) -> dict[tuple[str | None, str], tuple]:
    """What every (version, text) must get: from an instance with no Redis and no local tier."""
    reference = make_client(CACHE_LOCAL_ENTRIES="0")
    answers = {}
    for query, text in sorted(set(plan), key=repr):
        params = {"model_version": query} if query else {}
        body = reference.post("/predict", params=params, json={"text": text}).json()
        assert body["cache"] == "BYPASS"  # nothing cached: computed
        answers[(query, text)] = (body["model_version"], body["routing"], body["label"], body["scores"])
    return answers


def served_key(body: dict[str, Any], text: str) -> tuple[str, str]:
    return body["model_version"], normalise(text)


# ---- Redis killed in the middle of a run ------------------------------------------------------


@pytest.mark.redis
def test_redis_killed_mid_run_through_the_lambda_handler(
    load_handler, lambda_context, make_client, redis_server
) -> None:
    rng = random.Random(6)
    plan = [(rng.choice(QUERIES), rng.choice(TEXTS)) for _ in range(600)]
    expected = reference_answers(make_client, plan)
    # Local tier off: every HIT below comes from Redis. Cool-down 0: the first request after the
    # restart probes Redis (the breaker with a cool-down is tested with the proxy below).
    handler = load_handler(REDIS_URL=redis_server.url, CACHE_LOCAL_ENTRIES="0", CACHE_BREAKER_COOLDOWN_SECONDS="0")
    phases: dict[str, list[tuple[tuple[str, str], str]]] = {"before": [], "outage": [], "after": []}
    for index, (query, text) in enumerate(plan):
        if index == 200:
            redis_server.stop()  # SIGKILL: no goodbye to open connections
        if index == 400:
            redis_server.start()  # same port, empty memory
        phase = "before" if index < 200 else "outage" if index < 400 else "after"
        event = http_api_event(
            "POST", "/predict", json.dumps({"text": text}), {"model_version": query} if query else None, f"req-{index}"
        )
        response = handler.lambda_handler(event, lambda_context)
        assert response["statusCode"] == 200, (index, response["body"][:300])
        body = json.loads(response["body"])
        check_prediction(body)
        assert (body["model_version"], body["routing"], body["label"], body["scores"]) == expected[(query, text)]
        assert response["headers"]["x-cache"] == body["cache"]
        phases[phase].append((served_key(body, text), body["cache"]))

    for phase in ("before", "after"):
        seen: set[tuple[str, str]] = set()
        for key, cache in phases[phase]:
            # A key's first request in a phase is a MISS (Redis is empty at the start and after the
            # restart); every later one is a HIT from Redis.
            assert cache == ("HIT" if key in seen else "MISS"), (phase, key, cache)
            seen.add(key)
    assert {cache for _, cache in phases["outage"]} == {"BYPASS"}
    assert Counter(cache for _, cache in phases["after"])["HIT"] > 100
    stored = {key.decode().split(":")[1] for key in redis_server.client().keys("pred:*")}
    assert stored == {"v1", "v2"}  # v9 requests were stored under the version that served them


@pytest.mark.redis
def test_redis_killed_while_concurrent_requests_are_in_flight(make_client, redis_server) -> None:
    plan = [(query, text) for query in QUERIES for text in TEXTS]
    expected = reference_answers(make_client, plan)
    client = make_client(REDIS_URL=redis_server.url, CACHE_LOCAL_ENTRIES="0", CACHE_BREAKER_COOLDOWN_SECONDS="0")
    done = 0
    lock = threading.Condition()
    results: list[tuple[int, int, str, bool]] = []  # (order, status, cache, correct)

    def worker(seed: int) -> None:
        nonlocal done
        rng = random.Random(seed)
        for _ in range(100):
            query, text = rng.choice(plan)
            params = {"model_version": query} if query else {}
            response = client.post("/predict", params=params, json={"text": text})
            body = response.json()
            correct = (
                response.status_code == 200
                and (
                    body["model_version"],
                    body["routing"],
                    body["label"],
                    body["scores"],
                )
                == expected[(query, text)]
            )
            with lock:
                done += 1
                results.append((done, response.status_code, body.get("cache", ""), correct))
                lock.notify_all()

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    with lock:
        assert lock.wait_for(lambda: done >= 100, timeout=120)
    redis_server.stop()  # while the other requests are in flight
    with lock:
        assert lock.wait_for(lambda: done >= 200, timeout=120)
    redis_server.start()
    with lock:
        stopped_at_restart = done
    for thread in threads:
        thread.join(timeout=120)

    assert len(results) == 400
    assert [r for r in results if r[1] != 200 or not r[3]] == []  # zero non-2xx, zero wrong answers
    assert any(cache == "BYPASS" for _, _, cache, _ in results)
    # After the restart Redis is used again: HITs come back.
    assert any(cache == "HIT" for order, _, cache, _ in results if order > stopped_at_restart + 20)


# ---- Redis slow or stalled (a proxy on loopback) ----------------------------------------------

SLOW_TEXT = {"text": "the battery died after a day"}


@pytest.mark.redis
@pytest.mark.timeout(60)  # a missing Redis timeout would hang here forever: fail instead
def test_stalled_redis_opens_the_breaker_then_nothing_reaches_it_until_cool_down(
    proxied_client, make_client, redis_proxy: RedisProxy
):
    expected = make_client(CACHE_LOCAL_ENTRIES="0").post("/predict", json=SLOW_TEXT).json()["scores"]
    clock = FakeClock()
    client = proxied_client(
        timeout_ms=100, breaker_failures=3, breaker_clock=clock, CACHE_BREAKER_COOLDOWN_SECONDS="30"
    )
    breaker = client.app.state.service.cache.shared.breaker
    assert [client.post("/predict", json=SLOW_TEXT).json()["cache"] for _ in range(2)] == ["MISS", "HIT"]

    redis_proxy.set_mode("stall")
    for _ in range(5):
        body = client.post("/predict", json=SLOW_TEXT).json()
        assert body["cache"] == "BYPASS" and body["scores"] == expected
        if breaker.state == "open":
            break
    # Exactly CACHE_BREAKER_FAILURES calls were left waiting, and the app gave up on each by itself.
    assert breaker.state == "open" and redis_proxy.stalled == 3
    wait_until(lambda: redis_proxy.abandoned == redis_proxy.stalled, what="the app to drop stalled calls")

    quiet = redis_proxy.snapshot()
    for _ in range(20):
        body = client.post("/predict", json=SLOW_TEXT).json()
        assert body["cache"] == "BYPASS" and body["scores"] == expected
    health = client.get("/health").json()
    assert health["status"] == "degraded" and health["cache"]["breaker"] == "open"
    assert redis_proxy.snapshot() == quiet  # while open: not a connection, not a byte

    clock.advance(30)  # cool-down over, Redis still stalled: one probe, and open again
    assert breaker.state == "half-open"
    assert client.post("/predict", json=SLOW_TEXT).json()["cache"] == "BYPASS"
    assert redis_proxy.stalled == 4 and breaker.state == "open"

    redis_proxy.set_mode("pass")
    clock.advance(30)  # cool-down over, Redis healthy: the probe succeeds and closes the breaker
    assert client.post("/predict", json=SLOW_TEXT).json()["cache"] == "HIT"
    assert breaker.state == "closed"
    fresh = {"text": "never asked before the stall"}
    assert [client.post("/predict", json=fresh).json()["cache"] for _ in range(2)] == ["MISS", "HIT"]


@pytest.mark.redis
@pytest.mark.timeout(60)
def test_a_stalled_redis_costs_each_request_at_most_one_timeout(proxied_client, redis_proxy: RedisProxy):
    """The issue's bound: a request's added wait is at most the configured cache timeout.

    Each stalled call costs one REDIS_TIMEOUT_MS, so the bound holds iff no request leaves more
    than one call waiting at the proxy. A high breaker threshold keeps the breaker out of it.
    """
    client = proxied_client(timeout_ms=100, breaker_failures=100)
    assert client.post("/predict", json=SLOW_TEXT).json()["cache"] == "MISS"
    redis_proxy.set_mode("stall")
    per_request = []
    for text in ("first stalled request", "second stalled request", "third stalled request"):
        before = redis_proxy.stalled
        response = client.post("/predict", json={"text": text})
        assert response.status_code == 200 and response.json()["cache"] == "BYPASS"
        per_request.append(redis_proxy.stalled - before)
    wait_until(lambda: redis_proxy.abandoned == redis_proxy.stalled, what="the app to drop stalled calls")
    assert max(per_request) <= 1, f"stalled Redis calls per request: {per_request}"


@pytest.mark.redis
@pytest.mark.timeout(60)
def test_slow_redis_under_the_timeout_is_used_and_over_it_is_bypassed(proxied_client, make_client, redis_proxy):
    expected = make_client(CACHE_LOCAL_ENTRIES="0").post("/predict", json=SLOW_TEXT).json()["scores"]
    patient = proxied_client(timeout_ms=5000, breaker_failures=100)
    redis_proxy.set_mode("delay", 0.05)  # 50 ms per command, well under 5 s
    answers = [patient.post("/predict", json=SLOW_TEXT).json() for _ in range(2)]
    assert [a["cache"] for a in answers] == ["MISS", "HIT"]
    assert all(a["scores"] == expected for a in answers)

    hasty = proxied_client(timeout_ms=20, breaker_failures=100)
    redis_proxy.set_mode("delay", 1.0)  # 1 s per command, far over 20 ms
    answers = [hasty.post("/predict", json=SLOW_TEXT).json() for _ in range(2)]
    assert [a["cache"] for a in answers] == ["BYPASS", "BYPASS"]
    assert all(a["scores"] == expected for a in answers)


# ---- broken model artifacts -------------------------------------------------------------------


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _future_format(path: Path) -> None:
    manifest = json.loads(path.read_text())
    manifest["artifact"]["format"] = "linear-text/2"
    path.write_text(json.dumps(manifest))


BREAKAGES: dict[str, tuple[str, Callable[[Path], object], str, str]] = {
    # name: (file, how, private reason in logs, public reason in the answer)
    "artifact-missing": ("model.ltm", Path.unlink, "missing", "is not available"),
    "artifact-tampered": ("model.ltm", _flip_a_byte, "tampered", "failed integrity verification"),
    "artifact-truncated": ("model.ltm", lambda p: p.write_bytes(p.read_bytes()[:-7]), "tampered", "integrity"),
    "manifest-missing": ("manifest.json", Path.unlink, "missing", "is not available"),
    "manifest-corrupt": ("manifest.json", lambda p: p.write_text("{"), "corrupt", "failed to load"),
    "format-incompatible": ("manifest.json", _future_format, "incompatible", "is incompatible"),
}


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_broken_non_default_version_falls_back_with_reason_and_metric(
    load_handler, lambda_context, make_client, models_copy: Path, service_output, breakage: str
):
    file, how, detail, public = BREAKAGES[breakage]
    how(models_copy / "v2" / file)
    text = "the battery died after a day"
    expected = make_client(CACHE_LOCAL_ENTRIES="0").post("/predict", json={"text": text}).json()
    handler = load_handler(MODELS_DIR=str(models_copy))
    service_output()  # drop what the import printed

    for endpoint, payload in (("/predict", {"text": text}), ("/predict/batch", {"texts": [text, text]})):
        event = http_api_event("POST", endpoint, json.dumps(payload), {"model_version": "v2"}, f"req-{endpoint}")
        response = handler.lambda_handler(event, lambda_context)
        assert response["statusCode"] == 200, response["body"][:300]
        body = json.loads(response["body"])
        if endpoint == "/predict":
            check_prediction(body)
            assert body["scores"] == expected["scores"]
        else:
            check_batch(body, 2)
            assert all(item["scores"] == expected["scores"] for item in body["results"])
        assert (body["model_version"], body["requested_version"], body["routing"]) == ("v1", "v2", "fallback")
        assert body["fallback_reason"].startswith("requested version v2 ") and public in body["fallback_reason"]
        assert body["fallback_reason"].endswith("served default v1")

    lines = json_lines(service_output())
    served = [line for line in lines if line.get("message") == "prediction served"]
    assert len(served) == 2 and all(detail in line["fallback_detail"] for line in served)
    fallbacks = [doc for doc in emf_documents(lines) if "Fallbacks" in doc]
    assert len(fallbacks) == 2  # one EMF document per request (its log line), each counting its fallback
    for doc in fallbacks:
        assert doc["Fallbacks"] == 1 and doc["model_version"] == "v1"
        names = {metric["Name"]: metric["Unit"] for metric in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
        assert names["Fallbacks"] == "Count"


@pytest.mark.parametrize("breakage", ["artifact-missing", "artifact-tampered", "manifest-corrupt"])
def test_broken_default_is_503_everywhere_then_heals_once_restored(
    build_client, make_client, committed_models: Path, models_copy: Path, breakage: str
):
    file, how, detail, public = BREAKAGES[breakage]
    how(models_copy / "v1" / file)
    clock = FakeClock()
    client = build_client(models_copy, clock=clock)

    health = client.get("/health")
    assert health.status_code == 503
    assert health.json()["status"] == "unhealthy" and health.json()["default_model"]["status"] == detail
    for endpoint, payload, query in (
        ("/predict", {"text": "hello"}, None),
        ("/predict/batch", {"texts": ["hello", "there"]}, None),
        ("/predict", {"text": "hello"}, "v9"),  # a fallback has nowhere to go: 503, never another model
        ("/predict", {"text": "hello"}, "v1"),
    ):
        params = {"model_version": query} if query else {}
        response = client.post(endpoint, params=params, json=payload)
        body = check_error(response, 503)
        assert body["error"] == "model_unavailable"
        assert body["message"] == f"default model v1 {public}" or (
            body["message"].startswith("default model v1 ") and public in body["message"]
        )
    # Asked for by name, a healthy version still answers, and says it is that version.
    explicit = client.post("/predict", params={"model_version": "v2"}, json={"text": "hello"})
    assert explicit.status_code == 200 and explicit.json()["model_version"] == "v2"

    shutil.copy2(committed_models / "v1" / file, models_copy / "v1" / file)
    clock.advance(9.0)  # inside the registry's 10 s pause: the failure is remembered, not re-hashed
    assert client.get("/health").status_code == 503
    clock.advance(1.5)  # pause over: the next request reloads and verifies the restored artifact
    health = client.get("/health")
    assert health.status_code == 200 and health.json()["default_model"] == {"version": "v1", "status": "ok"}
    response = client.post("/predict", json={"text": "hello"})
    assert response.status_code == 200
    reference = make_client(CACHE_LOCAL_ENTRIES="0").post("/predict", json={"text": "hello"}).json()
    assert response.json()["model_version"] == "v1" and response.json()["scores"] == reference["scores"]


@pytest.mark.redis
def test_tampered_default_never_serves_answers_already_in_the_shared_cache(make_client, models_copy, redis_server):
    text = {"text": "the screen cracked on day two"}
    healthy = make_client(REDIS_URL=redis_server.url, CACHE_LOCAL_ENTRIES="0")
    assert healthy.post("/predict", json=text).json()["cache"] == "MISS"  # a v1 answer now sits in Redis
    _flip_a_byte(models_copy / "v1" / "model.ltm")
    broken = make_client(models_copy, REDIS_URL=redis_server.url, CACHE_LOCAL_ENTRIES="0")
    check_error(broken.post("/predict", json=text), 503)


# ---- garbage in the cache (extends tests/test_redis_cache.py's table) ---------------------------


@pytest.mark.redis
@pytest.mark.parametrize(
    "mutate",
    [
        lambda e: {**e, "digest": "0" * 16},  # same version, another artifact (republished)
        lambda e: {**e, "label": "ecstatic"},  # a label the scores do not have
        lambda e: {**e, "scores": {label: "high" for label in e["scores"]}},
        lambda e: {**e, "scores": []},
        lambda e: {**e, "format": 2},
        lambda e: {k: v for k, v in e.items() if k != "digest"},
        lambda e: b"\x80\x04\x95 pickle-looking bytes \x00\xff",
        lambda e: b"{" * 5000,
    ],
    ids=["other-digest", "unknown-label", "text-scores", "list-scores", "future-format", "no-digest", "binary", "deep"],
)
def test_garbage_entry_is_a_miss_and_is_overwritten(make_client, redis_server, mutate):
    client = make_client(REDIS_URL=redis_server.url, CACHE_LOCAL_ENTRIES="0")
    first = client.post("/predict", json=SLOW_TEXT).json()
    (key,) = redis_server.client().keys("pred:*")
    good = json.loads(redis_server.client().get(key))
    bad = mutate(dict(good))
    redis_server.client().set(key, bad if isinstance(bad, bytes) else json.dumps(bad))
    again = client.post("/predict", json=SLOW_TEXT).json()
    assert again["cache"] == "MISS" and again["scores"] == first["scores"] and again["label"] == first["label"]
    assert json.loads(redis_server.client().get(key)) == good  # overwritten with the right entry
    assert client.post("/predict", json=SLOW_TEXT).json()["cache"] == "HIT"
