"""CACHE_POLICY: per model version, whether a request consults Redis (always / auto / never)."""

from __future__ import annotations

import pytest

from serving.cache_policy import PROBE_EVERY, CachePolicies, RunningMean, SharedTierGate, parse_policies
from serving.config import ConfigError, load_settings
from tests.conftest import json_lines

TEXT = {"text": "the battery lasts all week"}


def _redis_keys(server, version: str) -> list[bytes]:
    return server.client().keys(f"pred:{version}:*")


@pytest.mark.parametrize(
    ("raw", "default", "per_version"),
    [
        ("", "always", {}),
        ("auto", "auto", {}),
        ("never,v3=always", "never", {"v3": "always"}),
        (" v1 = auto , v12=never ", "always", {"v1": "auto", "v12": "never"}),
    ],
)
def test_policies_parse_for_every_version_or_per_version(raw, default, per_version):
    policies = parse_policies(raw)
    assert (policies.default, dict(policies.per_version)) == (default, per_version)


@pytest.mark.parametrize("raw", ["sometimes", "v1=maybe", "x1=auto", "v1=", "=auto"])
def test_a_bad_policy_fails_the_init_naming_the_variable(raw, committed_models):
    with pytest.raises(ConfigError, match="CACHE_POLICY") as error:
        load_settings({"MODELS_DIR": str(committed_models), "CACHE_POLICY": raw})
    assert "always, auto or never" in str(error.value)


def _gate(policy: str, predict_s: float | None, round_trip_s: float | None) -> SharedTierGate:
    round_trip = RunningMean()
    if round_trip_s is not None:
        round_trip.add(round_trip_s)
    gate = SharedTierGate(parse_policies(policy), round_trip)
    if predict_s is not None:
        gate.record_predict("v1", predict_s * 4, 4)  # four texts: the mean is per text
    return gate


def test_auto_skips_the_shared_tier_while_predict_is_cheaper_than_a_round_trip_but_probes_it():
    gate = _gate("auto", predict_s=10e-6, round_trip_s=50e-6)
    decisions = [gate.use_shared("v1") for _ in range(2 * PROBE_EVERY)]
    assert decisions.count(True) == 2  # only the probes, which keep both figures current
    assert gate.describe("v1") == {
        "policy": "auto",
        "shared_tier": "skipped",
        "predict_ms_per_text": 0.01,
        "round_trip_ms": 0.05,
    }


@pytest.mark.parametrize(("predict_s", "round_trip_s"), [(80e-6, 50e-6), (None, 50e-6), (10e-6, None)])
def test_auto_uses_the_shared_tier_when_predict_costs_more_or_a_figure_is_unknown(predict_s, round_trip_s):
    gate = _gate("auto", predict_s, round_trip_s)
    assert all(gate.use_shared("v1") for _ in range(10))
    assert gate.describe("v1")["shared_tier"] == "used"


def test_always_and_never_ignore_the_figures():
    assert all(_gate("always", 1e-9, 1.0).use_shared("v1") for _ in range(3))
    assert not any(_gate("never", 1.0, 1e-9).use_shared("v1") for _ in range(3))
    assert CachePolicies().policy("v7") == "always"  # the default keeps the seed's behaviour


@pytest.mark.redis
def test_never_keeps_a_version_off_redis_and_says_so(make_client, redis_server, service_output):
    client = make_client(REDIS_URL=redis_server.url, CACHE_POLICY="never,v2=always")
    first, second = (client.post("/predict", json=TEXT).json() for _ in range(2))
    assert (first["cache"], second["cache"]) == ("MISS", "HIT")  # the in-process tier still applies
    assert _redis_keys(redis_server, "v1") == []
    assert client.post("/predict?model_version=v2", json=TEXT).json()["cache"] == "MISS"
    assert len(_redis_keys(redis_server, "v2")) == 1  # v2's own policy: always
    lines = [line for line in json_lines(service_output()) if line.get("message") == "prediction served"]
    assert [line.get("shared_cache") for line in lines] == ["skipped", "skipped", None]
    assert not any(line["cache_error"] for line in lines)  # skipping is not a failure


@pytest.mark.redis
def test_auto_follows_the_measured_figures_through_the_service(make_client, redis_server):
    client = make_client(REDIS_URL=redis_server.url, CACHE_LOCAL_ENTRIES="0", CACHE_POLICY="auto")
    service = client.app.state.service
    assert client.post("/predict", json=TEXT).json()["cache"] == "MISS"  # no figures yet: Redis is used
    assert len(_redis_keys(redis_server, "v1")) == 1
    service.cache.shared.round_trip.value = 10.0  # a Redis far slower than any predict
    answers = [client.post("/predict", json={"text": f"new text {i}"}).json() for i in range(5)]
    assert all(answer["cache"] == "BYPASS" for answer in answers)  # no tier asked: local is off here
    assert len(_redis_keys(redis_server, "v1")) == 1
    service.cache.shared.round_trip.value = 1e-12  # a Redis faster than any predict
    assert client.post("/predict", json=TEXT).json()["cache"] == "HIT"


def test_models_says_none_without_a_shared_tier(make_client):
    models = make_client(CACHE_POLICY="auto").get("/models").json()["models"]
    assert {model["cache"]["shared_tier"] for model in models} == {"none"}


@pytest.mark.redis
def test_models_shows_each_versions_policy(make_client, redis_server):
    client = make_client(REDIS_URL=redis_server.url, CACHE_POLICY="auto,v2=never")
    models = {model["version"]: model for model in client.get("/models").json()["models"]}
    assert models["v1"]["cache"]["policy"] == "auto" and models["v2"]["cache"]["policy"] == "never"
    assert models["v2"]["cache"]["shared_tier"] == "skipped"
