"""Shadow mode: the shadow model runs beside the primary, is recorded, and never changes the answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import json_lines

pytestmark = pytest.mark.redis

TEXTS = ["the update broke my phone", "love the new camera", "it arrived on tuesday"]


def served_lines(output: str) -> list[dict]:
    return [line for line in json_lines(output) if line.get("message") == "prediction served"]


def test_shadow_is_recorded_and_answers_match_the_primary(make_client, service_output):
    plain = make_client()
    shadowed = make_client(SHADOW_VERSION="v2")
    for text in TEXTS:
        expected = plain.post("/predict", json={"text": text}).json()
        got = shadowed.post("/predict", json={"text": text}).json()
        assert got["model_version"] == "v1"
        assert got["scores"] == expected["scores"] and got["label"] == expected["label"]
    lines = served_lines(service_output())
    shadow_fields = [line["shadow"] for line in lines if "shadow" in line]
    assert len(shadow_fields) == len(TEXTS)
    assert all(field["version"] == "v2" and field["total"] == 1 for field in shadow_fields)
    assert all(field["agreed"] in (0, 1) for field in shadow_fields)


def test_shadow_agreement_metric_has_both_versions_as_dimensions(make_client, service_output):
    client = make_client(SHADOW_VERSION="v2")
    client.post("/predict/batch", json={"texts": TEXTS})
    documents = [doc for doc in json_lines(service_output()) if "ShadowAgreement" in doc]
    assert len(documents) == 1
    doc = documents[0]
    directive = doc["_aws"]["CloudWatchMetrics"][0]
    assert {"model_version", "shadow_version"} <= set(directive["Dimensions"][0])
    assert doc["model_version"] == "v1" and doc["shadow_version"] == "v2"
    (agreement,) = doc["ShadowAgreement"] if isinstance(doc["ShadowAgreement"], list) else [doc["ShadowAgreement"]]
    assert 0 <= agreement <= 100
    assert directive["Metrics"][0]["Unit"] == "Percent"


def test_broken_shadow_never_changes_the_answer(make_client, models_copy: Path, service_output):
    (models_copy / "v2" / "model.ltm").write_bytes(b"garbage")
    expected = make_client(models_copy).post("/predict", json={"text": TEXTS[0]}).json()
    response = make_client(models_copy, SHADOW_VERSION="v2").post("/predict", json={"text": TEXTS[0]})
    assert response.status_code == 200
    body = response.json()
    assert body["scores"] == expected["scores"] and body["routing"] == "default"
    output = service_output()
    assert served_lines(output)[-1]["shadow"]["error"] == "tampered"
    errors = [doc for doc in json_lines(output) if "ShadowErrors" in doc]
    assert len(errors) == 1 and errors[0]["shadow_version"] == "v2"


def test_shadow_never_writes_to_the_cache(make_client, redis_server):
    client = make_client(SHADOW_VERSION="v2", REDIS_URL=redis_server.url, CACHE_LOCAL_ENTRIES="0")
    client.post("/predict", json={"text": TEXTS[1]})
    client.post("/predict?model_version=v9", json={"text": TEXTS[2]})
    versions = {key.decode().split(":")[1] for key in redis_server.client().keys("pred:*")}
    assert versions == {"v1"}
    stored = [json.loads(redis_server.client().get(key)) for key in redis_server.client().keys("pred:*")]
    assert {entry["model_version"] for entry in stored} == {"v1"}


def test_canary_answers_are_cached_under_the_canary_version(make_client, redis_server):
    client = make_client(CANARY_VERSION="v2", CANARY_PERCENT="100", REDIS_URL=redis_server.url)
    body = client.post("/predict", json={"text": TEXTS[0]}, headers={"X-Client-Id": "c1"}).json()
    assert body["routing"] == "canary" and body["model_version"] == "v2"
    direct_v1 = client.post("/predict?model_version=v1", json={"text": TEXTS[0]}).json()
    assert direct_v1["cache"] == "MISS"
    versions = sorted(key.decode().split(":")[1] for key in redis_server.client().keys("pred:*"))
    assert versions == ["v1", "v2"]
