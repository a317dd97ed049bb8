"""Caching against a real redis-server: version-aware keys, outages, the circuit breaker."""

from __future__ import annotations

import json

import pytest

from tests.conftest import running_redis

pytestmark = pytest.mark.redis

TEXT = {"text": "the screen cracked on day two"}


def redis_client(make_client, server, **env):
    # Local tier off: every lookup must go to Redis, so these tests see Redis alone.
    return make_client(REDIS_URL=server.url, CACHE_LOCAL_ENTRIES="0", **env)


def keys(server) -> list[str]:
    return sorted(key.decode() for key in server.client().keys("pred:*"))


def test_miss_then_hit_from_redis(make_client, redis_server):
    client = redis_client(make_client, redis_server)
    assert client.post("/predict", json=TEXT).json()["cache"] == "MISS"
    assert client.post("/predict", json=TEXT).json()["cache"] == "HIT"
    # A second instance (a fresh client, empty process memory) also hits: the cache is shared.
    other = redis_client(make_client, redis_server)
    assert other.post("/predict", json=TEXT).json()["cache"] == "HIT"


def test_keys_carry_version_and_digest_and_never_the_text(make_client, redis_server, committed_models):
    client = redis_client(make_client, redis_server)
    client.post("/predict?model_version=v1", json=TEXT)
    client.post("/predict?model_version=v2", json=TEXT)
    found = keys(redis_server)
    assert len(found) == 2
    for version, key in zip(("v1", "v2"), found, strict=True):
        manifest = json.loads((committed_models / version / "manifest.json").read_text())
        assert key.startswith(f"pred:{version}:{manifest['artifact']['sha256'][:16]}:")
        assert "cracked" not in key
    stored = json.loads(redis_server.client().get(found[1]))
    assert stored["model_version"] == "v2"


def test_fallback_answer_is_stored_under_the_served_version_only(make_client, redis_server):
    client = redis_client(make_client, redis_server)
    body = client.post("/predict?model_version=v9", json=TEXT).json()
    assert body["routing"] == "fallback" and body["cache"] == "MISS"
    assert [key.split(":")[1] for key in keys(redis_server)] == ["v1"]
    # The requested version, once it exists, must not find the default's answer.
    direct_v2 = client.post("/predict?model_version=v2", json=TEXT).json()
    assert direct_v2["cache"] == "MISS" and direct_v2["model_version"] == "v2"


def test_ttl_is_applied(make_client, redis_server):
    client = redis_client(make_client, redis_server, CACHE_TTL_SECONDS="120")
    client.post("/predict", json=TEXT)
    ttl = redis_server.client().ttl(keys(redis_server)[0])
    assert 0 < ttl <= 120


@pytest.mark.parametrize(
    "garbage",
    [
        b"not json",
        b'{"format":1}',
        b'{"format":1,"model_version":"v2","digest":"x","label":"positive","scores":{"positive":1.0}}',
        b"[1, 2, 3]",
    ],
)
def test_garbage_or_foreign_entry_is_a_miss_and_is_overwritten(make_client, redis_server, garbage):
    client = redis_client(make_client, redis_server)
    first = client.post("/predict", json=TEXT).json()
    (key,) = keys(redis_server)
    redis_server.client().set(key, garbage)
    again = client.post("/predict", json=TEXT).json()
    assert again["cache"] == "MISS"
    assert again["scores"] == first["scores"] and again["model_version"] == "v1"
    assert json.loads(redis_server.client().get(key))["model_version"] == "v1"


def test_redis_down_gives_bypass_and_correct_answers_then_recovers(make_client, redis_server):
    client = redis_client(make_client, redis_server, CACHE_BREAKER_COOLDOWN_SECONDS="0")
    expected = client.post("/predict", json=TEXT).json()
    redis_server.stop()
    for _ in range(3):
        response = client.post("/predict", json=TEXT)
        assert response.status_code == 200
        body = response.json()
        assert body["cache"] == "BYPASS"
        assert body["scores"] == expected["scores"] and body["model_version"] == "v1"
    assert client.get("/health").json()["cache"]["status"] == "degraded"
    redis_server.start()  # same port, empty memory
    statuses = [client.post("/predict", json=TEXT).json()["cache"] for _ in range(2)]
    assert statuses == ["MISS", "HIT"]
    assert client.get("/health").json()["cache"]["status"] == "reachable"


def test_circuit_breaker_stops_calling_redis_during_an_outage(make_client, redis_server):
    client = redis_client(make_client, redis_server, CACHE_BREAKER_FAILURES="2", CACHE_BREAKER_COOLDOWN_SECONDS="0.5")
    shared = client.app.state.service.cache.shared
    calls = []
    # A one-text read is GETRANGE (several keys: one script, EVALSHA); writes are SET, or a pipeline.
    for name in ("getrange", "evalsha", "set", "pipeline"):
        real = getattr(shared._client, name)
        setattr(shared._client, name, lambda *a, _real=real, _name=name, **k: (calls.append(_name), _real(*a, **k))[1])
    redis_server.stop()
    assert client.post("/predict", json=TEXT).json()["cache"] == "BYPASS"
    # A failed read skips the write: one Redis call (one timeout at most) per request...
    assert calls == ["getrange"]
    assert client.post("/predict", json=TEXT).json()["cache"] == "BYPASS"
    # ...and two failed requests in a row open the breaker...
    assert calls == ["getrange", "getrange"]
    assert shared.breaker.state == "open"
    for _ in range(5):
        assert client.post("/predict", json=TEXT).json()["cache"] == "BYPASS"
    # ...and while it is open no request pays a Redis timeout.
    assert calls == ["getrange", "getrange"]
    redis_server.start()
    import time

    time.sleep(0.6)  # past the cool-down: one probe is let through, succeeds, and closes the breaker
    assert client.post("/predict", json=TEXT).json()["cache"] == "MISS"
    assert shared.breaker.state == "closed"
    assert client.post("/predict", json=TEXT).json()["cache"] == "HIT"


def test_health_shows_redis_reachable(make_client, redis_server):
    body = redis_client(make_client, redis_server).get("/health").json()
    assert body["status"] == "ok"
    assert body["cache"]["backend"] == "redis" and body["cache"]["status"] == "reachable"


def test_password_in_url_works(make_client, tmp_path):
    with running_redis(tmp_path, "--requirepass", "s3cret-pass") as server:
        url = f"redis://:s3cret-pass@127.0.0.1:{server.port}/0"
        client = make_client(REDIS_URL=url, CACHE_LOCAL_ENTRIES="0")
        assert [client.post("/predict", json=TEXT).json()["cache"] for _ in range(2)] == ["MISS", "HIT"]
        wrong = make_client(REDIS_URL=url.replace("s3cret", "wrong"), CACHE_LOCAL_ENTRIES="0")
        assert wrong.post("/predict", json=TEXT).json()["cache"] == "BYPASS"


def test_local_tier_in_front_of_redis(make_client, redis_server):
    client = make_client(REDIS_URL=redis_server.url)
    assert client.post("/predict", json=TEXT).json()["cache"] == "MISS"
    redis_server.stop()
    # The in-process tier still answers what this instance has seen, even with Redis gone.
    assert client.post("/predict", json=TEXT).json()["cache"] == "HIT"
    assert client.post("/predict", json={"text": "never seen"}).json()["cache"] == "BYPASS"
