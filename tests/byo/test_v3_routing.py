"""The committed v3 (scikit-learn runtime) behind every routing feature the fast path has:
explicit version, shadow, sticky canary, LOAD_ALL_MODELS, SnapStart's pre-snapshot load, and the cache."""

from __future__ import annotations

import joblib

from tests.conftest import MODELS_DIR, json_lines
from training.bench import bench_texts

TEXTS = bench_texts(8)


def _v3_pipeline():
    return joblib.load(MODELS_DIR / "v3" / "model.joblib")


def test_explicit_v3_answers_are_the_pipelines_and_cache_per_artifact(make_client) -> None:
    client = make_client()
    pipeline = _v3_pipeline()
    for text, label in zip(TEXTS, pipeline.predict(TEXTS), strict=True):
        first = client.post("/predict", params={"model_version": "v3"}, json={"text": text}).json()
        assert (first["model_version"], first["routing"], first["cache"]) == ("v3", "explicit", "MISS")
        assert first["label"] == label
        again = client.post("/predict", params={"model_version": "v3"}, json={"text": text}).json()
        assert again["cache"] == "HIT" and (again["label"], again["scores"]) == (first["label"], first["scores"])
        v1 = client.post("/predict", json={"text": text}).json()
        assert v1["model_version"] == "v1" and v1["cache"] == "MISS"  # another version: another entry


def test_v3_as_shadow_is_recorded_without_changing_the_answer(make_client, service_output) -> None:
    plain, shadowed = make_client(), make_client(SHADOW_VERSION="v3")
    body = shadowed.post("/predict/batch", json={"texts": TEXTS}).json()
    assert body["model_version"] == "v1"
    expected = plain.post("/predict/batch", json={"texts": TEXTS}).json()["results"]
    assert body["results"] == expected  # the primary's answers, untouched by the shadow
    lines = json_lines(service_output())
    (line,) = [x for x in lines if x.get("message") == "prediction served" and "shadow" in x]
    agreed = sum(a == b for a, b in zip(_v3_pipeline().predict(TEXTS), [r["label"] for r in body["results"]]))
    assert line["shadow"] == {"version": "v3", "agreed": agreed, "total": len(TEXTS)}


def test_v3_as_a_full_canary_serves_every_client(make_client) -> None:
    client = make_client(CANARY_VERSION="v3", CANARY_PERCENT="100")
    body = client.post("/predict", json={"text": TEXTS[0]}, headers={"X-Client-Id": "client-7"}).json()
    assert (body["model_version"], body["routing"]) == ("v3", "canary")


def test_load_all_models_loads_v3_at_init_through_its_runtime(make_client) -> None:
    models = make_client(LOAD_ALL_MODELS="true").get("/models").json()
    assert models["loaded_versions"] == ["v1", "v2", "v3"]
    runtimes = {m["version"]: (m["runtime"], m["loaded"], m["status"]) for m in models["models"]}
    assert runtimes["v3"] == ("sklearn-joblib/1", True, "available")
    assert runtimes["v1"] == ("linear-text/1", True, "available")


def test_snapstart_pre_snapshot_load_of_a_v3_default(load_handler) -> None:
    handler = load_handler(DEFAULT_MODEL_VERSION="v3")
    assert handler._service.registry.loaded_versions() == []
    handler._before_snapshot()
    assert handler._service.registry.loaded_versions() == ["v3"]
