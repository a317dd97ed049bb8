"""Version resolution: explicit, default, sticky canary, fallback; and the registry under it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from serving.artifacts import ArtifactError, load_model
from serving.registry import ModelRegistry
from serving.routing import ModelUnavailable, Router, canary_bucket

CLIENTS = [f"client-{n}" for n in range(4000)]


def canary_clients(percent: float, version: str = "v2") -> set[str]:
    return {client for client in CLIENTS if canary_bucket(client, version) < percent}


def test_bucket_is_stable_and_in_range():
    for client in CLIENTS[:200]:
        bucket = canary_bucket(client, "v2")
        assert 0 <= bucket < 100
        assert canary_bucket(client, "v2") == bucket


def test_raising_the_percent_only_moves_clients_onto_the_canary() -> None:
    previous: set[str] = set()
    for percent in (0, 1, 5, 10, 25, 50, 90, 100):
        current = canary_clients(percent)
        assert previous <= current
        previous = current
    assert previous == set(CLIENTS)


@pytest.mark.parametrize("percent", [5, 20, 50])
def test_observed_share_is_close_to_the_percent(percent):
    share = len(canary_clients(percent)) / len(CLIENTS) * 100
    # Binomial sd at n=4000 is <= 0.8 points; 3 points is far outside chance.
    assert abs(share - percent) < 3


def test_sticky_canary_through_the_api(make_client):
    client = make_client(CANARY_VERSION="v2", CANARY_PERCENT="30")
    chosen = {}
    for n in range(60):
        key = f"user-{n}"
        versions = {
            client.post("/predict", json={"text": f"t{r}"}, headers={"X-Client-Id": key}).json()["model_version"]
            for r in range(3)
        }
        assert len(versions) == 1, "one client must always see the same model"
        chosen[key] = versions.pop()
    for key, version in chosen.items():
        expected = "v2" if canary_bucket(key, "v2") < 30 else "v1"
        assert version == expected
    assert set(chosen.values()) == {"v1", "v2"}
    canary_answer = client.post(
        "/predict", json={"text": "x"}, headers={"X-Client-Id": next(k for k, v in chosen.items() if v == "v2")}
    ).json()
    assert canary_answer["routing"] == "canary" and canary_answer["requested_version"] is None


def test_explicit_version_wins_over_the_canary(make_client):
    client = make_client(CANARY_VERSION="v2", CANARY_PERCENT="100")
    body = client.post("/predict?model_version=v1", json={"text": "x"}, headers={"X-Client-Id": "u"}).json()
    assert body["model_version"] == "v1" and body["routing"] == "explicit"


def test_broken_canary_falls_back_to_default(make_client, models_copy: Path):
    (models_copy / "v2" / "model.ltm").write_bytes(b"not a model file")
    body = (
        make_client(models_copy, CANARY_VERSION="v2", CANARY_PERCENT="100").post("/predict", json={"text": "x"}).json()
    )
    assert body["model_version"] == "v1" and body["routing"] == "fallback"
    assert "canary version v2" in body["fallback_reason"]


def test_router_raises_model_unavailable_only_for_the_default(models_copy: Path):
    (models_copy / "v1" / "manifest.json").unlink()
    router = Router(ModelRegistry(models_copy), "v1")
    with pytest.raises(ModelUnavailable, match="v1"):
        router.resolve(None)
    with pytest.raises(ModelUnavailable):
        router.resolve("v9")


def test_concurrent_first_requests_load_a_version_once(committed_models: Path):
    calls = []
    gate = threading.Barrier(8)

    def counting_loader(models_dir: Path, version: str):
        calls.append(version)
        return load_model(models_dir, version)

    registry = ModelRegistry(committed_models, loader=counting_loader)

    def first_use():
        gate.wait()
        registry.get("v2")

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == ["v2"]


def test_failed_load_is_retried_after_a_pause_so_a_fixed_artifact_heals(models_copy: Path, committed_models: Path):
    now = [0.0]
    artifact = models_copy / "v2" / "model.ltm"
    good = artifact.read_bytes()
    artifact.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    registry = ModelRegistry(models_copy, retry_after_seconds=10, clock=lambda: now[0])
    with pytest.raises(ArtifactError) as error:
        registry.get("v2")
    assert error.value.reason == "tampered"
    artifact.write_bytes(good)
    now[0] = 5
    with pytest.raises(ArtifactError):
        registry.get("v2")  # still inside the pause: not re-hashed on every request
    now[0] = 11
    assert registry.get("v2").manifest.version == "v2"
